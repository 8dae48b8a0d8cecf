"""The columns of an employee list and tolerant matching of the headers people write.

Headers are compared by a compact key: lower case, ё -> е, only letters and digits kept (so case,
spaces, trailing asterisks or colons and «E-mail» / «Email» do not matter), first as written and
then without a parenthesised remark («Дата рождения (ДД.ММ.ГГГГ)»). Each field has a few common
synonyms; the order of the columns is free.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

# field -> the header used in templates and reports (the wording)
COLUMNS: dict[str, str] = {
    "last_name": "Фамилия",
    "first_name": "Имя",
    "middle_name": "Отчество",
    "birth_date": "Дата рождения",
    "inn": "ИНН",
    "position": "Должность",
    "enp": "Номер полиса ОМС (ЕНП)",
    "email": "E-mail",
}
OPTIONAL_FIELDS = frozenset({"middle_name", "inn"})
REQUIRED_FIELDS = tuple(f for f in COLUMNS if f not in OPTIONAL_FIELDS)

_SYNONYMS: dict[str, tuple[str, ...]] = {
    "last_name": ("Фамилия",),
    "first_name": ("Имя",),
    "middle_name": ("Отчество", "Отчество (при наличии)", "Отчество (если есть)"),
    "birth_date": ("Дата рождения", "Д.р.", "Дата рожд.", "ДР", "Дата рожд"),
    "inn": ("ИНН", "ИНН физического лица", "ИНН ФЛ"),
    "position": ("Должность", "Занимаемая должность", "Профессия (должность)"),
    "enp": ("Номер полиса ОМС (ЕНП)", "ЕНП", "Полис ОМС", "Номер полиса", "Номер полиса ОМС", "Полис",
            "Единый номер полиса", "Единый номер полиса ОМС", "Номер полиса ОМС / ЕНП"),
    "email": ("E-mail", "Email", "Электронная почта", "Эл. почта", "Адрес электронной почты", "Почта",
              "E-mail адрес", "Mail"),
}
# «Фамилия сотрудника», «Должность работника» mean the same as the bare word.
_QUALIFIERS = ("сотрудника", "работника")
# A numbering column («№», «№ п/п», «N п/п») is common in Russian lists: it is neither data nor
# an error, and a pre-numbered row with nothing else in it is an empty row.
_NUMBERING_KEYS = frozenset({"", "пп", "n", "nпп", "no", "нпп"})
_PARENTHESISED = re.compile(r"\([^)]*\)")
_NOT_ALNUM = re.compile(r"[^0-9a-zа-я]+")


def header_key(text: str) -> str:
    """«  Дата  рождения*: » -> «датарождения»; «E-mail» -> «email»; «Ёмкость» -> «емкость»."""
    return _NOT_ALNUM.sub("", text.lower().replace("ё", "е"))


def _keys(text: str) -> list[str]:
    """The keys a header may match by: as written, then without a remark in brackets."""
    keys = [header_key(text)]
    bare = header_key(_PARENTHESISED.sub(" ", text))
    if bare and bare not in keys:
        keys.append(bare)
    for key in list(keys):
        for qualifier in _QUALIFIERS:
            if key.endswith(qualifier) and len(key) > len(qualifier):
                keys.append(key[: -len(qualifier)])
    return keys


_BY_KEY: dict[str, str] = {header_key(s): name for name, synonyms in _SYNONYMS.items() for s in synonyms}


def field_for_header(text: str) -> str | None:
    """The field a header names, or None for a column we do not know."""
    for key in _keys(text):
        if key in _BY_KEY:
            return _BY_KEY[key]
    return None


@dataclass
class HeaderMatch:
    """How a header row maps onto fields.

    `positions[field]` is the 0-based column of the field (first one when repeated); `unknown` and
    `repeated` hold (column, header) pairs that are reported as problems on the header row.
    """

    positions: dict[str, int] = field(default_factory=dict)
    unknown: list[tuple[int, str]] = field(default_factory=list)
    repeated: list[tuple[int, str, str]] = field(default_factory=list)  # (column, header, first header)
    blank: list[int] = field(default_factory=list)  # columns with no header text
    numbering: list[int] = field(default_factory=list)  # «№ п/п» columns: not read

    @property
    def missing(self) -> list[str]:
        return [f for f in REQUIRED_FIELDS if f not in self.positions]


def match_headers(headers: list[str]) -> HeaderMatch:
    """Map each header to a field; the first of two columns meaning the same field wins."""
    result = HeaderMatch()
    for column, header in enumerate(headers):
        if not header:
            result.blank.append(column)
            continue
        name = field_for_header(header)
        if name is None and header_key(header) in _NUMBERING_KEYS:
            result.numbering.append(column)
        elif name is None:
            result.unknown.append((column, header))
        elif name in result.positions:
            result.repeated.append((column, header, headers[result.positions[name]]))
        else:
            result.positions[name] = column
    return result


def mentions_full_name(headers: list[str]) -> bool:
    """A single «ФИО» column is common; the message about missing columns then says what to do."""
    return any(header_key(h) in {"фио", "фамилияимяотчество"} for h in headers)
