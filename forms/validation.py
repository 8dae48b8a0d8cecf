"""Validate form data against a form schema and say, per field and in Russian, what is wrong.

One schema serves the page and the API: `validate(schema, data)` returns `FieldError`s with dotted
paths (`person.passport.issued_on`), stable English codes and precise Russian messages, first from
the JSON Schema keywords (with the identifier checks of forms.formats), then from the schema's
cross-field `x-rules` (forms.rules). `surface="page"` additionally requires `x-required-on-page`
fields (the consent checkbox) and words date-format messages in ДД.ММ.ГГГГ, as the page shows dates.

Typical use, page and API alike: `data, errors = clean("individual_application", data)`.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterable, Mapping
from datetime import date
from functools import cache
from pathlib import Path
from typing import Any, Literal

from jsonschema import Draft202012Validator, FormatChecker
from jsonschema.exceptions import ValidationError

from engine.errors import FieldError

from . import messages
from .dates import looks_like_date, parse_ru_date, today_moscow
from .formats import NO_SUCH_DATE, NORMALIZERS, IdentifierFormatError, build_format_checker, problem_for
from .identifiers import check_account, check_account_key, check_bik, check_corr_account, check_corr_account_key
from .period import resolve_period
from .rules import run_rules
from .schema_walk import Schema, field_order, field_schema, is_object, resolve

SCHEMAS_DIR = Path(__file__).resolve().parent / "schemas"
Surface = Literal["page", "api"]

# Which of several failures on one field a person should see first.
# A format or checksum message says more than a length limit (a СНИЛС typed with extra digits).
_PRIORITY = {"required": 0, "type": 1, "unknown_field": 1, "format": 2, "checksum": 2, "too_short": 3, "too_long": 3}


# ------------------------------------------------------------------ schemas
def schema_path(name: str) -> Path:
    """`registration` or `registration.schema.json` -> the file in forms/schemas/."""
    file_name = name if name.endswith(".json") else f"{name}.schema.json"
    path = (SCHEMAS_DIR / file_name).resolve()
    if path.parent != SCHEMAS_DIR:
        raise ValueError(f"not a form schema name: {name!r}")
    return path


@cache
def load_schema(name: str) -> Schema:
    """The parsed schema, cached for the life of the process. Shared: do not mutate it."""
    schema = json.loads(schema_path(name).read_text(encoding="utf-8"))
    Draft202012Validator.check_schema(schema)
    return schema


@cache
def format_checker() -> FormatChecker:
    """The FormatChecker with the Russian identifier formats; the engine uses it for user-task forms."""
    return build_format_checker()


def _root(schema: str | Schema) -> Schema:
    return load_schema(schema) if isinstance(schema, str) else schema


def _page_variant(node: Any) -> Any:
    """Copy of a schema in which `x-required-on-page` names are plain `required` ones."""
    if isinstance(node, list):
        return [_page_variant(item) for item in node]
    if not isinstance(node, dict):
        return node
    result = {key: _page_variant(value) for key, value in node.items()}
    if node.get("x-required-on-page"):
        result["required"] = list(dict.fromkeys([*node.get("required", ()), *node["x-required-on-page"]]))
    return result


@cache
def _named_validator(name: str, surface: Surface) -> Draft202012Validator:
    return _build_validator(load_schema(name), surface)


# Validators of schemas passed as dicts (user-task forms: one dict per deployed version, kept by the
# engine's version cache), by the dict's identity: built once per process and schema, not per
# submission. The entry holds the dict, so its id cannot be reused while cached.
_DICT_VALIDATORS: dict[tuple[int, str], tuple[Schema, Draft202012Validator]] = {}
_DICT_VALIDATORS_KEPT = 512


def _dict_validator(root: Schema, surface: Surface) -> Draft202012Validator:
    entry = _DICT_VALIDATORS.get((id(root), surface))
    if entry is not None and entry[0] is root:
        return entry[1]
    if len(_DICT_VALIDATORS) >= _DICT_VALIDATORS_KEPT:
        _DICT_VALIDATORS.clear()
    validator = _build_validator(root, surface)
    _DICT_VALIDATORS[(id(root), surface)] = (root, validator)
    return validator


def _build_validator(root: Schema, surface: Surface) -> Draft202012Validator:
    schema = _page_variant(root) if surface == "page" else root
    return Draft202012Validator(schema, format_checker=format_checker())


# ------------------------------------------------------------------ validate
def validate(schema: str | Schema, data: Any, *, today: date | None = None,
             surface: Surface = "page", context: Mapping[str, Any] | None = None) -> list[FieldError]:
    """Every problem of `data`, at most one per field, in the order the fields appear on the page.

    `context` is the case data a staff form is filled against (forms.rules reads it with `$` paths)."""
    root = _root(schema)
    if not isinstance(data, dict):
        return [FieldError("$", "type", "Ожидается объект JSON")]
    validator = _named_validator(schema, surface) if isinstance(schema, str) else _dict_validator(root, surface)
    found: list[FieldError] = []
    for error in validator.iter_errors(data):
        found.extend(_field_errors(error, root, surface))
    errors = _first_per_field(found)
    errors += run_rules(root, data, today or today_moscow(), {e.field for e in errors}, context)
    order = field_order(root)
    return sorted(errors, key=lambda e: order.get(e.field, order.get(e.field.rsplit(".", 1)[0], len(order))))


def clean(schema: str | Schema, data: Any, *, today: date | None = None,
          surface: Surface = "page") -> tuple[Any, list[FieldError]]:
    """Normalise then validate: what a page handler or API endpoint should call and store."""
    day = today or today_moscow()
    normalized = normalize(schema, data, today=day) if isinstance(data, dict) else data
    return normalized, validate(schema, normalized, today=day, surface=surface)


def _first_per_field(errors: Iterable[FieldError]) -> list[FieldError]:
    best: dict[str, FieldError] = {}
    for e in errors:
        held = best.get(e.field)
        if held is None or _PRIORITY.get(e.code, 4) < _PRIORITY.get(held.code, 4):
            best[e.field] = e
    return list(best.values())


def _dotted(parts: Iterable[Any]) -> str:
    return ".".join(str(p) for p in parts)


def _field_errors(error: ValidationError, root: Schema, surface: Surface) -> list[FieldError]:
    path = _dotted(error.absolute_path)
    prefix = f"{path}." if path else ""
    keyword = str(error.validator)
    if keyword == "required":
        missing = [p for p in error.validator_value if error.message == f"{p!r} is a required property"]
        return [_keyword_error(f"{prefix}{name}", "required", None, root) for name in missing]
    if keyword == "additionalProperties" and isinstance(error.instance, dict):
        known = set(error.schema.get("properties") or {})
        extras = sorted(set(error.instance) - known)
        return [FieldError(f"{prefix}{name}", "unknown_field", messages.unknown_field(name)) for name in extras]
    if keyword == "format":
        return [_format_error(path, error, root, surface)]
    if keyword == "minLength" and error.instance == "":
        return [_keyword_error(path, "required", None, root)]
    return [_keyword_error(path, keyword, error.validator_value, root)]


def _keyword_error(path: str, keyword: str, value: Any, root: Schema) -> FieldError:
    custom = (field_schema(root, path).get("x-messages") or {}).get(keyword)
    message = custom or messages.default_message(keyword, value)
    return FieldError(path or "$", messages.CODES.get(keyword, keyword), message)


def _format_error(path: str, error: ValidationError, root: Schema, surface: Surface) -> FieldError:
    fmt = str(error.validator_value)
    cause = error.cause
    problem = cause.problem if isinstance(cause, IdentifierFormatError) else problem_for(fmt, error.instance)
    if problem is None:
        return _keyword_error(path, "format", fmt, root)
    message = problem.message
    if surface == "page" and isinstance(error.instance, str):
        if fmt == "date":
            no_such_day = looks_like_date(error.instance) and parse_ru_date(error.instance) is None
            message = NO_SUCH_DATE if no_such_day else messages.DATE_FORMAT_PAGE
        elif fmt == "month":
            message = messages.MONTH_FORMAT_PAGE
    return FieldError(path, problem.code, message)


# ------------------------------------------------------------------ normalize
def normalize(schema: str | Schema, data: dict[str, Any], *, today: date | None = None) -> dict[str, Any]:
    """Canonical form of the data: trimmed strings, identifiers without separators, defaults, period.

    Values that cannot be normalised are left as they are for `validate` to report.
    """
    root = _root(schema)
    return _normalize_object(resolve(root, root), root, copy.deepcopy(data), today or today_moscow())


def _normalize_object(node: Schema, root: Schema, data: dict[str, Any], today: date) -> dict[str, Any]:
    for name, child in (node.get("properties") or {}).items():
        child = resolve(child, root)
        if name not in data:
            if "default" in child and not is_object(child):
                data[name] = copy.deepcopy(child["default"])
            continue
        value = data[name]
        if isinstance(value, dict) and is_object(child):
            data[name] = _normalize_object(child, root, value, today)
        elif isinstance(value, str) and child.get("x-widget") != "password":
            data[name] = NORMALIZERS.get(child.get("format", ""), str.strip)(value)
    if node.get("x-widget") == "period":
        data = resolve_period(data, today)
    return data


# ------------------------------------------------------------------ bank details
def validate_bank_details(bik: str, account: str | None, corr_account: str | None, *,
                          prefix: str = "organization.bank") -> list[FieldError]:
    """Shape of БИК, р/с and к/с, then their control keys against the БИК (fields under `prefix`)."""
    errors: list[FieldError] = []
    for name, value, check in (("bik", bik, check_bik), ("account", account, check_account),
                               ("corr_account", corr_account, check_corr_account)):
        problem = check(value) if value else None
        if problem:
            errors.append(FieldError(f"{prefix}.{name}", problem.code, problem.message))
    failed = {e.field for e in errors}
    if not bik or f"{prefix}.bik" in failed:
        return errors
    for name, value, key_check in (("account", account, check_account_key),
                                   ("corr_account", corr_account, check_corr_account_key)):
        problem = key_check(bik, value) if value and f"{prefix}.{name}" not in failed else None
        if problem:
            errors.append(FieldError(f"{prefix}.{name}", problem.code, problem.message))
    return errors
