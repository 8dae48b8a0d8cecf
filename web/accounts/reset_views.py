"""«Забыли пароль?»: ask for a code by e-mail, then enter it with a new password.

The first page answers the same for every address (a letter goes out either way: a code to an
account's owner, a note that there is no account to anyone else). The second sets the password;
every session and API token of the account ends, and the person logs in again with it.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

from flask import Blueprint, flash, redirect, render_template, request, session, url_for
from werkzeug.wrappers import Response

from engine.errors import FieldError
from forms.formats import check_email
from tasks.accounts.errors import AccountError
from tasks.accounts.service import RESET_TTL, normalize_email
from tasks.mail import MailError

from ..rate_limits import charge_attempt, rate_limited
from ..security import account_service, end_session, public
from ..services import app_config
from .notifications import RESET_ANSWER, send_password_reset_code, send_reset_no_account
from .page_forms import reset_confirm_form, reset_request_form

log = logging.getLogger(__name__)
bp = Blueprint("password_reset", __name__)

EMAIL_KEY = "reset_email"  # the address asked for, to fill in the second page without putting it in a URL
MAIL_FAILED = "Не удалось отправить письмо. Попробуйте ещё раз через несколько минут."
Page = tuple[str, int] | Response


@bp.route("/password-reset", methods=["GET", "POST"])
@public
@rate_limited("reset")
def request_code() -> Page:
    if request.method == "GET":
        return _request_page({})
    charge_attempt()  # every request may send a letter
    email = normalize_email(request.form.get("email", ""))
    if (problem := check_email(email)) is not None:
        return _request_page(request.form, [FieldError("email", problem.code, problem.message)], 422)
    try:
        sent = account_service().request_password_reset(email, send_password_reset_code, send_reset_no_account)
    except MailError:
        log.exception("a password reset letter could not be mailed")
        return _request_page(request.form, [FieldError("$", "mail_unavailable", MAIL_FAILED)], 503)
    log.info("password reset requested: %s", "code sent" if sent else "no account, note sent")
    session[EMAIL_KEY] = email
    flash(RESET_ANSWER.format(email=email, minutes=int(RESET_TTL.total_seconds() // 60)), "info")
    return redirect(url_for(".confirm"))


@bp.route("/password-reset/confirm", methods=["GET", "POST"])
@public
@rate_limited("reset_confirm")
def confirm() -> Page:
    if request.method == "GET":
        return _confirm_page({"email": request.args.get("email") or session.get(EMAIL_KEY, "")})
    form = request.form
    try:
        account_service().reset_password(form.get("email", ""), form.get("code", ""), form.get("password", ""))
    except AccountError as exc:
        charge_attempt()
        return _confirm_page(form, exc.field_errors() or [FieldError("$", exc.code, exc.message)], 422)
    end_session(everywhere=False)  # this browser logs in again; the reset itself ended the account's sessions
    flash("Пароль изменён. Все входы в личный кабинет завершены — войдите с новым паролем.", "success")
    return redirect(url_for("accounts.login"))


def _request_page(values: Mapping[str, str], errors: list[FieldError] | None = None, status: int = 200) -> Page:
    return render_template("accounts/password_reset.html", view=reset_request_form(values, errors or [])), status


def _confirm_page(values: Mapping[str, str], errors: list[FieldError] | None = None, status: int = 200) -> Page:
    demo_mailbox = app_config().smtp_url is None
    html = render_template("accounts/password_reset_confirm.html", view=reset_confirm_form(values, errors or []),
                           demo_mailbox=demo_mailbox)
    return html, status
