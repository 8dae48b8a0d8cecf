"""Operations over JSON (supervisors and administrators): incidents, timers, and control of a case.

`GET /api/v1/incidents` and `POST /api/v1/incidents/retry` {ids, reason?} -> {results: [{id, outcome}]};
`GET /api/v1/timers`, `POST /api/v1/timers/{id}/fire|reschedule` {reason, due_at?};
`POST /api/v1/cases/{number}/cancel|suspend|resume` {reason} -> {number, status, suspended}.
Lists are paginated with `?page=` ({items, total, page, pages}).
"""

from __future__ import annotations

from flask import Blueprint, Response, jsonify, request

from engine.clock import utcnow
from tasks.inbox.queries import actor_id

from ..api_errors import json_object
from ..dashboard.views import MANAGERS
from ..extensions import db
from ..security import current_actor, roles_required
from . import actions

bp = Blueprint("operations_api", __name__, url_prefix="/api/v1")


def _actor() -> str:
    return actor_id(current_actor().id)


@bp.get("/incidents")
@roles_required(*MANAGERS)
def incidents() -> Response:
    where, _ = actions.incident_filter(request.args)
    page = actions.page_number(request.args)
    items, total = actions.incidents_page(where, page)
    return jsonify({"items": items, "total": total, "page": page, "pages": actions.pages(total)})


@bp.post("/incidents/retry")
@roles_required(*MANAGERS)
def retry() -> Response:
    data = json_object()
    ids = actions.retry_ids_of(data)
    outcomes = actions.retry(ids, _actor())
    return jsonify({"results": [{"id": i, "outcome": o} for i, o in outcomes.items()]})


@bp.get("/timers")
@roles_required(*MANAGERS)
def timers() -> Response:
    page = actions.page_number(request.args)
    views, total = actions.timers_page(db.session, page, actions.case_of(request.args))
    db.session.commit()
    return jsonify({"items": [v.as_json() for v in views], "total": total, "page": page,
                    "pages": actions.pages(total), "now": utcnow().isoformat()})


@bp.post("/timers/<int:timer_id>/fire")
@roles_required(*MANAGERS)
def fire(timer_id: int) -> Response:
    reason = actions.reason_of(json_object())
    actions.fire_timer(timer_id, _actor(), reason)
    return jsonify({"id": timer_id, "fired": True})


@bp.post("/timers/<int:timer_id>/reschedule")
@roles_required(*MANAGERS)
def reschedule(timer_id: int) -> Response:
    data = json_object()
    reason = actions.reason_of(data)
    due_at = actions.due_of(data, page=False)
    actions.reschedule_timer(timer_id, due_at, _actor(), reason)
    return jsonify({"id": timer_id, "due_at": due_at.isoformat()})


@bp.post("/cases/<number>/<any(cancel, suspend, resume):action>")
@roles_required(*MANAGERS)
def control(number: str, action: str) -> Response:
    reason = actions.reason_of(json_object())
    status = actions.control_case(db.session, number, action, _actor(), reason)
    state = actions.case_state(db.session, number) or {}
    db.session.commit()
    return jsonify({"number": number, "status": status, "suspended": state.get("suspended", False)})
