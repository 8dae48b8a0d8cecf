"""Account pages: registration, activation by the e-mail code, login (two steps for staff) and logout.

Server-rendered, usable without JavaScript: every step is a plain POST with the CSRF token, errors
come back next to their fields (status 422), success redirects (POST/redirect/GET).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from flask import Blueprint, flash, make_response, redirect, render_template, request, session, url_for
from werkzeug.wrappers import Response

from engine.errors import DataValidationError, FieldError
from forms.flat import flat_from_data, initial_data
from forms.formats import check_email
from forms.rendering import build_form, form_data_from_flat
from forms.validation import load_schema
from tasks.accounts.errors import AccountError, EnrolmentLinkRequired, TotpAlreadyEnrolled
from tasks.accounts.models import User
from tasks.accounts.service import AccountService, SecondFactor, normalize_email
from tasks.documents.qr import qr_png_data_uri
from tasks.legal.acceptance import edition
from tasks.legal.catalogue import Catalogue
from tasks.mail import MailError

from ..legal.gate import current_catalogue
from ..navigation import home_url
from ..rate_limits import charge_attempt, rate_limited
from ..security import NO_STORE, account_service, current_actor, end_session, public, start_session
from ..services import app_config
from .notifications import REGISTER_ANSWER, RESEND_ANSWER, send_activation_code, send_registration_attempt
from .page_forms import activation_form, login_form, otp_form

log = logging.getLogger(__name__)
bp = Blueprint("accounts", __name__)

MAIL_FAILED = "Не удалось отправить письмо с кодом подтверждения. Попробуйте ещё раз через несколько минут."
Page = str | tuple[str, int] | Response


def safe_next(target: str | None, default: str = "/") -> str:
    """`target` if it is a path on this site, else `default`: never an open redirect."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return default
    if any(ord(c) < 32 for c in target):
        return default
    parts = urlsplit(target)
    return target if not parts.scheme and not parts.netloc else default


def _form_errors(exc: AccountError) -> list[FieldError]:
    return exc.field_errors() or [FieldError("$", exc.code, exc.message)]


def _mail_in_files() -> bool:
    return app_config().smtp_url is None


# ---------------------------------------------------------------------- registration
@bp.route("/register", methods=["GET", "POST"])
@public
@rate_limited("register")
def register() -> Page:
    if current_actor() is not None:
        return redirect("/")
    schema = load_schema("registration")
    next_url = safe_next(request.values.get("next"), default="")
    catalogue = current_catalogue()
    if request.method == "GET":
        return _registration_page(schema, catalogue, flat_from_data(schema, initial_data(schema)), [], next_url)
    try:  # a taken address answers like a new one: its owner gets a letter about the attempt
        email = account_service().register(form_data_from_flat(schema, request.form), send_activation_code,
                                           send_registration_attempt, catalogue=catalogue, surface="page")
    except DataValidationError as exc:
        errors = exc.fields
    except MailError:
        log.exception("a registration letter could not be mailed")
        errors = [FieldError("$", "mail_unavailable", MAIL_FAILED)]
    else:
        charge_attempt()
        flash(REGISTER_ANSWER.format(email=email), "success")
        return redirect(url_for(".activate", email=email, next=next_url or None))
    return _registration_page(schema, catalogue, request.form, errors, next_url), 422


def _registration_page(schema: dict, catalogue: Catalogue, values: Mapping[str, Any], errors: list[FieldError],
                       next_url: str) -> str:
    """The form with the documents' current versions in its hidden fields; a checkbox whose document
    changed since the form was shown is cleared, so the person accepts the new text knowingly."""
    values = dict(values.items())
    for document in catalogue.all_current():
        if values.get(document.field) not in (None, "", document.version):
            values.pop(document.id, None)
        values[document.field] = document.version
    return render_template("accounts/register.html", view=build_form(schema, values, errors), next_url=next_url,
                           documents=catalogue.all_current(), edition=edition)


# ---------------------------------------------------------------------- activation
@bp.route("/activate", methods=["GET", "POST"])
@public
@rate_limited("activate")
def activate() -> Page:
    """The code from the letter; a right one signs the person in and takes them home (or to `next`)."""
    values: Mapping[str, str] = request.form if request.method == "POST" else {"email": request.args.get("email", "")}
    next_url = safe_next(request.values.get("next"), default="")
    if request.method == "GET":
        return _activation_page(values, next_url)
    try:
        user = account_service().activate(values.get("email", ""), values.get("code", ""))
    except AccountError as exc:
        charge_attempt()
        return _activation_page(values, next_url, _form_errors(exc), 422)
    flash("Адрес электронной почты подтверждён, вы вошли в личный кабинет.", "success")
    return _complete_login(user, next_url)


def _activation_page(values: Mapping[str, str], next_url: str, errors: list[FieldError] | None = None,
                     status: int = 200) -> tuple[str, int]:
    html = render_template("accounts/activate.html", view=activation_form(values, errors or []),
                           email=normalize_email(values.get("email", "")), next_url=next_url,
                           demo_mailbox=_mail_in_files())
    return html, status


@bp.post("/activate/resend")
@public
@rate_limited("resend")
def resend_code() -> Response:
    """A new activation code. The answer is the same whether the address is unknown, pending or active."""
    charge_attempt()  # every request may send a letter
    email = normalize_email(request.form.get("email", ""))
    next_url = safe_next(request.form.get("next"), default="")
    if check_email(email) is not None:
        flash("Введите адрес электронной почты, который вы указали при регистрации, и запросите код ещё раз.",
              "error")
        return redirect(url_for(".activate", next=next_url or None))
    try:
        sent = account_service().resend_code(email, send_activation_code)
    except MailError:
        log.exception("a new activation code could not be mailed")
        flash(MAIL_FAILED, "error")
    else:
        log.info("activation code resend requested: %s", "sent" if sent else "nothing to send")
        flash(RESEND_ANSWER.format(email=email), "info")
    return redirect(url_for(".activate", email=email, next=next_url or None))


# ---------------------------------------------------------------------- login and logout
@bp.route("/login", methods=["GET", "POST"])
@public
@rate_limited("login")
def login() -> Page:
    """First step: e-mail and password. Citizens are logged in; staff go on to their second factor.

    Without a `next` page everyone lands on their own work (web/navigation.py).
    """
    next_url = safe_next(request.values.get("next"), default="")
    if request.method == "GET":
        if (actor := current_actor()) is not None:
            return redirect(next_url or home_url(actor.role))
        return _login_page({"email": request.args.get("email", "")}, next_url)
    form = request.form
    service = account_service()
    try:
        user = service.check_password(form.get("email", ""), form.get("password", ""))
    except AccountError as exc:
        charge_attempt()
        return _login_page(form, next_url, _form_errors(exc), 422)
    factor = service.second_factor(user)
    if factor is SecondFactor.NONE:
        return _complete_login(user, next_url)
    # Not logged in yet: only the pending step is remembered, and only for PENDING_TTL.
    pending = {"user_id": user.id, "next": next_url, "since": time.time()}
    if factor is SecondFactor.ENROL:
        link = session.get(ENROL_LINK_KEY)
        if not service.enrolment_allowed(user, link):
            return _login_page(form, next_url, _form_errors(EnrolmentLinkRequired()), 403)
        pending["enrol_secret"], pending["enrol_link"] = service.new_totp_secret(), link
    session[PENDING_KEY] = pending
    return redirect(url_for(".login_code" if factor is SecondFactor.CODE else ".enrol_totp"))


def _login_page(values: Mapping[str, str], next_url: str, errors: list[FieldError] | None = None,
                status: int = 200) -> tuple[str, int]:
    view = login_form(values, errors or [])
    return render_template("accounts/login.html", view=view, next_url=next_url), status


def _complete_login(user: User, next_url: str) -> Response:
    session.pop(PENDING_KEY, None)
    session.pop(ENROL_LINK_KEY, None)
    start_session(user)
    return redirect(safe_next(next_url, default="") or home_url(user.role))


# ---------------------------------------------------------------------- staff: the second factor
# Between the password and the code the session holds only PENDING_KEY: {user_id, next, since and,
# while enrolling, enrol_secret}. Flask-Login knows nothing of the user, so no page or API treats
# them as logged in. The enrolment secret lives only there (the signed session cookie, the same
# channel that carries the page showing it) until a code from the app confirms it.
PENDING_KEY = "login_pending"
# The token of the one-time enrolment link the staff member opened, kept until they enrol (or log in).
ENROL_LINK_KEY = "enrol_link"
PENDING_TTL = 15 * 60  # seconds to finish the second step (installing an app included)
RESTART_MESSAGE = "Время на ввод кода истекло или вход не начат. Введите адрес электронной почты и пароль ещё раз."


def _pending_login() -> tuple[User, dict[str, Any]] | None:
    """The user half-way through logging in on this session, while the pending step is fresh."""
    pending = session.get(PENDING_KEY)
    if not isinstance(pending, dict) or time.time() - float(pending.get("since", 0)) > PENDING_TTL:
        session.pop(PENDING_KEY, None)
        return None
    user = account_service().get_active_user(int(pending.get("user_id", 0)))
    if user is None:
        session.pop(PENDING_KEY, None)
        return None
    return user, pending


def _restart_login() -> Response:
    session.pop(PENDING_KEY, None)
    flash(RESTART_MESSAGE, "warning")
    return redirect(url_for(".login"))


def _same_account(user: User) -> bool:
    """The form names the pending account (its hidden `email` keys the per-address rate limit)."""
    return normalize_email(request.form.get("email", "")) == user.email


def _no_store(html: str, status: int) -> Response:
    """These pages are shown before login (so security.py adds no Cache-Control) and one holds a secret."""
    response = make_response(html, status)
    response.headers["Cache-Control"] = NO_STORE
    return response


@bp.route("/login/code", methods=["GET", "POST"])
@public
@rate_limited("login")
def login_code() -> Page:
    """Second step for enrolled staff: a code from the authenticator app; wrong codes are charged."""
    found = _pending_login()
    if found is None:
        return _restart_login()
    user, pending = found
    if not user.totp_secret:  # still enrolling, or reset by an administrator meanwhile
        return redirect(url_for(".enrol_totp")) if pending.get("enrol_secret") else _restart_login()
    if request.method == "GET":
        return _code_page(user)
    if not _same_account(user):
        charge_attempt()
        return _restart_login()
    try:
        account_service().verify_otp(user, request.form.get("otp"))
    except AccountError as exc:
        charge_attempt()
        return _code_page(user, _form_errors(exc), 422)
    return _complete_login(user, pending["next"])


def _code_page(user: User, errors: list[FieldError] | None = None, status: int = 200) -> Response:
    html = render_template("accounts/login_code.html", view=otp_form(errors or []), email=user.email)
    return _no_store(html, status)


@bp.get("/login/enrol/<token>")
@public
def enrolment_link(token: str) -> Response:
    """The one-time link an administrator issued: remembered in the session, then the usual login.

    The token is checked against the account only after the password, so the link alone reveals nothing.
    """
    session[ENROL_LINK_KEY] = token[:100]
    flash("Войдите с паролем: после этого вы подключите приложение-аутентификатор.", "info")
    return redirect(url_for(".login"))


@bp.route("/login/enrol", methods=["GET", "POST"])
@public
@rate_limited("login")
def enrol_totp() -> Page:
    """Staff without a second factor: scan the QR code, then confirm with the first code to log in."""
    found = _pending_login()
    if found is None:
        return _restart_login()
    user, pending = found
    secret = pending.get("enrol_secret")
    if user.totp_secret:  # enrolled in another tab: use the code step
        flash("Приложение-аутентификатор уже подключено. Введите код из него.", "info")
        pending.pop("enrol_secret", None)
        session[PENDING_KEY] = pending
        return redirect(url_for(".login_code"))
    if not isinstance(secret, str):
        return _restart_login()
    if request.method == "GET":
        return _enrol_page(user, secret)
    if not _same_account(user):
        charge_attempt()
        return _restart_login()
    service = account_service()
    try:
        service.enrol_totp(user, secret, request.form.get("otp"), pending.get("enrol_link"))
    except TotpAlreadyEnrolled:
        return redirect(url_for(".enrol_totp"))  # the GET above sends them to the code step
    except AccountError as exc:
        charge_attempt()
        return _enrol_page(user, secret, _form_errors(exc), 422)
    log.info("user %s enrolled an authenticator app", user.id)
    flash("Приложение-аутентификатор подключено. При следующих входах вводите код из него.", "success")
    return _complete_login(user, pending["next"])


def _enrol_page(user: User, secret: str, errors: list[FieldError] | None = None, status: int = 200) -> Response:
    uri = AccountService.totp_uri(user, secret)
    html = render_template("accounts/enrol_totp.html", view=otp_form(errors or []), email=user.email,
                           qr=qr_png_data_uri(uri), uri=uri,
                           grouped_secret=" ".join(secret[i:i + 4] for i in range(0, len(secret), 4)))
    return _no_store(html, status)


@bp.post("/logout")
@public
def logout() -> Response:
    """POST only (a link could be triggered by any page); keeps the embedded mode of the session.

    Every session of the person ends, not only this one: a cookie copied earlier stops working too.
    """
    embedded = session.get("embed")
    end_session()
    if embedded:
        session["embed"] = True
    flash("Вы вышли из системы.", "info")
    return redirect(url_for(".login"))
