"""JSON API of accounts (/api/v1/auth): the same actions as the pages, for integrations and scripts."""

from __future__ import annotations

import logging

from flask import Blueprint, Response, g, jsonify, request

from engine.errors import FieldError
from forms.formats import check_email
from tasks.accounts.errors import AccountError, TotpEnrolmentRequired
from tasks.accounts.profile import account_json
from tasks.accounts.service import RESET_TTL, normalize_email
from tasks.errors import ApiError
from tasks.mail import MailError

from ..api_errors import json_object
from ..legal.gate import current_catalogue
from ..rate_limits import charge_attempt, rate_limited
from ..security import account_service, api_auth_required, current_actor, public
from .notifications import (
    REGISTER_ANSWER,
    RESEND_ANSWER,
    RESET_ANSWER,
    send_activation_code,
    send_password_reset_code,
    send_registration_attempt,
    send_reset_no_account,
)

log = logging.getLogger(__name__)
bp = Blueprint("auth_api", __name__, url_prefix="/api/v1/auth")

MAIL_FAILED = "Не удалось отправить письмо с кодом подтверждения. Попробуйте зарегистрироваться позже."


def _refused(exc: AccountError) -> ApiError:
    """An account error as the API's error body; it counts against the caller's attempt budget."""
    charge_attempt()
    return ApiError(exc.status, exc.code, exc.message, exc.field_errors())


def _text(data: dict, name: str) -> str:
    value = data.get(name)
    return value if isinstance(value, str) else ""


@bp.post("/register")
@public
@rate_limited("register")
def register() -> tuple[Response, int]:
    """{email, password, phone, last_name, first_name, middle_name?, birth_date, enp?, inn?, sms_opt_in?,
    terms_version?, consent_version?} -> 201, the same body for every valid request.

    A new address gets a six-digit activation code by e-mail; a taken address's owner gets a letter
    about the attempt, no code. The client application presents the legal documents in force
    (`GET /api/v1/legal/documents`) before it registers the person; the registration records their
    acceptance with channel "api". Versions, when named, must be the current ones (422
    `outdated_version` at the field), so a client showing an old text learns it.
    """
    try:
        email = account_service().register(json_object(), send_activation_code, send_registration_attempt,
                                           catalogue=current_catalogue(), surface="api")
    except AccountError as exc:
        raise _refused(exc) from exc
    except MailError as exc:
        log.exception("a registration letter could not be mailed")
        raise ApiError(503, "mail_unavailable", MAIL_FAILED) from exc
    charge_attempt()
    return jsonify({"email": email, "status": "pending_activation",
                    "message": REGISTER_ANSWER.format(email=email)}), 201


@bp.post("/activate")
@public
@rate_limited("activate")
def activate() -> Response:
    data = json_object()
    try:
        user = account_service().activate(_text(data, "email"), _text(data, "code"))
    except AccountError as exc:
        raise _refused(exc) from exc
    return jsonify({"email": user.email, "status": "active"})


@bp.post("/activate/resend")
@public
@rate_limited("resend")
def resend_code() -> tuple[Response, int]:
    """A new activation code; 202 with the same body whether the address is unknown, pending or active."""
    charge_attempt()
    email = normalize_email(_text(json_object(), "email"))
    if check_email(email) is not None:
        raise ApiError(422, "validation_failed", "Проверьте введённые данные.",
                       [FieldError("email", "format", "Введите адрес электронной почты, например name@example.ru")])
    try:
        account_service().resend_code(email, send_activation_code)
    except MailError as exc:
        log.exception("a new activation code could not be mailed")
        raise ApiError(503, "mail_unavailable", "Не удалось отправить письмо с кодом подтверждения. "
                                                "Попробуйте ещё раз через несколько минут.") from exc
    return jsonify({"email": email, "status": "code_requested",
                    "message": RESEND_ANSWER.format(email=email)}), 202


@bp.post("/password-reset")
@public
@rate_limited("reset")
def password_reset() -> tuple[Response, int]:
    """{email} -> 202 with the same body for any address; a letter goes out either way."""
    charge_attempt()  # every request may send a letter
    email = normalize_email(_text(json_object(), "email"))
    if check_email(email) is not None:
        raise ApiError(422, "validation_failed", "Проверьте введённые данные.",
                       [FieldError("email", "format", "Введите адрес электронной почты, например name@example.ru")])
    try:
        account_service().request_password_reset(email, send_password_reset_code, send_reset_no_account)
    except MailError as exc:
        log.exception("a password reset letter could not be mailed")
        raise ApiError(503, "mail_unavailable", "Не удалось отправить письмо. "
                                                "Попробуйте ещё раз через несколько минут.") from exc
    return jsonify({"email": email, "status": "reset_requested",
                    "message": RESET_ANSWER.format(email=email, minutes=int(RESET_TTL.total_seconds() // 60))}), 202


@bp.post("/password-reset/confirm")
@public
@rate_limited("reset_confirm")
def password_reset_confirm() -> Response:
    """{email, code, password}: the new password; every session and API token of the account ends."""
    data = json_object()
    try:
        user = account_service().reset_password(_text(data, "email"), _text(data, "code"), _text(data, "password"))
    except AccountError as exc:
        raise _refused(exc) from exc
    return jsonify({"email": user.email, "status": "password_changed"})


@bp.post("/token")
@public
@rate_limited("login")
def token() -> Response:
    """{email, password, otp?} -> a token; staff need `otp` and must have enrolled on the login page."""
    data = json_object()
    service = account_service()
    try:
        user = service.authenticate(_text(data, "email"), _text(data, "password"), _text(data, "otp") or None)
    except TotpEnrolmentRequired as exc:  # the password was right: not a guess, so not charged
        raise ApiError(exc.status, exc.code, exc.message) from exc
    except AccountError as exc:
        raise _refused(exc) from exc
    issued = service.issue_token(user)
    return jsonify({"token": issued.token, "expires_at": issued.expires_at.isoformat()})


@bp.delete("/token")
@api_auth_required
def revoke_token() -> tuple[str, int]:
    """Log out an API client: the token it authenticated with stops working."""
    if g.get("api_user") is None:
        raise ApiError(400, "no_token", "Запрос выполнен без токена: отзывать нечего.")
    account_service().revoke_token(request.headers["Authorization"].partition(" ")[2].strip())
    return "", 204


@bp.get("/me")
@api_auth_required
def me() -> Response:
    user = current_actor()
    assert user is not None
    return jsonify(account_json(user))

