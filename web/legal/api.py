"""JSON API of the legal documents: what is in force (public) and a citizen's acceptance of new versions."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify, url_for

from engine.errors import DataValidationError
from tasks.accounts.roles import CITIZEN
from tasks.errors import ApiError
from tasks.legal.acceptance import accept, pending
from tasks.legal.catalogue import LegalDocument

from ..api_errors import json_object
from ..extensions import db
from ..security import current_actor, public, roles_required
from .gate import current_catalogue

bp = Blueprint("legal_api", __name__, url_prefix="/api/v1/legal")


def document_json(document: LegalDocument) -> dict:
    return {"document": document.id, "title": document.title, "version": document.version,
            "effective": document.effective.isoformat(), "field": document.field, "sha256": document.sha256,
            "url": url_for("legal.document", document_id=document.id, version=document.version, _external=True)}


@bp.get("/documents")
@public
def documents() -> Response:
    """The versions in force: a client shows them before registering (and may name them as `{document}_version`)."""
    return jsonify({"documents": [document_json(d) for d in current_catalogue().all_current()]})


@bp.post("/acceptances")
@roles_required(CITIZEN)
def acceptances() -> Response:
    """{terms_version?, consent_version?}: accept what is pending (422 at the field for a missing or old one)."""
    actor = current_actor()
    assert actor is not None
    catalogue = current_catalogue()
    try:
        recorded = accept(db.session, actor.id, catalogue, json_object(), channel="api")
    except DataValidationError as exc:
        raise ApiError(422, "validation_failed", "Проверьте принимаемые редакции документов.", exc.fields) from exc
    return jsonify({"accepted": [document_json(d) for d in recorded],
                    "pending": [document_json(d) for d in pending(db.session, actor.id, catalogue)]})
