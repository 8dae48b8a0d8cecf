"""Pages «Уведомления» (the list, mark as read) and «Настройки уведомлений» (phone, SMS consent).

Plain server-rendered pages with POST forms and CSRF tokens, usable without JavaScript; citizens only
(staff are reminded by e-mail). Someone else's notice answers 404, as if it did not exist.
"""

from __future__ import annotations

import math

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from engine.errors import DataValidationError, FieldError
from forms.rendering import FieldView, FormView
from tasks.accounts.roles import CITIZEN
from tasks.cases import portal_notifications as service

from ..accounts.page_forms import form_view
from ..extensions import db
from ..security import current_actor, roles_required

bp = Blueprint("notifications", __name__)


@bp.get("/notifications")
@roles_required(CITIZEN)
def index() -> str:
    """The citizen's notices, newest first, unread ones marked, 20 to a page."""
    page = max(request.args.get("page", 1, type=int), 1)
    result = service.list_notifications(db.session, current_actor(), limit=service.PAGE_SIZE,
                                        offset=(page - 1) * service.PAGE_SIZE)
    pages = max(math.ceil(result.total / service.PAGE_SIZE), 1)
    return render_template("notifications/list.html", items=result.items, total=result.total,
                           unread=result.unread, page=page, pages=pages)


@bp.post("/notifications/<int:notification_id>/read")
@roles_required(CITIZEN)
def read(notification_id: int) -> Response:
    if service.mark_read(db.session, current_actor(), notification_id) is None:
        abort(404)
    return redirect(_back())


@bp.post("/notifications/read-all")
@roles_required(CITIZEN)
def read_all() -> Response:
    count = service.mark_all_read(db.session, current_actor())
    flash("Все уведомления отмечены как прочитанные." if count else "Непрочитанных уведомлений нет.", "info")
    return redirect(_back())


def _back() -> str:
    """Back to the page of the list the form was on (only a page number travels, never a URL)."""
    page = request.form.get("page", type=int)
    return url_for(".index", page=page if page and page > 1 else None)


@bp.route("/notifications/settings", methods=["GET", "POST"])
@roles_required(CITIZEN)
def settings() -> str | tuple[str, int] | Response:
    user = current_actor()
    if request.method == "GET":
        values = {"phone": user.phone or "", "sms_opt_in": "on" if user.sms_opt_in else ""}
        return render_template("notifications/settings.html", view=settings_form(values))
    values = {"phone": request.form.get("phone", ""), "sms_opt_in": request.form.get("sms_opt_in", "")}
    try:
        service.update_settings(db.session, user, phone=values["phone"],
                                sms_opt_in=values["sms_opt_in"].strip().lower() in ("on", "true", "1"))
    except DataValidationError as exc:
        db.session.rollback()
        return render_template("notifications/settings.html", view=settings_form(values, exc.fields)), 422
    flash("Настройки уведомлений сохранены.", "success")
    return redirect(url_for(".settings"))


def settings_form(values: dict[str, str], errors: list[FieldError] | None = None) -> FormView:
    fields = [
        FieldView(name="phone", id="f-phone", label="Мобильный телефон", widget="tel", required=True,
                  value=values.get("phone", ""), placeholder="+79991234567", autocomplete="tel", maxlength=20,
                  hint="На этот номер придут SMS-уведомления"),
        FieldView(name="sms_opt_in", id="f-sms-opt-in", label="Получать SMS-уведомления", widget="checkbox",
                  value=values.get("sms_opt_in", ""),
                  hint="Короткие сообщения о смене статуса заявления: только номер заявления и статус. "
                       "Письма на электронную почту и уведомления в личном кабинете приходят всегда"),
    ]
    return form_view(fields, errors or [])


@bp.app_context_processor
def _unread_counter() -> dict[str, object]:
    """`unread_notifications()` for the header of base.html: counted only when a citizen's page asks."""

    def unread_notifications() -> int:
        actor = current_actor()
        if actor is None or actor.role != CITIZEN:
            return 0
        return service.unread_count(db.session, actor.id)

    return {"unread_notifications": unread_notifications}
