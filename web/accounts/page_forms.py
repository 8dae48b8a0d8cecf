"""The login and activation forms as view models of forms.rendering.

They have no JSON Schema (nothing is stored from them), but they print through the same macros as
the schema-driven forms, so every form of the portal has the same markup, error placement and
accessibility attributes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from engine.errors import FieldError
from forms.rendering import ErrorLink, FieldView, FormView

from .service import ACTIVATION_TTL


def _field(name: str, label: str, widget: str, values: Mapping[str, str], **extra: object) -> FieldView:
    return FieldView(name=name, id=f"f-{name}", label=label, widget=widget, required=True,
                     value=values.get(name, "") if widget != "password" else "", **extra)  # type: ignore[arg-type]


def _view(fields: list[FieldView], errors: Sequence[FieldError]) -> FormView:
    by_field = {f.name: f for f in fields}
    links = []
    for error in errors:
        target = by_field.get(error.field)
        if target is not None and target.error is None:
            target.error = error.message
        links.append(ErrorLink(f"{target.label}: {error.message}" if target else error.message,
                               f"#{target.id}" if target else None))
    return FormView(title=None, description=None, nodes=list(fields), errors=links)


def login_form(values: Mapping[str, str], errors: Sequence[FieldError] = (), *, with_otp: bool = False) -> FormView:
    fields = [
        _field("email", "Электронная почта", "email", values, autocomplete="username", maxlength=254),
        _field("password", "Пароль", "password", values, autocomplete="current-password", maxlength=128),
    ]
    if with_otp:
        fields.append(_field("otp", "Одноразовый код", "text", values, autocomplete="one-time-code",
                             inputmode="numeric", maxlength=6,
                             hint="Шесть цифр из приложения-аутентификатора"))
    return _view(fields, errors)


def activation_form(values: Mapping[str, str], errors: Sequence[FieldError] = ()) -> FormView:
    fields = [
        _field("email", "Электронная почта", "email", values, autocomplete="email", maxlength=254),
        _field("code", "Код из письма", "text", values, autocomplete="one-time-code", inputmode="numeric",
               maxlength=6, hint=f"Шесть цифр; код действует {int(ACTIVATION_TTL.total_seconds()) // 60} минут"),
    ]
    return _view(fields, errors)
