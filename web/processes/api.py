"""The studio over JSON for analysts who script: the processes, a version's sources, drafts, rollback.

Same data and rules as the studio's pages (tasks.studio.catalogue, tasks.studio.drafts); role
analyst or admin, 401 without a login, 403 for every other role. A draft that fails the deploy
validation is answered 422 with its ``problems`` next to the usual error body.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import Blueprint, Response, jsonify, request

from engine.clock import aware
from engine.errors import DeploymentProblem, FieldError
from tasks.accounts.roles import ADMIN, ANALYST
from tasks.errors import ApiError
from tasks.studio import diffs, draft_files, drafts, impact
from tasks.studio.catalogue import deployed_processes, is_current, process_version
from tasks.studio.models import ProcessDraft

from ..api_errors import json_object
from ..extensions import db
from ..security import current_actor, roles_required
from ..services import services
from . import choices, downloads

bp = Blueprint("processes_api", __name__, url_prefix="/api/v1")


def _iso(value: datetime) -> str:
    return aware(value).isoformat()  # SQLite hands back naive UTC


@bp.get("/processes")
@roles_required(ANALYST, ADMIN)
def processes() -> Response:
    rows = deployed_processes(db.session)
    db.session.commit()
    return jsonify([{
        "id": p.process_id, "name": p.name, "current_version": p.current_version,
        "versions": [{"version": v.version, "deployed_by": v.deployed_by, "deployed_at": _iso(v.deployed_at),
                      "comment": v.comment, "running": v.running, "finished": v.finished} for v in p.versions],
    } for p in rows])


@bp.get("/processes/catalogue")
@roles_required(ANALYST, ADMIN)
def catalogue() -> Response:
    """What the modeler's panel picks from; ``?draft=`` adds that draft's own decisions."""
    draft_id = request.args.get("draft", type=int)
    draft = drafts.get_draft(db.session, draft_id) if draft_id is not None else None
    body = choices.catalogue(db.session, draft)
    db.session.commit()
    return jsonify(body)


@bp.get("/processes/<process_id>/versions/<int:version>")
@roles_required(ANALYST, ADMIN)
def version(process_id: str, version: int) -> Response:
    row = process_version(db.session, process_id, version)
    body = {"id": row.process_id, "name": row.name or row.process_id, "version": row.version,
            "current": is_current(db.session, row), "deployed_by": row.deployed_by,
            "deployed_at": _iso(row.deployed_at), "comment": row.comment, "sha256": row.sha256,
            "sources": dict(sorted(row.sources.items()))}
    db.session.commit()
    return jsonify(body)


@bp.get("/processes/<process_id>/diff")
@roles_required(ANALYST, ADMIN)
def diff(process_id: str) -> Response:
    """`from` (default: the current version) and `to`: a version number or draft:<id>."""
    return jsonify(diffs.as_json(diffs.process_diff(db.session, process_id, request.args.get("from"),
                                                    request.args.get("to"))))


def _me() -> str:
    return current_actor().email


def _refused(problems: list[DeploymentProblem]) -> Response:
    message = f"Черновик не прошёл проверку: проблем — {len(problems)}. Ничего не изменено."
    response = jsonify({"error": {"code": "draft_invalid", "message": message, "fields": []},
                        "problems": [p.as_dict() for p in problems]})
    response.status_code = 422
    return response


def _draft_body(draft: ProcessDraft) -> dict[str, Any]:
    return {"draft_id": draft.id, "status": draft.status, "files": sorted(draft.files), "author": draft.author,
            "created_at": _iso(draft.created_at), "updated_at": _iso(draft.updated_at), "comment": draft.comment,
            "proposer": draft.proposer, "approver": draft.approver, "deployed": draft.deployed,
            "revision": draft.revision, "updated_by": draft.updated_by}


def _uploaded_files() -> dict[str, bytes | str]:
    """Multipart ``files`` (several) or JSON ``{"files": {name: xml}}``."""
    if request.files:
        uploads = request.files.getlist("files")
        if not uploads:
            raise ApiError(422, "invalid_files", "Файлы передаются в поле «files».",
                           [FieldError("files", "required", "Файлы передаются в поле «files».")])
        return {f.filename or "": f.stream.read(drafts.MAX_FILE_BYTES + 1) for f in uploads}
    files = json_object().get("files")
    if not isinstance(files, dict) or not all(isinstance(v, str) for v in files.values()):
        message = "Ожидается объект «files»: имя файла -> текст XML."
        raise ApiError(422, "invalid_files", message, [FieldError("files", "invalid", message)])
    return files


@bp.post("/processes/drafts")
@roles_required(ANALYST, ADMIN)
def create_draft() -> tuple[Response, int]:
    draft = drafts.create_draft(db.session, _uploaded_files(), _me())
    db.session.commit()
    return jsonify(_draft_body(draft)), 201


@bp.get("/processes/drafts/<int:draft_id>")
@roles_required(ANALYST, ADMIN)
def draft(draft_id: int) -> Response:
    row = drafts.get_draft(db.session, draft_id)
    body = {**_draft_body(row), "sources": dict(sorted(row.files.items()))}
    db.session.commit()
    return jsonify(body)


@bp.post("/processes/<process_id>/drafts")
@roles_required(ANALYST, ADMIN)
def draft_from_current(process_id: str) -> tuple[Response, int]:
    """A draft holding the current version's files, to edit in the browser."""
    draft = draft_files.draft_from_current(db.session, process_id, _me())
    db.session.commit()
    return jsonify(_draft_body(draft)), 201


@bp.get("/processes/drafts/<int:draft_id>/files/<name>")
@roles_required(ANALYST, ADMIN)
def draft_file(draft_id: int, name: str) -> Response:
    text = draft_files.file_text(db.session, draft_id, name)
    db.session.commit()
    return downloads.attachment(text, name)


@bp.put("/processes/drafts/<int:draft_id>/files/<name>")
@roles_required(ANALYST, ADMIN)
def save_draft_file(draft_id: int, name: str) -> Response:
    """Save one file on the revision it was edited on: 409 with who saved last when that is stale."""
    body = json_object()
    xml, revision = body.get("xml"), body.get("revision")
    fields = ([] if isinstance(xml, str) else [FieldError("xml", "invalid", "Передайте текст файла строкой.")]) + \
        ([] if isinstance(revision, int) and not isinstance(revision, bool) else
         [FieldError("revision", "invalid", "Укажите версию черновика, на которой сделана правка, целым числом.")])
    if fields:
        raise ApiError(422, "validation_failed", fields[0].message, fields)
    try:
        saved = draft_files.save_file(db.session, draft_id, name, xml, revision, _me())
    except draft_files.DraftConflict as exc:
        db.session.rollback()
        response = jsonify({"error": {"code": "conflict", "message": exc.message, "fields": []},
                            "revision": exc.revision, "updated_by": exc.updated_by,
                            "updated_at": _iso(exc.updated_at)})
        response.status_code = 409
        return response
    db.session.commit()
    return jsonify({"revision": saved.revision, "updated_at": _iso(saved.updated_at),
                    "problems": [p.as_dict() for p in saved.problems]})


@bp.post("/processes/drafts/<int:draft_id>/validate")
@roles_required(ANALYST, ADMIN)
def validate_draft(draft_id: int) -> Response:
    problems = drafts.check_draft(db.session, services(), drafts.get_draft(db.session, draft_id))
    return jsonify({"problems": [p.as_dict() for p in problems]})


@bp.post("/processes/drafts/<int:draft_id>/impact")
@roles_required(ANALYST, ADMIN)
def draft_impact(draft_id: int) -> Response:
    """The draft's decisions replayed over the newest decided cases (``limit``, default 1,000)."""
    limit = (json_object() if request.content_length else {}).get("limit", impact.DEFAULT_LIMIT)
    if not isinstance(limit, int) or isinstance(limit, bool) or not 1 <= limit <= impact.MAX_LIMIT:
        message = f"Укажите число заявлений целым числом от 1 до {impact.MAX_LIMIT}."
        raise ApiError(422, "validation_failed", message, [FieldError("limit", "invalid", message)])
    try:
        result = impact.draft_impact(db.session, services(), drafts.get_draft(db.session, draft_id), _me(), limit)
    except drafts.DraftRefused as exc:
        db.session.rollback()
        return _refused(exc.problems)
    return jsonify(impact.as_json(result))


@bp.post("/processes/drafts/<int:draft_id>/propose")
@roles_required(ANALYST, ADMIN)
def propose_draft(draft_id: int) -> Response:
    comment = json_object().get("comment")
    if comment is not None and not isinstance(comment, str):
        raise ApiError(422, "validation_failed", "Комментарий должен быть строкой.",
                       [FieldError("comment", "invalid", "Комментарий должен быть строкой.")])
    try:
        draft = drafts.propose(db.session, services(), draft_id, _me(), comment or "")
    except drafts.DraftRefused as exc:
        db.session.rollback()
        return _refused(exc.problems)
    db.session.commit()
    return jsonify(_draft_body(draft))


@bp.post("/processes/drafts/<int:draft_id>/approve")
@roles_required(ANALYST, ADMIN)
def approve_draft(draft_id: int) -> Response:
    try:
        approval = drafts.approve(db.session, services(), draft_id, _me())
    except drafts.DraftRefused as exc:
        return _refused(exc.problems)
    return jsonify({**_draft_body(approval.draft),
                    "versions": [{"process_id": d.process_id, "version": d.version, "created": d.created}
                                 for d in approval.deployed]})


@bp.post("/processes/drafts/<int:draft_id>/reject")
@roles_required(ANALYST, ADMIN)
def reject_draft(draft_id: int) -> Response:
    draft = drafts.reject(db.session, drafts.get_draft(db.session, draft_id, lock=True), _me())
    db.session.commit()
    return jsonify(_draft_body(draft))


@bp.post("/processes/<process_id>/current")
@roles_required(ANALYST, ADMIN)
def set_current(process_id: str) -> Response:
    version = json_object().get("version")
    if not isinstance(version, int) or isinstance(version, bool):
        message = "Укажите номер версии целым числом."
        raise ApiError(422, "validation_failed", message, [FieldError("version", "invalid", message)])
    changed = drafts.rollback(db.session, process_id, version, _me())
    db.session.commit()
    return jsonify({"id": process_id, "current_version": version, "changed": changed})
