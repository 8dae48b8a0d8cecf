"""Build the OpenAPI 3.1 document of /api/v1 from the route table, the views' access rules and OPERATIONS.

Paths and methods come from the Flask url_map, roles from each view's declaration (web.security), bodies
and enums from the code's schemas (components.py); the words from operations.py. Error statuses follow
from what every endpoint of that kind can answer (the shared error handlers), each with the one error shape.
"""

from __future__ import annotations

import re
from typing import Any

from flask import Flask
from werkzeug.routing import Rule

from tasks.accounts.roles import ROLE_LABELS, ROLES

from ..api_errors import status_text
from ..request_parsing import PARAM_MAX
from ..security import ACCESS_ATTR
from .components import ref, schemas
from .operations import JSON, OPERATIONS, Op

PREFIX = "/api/v1"
_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
_ARGUMENT = re.compile(r"<(?:(?P<converter>[a-z]+)(?:\((?P<args>[^)]*)\))?:)?(?P<name>\w+)>")
# Path parameters that name a file type: the values the view accepts.
_FILE_KINDS = {"employees_api.template": ["xlsx", "csv"], "employees_api.register": ["pdf", "xlsx"]}


class UndocumentedRoutes(RuntimeError):
    """A route lacks its entry in OPERATIONS, or an entry names no route."""


def api_operations(app: Flask) -> list[tuple[Rule, str]]:
    """Every (rule, method) under /api/v1 in the app's route table."""
    return [(rule, method) for rule in app.url_map.iter_rules() if rule.rule.startswith(PREFIX + "/")
            for method in sorted(rule.methods or ()) if method in _METHODS]


def openapi_path(rule: Rule) -> str:
    return _ARGUMENT.sub(lambda m: "{" + m.group("name") + "}", rule.rule)[len(PREFIX):]


def _path_parameters(rule: Rule) -> list[dict[str, Any]]:
    params = []
    for m in _ARGUMENT.finditer(rule.rule):
        converter, args, name = m.group("converter"), m.group("args"), m.group("name")
        schema: dict[str, Any] = {"type": "string"}
        if converter == "int":
            schema = {"type": "integer", "minimum": 0, "maximum": PARAM_MAX}
        elif converter == "any":
            schema = {"type": "string", "enum": [a.strip() for a in (args or "").split(",")]}
        elif rule.endpoint in _FILE_KINDS and name == "kind":
            schema = {"type": "string", "enum": _FILE_KINDS[rule.endpoint]}
        params.append({"name": name, "in": "path", "required": True, "schema": schema})
    return params


def _access(app: Flask, endpoint: str) -> tuple[list[dict[str, list]], list[str] | None]:
    """(OpenAPI security, roles): public -> no security; any login -> every role; else the named roles."""
    access = getattr(app.view_functions[endpoint], ACCESS_ATTR, "")
    if access == "public":
        return [], None
    roles = list(ROLES) if access == "login" else access.partition(":")[2].split(",")
    return [{"bearer": []}, {"session": []}], roles


def _error_statuses(op: Op, method: str, public: bool, has_params: bool) -> list[int]:
    statuses = {400, 422, 429}
    if not public:
        statuses |= {401, 403}
    if has_params or not public:
        statuses.add(404)
    if method != "GET":
        statuses |= {409, 413, 415}
    if method == "GET" and op.answer_types != (JSON,):
        statuses.add(409)  # a file not ready yet
    return sorted(statuses | {s for s in op.extra if s >= 400})


def _operation(app: Flask, rule: Rule, method: str, op: Op) -> dict[str, Any]:
    security, roles = _access(app, rule.endpoint)
    out: dict[str, Any] = {"operationId": f"{rule.endpoint}.{method.lower()}", "summary": op.summary,
                           "tags": [op.tag], "security": security}
    if op.description:
        out["description"] = op.description
    if roles is not None:
        out["x-roles"] = roles
        out["description"] = (out.get("description", "") + "\n\nРоли: "
                              + ", ".join(f"{ROLE_LABELS[r]} (`{r}`)" for r in roles)).strip()
    params = _path_parameters(rule) + [{"name": name, "in": "query", "required": False, "schema": schema,
                                        "description": text} for name, schema, text in op.query]
    if params:
        out["parameters"] = params
    if op.body is not None:
        out["requestBody"] = {"required": op.body_required, "content": {op.body_type: {"schema": op.body}}}
    ok: dict[str, Any] = {"description": "Успешно"}
    if op.answer is not None:
        ok["content"] = {t: {"schema": op.answer} for t in op.answer_types}
    responses: dict[str, Any] = {str(op.status): ok}
    for status in sorted(s for s in op.extra if s < 400):
        responses[str(status)] = ok
    for status in _error_statuses(op, method, roles is None, bool(rule.arguments)):
        responses[str(status)] = {"$ref": f"#/components/responses/E{status}"}
    out["responses"] = responses
    return out


def _error_responses() -> dict[str, Any]:
    return {f"E{status}": {"description": status_text(status)[1],
                           "content": {JSON: {"schema": ref("Error")}}}
            for status in (400, 401, 403, 404, 409, 410, 413, 415, 422, 429, 503, 507)}


def build_document(app: Flask) -> dict[str, Any]:
    """The whole document; raises UndocumentedRoutes when the route table and OPERATIONS disagree."""
    routes = api_operations(app)
    endpoints = {rule.endpoint for rule, _ in routes}
    missing, stale = endpoints - set(OPERATIONS), set(OPERATIONS) - endpoints
    if missing or stale:
        raise UndocumentedRoutes(f"routes without OPERATIONS entries: {sorted(missing)}; "
                                 f"entries without routes: {sorted(stale)}")
    paths: dict[str, dict[str, Any]] = {}
    for rule, method in sorted(routes, key=lambda r: (r[0].rule, r[1])):
        operation = _operation(app, rule, method, OPERATIONS[rule.endpoint])
        paths.setdefault(openapi_path(rule), {})[method.lower()] = operation
    return {
        "openapi": "3.1.0",
        "info": {"title": "Справка о наличии полиса ОМС — API", "version": "1",
                 "description": "JSON API бэк-офиса. Ошибки всегда в одном виде (схема Error). "
                                "Даты — ГГГГ-ММ-ДД. Клиенты API передают заголовок Authorization: Bearer <токен> "
                                "(POST /auth/token)."},
        "servers": [{"url": PREFIX}],
        "paths": paths,
        "components": {
            "schemas": schemas(),
            "responses": _error_responses(),
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer", "description": "Токен из POST /auth/token"},
                "session": {"type": "apiKey", "in": "cookie", "name": "session",
                            "description": "Сессия портала; изменяющие запросы — с заголовком X-CSRFToken"},
            },
        },
    }
