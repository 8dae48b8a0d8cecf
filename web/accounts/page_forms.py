"""The login, one-time code and activation forms as view models of forms.rendering.

They have no JSON Schema (nothing is stored from them), but they print through the same macros as
the schema-driven forms, so every form of the portal has the same markup, error placement and
accessibility attributes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from engine.errors import FieldError
from forms.rendering import ErrorLink, FieldView, FormView
from tasks.accounts.passwords import MIN_LENGTH
from tasks.accounts.service import ACTIVATION_TTL, RESET_TTL


def _field(name: str, label: str, widget: str, values: Mapping[str, str], **extra: object) -> FieldView:
    return FieldView(name=name, id=f"f-{name}", label=label, widget=widget, required=True,
                     value=values.get(name, "") if widget != "password" else "", **extra)  # type: ignore[arg-type]


def form_view(fields: list[FieldView], errors: Sequence[FieldError]) -> FormView:
    """A form of these fields with each error next to its field and linked from the summary at the top."""
    by_field = {f.name: f for f in fields}
    links = []
    for error in errors:
        target = by_field.get(error.field)
        if target is not None and target.error is None:
            target.error = error.message
        links.append(ErrorLink(f"{target.label}: {error.message}" if target else error.message,
                               f"#{target.id}" if target else None))
    return FormView(title=None, description=None, nodes=list(fields), errors=links)


def login_form(values: Mapping[str, str], errors: Sequence[FieldError] = ()) -> FormView:
    fields = [
        _field("email", "Электронная почта", "email", values, autocomplete="username", maxlength=254),
        _field("password", "Пароль", "password", values, autocomplete="current-password", maxlength=128),
    ]
    return form_view(fields, errors)


def otp_form(errors: Sequence[FieldError] = ()) -> FormView:
    """The second login step of staff, and the confirmation of a new authenticator.

    Never refilled: a code is good for one login, so a rejected one is no use to correct.
    """
    # maxlength 7: apps show the code as «123 456» and people type the space; the service drops it.
    field = _field("otp", "Код из приложения-аутентификатора", "text", {}, autocomplete="one-time-code",
                   inputmode="numeric", maxlength=7, hint="Шесть цифр; код меняется каждые 30 секунд")
    return form_view([field], errors)


def activation_form(values: Mapping[str, str], errors: Sequence[FieldError] = ()) -> FormView:
    fields = [
        _field("email", "Электронная почта", "email", values, autocomplete="email", maxlength=254),
        _field("code", "Код из письма", "text", values, autocomplete="one-time-code", inputmode="numeric",
               maxlength=6, hint=f"Шесть цифр; код действует {int(ACTIVATION_TTL.total_seconds()) // 60} минут"),
    ]
    return form_view(fields, errors)


def reset_request_form(values: Mapping[str, str], errors: Sequence[FieldError] = ()) -> FormView:
    """«Забыли пароль?»: the address to send the code to."""
    field = _field("email", "Электронная почта", "email", values, autocomplete="email", maxlength=254,
                   hint="Адрес, с которым вы регистрировались")
    return form_view([field], errors)


def reset_confirm_form(values: Mapping[str, str], errors: Sequence[FieldError] = ()) -> FormView:
    """The code from the reset letter and the new password (never refilled)."""
    fields = [
        _field("email", "Электронная почта", "email", values, autocomplete="username", maxlength=254),
        _field("code", "Код из письма", "text", values, autocomplete="one-time-code", inputmode="numeric",
               maxlength=7, hint=f"Шесть цифр; код действует {int(RESET_TTL.total_seconds()) // 60} минут"),
        _field("password", "Новый пароль", "password", values, autocomplete="new-password", maxlength=128,
               hint=f"Не менее {MIN_LENGTH} символов; не распространённый пароль и не ваши имя, адрес "
                    "или дата рождения"),
    ]
    return form_view(fields, errors)


def enrolment_link_form(values: Mapping[str, str], errors: Sequence[FieldError] = ()) -> FormView:
    """The administrator's form: whose authenticator the one-time link is for."""
    fields = [_field("email", "Электронная почта сотрудника", "email", values, autocomplete="off", maxlength=254)]
    return form_view(fields, errors)
