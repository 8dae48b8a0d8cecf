"""Account pages: registration, activation by the e-mail code, login and logout.

Server-rendered, usable without JavaScript: every step is a plain POST with the CSRF token, errors
come back next to their fields (status 422), success redirects (POST/redirect/GET).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from urllib.parse import urlsplit

from flask import Blueprint, current_app, flash, redirect, render_template, request, session, url_for
from flask_login import login_user, logout_user
from werkzeug.wrappers import Response

from engine.errors import DataValidationError, FieldError
from forms.rendering import build_form, form_data_from_flat
from forms.validation import load_schema
from tasks.mail import MailError

from ..rate_limits import charge_attempt, rate_limited
from ..security import account_service, current_actor, public
from .errors import AccountError, OtpRequired
from .notifications import send_activation_code
from .page_forms import activation_form, login_form

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
    return current_app.extensions["backoffice_config"].smtp_url is None


# ---------------------------------------------------------------------- registration
@bp.route("/register", methods=["GET", "POST"])
@public
@rate_limited("register")
def register() -> Page:
    if current_actor() is not None:
        return redirect("/")
    schema = load_schema("registration")
    if request.method == "GET":
        return render_template("accounts/register.html", view=build_form(schema))
    try:
        user = account_service().register(form_data_from_flat(schema, request.form), send_activation_code,
                                          surface="page")
    except DataValidationError as exc:
        errors = exc.fields
    except AccountError as exc:
        charge_attempt()
        errors = _form_errors(exc)
    except MailError:
        log.exception("activation mail to a new user failed")
        errors = [FieldError("$", "mail_unavailable", MAIL_FAILED)]
    else:
        charge_attempt()
        flash(f"Мы отправили код подтверждения на {user.email}. Введите его ниже.", "success")
        return redirect(url_for(".activate", email=user.email))
    return render_template("accounts/register.html", view=build_form(schema, request.form, errors)), 422


# ---------------------------------------------------------------------- activation
@bp.route("/activate", methods=["GET", "POST"])
@public
@rate_limited("activate")
def activate() -> Page:
    values: Mapping[str, str] = request.form if request.method == "POST" else {"email": request.args.get("email", "")}
    if request.method == "GET":
        return _activation_page(values)
    try:
        user = account_service().activate(values.get("email", ""), values.get("code", ""))
    except AccountError as exc:
        charge_attempt()
        return _activation_page(values, _form_errors(exc), 422)
    flash("Адрес электронной почты подтверждён. Войдите с паролем, который вы задали при регистрации.", "success")
    return redirect(url_for(".login", email=user.email))


def _activation_page(values: Mapping[str, str], errors: list[FieldError] | None = None,
                     status: int = 200) -> tuple[str, int]:
    html = render_template("accounts/activate.html", view=activation_form(values, errors or []),
                           demo_mailbox=_mail_in_files())
    return html, status


# ---------------------------------------------------------------------- login and logout
@bp.route("/login", methods=["GET", "POST"])
@public
@rate_limited("login")
def login() -> Page:
    next_url = safe_next(request.values.get("next"))
    if request.method == "GET":
        if current_actor() is not None:
            return redirect(next_url)
        return _login_page({"email": request.args.get("email", "")}, next_url)
    form = request.form
    try:
        user = account_service().authenticate(form.get("email", ""), form.get("password", ""),
                                              form.get("otp") or None)
    except AccountError as exc:
        charge_attempt()
        needs_otp = isinstance(exc, OtpRequired) or exc.field == "otp"
        return _login_page(form, next_url, _form_errors(exc), needs_otp, 422)
    login_user(user)
    session.permanent = True  # expires after SESSION_LIFETIME of inactivity
    return redirect(next_url)


def _login_page(values: Mapping[str, str], next_url: str, errors: list[FieldError] | None = None,
                with_otp: bool = False, status: int = 200) -> tuple[str, int]:
    view = login_form(values, errors or [], with_otp=with_otp)
    return render_template("accounts/login.html", view=view, next_url=next_url), status


@bp.post("/logout")
@public
def logout() -> Response:
    """POST only (a link could be triggered by any page); keeps the embedded mode of the session."""
    embedded = session.get("embed")
    logout_user()
    session.clear()
    if embedded:
        session["embed"] = True
    flash("Вы вышли из системы.", "info")
    return redirect(url_for(".login"))
