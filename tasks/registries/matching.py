"""Comparing what an applicant typed with what a registry holds.

Four outcomes, because the process treats them differently: `exact` passes, `mismatch` is
wrong personal data, and `fuzzy` - equal only once case, spaces, hyphens and ё/е are
normalised - is the same person written differently (registries keep «Фёдоров», people type
«Федоров»; «Римская-Корсакова» comes back as «Римская Корсакова»), which the process may accept
or send to an operator, but must not reject as wrong data. `partial` - the same surname and
birth date with one given name or patronymic spelled differently («Евгеньевна» / «Евгениевна») -
is most likely one person whom two registries record differently: a case for an operator too.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from .results import Match

NAME_FIELDS = ("last_name", "first_name", "middle_name")
_RANK = {"exact": 0, "fuzzy": 1, "partial": 2, "mismatch": 3}
_INVISIBLE = re.compile("[\u00ad\u200b-\u200d\u2060\ufeff]")  # soft hyphen, zero-width characters
_SEPARATORS = re.compile(r"[\s\-\u2010-\u2015\u2212]+")  # whitespace and every kind of dash
_QUOTES = re.compile(r"[«»\"“”„‟'‘’‚‛`,.]")
# Longest first: "акционерное общество" is inside the longer forms. Matched on whole words only.
_LEGAL_FORMS = (
    ("общество с ограниченной ответственностью", "ооо"),
    ("публичное акционерное общество", "пао"),
    ("непубличное акционерное общество", "ао"),
    ("закрытое акционерное общество", "зао"),
    ("открытое акционерное общество", "оао"),
    ("акционерное общество", "ао"),
    ("автономная некоммерческая организация", "ано"),
    ("индивидуальный предприниматель", "ип"),
    ("государственное бюджетное учреждение", "гбу"),
    ("муниципальное бюджетное учреждение", "мбу"),
    ("федеральное государственное унитарное предприятие", "фгуп"),
    ("государственное унитарное предприятие", "гуп"),
    ("муниципальное унитарное предприятие", "муп"),
)
_LEGAL_FORM_PATTERNS = tuple((re.compile(rf"(?<!\w){full}(?!\w)"), short) for full, short in _LEGAL_FORMS)
_SHORT_FORMS = frozenset(short for _, short in _LEGAL_FORMS) | {"нао"}


def worst(levels: Iterable[Match]) -> Match:
    return max(levels, key=_RANK.__getitem__, default="exact")


def normalize_name(value: str | None, *, fold_yo: bool = True) -> str:
    """Case, ё, dashes and spacing removed from the comparison (`" Фёдоров- Щедрин"` -> `"федоров щедрин"`).

    `fold_yo=False` keeps ё apart from е: the one difference that may mean another name."""
    text = _INVISIBLE.sub("", unicodedata.normalize("NFC", value or "")).casefold()
    if fold_yo:
        text = text.replace("ё", "е")
    return _SEPARATORS.sub(" ", text).strip()


def compare_text(applicant: str | None, registry: str | None) -> Match:
    """exact: the same characters (an absent middle name equals an empty one); fuzzy: equal once normalised."""
    a = unicodedata.normalize("NFC", applicant or "")
    b = unicodedata.normalize("NFC", registry or "")
    if a == b:
        return "exact"
    return "fuzzy" if normalize_name(a) == normalize_name(b) else "mismatch"


def iso_date(value: Any) -> str:
    return value.isoformat() if isinstance(value, date) else str(value or "").strip()


@dataclass(frozen=True)
class Comparison:
    level: Match
    mismatches: list[str] = field(default_factory=list)
    # The registry's own spelling of the name parts that match only once normalised (ё/е, case,
    # hyphens): the operator who reviews a `fuzzy` case compares it with what the applicant typed.
    spelling: dict[str, str] = field(default_factory=dict)


def compare_holder(applicant: Mapping[str, Any], holder: Mapping[str, Any]) -> Comparison:
    """ФИО field by field plus the birth date (which is equal or not: no fuzzy dates)."""
    levels: list[Match] = []
    mismatches: list[str] = []
    spelling: dict[str, str] = {}
    for name in NAME_FIELDS:
        level = compare_text(applicant.get(name), holder.get(name))
        levels.append(level)
        if level == "mismatch":
            mismatches.append(name)
        elif level == "fuzzy":
            spelling[name] = holder.get(name) or ""
    if iso_date(applicant.get("birth_date")) != iso_date(holder.get("birth_date")):
        levels.append("mismatch")
        mismatches.append("birth_date")
    if mismatches in (["first_name"], ["middle_name"]):
        return Comparison("partial", mismatches, spelling)
    return Comparison(worst(levels), mismatches, spelling)


def name_parts(full_name: str | None) -> dict[str, str]:
    """«Фамилия Имя Отчество» (as an account's ФИО is written) -> its parts for compare_holder.

    The first word is the surname, the second the given name, the rest the patronymic («Мамед оглы»
    stays one patronymic); a missing part is empty.
    """
    words = (full_name or "").split()
    return {"last_name": words[0] if words else "", "first_name": words[1] if len(words) > 1 else "",
            "middle_name": " ".join(words[2:])}


def _org_words(value: str | None, *, fold_yo: bool = True) -> list[str]:
    """Words of an organisation name: quotes, case, ё, dashes and spacing gone; legal form abbreviated."""
    text = normalize_name(_QUOTES.sub(" ", unicodedata.normalize("NFC", value or "")), fold_yo=fold_yo)
    for pattern, short in _LEGAL_FORM_PATTERNS:
        text = pattern.sub(short, text)
    return text.split()


def normalize_org_name(value: str | None) -> str:
    """Quotes, case, ё and the spelled-out legal form removed: «Общество с ограниченной ответственностью
    "Ромашка"» and «ООО «Ромашка»» both become `ооо ромашка`; word order is ignored ("Ромашка, ООО")."""
    return " ".join(sorted(_org_words(value)))


def organization_search_name(name: str, inn: str) -> str:
    """What staff search an organisation by (a prefix search): the name people say first («ромашка»),
    then the ИНН and the full name, all lower case with ё as е; at most 400 characters (the column)."""
    words = _org_words(name)
    core = " ".join(w for w in words if w not in _SHORT_FORMS) or " ".join(words)
    full = normalize_name(name)
    return " ".join(x for x in (core, inn, full) if x)[:400]


def _without_legal_form(value: str | None) -> tuple[str, bool]:
    """The name's words (sorted) without the legal form, and whether the name had one."""
    words = _org_words(value)
    core = [w for w in words if w not in _SHORT_FORMS]
    return " ".join(sorted(core)), len(core) != len(words)


def _form_first(value: str | None, *, fold_yo: bool) -> str:
    """The name's words in their order, the legal form moved to the front: «Ромашка, ООО» -> `ооо ромашка`."""
    words = _org_words(value, fold_yo=fold_yo)
    return " ".join([w for w in words if w in _SHORT_FORMS] + [w for w in words if w not in _SHORT_FORMS])


def compare_org_name(applicant: str | None, names: Iterable[str | None]) -> Match:
    """The applicant's name against every name the register knows (full and short).

    exact: the same name once quotes, case, spacing, the legal form's spelling («ООО» / «Общество с
    ограниченной ответственностью») and its place («Ромашка, ООО») are set aside - the ways one name
    is written, which agree with ЕГРЮЛ. fuzzy (an operator looks): equal only with ё read as е or
    with the words in another order, or the applicant left the legal form out («Ромашка»). A
    different legal form («АО» for an «ООО») is a mismatch.
    """
    known = [n for n in names if n]
    wanted = _form_first(applicant, fold_yo=False)
    if wanted and any(_form_first(n, fold_yo=False) == wanted for n in known):
        return "exact"
    wanted = normalize_org_name(applicant)
    if wanted and any(normalize_org_name(n) == wanted for n in known):
        return "fuzzy"
    core, has_form = _without_legal_form(applicant)
    if core and not has_form and any(_without_legal_form(n)[0] == core for n in known):
        return "fuzzy"
    return "mismatch"
