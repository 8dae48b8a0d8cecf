"""«Обращения» over JSON: /api/v1/support-requests.

Citizens file and read their own requests and write in them (someone else's is a 404, as if it did not
exist); support specialists, supervisors and administrators read every request (each reading
journaled) and answer them through the inbox's tasks; other staff roles get 403.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, jsonify, request

from engine.errors import DataValidationError
from tasks.accounts.roles import CITIZEN, SUPPORT_STAFF
from tasks.cases.actions import ActionRefused
from tasks.documents.formatting import moscow_time
from tasks.errors import ApiError
from tasks.support.requests import Filed, list_requests, request_view

from ..api_errors import json_object
from ..extensions import db
from ..security import current_actor, roles_required
from ..services import services
from .actions import FilesRejected, readable_request, submit, write
from .attachments import chosen_files

bp = Blueprint("support_api", __name__, url_prefix="/api/v1/support-requests")
READERS = (CITIZEN, *SUPPORT_STAFF)


def _body() -> dict[str, Any]:
    """JSON, or the form fields of a multipart request that carries screenshots."""
    if request.mimetype == "multipart/form-data":
        return {k: v for k, v in request.form.items() if v != ""}
    return json_object()


def _run(action: Any, invalid: str) -> Any:
    try:
        return action()
    except FilesRejected as exc:
        raise ApiError(exc.status, exc.fields[0].code if exc.status != 422 else "validation_failed",
                       exc.fields[0].message, exc.fields) from exc
    except DataValidationError as exc:
        raise ApiError(422, "validation_failed", invalid, exc.fields) from exc
    except ActionRefused as exc:
        raise ApiError(409, exc.code, exc.message) from exc


def _filed_json(filed: Filed) -> dict[str, Any]:
    due = filed.due_at
    return {"number": filed.number, "type": filed.type, "status": filed.status, "appeal_number": filed.appeal_number,
            "due_at": due.isoformat() if due else None,
            "due_date": moscow_time(due).date().isoformat() if due else None}


@bp.post("")
@roles_required(CITIZEN)
def create() -> tuple[Response, int]:
    """{type, text, case_number?} (multipart with up to five `screenshots`) -> 201 {number, due_date, ...}."""
    owner_id = current_actor().id
    body, files = _body(), chosen_files()
    filed = _run(lambda: submit(owner_id, body, files), "Проверьте заполнение обращения.")
    return jsonify(_filed_json(filed)), 201


@bp.get("")
@roles_required(*READERS)
def index() -> Response:
    user = current_actor()
    limit = min(max(request.args.get("limit", 50, type=int), 1), 200)
    offset = max(request.args.get("offset", 0, type=int), 0)
    rows = list_requests(db.session, None if user.role in SUPPORT_STAFF else user.id, limit, offset)
    runtime = services().runtime
    items = [{k: v for k, v in request_view(db.session, runtime, r).items() if k != "messages"} for r in rows]
    return jsonify({"items": items, "limit": limit, "offset": offset})


@bp.get("/<request_number>")
@roles_required(*READERS)
def show(request_number: str) -> Response:
    found = readable_request(request_number)
    return jsonify(request_view(db.session, services().runtime, found))


@bp.post("/<request_number>/messages")
@roles_required(CITIZEN)
def message(request_number: str) -> tuple[Response, int]:
    """The owner writes again {text} (multipart with `screenshots`): answers a question or reopens the request."""
    found = readable_request(request_number)
    owner_id, number = current_actor().id, found.number
    body, files = _body(), chosen_files()
    _run(lambda: write(owner_id, number, body, files), "Проверьте сообщение.")
    runtime = services().runtime
    return jsonify(request_view(db.session, runtime, readable_request(number))), 201
