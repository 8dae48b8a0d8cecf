"""JSON API of a citizen's own account (/api/v1/account): the same actions as the profile pages."""

from __future__ import annotations

import logging

from flask import Blueprint, Response, current_app, jsonify

from engine.errors import DataValidationError
from tasks.accounts.deletion import delete_account as delete_the_account
from tasks.accounts.email_change import EmailChangeService
from tasks.accounts.errors import AccountError
from tasks.accounts.models import User
from tasks.accounts.profile import account_json as me_json
from tasks.accounts.profile import record_view, update_profile
from tasks.accounts.roles import CITIZEN
from tasks.errors import ApiError
from tasks.legal.acceptance import history
from tasks.mail import MailError

from ..api_errors import json_object
from ..extensions import db
from ..rate_limits import charge_attempt, rate_limited
from ..security import account_service, current_actor, roles_required
from ..services import app_config
from .notifications import send_email_change_code, tell_old_address

log = logging.getLogger(__name__)
bp = Blueprint("account_api", __name__, url_prefix="/api/v1/account")
MAIL_FAILED = "Не удалось отправить письмо. Попробуйте ещё раз через несколько минут."


def _user() -> User:
    user = current_actor()
    assert user is not None
    return user


def _refused(exc: AccountError) -> ApiError:
    charge_attempt()
    return ApiError(exc.status, exc.code, exc.message, exc.field_errors())


def _text(data: dict, name: str) -> str:
    value = data.get(name)
    return value if isinstance(value, str) else ""


def account_json(user: User) -> dict:
    """The profile with the pending e-mail change and every accepted document version."""
    pending = EmailChangeService(db.session, current_app.config["SECRET_KEY"]).pending_address(user)
    return {**me_json(user), "pending_email": pending,
            "documents": [{"document": row.document, "version": row.version,
                           "accepted_at": row.accepted_at.isoformat()} for row in history(db.session, user.id)]}


@bp.get("")
@roles_required(CITIZEN)
def show() -> Response:
    user = _user()
    body = account_json(user)
    record_view(db.session, user, "api")
    return jsonify(body)


@bp.patch("")
@roles_required(CITIZEN)
def change() -> Response:
    """{last_name?, first_name?, middle_name?, birth_date?, enp?, inn?, snils?}: 422 with every problem,
    nothing changed."""
    user = _user()
    data = json_object()
    try:
        update_profile(db.session, user, data, surface="api")
    except DataValidationError as exc:
        raise ApiError(422, "validation_failed", "Проверьте введённые данные.", exc.fields) from exc
    return jsonify(account_json(user))


@bp.post("/email")
@roles_required(CITIZEN)
@rate_limited("account")
def change_email() -> tuple[Response, int]:
    """{email, password} -> 202: a code goes to the new address; the address changes on /email/confirm."""
    user = _user()
    data = json_object()
    try:
        new = EmailChangeService(db.session, current_app.config["SECRET_KEY"]).request(
            user, _text(data, "email"), _text(data, "password"), send_email_change_code)
    except AccountError as exc:
        raise _refused(exc) from exc
    except MailError as exc:
        log.exception("the e-mail change code could not be mailed")
        raise ApiError(503, "mail_unavailable", MAIL_FAILED) from exc
    charge_attempt()
    return jsonify({"status": "code_sent", "pending_email": new,
                    "message": f"Код подтверждения отправлен на {new}."}), 202


@bp.post("/email/confirm")
@roles_required(CITIZEN)
@rate_limited("account")
def confirm_email() -> Response:
    """{code} -> the account with its new address; the old address is told; API tokens end."""
    user = _user()
    try:
        EmailChangeService(db.session, current_app.config["SECRET_KEY"]).confirm(
            user, _text(json_object(), "code"), tell_old_address)
    except AccountError as exc:
        raise _refused(exc) from exc
    except MailError as exc:
        log.exception("the notice to the old address could not be mailed")
        raise ApiError(503, "mail_unavailable", MAIL_FAILED) from exc
    return jsonify(me_json(user))


@bp.post("/delete")
@roles_required(CITIZEN)
@rate_limited("account")
def delete_account() -> Response:
    """{password} -> the account deactivated and its personal data minimised; the token ends with it."""
    user = _user()
    try:
        delete_the_account(db.session, account_service(), app_config(), user,
                           _text(json_object(), "password"))
    except AccountError as exc:
        raise _refused(exc) from exc
    return jsonify({"status": "deleted", "message": "Учётная запись удалена. Поданные заявления хранятся "
                                                    "в сроки, установленные законом."})
