"""Checks of one cell of an employee row: each returns the normalised value or a (code, message).

Identifiers reuse forms.identifiers (ЕНП with its Luhn digit, ИНН of a person) and e-mail reuses
forms.formats, so a list says exactly what the application form says about the same value.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date, datetime

from forms import identifiers
from forms.dates import format_ru_date
from forms.formats import check_email as check_email_format

from .columns import COLUMNS
from .values import as_date, as_text, is_number, looks_like_date

Issue = tuple[str, str]  # (code, Russian message)
Checked = tuple[object, Issue | None]

_NAME = re.compile(r"^[А-ЯЁа-яё]+(?:[ '’-][А-ЯЁа-яё]+)*$")
_NAME_MAX = 60
_POSITION_MAX = 200
_EMAIL_MAX = 254
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_NO_VALUE = {"-", "–", "—"}  # what people put in «Отчество» when there is none
EARLIEST_BIRTH = date(1900, 1, 1)
NUMBER_HINT = ("; похоже, ячейка хранится как число и Excel изменил цифры — задайте столбцу текстовый формат "
               "и введите номер заново")


def required(field: str) -> Issue:
    return "required", f"Не заполнено: «{COLUMNS[field]}»"


def _too_long(field: str, limit: int) -> Issue:
    return "too_long", f"«{COLUMNS[field]}»: не более {limit} символов"


def check_name(field: str, value: object, optional: bool = False) -> Checked:
    """Фамилия, имя, отчество: Russian letters; hyphen, space and apostrophe inside."""
    text = as_text(value)
    if optional and (not text or text in _NO_VALUE):
        return None, None
    if not text:
        return None, required(field)
    if len(text) > _NAME_MAX:
        return None, _too_long(field, _NAME_MAX)
    if not _NAME.match(text):
        return None, ("format", f"«{text}»: используйте русские буквы; внутри допускаются дефис, пробел и апостроф")
    return text, None


def check_birth_date(value: object, epoch: datetime | None, today: date) -> Checked:
    """A real day, not in the future, not before 1900; a date cell, text or an Excel serial number."""
    if value is None or as_text(value) == "":
        return None, required("birth_date")
    parsed = as_date(value, epoch)
    if parsed is None:
        return None, _bad_date(value)
    if parsed > today:
        return None, ("future_date", f"Дата рождения {format_ru_date(parsed)} ещё не наступила")
    if parsed < EARLIEST_BIRTH:
        return None, ("too_early", f"Дата рождения {format_ru_date(parsed)} раньше 01.01.1900")
    return parsed.isoformat(), None


def _bad_date(value: object) -> Issue:
    text = as_text(value)[:40]
    if looks_like_date(text):
        return "bad_date", f"Такой даты нет в календаре: «{text}»"
    return "bad_date", f"Неверная дата «{text}»: укажите дату в формате ДД.ММ.ГГГГ"


def _identifier(value: object, check: Callable[[str], identifiers.Problem | None]) -> Checked:
    text = as_text(value)
    problem = check(text)
    if problem is None:
        return identifiers.strip_separators(text), None
    message = problem.message + (NUMBER_HINT if is_number(value) else "")
    return None, (problem.code, message)


def check_enp(value: object) -> Checked:
    """Номер полиса ОМС (ЕНП): 16 digits with a Luhn check digit."""
    if as_text(value) == "":
        return None, required("enp")
    return _identifier(value, identifiers.check_enp)


def check_inn(value: object) -> Checked:
    """ИНН of a person, optional: 12 digits with two check digits."""
    if as_text(value) == "":
        return None, None
    return _identifier(value, identifiers.check_inn12)


def check_position(value: object) -> Checked:
    text = as_text(value)
    if not text:
        return None, required("position")
    if len(text) > _POSITION_MAX:
        return None, _too_long("position", _POSITION_MAX)
    if _CONTROL.search(text):
        return None, ("format", "«Должность» содержит недопустимые символы")
    return text, None


def check_email(value: object) -> Checked:
    text = as_text(value)
    if not text:
        return None, required("email")
    if len(text) > _EMAIL_MAX:
        return None, _too_long("email", _EMAIL_MAX)
    problem = check_email_format(text)
    if problem is not None:
        return None, (problem.code, f"«{text[:80]}»: {problem.message[0].lower()}{problem.message[1:]}")
    return text, None

