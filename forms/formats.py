"""JSON Schema `format` names for Russian identifiers, dates and contacts.

A schema says `"format": "snils"` and every consumer (page, API, engine user-task forms) checks it
through the one FormatChecker built here. When a value fails, the checker raises
`IdentifierFormatError` carrying the precise `Problem`; jsonschema keeps it as `error.cause`, which
is how forms.validation turns a failed format into «Номер СНИЛС введён с ошибкой: …» rather than
a generic complaint. Formats only judge strings: other types are left to the `type` keyword.

Bank accounts are checked here for shape only; the key against the БИК is a cross-field rule
(forms.validation.validate_bank_details).
"""

from __future__ import annotations

import re
from collections.abc import Callable

from jsonschema import FormatChecker

from . import identifiers as ids
from .dates import looks_like_iso_date, parse_iso_date, parse_iso_month
from .identifiers import Problem

Check = Callable[[str], Problem | None]

_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s.]+(\.[^@\s.]+)+$")


NO_SUCH_DATE = "Такой даты нет в календаре: проверьте день и месяц"


class IdentifierFormatError(ValueError):
    """A format check failed; `.problem` says exactly why, in Russian."""

    def __init__(self, problem: Problem) -> None:
        super().__init__(problem.message)
        self.problem = problem


def check_iso_date(value: str) -> Problem | None:
    if parse_iso_date(value) is not None:
        return None
    if looks_like_iso_date(value):
        return Problem("format", NO_SUCH_DATE)
    return Problem("format", "Введите дату в формате ГГГГ-ММ-ДД")


def check_iso_month(value: str) -> Problem | None:
    if parse_iso_month(value) is None:
        return Problem("format", "Введите месяц в формате ГГГГ-ММ")
    return None


def check_email(value: str) -> Problem | None:
    if not _EMAIL.match(value.strip()):
        return Problem("format", "Введите адрес электронной почты, например name@example.ru")
    return None


# Format name -> single-field check. Names are what the schemas use in "format".
CHECKS: dict[str, Check] = {
    "snils": ids.check_snils,
    "inn": ids.check_inn,
    "inn10": ids.check_inn10,
    "inn12": ids.check_inn12,
    "ogrn": ids.check_ogrn,
    "ogrnip": ids.check_ogrnip,
    "kpp": ids.check_kpp,
    "bik": ids.check_bik,
    "account": ids.check_account,
    "corr-account": ids.check_corr_account,
    "enp": ids.check_enp,
    "passport-series": ids.check_passport_series,
    "passport-number": ids.check_passport_number,
    "division-code": ids.check_division_code,
    "phone": ids.check_phone,
    "email": check_email,
    "date": check_iso_date,
    "month": check_iso_month,
}

# Format name -> canonical stored form (forms.validation.normalize applies these).
NORMALIZERS: dict[str, Callable[[str], str]] = {
    **{name: ids.strip_separators for name in (
        "snils", "inn", "inn10", "inn12", "ogrn", "ogrnip", "bik", "account", "corr-account", "enp",
        "passport-series", "passport-number")},
    "kpp": ids.normalize_kpp,
    "division-code": ids.normalize_division_code,
    "phone": ids.normalize_phone,
    "email": str.strip,
}


def problem_for(format_name: str, value: object) -> Problem | None:
    """The Problem a value has under a format, or None (also for unknown formats and non-strings)."""
    check = CHECKS.get(format_name)
    if check is None or not isinstance(value, str):
        return None
    return check(value)


def _as_checker(check: Check) -> Callable[[object], bool]:
    def run(instance: object) -> bool:
        if isinstance(instance, str):
            problem = check(instance)
            if problem is not None:
                raise IdentifierFormatError(problem)
        return True

    return run


def build_format_checker() -> FormatChecker:
    """jsonschema's standard formats plus ours (ours win where names collide: date, email)."""
    checker = FormatChecker()
    for name, check in CHECKS.items():
        checker.checks(name, raises=IdentifierFormatError)(_as_checker(check))
    return checker
