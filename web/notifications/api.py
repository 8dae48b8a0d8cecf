"""JSON API of notifications (/api/v1/notifications): the citizen's list, marking read, SMS settings.

`GET /api/v1/notifications[?unread=1&limit=&offset=]` -> {items, total, unread};
`POST /api/v1/notifications/{id}/read` -> the notice (404 when it is not the caller's);
`POST /api/v1/notifications/read-all` -> {marked};
`GET|PATCH /api/v1/notifications/settings` {phone?, sms_opt_in?} -> {phone, sms_opt_in}.
"""

from __future__ import annotations

from flask import Blueprint, Response, jsonify, request

from tasks.accounts.roles import CITIZEN
from tasks.cases import portal_notifications as service
from tasks.errors import ApiError

from ..api_errors import json_object
from ..extensions import db
from ..security import current_actor, roles_required

bp = Blueprint("notifications_api", __name__, url_prefix="/api/v1/notifications")
MAX_LIMIT = 100


@bp.get("")
@roles_required(CITIZEN)
def index() -> Response:
    limit = min(max(request.args.get("limit", service.PAGE_SIZE, type=int), 1), MAX_LIMIT)
    offset = max(request.args.get("offset", 0, type=int), 0)
    unread_only = (request.args.get("unread") or "").lower() in ("1", "true", "yes")
    result = service.list_notifications(db.session, current_actor(), limit=limit, offset=offset,
                                        unread_only=unread_only)
    return jsonify({"items": [service.notification_json(n) for n in result.items], "total": result.total,
                    "unread": result.unread})


@bp.post("/<int:notification_id>/read")
@roles_required(CITIZEN)
def read(notification_id: int) -> Response:
    note = service.mark_read(db.session, current_actor(), notification_id)
    if note is None:
        raise ApiError(404, "not_found", "Уведомление не найдено.")
    return jsonify(service.notification_json(note))


@bp.post("/read-all")
@roles_required(CITIZEN)
def read_all() -> Response:
    return jsonify({"marked": service.mark_all_read(db.session, current_actor())})


@bp.get("/settings")
@roles_required(CITIZEN)
def get_settings() -> Response:
    return jsonify(service.settings_json(current_actor()))


@bp.patch("/settings")
@roles_required(CITIZEN)
def patch_settings() -> Response:
    data = json_object()
    user = service.update_settings(db.session, current_actor(), phone=data.get("phone"),
                                   sms_opt_in=data.get("sms_opt_in"))
    return jsonify(service.settings_json(user))
