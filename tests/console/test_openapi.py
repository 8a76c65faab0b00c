"""The OpenAPI document against the app as registered: a valid OpenAPI 3.1 document that lists every /api/
route, and every one of those routes refuses an anonymous caller (the docs page sends it to the login page)."""

from __future__ import annotations

import re
from typing import Any

from flask import Flask
from openapi_spec_validator import validate

from tests.console.conftest import ClientFor
from tests.console.support import MakeUser
from webhooks.console.openapi import api_routes


def _concrete(rule: str) -> str:
    # Any value will do: the caller is refused before the object is looked up.
    return re.sub(r"<(?:int:)?[^>]+>", "1", rule)


def test_the_document_is_valid_openapi_3_1_and_lists_every_api_route(
    console_app: Flask, make_user: MakeUser, api_client: ClientFor
) -> None:
    response = api_client(make_user("agent")).get("/api/openapi.json")
    assert response.status_code == 200
    document: dict[str, Any] = response.json
    assert document["openapi"] == "3.1.0"
    validate(document)
    routes = api_routes(console_app)
    assert len(routes) >= 9  # this module's own; the queues' endpoints add to it
    documented = {(path, method) for path, methods in document["paths"].items() for method in methods}
    assert {(path, method) for path, method, _ in routes} == documented
    for path, methods in document["paths"].items():
        for method, operation in methods.items():
            assert operation["summary"], (method, path)
            assert "admin" in operation["x-roles"], (method, path)
            assert "401" in operation["responses"] and "403" in operation["responses"], (method, path)
    # Request and response bodies come from the pydantic models.
    issue = document["paths"]["/api/v1/tokens"]["post"]
    assert issue["requestBody"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/TokenIn"}
    assert issue["responses"]["201"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/TokenIssuedOut"
    }
    assert document["components"]["schemas"]["TokenIn"]["properties"]["name"]["maxLength"] == 128
    revoke = document["paths"]["/api/v1/tokens/{token_id}"]["delete"]
    assert revoke["parameters"] == [{"name": "token_id", "in": "path", "required": True, "schema": {"type": "integer"}}]
    users = document["paths"]["/api/v1/users"]["get"]
    assert {p["name"] for p in users["parameters"]} == {"role", "online", "queue"} and users["x-roles"] == ["admin"]


def test_every_api_route_refuses_anonymous_callers(console_app: Flask) -> None:
    client = console_app.test_client()
    for _path, method, rule in api_routes(console_app):
        url = _concrete(rule)
        response = client.open(url, method=method.upper(), json={} if method != "get" else None)
        if rule == "/api/docs":  # an HTML page: the person is sent to sign in
            assert response.status_code == 302 and "/console/login" in response.headers["Location"]
            continue
        assert response.status_code == 401, (method, url, response.status_code, response.get_data(as_text=True)[:200])
        assert response.is_json and "error" in response.json, (method, url)


def test_every_api_route_refuses_a_revoked_token(
    console_app: Flask, make_user: MakeUser, api_client: ClientFor, accounts: Any
) -> None:
    client = api_client(make_user("admin"))
    token_id = accounts.tokens()[0].id
    accounts.revoke_token(token_id)
    for _path, method, rule in api_routes(console_app):
        if rule == "/api/docs":
            continue
        response = client.open(_concrete(rule), method=method.upper(), json={} if method != "get" else None)
        assert response.status_code == 401, (method, rule)


def test_the_docs_page_lists_the_operations_without_outside_assets(make_user: MakeUser, logged_in_client: Any) -> None:
    client = logged_in_client(make_user("editor"))
    page = client.get("/api/docs")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "/api/v1/tokens/{token_id}" in html and "Revoke an API token" in html
    # Served locally: no script, style or font from another origin.
    assert not re.search(r'(src|href)="(https?:)?//', html)
