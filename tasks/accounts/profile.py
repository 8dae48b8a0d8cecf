"""A citizen's profile: the personal data that pre-fills their applications, read and changed here.

Pages and the API share these functions. Every read and change is journaled (the change with the names
of the fields, never their values). The e-mail address and the phone have flows of their own: the
address is confirmed at the new one (tasks.accounts.email_change), the phone lives with the SMS settings
(tasks.cases.portal_notifications.update_settings).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

from sqlalchemy.orm import Session

from engine import journal
from engine.errors import DataValidationError
from forms.validation import Surface, clean

from .models import User

SCHEMA = "profile"
FIELDS = ("last_name", "first_name", "middle_name", "birth_date", "enp", "inn", "snils")


def account_json(user: User) -> dict[str, Any]:
    """The account as the API and the personal-data export give it: who the person is and how to reach them."""
    return {
        "id": user.id, "email": user.email, "role": user.role, "role_label": user.role_label,
        "last_name": user.last_name, "first_name": user.first_name, "middle_name": user.middle_name,
        "birth_date": user.birth_date.isoformat() if user.birth_date else None, "phone": user.phone,
        "sms_opt_in": bool(user.sms_opt_in), "enp": user.enp, "inn": user.inn, "snils": user.snils,
    }


def profile_data(user: User) -> dict[str, Any]:
    """The profile in the API's shape (ISO dates; absent values left out)."""
    data = {name: getattr(user, name) for name in FIELDS}
    data["birth_date"] = user.birth_date.isoformat() if user.birth_date else None
    return {k: v for k, v in data.items() if v}


def application_prefill(user: User) -> dict[str, Any]:
    """What an application starts with, in its schema's shape: the applicant's name, birth date, ИНН, СНИЛС, ЕНП."""
    person = {k: v for k, v in profile_data(user).items() if k != "enp"}
    return {"person": person, **({"policy_number": user.enp} if user.enp else {})}


def record_view(session: Session, user: User, channel: str) -> None:
    """Journal that the person's own profile was shown (personal data read), and commit."""
    journal.record(session, None, "profile_viewed", actor=f"user:{user.id}",
                   details={"user_id": user.id, "channel": channel})
    session.commit()


def update_profile(session: Session, user: User, changes: Mapping[str, Any], *,
                   surface: Surface = "api") -> list[str]:
    """Apply `changes` over the current profile and store it when the whole is valid; returns changed fields.

    A field given as null or "" is cleared (only the optional ones may be). Raises DataValidationError
    with every problem, nothing changed.
    """
    merged = {**profile_data(user), **dict(changes)}
    merged = {k: v for k, v in merged.items() if v not in (None, "")}
    data, problems = clean(SCHEMA, merged, surface=surface)
    if problems:
        raise DataValidationError("profile data is invalid", problems)
    new = {name: data.get(name) for name in FIELDS}
    new["birth_date"] = date.fromisoformat(data["birth_date"])
    changed = [name for name in FIELDS if getattr(user, name) != new[name]]
    for name in changed:
        setattr(user, name, new[name])
    if changed:
        journal.record(session, None, "profile_changed", actor=f"user:{user.id}",
                       details={"user_id": user.id, "fields": changed})
    session.commit()
    return changed
