"""The console API's description: each JSON endpoint's `Operation` (recorded when the view is declared with
`webhooks.console.routes`) with its pydantic models and roles, the OpenAPI 3.1 document (/api/openapi.json) and
the docs page (/api/docs: Swagger UI from a packaged copy, so calls can be tried offline, with a plain listing of
the records beneath), and the request parsing the models describe."""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any, Literal, TypeVar

import flask_swagger_ui
from flask import Blueprint, Flask, Response, current_app, jsonify, render_template, request
from pydantic import BaseModel, ValidationError
from pydantic.json_schema import JsonSchemaMode, models_json_schema

from assistant.domain.roles import Role
from assistant.errors import BadInput, InputError

M = TypeVar("M", bound=BaseModel)

# Swagger UI's files as the flask-swagger-ui wheel ships them (no CDN, no download): served as static files of the
# console, under its security headers; the page that uses them is behind the sign-in like every /api/ route.
SWAGGER_UI_DIST = Path(flask_swagger_ui.__file__).parent / "dist"
swagger_ui = Blueprint(
    "swagger_ui", __name__, static_folder=SWAGGER_UI_DIST, static_url_path="/console/static/swagger-ui"
)
Method = Literal["get", "post", "put", "patch", "delete"]

# Flask rule variables: <name> or <converter:name> or <converter(args):name>.
_RULE_VARIABLE = re.compile(r"<(?:(?P<converter>[a-zA-Z_]+)(?:\([^)]*\))?:)?(?P<name>[a-zA-Z_][a-zA-Z0-9_]*)>")
_CONVERTER_TYPES = {"int": "integer", "float": "number"}
STATUS_TEXT = {
    200: "OK",
    201: "Created",
    202: "Accepted",
    204: "No content",
    400: "Bad request",
    401: "No or invalid credentials",
    403: "The caller's role may not do this",
    404: "Not found",
    409: "Conflict: the state changed (someone else acted first)",
    413: "Body too large",
    422: "The body or query failed validation",
    429: "Too many requests",
}


class ErrorOut(BaseModel):
    """Every error answer of the API."""

    error: str
    details: list[dict[str, Any]] | None = None


class RequestValidationError(InputError):
    """A request body or query that fails its model: 422 with pydantic's per-field problems in `details`."""

    def __init__(self, message: str, details: list[dict[str, Any]]) -> None:
        super().__init__(message)
        self.details = details


@dataclass(frozen=True)
class Operation:
    path: str
    method: Method
    summary: str
    request: type[BaseModel] | None
    response: type[BaseModel] | None
    roles: tuple[str, ...]
    query: type[BaseModel] | None = None
    status: int = 200
    errors: tuple[int, ...] = ()
    tags: tuple[str, ...] = ()
    description: str = ""
    content_type: str = "application/json"


_OPERATIONS: dict[tuple[str, str], Operation] = {}


def record_operation(operation: Operation) -> None:
    """Add an endpoint to the document (`webhooks.console.routes` does, when a view is declared)."""
    _OPERATIONS[(operation.path, operation.method)] = operation


def operations() -> dict[tuple[str, str], Operation]:
    return dict(_OPERATIONS)


def openapi_path(rule: str) -> str:
    return _RULE_VARIABLE.sub(lambda match: "{" + match.group("name") + "}", rule)


def _parameter_types(rule: str) -> dict[str, str]:
    return {
        match.group("name"): _CONVERTER_TYPES.get(match.group("converter") or "", "string")
        for match in _RULE_VARIABLE.finditer(rule)
    }


def api_routes(app: Flask) -> list[tuple[str, str, str]]:
    """(OpenAPI path, method, Flask rule) of every /api/ route the app serves."""
    found = []
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/"):
            continue
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            found.append((openapi_path(rule.rule), method.lower(), rule.rule))
    return sorted(found)


def json_body(model: type[M]) -> M:
    """The request's JSON body as `model`; 400 for a body that is not JSON, 422 (with pydantic's errors) else."""
    data = request.get_json(silent=True)
    if data is None:
        raise BadInput("expected a JSON body (Content-Type: application/json)")
    try:
        return model.model_validate(data)
    except ValidationError as error:
        raise RequestValidationError("invalid request body", _errors(error)) from error


def json_response(model: BaseModel, status: int = 200) -> Response:
    """`model` as the JSON answer."""
    response = jsonify(model.model_dump(mode="json"))
    response.status_code = status
    return response


def model_from(model: type[M], source: object, **values: Any) -> M:
    """`model` with `values`, every other field read from `source`'s attribute of the same name: the answer
    models mirror the use cases' records, so a mapping names only the fields that differ."""
    read = {name: getattr(source, name) for name in model.model_fields if name not in values}
    return model(**read, **values)


def query_model(model: type[M]) -> M:
    """The query string as `model` (repeated keys become lists where the field is a list); 422 when invalid."""
    values: dict[str, Any] = {}
    for key in request.args:
        items = request.args.getlist(key)
        field = model.model_fields.get(key)
        is_list = field is not None and "list" in str(field.annotation)
        values[key] = items if is_list else items[-1]
    try:
        return model.model_validate(values)
    except ValidationError as error:
        raise RequestValidationError("invalid query parameters", _errors(error)) from error


def _errors(error: ValidationError) -> list[dict[str, Any]]:
    # Input values are left out: they may carry a customer's text or a password.
    return [{"loc": list(item["loc"]), "msg": item["msg"], "type": item["type"]} for item in error.errors()]


def build_document(app: Flask) -> dict[str, Any]:
    """The OpenAPI 3.1 document of the /api/ routes `app` serves, from the recorded operations."""
    routes = api_routes(app)
    missing = [f"{method.upper()} {path}" for path, method, _ in routes if (path, method) not in _OPERATIONS]
    if missing:
        raise RuntimeError(f"API routes not declared with ConsoleBlueprint.api(...): {', '.join(missing)}")
    served = [(_OPERATIONS[(path, method)], rule) for path, method, rule in routes]
    models: list[tuple[type[BaseModel], JsonSchemaMode]] = [(ErrorOut, "serialization")]
    for operation, _ in served:
        if operation.request is not None:
            models.append((operation.request, "validation"))
        if operation.response is not None:
            models.append((operation.response, "serialization"))
    refs, definitions = models_json_schema(list(dict.fromkeys(models)), ref_template="#/components/schemas/{model}")
    error_ref = refs[(ErrorOut, "serialization")]
    paths: dict[str, dict[str, Any]] = {}
    for operation, rule in served:
        item: dict[str, Any] = {
            "operationId": f"{operation.method}_{re.sub(r'[^a-zA-Z0-9]+', '_', operation.path).strip('_')}",
            "summary": operation.summary,
            "tags": list(operation.tags),
            "x-roles": sorted(set(operation.roles) | {Role.ADMIN}),
        }
        if operation.description:
            item["description"] = operation.description
        parameters = [
            {"name": name, "in": "path", "required": True, "schema": {"type": kind}}
            for name, kind in _parameter_types(rule).items()
        ]
        if operation.query is not None:
            schema = operation.query.model_json_schema()
            required = set(schema.get("required", []))
            for name, field_schema in schema.get("properties", {}).items():
                parameter: dict[str, Any] = {"name": name, "in": "query", "required": name in required}
                if "description" in field_schema:
                    parameter["description"] = field_schema.pop("description")
                parameter["schema"] = field_schema
                parameters.append(parameter)
        if parameters:
            item["parameters"] = parameters
        if operation.request is not None:
            item["requestBody"] = {
                "required": True,
                "content": {"application/json": {"schema": refs[(operation.request, "validation")]}},
            }
        success: dict[str, Any] = {"description": STATUS_TEXT.get(operation.status, "OK")}
        if operation.response is not None:
            success["content"] = {operation.content_type: {"schema": refs[(operation.response, "serialization")]}}
        elif operation.content_type != "application/json":
            success["content"] = {operation.content_type: {"schema": {"type": "string"}}}
        responses: dict[str, Any] = {str(operation.status): success}
        codes = {401, 403, *operation.errors}
        if operation.request is not None or operation.query is not None:
            codes.add(422)
        if operation.request is not None:
            codes.add(400)
        for code in sorted(codes):
            responses[str(code)] = {
                "description": STATUS_TEXT.get(code, "Error"),
                "content": {"application/json": {"schema": error_ref}},
            }
        item["responses"] = responses
        paths.setdefault(operation.path, {})[operation.method] = item
    try:
        package_version = version("community-assistant")
    except PackageNotFoundError:
        package_version = "0"
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "community-assistant console API",
            "version": package_version,
            "description": "Queues, escalations and accounts of the agent console. Authenticate with "
            "`Authorization: Bearer <token>` (issue one on /console/account or with `assistant users token`).",
        },
        "paths": paths,
        "components": {
            "schemas": definitions.get("$defs", {}),
            "securitySchemes": {
                "bearerAuth": {"type": "http", "scheme": "bearer"},
                "sessionCookie": {"type": "apiKey", "in": "cookie", "name": "ca_session"},
            },
        },
        "security": [{"bearerAuth": []}, {"sessionCookie": []}],
    }


def document() -> dict[str, Any]:
    """The current app's document, built on first use (routes do not change once the app serves requests)."""
    cached: dict[str, Any] | None = current_app.extensions.get("console.openapi")
    if cached is None:
        cached = build_document(current_app)
        current_app.extensions["console.openapi"] = cached
    return cached


def docs_page() -> str:
    listed = [
        (path, method, item)
        for path, methods in sorted(document()["paths"].items())
        for method, item in sorted(methods.items())
    ]
    return render_template("console/api_docs.html", document=document(), operations=listed)
