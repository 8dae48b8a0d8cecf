"""The citizen's profile pages: personal data, e-mail address (confirmed at the new one), phone (with the
SMS settings), the accepted legal documents, and deleting the account.

Plain forms with CSRF that work without JavaScript; errors come back next to their fields (422).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from flask import Blueprint, current_app, flash, redirect, render_template, request, session, url_for
from flask_login import logout_user
from werkzeug.wrappers import Response

from engine.errors import DataValidationError, FieldError
from forms.flat import flat_from_data
from forms.rendering import FieldView, FormView, build_form, form_data_from_flat
from forms.validation import load_schema
from tasks.accounts.deletion import delete_account as delete_the_account
from tasks.accounts.email_change import EmailChangeService
from tasks.accounts.errors import AccountError
from tasks.accounts.models import User
from tasks.accounts.profile import SCHEMA, profile_data, record_view, update_profile
from tasks.accounts.roles import CITIZEN
from tasks.legal.acceptance import edition, history
from tasks.mail import MailError

from ..extensions import db
from ..legal.gate import current_catalogue
from ..rate_limits import charge_attempt, rate_limited
from ..security import account_service, current_actor, roles_required, start_session
from ..services import app_config
from .notifications import send_email_change_code, tell_old_address
from .page_forms import form_view

bp = Blueprint("account", __name__)
Page = str | tuple[str, int] | Response
MAIL_FAILED = "Не удалось отправить письмо. Попробуйте ещё раз через несколько минут."


def _user() -> User:
    user = current_actor()
    assert user is not None
    return user


def _email_changes() -> EmailChangeService:
    return EmailChangeService(db.session, current_app.config["SECRET_KEY"])


def _errors(exc: AccountError) -> list[FieldError]:
    return exc.field_errors() or [FieldError("$", exc.code, exc.message)]


def email_form(values: Mapping[str, str], errors: Sequence[FieldError] = ()) -> FormView:
    fields = [
        FieldView(name="email", id="f-new-email", label="Новый адрес электронной почты", widget="email",
                  required=True, value=values.get("email", ""), autocomplete="email", maxlength=254),
        FieldView(name="password", id="f-email-password", label="Текущий пароль", widget="password", required=True,
                  autocomplete="current-password", maxlength=128,
                  hint="Для защиты учётной записи: адрес меняет только её владелец"),
    ]
    return form_view(fields, errors)


@bp.route("/account", methods=["GET", "POST"])
@roles_required(CITIZEN)
def profile() -> Page:
    """The profile; a POST saves the personal data (the form is the profile schema's)."""
    user = _user()
    schema = load_schema(SCHEMA)
    if request.method == "GET":
        record_view(db.session, user, "page")
        return _profile_page(user, build_form(schema, flat_from_data(schema, profile_data(user))))
    try:
        changed = update_profile(db.session, user, form_data_from_flat(schema, request.form), surface="page")
    except DataValidationError as exc:
        return _profile_page(user, build_form(schema, request.form, exc.fields), status=422)
    flash("Личные данные сохранены." if changed else "Изменений нет: данные остались прежними.", "success")
    return redirect(url_for(".profile"))


def _profile_page(user: User, view: FormView, email_view: FormView | None = None, status: int = 200) -> tuple[str, int]:
    catalogue = current_catalogue()
    accepted = [(catalogue.version(row.document, row.version), row) for row in history(db.session, user.id)]
    html = render_template("account/profile.html", user=user, view=view, email_view=email_view or email_form({}),
                           pending_email=_email_changes().pending_address(user), accepted=accepted,
                           edition=edition)
    return html, status


@bp.post("/account/email")
@roles_required(CITIZEN)
@rate_limited("account")
def change_email() -> Page:
    """Ask to change the address: the current password, then a code goes to the new address."""
    user = _user()
    schema = load_schema(SCHEMA)
    try:
        new = _email_changes().request(user, request.form.get("email", ""), request.form.get("password", ""),
                                       send_email_change_code)
    except AccountError as exc:
        charge_attempt()
        form = build_form(schema, flat_from_data(schema, profile_data(user)))
        return _profile_page(user, form, email_form(request.form, _errors(exc)), status=422)
    except MailError:
        flash(MAIL_FAILED, "error")
        return redirect(url_for(".profile"))
    charge_attempt()  # every request mails a code
    flash(f"Мы отправили код подтверждения на {new}. Введите его ниже.", "success")
    return redirect(url_for(".confirm_email"))


def code_form(errors: Sequence[FieldError] = ()) -> FormView:
    field = FieldView(name="code", id="f-code", label="Код из письма", widget="text", required=True,
                      autocomplete="one-time-code", inputmode="numeric", maxlength=6,
                      hint="Шесть цифр из письма, отправленного на новый адрес")
    return form_view([field], errors)


@bp.route("/account/email/confirm", methods=["GET", "POST"])
@roles_required(CITIZEN)
@rate_limited("account")
def confirm_email() -> Page:
    """The code from the letter to the new address; the old address is told when the change is made."""
    user = _user()
    service = _email_changes()
    pending = service.pending_address(user)
    if request.method == "GET":
        return render_template("account/confirm_email.html", view=code_form(), pending=pending)
    try:
        service.confirm(user, request.form.get("code", ""), tell_old_address)
    except AccountError as exc:
        charge_attempt()
        return render_template("account/confirm_email.html", view=code_form(_errors(exc)), pending=pending), 422
    except MailError:
        flash(MAIL_FAILED, "error")
        return redirect(url_for(".confirm_email"))
    start_session(user)  # the change ended every session: this one goes on under the new version
    flash(f"Адрес электронной почты изменён на {user.email}. Входите с ним.", "success")
    return redirect(url_for(".profile"))


def deletion_form(errors: Sequence[FieldError] = ()) -> FormView:
    fields = [
        FieldView(name="password", id="f-password", label="Текущий пароль", widget="password", required=True,
                  autocomplete="current-password", maxlength=128),
        FieldView(name="confirm", id="f-confirm", widget="checkbox", required=True,
                  label="Понимаю, что учётная запись будет удалена без возможности восстановления"),
    ]
    return form_view(fields, errors)


@bp.route("/account/delete", methods=["GET", "POST"])
@roles_required(CITIZEN)
@rate_limited("account")
def delete_account() -> Page:
    """Delete the account after the password and an explicit confirmation; the person is signed out."""
    user = _user()
    if request.method == "GET":
        return render_template("account/delete.html", view=deletion_form())
    problems = [] if request.form.get("confirm") == "on" else [
        FieldError("confirm", "required", "Подтвердите, что хотите удалить учётную запись")]
    try:
        if problems:
            raise DataValidationError("not confirmed", problems)
        delete_the_account(db.session, account_service(), app_config(), user,
                           request.form.get("password", ""))
    except DataValidationError as exc:
        return render_template("account/delete.html", view=deletion_form(exc.fields)), 422
    except AccountError as exc:
        charge_attempt()
        return render_template("account/delete.html", view=deletion_form(_errors(exc))), 422
    logout_user()
    embedded = session.get("embed")
    session.clear()
    if embedded:
        session["embed"] = True
    flash("Учётная запись удалена. Поданные заявления хранятся в сроки, установленные законом.", "info")
    return redirect(url_for("public.home"))
