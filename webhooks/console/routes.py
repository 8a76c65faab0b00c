"""Each console view declared once: `ConsoleBlueprint.api` registers a JSON endpoint's Flask rule, its role check
(`api_auth_required`) and its OpenAPI entry (`change`: the POST that changes one object, 404/409);
`ConsoleBlueprint.page` registers an HTML page's rules and its sign-in and role check (`page_login_required`)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Literal

from flask import Blueprint
from pydantic import BaseModel

from webhooks.console.auth.guards import api_auth_required, page_login_required
from webhooks.console.openapi import Method, Operation, openapi_path, record_operation

View = Callable[..., Any]


class ConsoleBlueprint(Blueprint):
    """A blueprint whose views say their method, path and roles in one place (admins are accepted everywhere)."""

    def api(
        self,
        method: Method,
        rule: str,
        summary: str,
        *,
        roles: Sequence[str],
        request: type[BaseModel] | None = None,
        response: type[BaseModel] | None = None,
        query: type[BaseModel] | None = None,
        status: int = 200,
        errors: tuple[int, ...] = (),
        tags: tuple[str, ...] = (),
        description: str = "",
        content_type: str = "application/json",
        login: Literal["api", "page"] = "api",
    ) -> Callable[[View], View]:
        """A JSON endpoint at the Flask `rule`, documented under its OpenAPI form (`<int:id>` → `{id}`).
        `login="page"` checks like a page (anonymous callers are sent to sign in): the HTML docs page."""
        operation = Operation(
            openapi_path(rule),
            method,
            summary,
            request,
            response,
            tuple(roles),
            query,
            status,
            errors,
            tags,
            description,
            content_type,
        )
        guard = page_login_required(*roles) if login == "page" else api_auth_required(*roles)
        record_operation(operation)

        def decorator(view: View) -> View:
            guarded = guard(view)
            self.add_url_rule(rule, view_func=guarded, methods=[method.upper()])
            return guarded

        return decorator

    def change(
        self,
        rule: str,
        summary: str,
        request: type[BaseModel],
        response: type[BaseModel],
        *,
        roles: Sequence[str],
        tags: tuple[str, ...],
    ) -> Callable[[View], View]:
        """A POST that changes one object and answers with it as it is now: 404 for none, 409 when it changed
        meanwhile (a stale version) or the move is refused."""
        return self.api(
            "post", rule, summary, request=request, response=response, roles=roles, tags=tags, errors=(404, 409)
        )

    def page(
        self, rule: str, *rules: str, roles: Sequence[str], methods: Sequence[str] = ("GET",)
    ) -> Callable[[View], View]:
        """An HTML page (one view may answer several rules; `url_for` builds the first): anonymous callers are
        sent to sign in."""
        guard = page_login_required(*roles)

        def decorator(view: View) -> View:
            guarded = guard(view)
            for each in (rule, *rules):
                self.add_url_rule(each, view_func=guarded, methods=list(methods))
            return guarded

        return decorator
