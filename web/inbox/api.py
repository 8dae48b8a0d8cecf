"""Staff task API (/api/v1/tasks): list queues, claim, unclaim, complete (CONTRACT.md)."""

from __future__ import annotations

from flask import Blueprint, Response, abort, current_app, jsonify, request

from engine.errors import Conflict, DataValidationError
from engine.models import HumanTask

from ..accounts.roles import CASE_WORKERS
from ..api_errors import ApiError, json_object
from ..extensions import db
from ..security import current_actor, roles_required
from .queries import QUEUES, actor_id, list_tasks, may_work_on

bp = Blueprint("inbox_api", __name__, url_prefix="/api/v1/tasks")
STAFF = CASE_WORKERS


def _runtime():
    return current_app.extensions["backoffice"].runtime


def _task_for_actor(task_id: int) -> tuple[HumanTask, str, str]:
    """The task if the caller's role may work on it (404 otherwise), plus the caller's id and role."""
    user = current_actor()
    who, role = actor_id(user.id), user.role
    task = db.session.get(HumanTask, task_id)
    if task is None or not may_work_on(task, role):
        abort(404)
    db.session.commit()  # on SQLite the request's read transaction would block the runtime's write
    return task, who, role


@bp.get("")
@roles_required(*STAFF)
def tasks() -> Response:
    user = current_actor()
    queue = request.args.get("queue", "group")
    if queue not in QUEUES:
        raise ApiError(422, "validation_failed", "queue: ожидается mine, group или all.")
    limit = min(max(request.args.get("limit", 50, type=int), 1), 200)
    items = list_tasks(db.session, queue, user.role, actor_id(user.id), request.args.get("role"), limit,
                       max(request.args.get("offset", 0, type=int), 0))
    return jsonify({"items": items, "queue": queue})


@bp.post("/<int:task_id>/claim")
@roles_required(*STAFF)
def claim(task_id: int) -> Response:
    _, who, _ = _task_for_actor(task_id)
    try:
        _runtime().claim(task_id, who)
    except Conflict as exc:
        raise ApiError(409, "conflict", "Задачу уже взял в работу другой сотрудник.") from exc
    return jsonify({"id": task_id, "assignee": who})


@bp.post("/<int:task_id>/unclaim")
@roles_required(*STAFF)
def unclaim(task_id: int) -> Response:
    _, who, role = _task_for_actor(task_id)
    try:
        _runtime().unclaim(task_id, who, force=role in ("supervisor", "admin"))
    except Conflict as exc:
        raise ApiError(409, "conflict", "Задача закреплена за другим сотрудником.") from exc
    return jsonify({"id": task_id, "assignee": None})


@bp.post("/<int:task_id>/complete")
@roles_required(*STAFF)
def complete(task_id: int) -> Response:
    data = json_object()
    _, who, _ = _task_for_actor(task_id)
    try:
        info = _runtime().complete_user_task(task_id, data, who)
    except DataValidationError as exc:
        raise ApiError(422, "validation_failed", "Проверьте заполнение формы.", exc.fields) from exc
    except Conflict as exc:
        raise ApiError(409, "conflict", "Задача уже выполнена или взята в работу другим сотрудником.") from exc
    return jsonify({"id": task_id, "status": "completed", "case_status": info.status})
