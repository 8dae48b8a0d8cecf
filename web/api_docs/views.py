"""`GET /api/v1/openapi.json` (the document) and `GET /api/docs` (the same, as a page rendered on the server:
no script and no CDN, so the strict CSP holds)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, current_app, jsonify, render_template

from ..security import public
from .document import build_document

bp = Blueprint("api_docs", __name__)
_CACHE_KEY = "backoffice_openapi"
_METHOD_ORDER = {"get": 0, "post": 1, "patch": 2, "put": 3, "delete": 4}


def document() -> dict[str, Any]:
    """The app's document, built once (the route table does not change while the app runs)."""
    doc = current_app.extensions.get(_CACHE_KEY)
    if doc is None:
        doc = current_app.extensions[_CACHE_KEY] = build_document(current_app)
    return doc


@bp.get("/api/v1/openapi.json")
@public
def openapi() -> Response:
    return jsonify(document())


def _sections(doc: dict[str, Any]) -> list[tuple[str, list[dict[str, Any]]]]:
    """Operations grouped by tag, in the order tags first appear, each with its path and method."""
    groups: dict[str, list[dict[str, Any]]] = {}
    for path, methods in doc["paths"].items():
        for method, op in sorted(methods.items(), key=lambda m: _METHOD_ORDER[m[0]]):
            groups.setdefault(op["tags"][0], []).append({**op, "path": path, "method": method.upper()})
    return list(groups.items())


def _ref_name(schema: dict[str, Any] | None) -> str | None:
    ref = (schema or {}).get("$ref", "")
    return ref.rsplit("/", 1)[-1] if ref.startswith("#/components/schemas/") else None


@bp.get("/api/docs")
@public
def docs() -> str:
    doc = document()
    schemas = doc["components"]["schemas"]
    enums = [(name, s) for name, s in schemas.items() if "enum" in s]
    return render_template("api_docs/index.html", doc=doc, sections=_sections(doc), enums=enums,
                           error=schemas["Error"], ref_name=_ref_name)
