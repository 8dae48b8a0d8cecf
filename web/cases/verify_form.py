"""The certificate check form (/verify): the number as printed on the paper and the code under its QR code.

People copy what they see: «№ 2026-000123-1 от 05.02.2026» with a non-breaking space or a typographic
dash, or the whole address printed under the QR code. Whatever of that they type, the number and
the code are read out of it; only what is really missing or malformed comes back as an error.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from urllib.parse import parse_qs, unquote

from engine.errors import FieldError
from forms.rendering import FieldView, FormView
from tasks.verification import CODE_LENGTH

from ..accounts.page_forms import form_view

_DASHES = dict.fromkeys(map(ord, "\u2010\u2011\u2012\u2013\u2014\u2212"), "-")
_PREFIX = re.compile(r"^(№|N[o°º]\.?)\s*", re.IGNORECASE)
_DATE_TAIL = re.compile(r"\s+от\s+.*$", re.IGNORECASE | re.DOTALL)
_CODE = re.compile(r"^[A-Za-z0-9_-]+$")
VERIFY_MARK = "/verify/"


def read_verification(number_text: str, code_text: str) -> tuple[str, str]:
    """(number, code) out of what was typed; the address from under the QR code fills both."""
    text = number_text.strip()
    code = re.sub(r"\s", "", code_text)
    if VERIFY_MARK in text:
        path, _, query = text.split(VERIFY_MARK, 1)[1].partition("?")
        text = unquote(path)
        code = code or re.sub(r"\s", "", parse_qs(query).get("code", [""])[0])
    text = _DATE_TAIL.sub("", text.translate(_DASHES))
    number = re.sub(r"\s", "", _PREFIX.sub("", text.strip()))
    return number, code


def verification_problems(number: str, code: str) -> list[FieldError]:
    problems = []
    if not number:
        problems.append(FieldError("number", "required", "Введите номер справки, как он напечатан на ней, "
                                                         "например 2026-000123-1."))
    if not code:
        problems.append(FieldError("code", "required", "Введите код проверки: он напечатан в адресе под QR-кодом, "
                                                       "после «code=»."))
    elif len(code) != CODE_LENGTH or not _CODE.match(code):
        problems.append(FieldError("code", "format", f"В коде проверки {CODE_LENGTH} символов: латинские буквы, "
                                                     "цифры, «-» и «_». Перепишите его из адреса под QR-кодом "
                                                     "полностью, с учётом заглавных и строчных букв."))
    return problems


def verification_form(values: Mapping[str, str], errors: list[FieldError] | None = None) -> FormView:
    fields = [
        FieldView(name="number", id="f-number", label="Номер справки или реестра", widget="text", required=True,
                  value=values.get("number", ""), maxlength=300, autocomplete="off",
                  hint="Как напечатано на документе, например «№ 2026-000123-1». Можно вставить весь адрес "
                       "из-под QR-кода: код проверки возьмём из него."),
        FieldView(name="code", id="f-code", label="Код проверки", widget="text", required=True,
                  value=values.get("code", ""), maxlength=40, autocomplete="off",
                  hint=f"{CODE_LENGTH} символов в адресе под QR-кодом после «code=»"),
    ]
    return form_view(fields, errors or [])
