"""Staff task API (/api/v1/tasks): queues with filters, the case of a task, claim, unclaim, assign, bulk, complete.

The same filters, actions and case screen as the pages (web.inbox.pages), so the two never differ.
Bad filter values answer 422 with the fields; a lost race answers 409 saying who has the task.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, abort, jsonify, request

from engine.errors import Conflict, DataValidationError, FieldError, NotFound
from engine.runtime import Runtime
from tasks.accounts.roles import CASE_WORKERS
from tasks.errors import ApiError
from tasks.inbox.actions import MAX_BULK, Outcome, TaskActions, parse_assignee
from tasks.inbox.case_screen import case_screen, record_case_view
from tasks.inbox.filters import InvalidFilter, parse_filter
from tasks.inbox.queries import actor_id, list_tasks

from ..api_errors import json_object
from ..extensions import db
from ..security import current_actor, roles_required
from ..services import services
from ..support.actions import support_thread

bp = Blueprint("inbox_api", __name__, url_prefix="/api/v1/tasks")
STAFF = CASE_WORKERS
OUTCOME_STATUS = {"not_found": 404, "conflict": 409, "forbidden": 403, "invalid_assignee": 422}


def _runtime() -> Runtime:
    return services().runtime


def _actions() -> TaskActions:
    user = current_actor()
    return TaskActions(db.session, _runtime(), user.id, user.role)


def _answer(outcome: Outcome, **extra: Any) -> Response:
    """200 with the task, or the API's error body with the outcome's Russian message."""
    if not outcome.ok:
        raise ApiError(OUTCOME_STATUS.get(outcome.code, 409), outcome.code, outcome.message)
    return jsonify({"id": outcome.id, "result": outcome.code, "message": outcome.message, **extra})


@bp.get("")
@roles_required(*STAFF)
def tasks() -> Response:
    user = current_actor()
    try:
        f = parse_filter(request.args, user.role)
    except InvalidFilter as exc:
        if any(e.code == "forbidden" for e in exc.fields):
            raise ApiError(403, "forbidden", "Очередь «Все» доступна только руководителю и администратору.") from exc
        raise ApiError(422, "validation_failed", "Проверьте параметры фильтра.", exc.fields) from exc
    page = list_tasks(db.session, f, user.role, actor_id(user.id))
    db.session.commit()
    return jsonify({**page.as_json(), "queue": f.queue, "filter": f.as_json()})


@bp.get("/<int:task_id>")
@roles_required(*STAFF)
def task(task_id: int) -> Response:
    """The case on one screen, as JSON; reading it is journaled as `case_viewed`."""
    user = current_actor()
    actions = _actions()
    found = actions.task(task_id)
    if found is None:
        abort(404)
    screen = case_screen(db.session, _runtime(), found)
    body = {**screen.as_json(), "support_request": support_thread(screen.number)}
    record_case_view(db.session, screen, actor_id(user.id), user.role, "api")
    return jsonify(body)


@bp.post("/<int:task_id>/claim")
@roles_required(*STAFF)
def claim(task_id: int) -> Response:
    me = actor_id(current_actor().id)
    return _answer(_actions().claim(task_id), assignee=me)


@bp.post("/<int:task_id>/unclaim")
@roles_required(*STAFF)
def unclaim(task_id: int) -> Response:
    return _answer(_actions().unclaim(task_id), assignee=None)


def _assignee(body: dict[str, Any]) -> int | None:
    if "assignee" not in body:
        raise ApiError(422, "validation_failed", "Укажите исполнителя.",
                       [FieldError("assignee", "required", "Укажите исполнителя (номер пользователя) или null")])
    try:
        return parse_assignee(body["assignee"])
    except ValueError as exc:
        raise ApiError(422, "validation_failed", "Исполнитель указан неверно.",
                       [FieldError("assignee", "type", "Ожидается номер пользователя, например 17 или \"user:17\"")]) \
            from exc


@bp.post("/<int:task_id>/assign")
@roles_required("supervisor", "admin")
def assign(task_id: int) -> Response:
    """A supervisor's reassignment to an active staff user who may take the task ({"assignee": null} returns it
    to the queue); anyone else is refused with 422 `invalid_assignee` saying why."""
    assignee = _assignee(json_object())
    return _answer(_actions().assign(task_id, assignee),
                   assignee=actor_id(assignee) if assignee is not None else None)


@bp.post("/bulk")
@roles_required(*STAFF)
def bulk() -> Response:
    """{action: claim|assign, ids: [...], assignee?} -> {results: [{id, ok, code, message}]} (200 even if some fail)."""
    body = json_object()
    action, ids = body.get("action"), body.get("ids")
    fields = []
    if action not in ("claim", "assign"):
        fields.append(FieldError("action", "enum", "Ожидается claim или assign"))
    if not isinstance(ids, list) or not ids or not all(isinstance(i, int) and not isinstance(i, bool) for i in ids):
        fields.append(FieldError("ids", "type", "Ожидается непустой список номеров задач"))
    elif len(ids) > MAX_BULK:
        fields.append(FieldError("ids", "maxItems", f"Не больше {MAX_BULK} задач за раз"))
    if fields:
        raise ApiError(422, "validation_failed", "Проверьте запрос.", fields)
    assignee = None
    if action == "assign":
        if current_actor().role not in ("supervisor", "admin"):
            raise ApiError(403, "forbidden", "Назначать задачи могут только руководитель и администратор.")
        assignee = _assignee(body)
    results = _actions().bulk(action, ids, assignee)
    return jsonify({"results": [r.as_json() for r in results], "ok": sum(r.ok for r in results),
                    "failed": sum(not r.ok for r in results)})


@bp.post("/<int:task_id>/complete")
@roles_required(*STAFF)
def complete(task_id: int) -> Response:
    data = json_object()
    me = actor_id(current_actor().id)
    if _actions().task(task_id) is None:
        abort(404)
    try:
        info = _runtime().complete_user_task(task_id, data, me)
    except DataValidationError as exc:
        raise ApiError(422, "validation_failed", "Проверьте заполнение формы.", exc.fields) from exc
    except (Conflict, NotFound) as exc:
        raise ApiError(409, "conflict", "Задача уже выполнена или взята в работу другим сотрудником.") from exc
    return jsonify({"id": task_id, "status": "completed", "case_status": info.status})
