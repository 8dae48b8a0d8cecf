"""Request input the views can trust not to crash them: JSON bodies and integer parameters.

Python's JSON reader recurses once per nesting level and reads integers of any size, so a body nested
5,000 deep raises RecursionError and `10**30` reaches the database driver as an OverflowError - both
500s far from the view. One bound serves every number a request carries: the database's smallest
integer column (32-bit: user, version, draft and task ids), far above any id, page or limit this service
sees (and a page number times its page size still fits a 64-bit OFFSET). A body deeper than
MAX_JSON_DEPTH, an integer beyond the bound, NaN or Infinity is not valid JSON to us (400
`invalid_json`); an integer query or form parameter beyond it is a 400 `invalid_parameter`; an
`<int:...>` path segment beyond it matches no route (404).

The NUL character (U+0000) is text no PostgreSQL text column can store, so it would end as a driver error
(500) wherever a string reaches the database (a lookup included). It is refused on the way in: in a JSON
string or key a 400 `invalid_json`, in a query or form parameter a 400 `invalid_parameter`, in a path
segment no route matches (404).
"""

from __future__ import annotations

from typing import Any

from flask import Flask, Request
from flask.json.provider import DefaultJSONProvider
from werkzeug.datastructures import ImmutableMultiDict
from werkzeug.routing import IntegerConverter, UnicodeConverter

from tasks.errors import ApiError

MAX_JSON_DEPTH = 64  # no form of the product nests more than a few levels
PARAM_MIN, PARAM_MAX = -(2**31), 2**31 - 1  # what the smallest (INTEGER) column holds
NUL = "\x00"


class JsonLimitError(ValueError):
    """Valid JSON the product refuses to read; `message` is the Russian text for the caller."""

    message = "Тело запроса — некорректный JSON."


class JsonTooDeep(JsonLimitError):
    message = f"Тело запроса вложено слишком глубоко (не более {MAX_JSON_DEPTH} уровней)."


class JsonNumberTooLarge(JsonLimitError):
    message = "В теле запроса слишком большое число."


class JsonNulCharacter(JsonLimitError):
    message = "В теле запроса недопустимый символ NUL (\\u0000)."


def _bounded_int(text: str) -> int:
    value = int(text)
    if not PARAM_MIN <= value <= PARAM_MAX:
        raise JsonNumberTooLarge(f"integer out of range: {text[:20]}…")
    return value


def _no_constant(name: str) -> Any:
    raise JsonLimitError(f"{name} is not JSON")


def _check_value(value: Any, limit: int) -> None:
    """Raise when containers nest deeper than `limit` or a string or key holds NUL (iterative: the check
    itself cannot overflow)."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, str):
            if NUL in item:
                raise JsonNulCharacter("NUL in a JSON string")
        elif isinstance(item, dict | list):
            if depth > limit:
                raise JsonTooDeep("JSON nested too deep")
            if isinstance(item, dict):
                if any(NUL in key for key in item):
                    raise JsonNulCharacter("NUL in a JSON key")
                item = list(item.values())
            stack.extend((child, depth + 1) for child in item)


class SafeJSONProvider(DefaultJSONProvider):
    """Flask's JSON with the limits above; every refusal is a ValueError, which Flask treats as bad JSON."""

    def loads(self, s: str | bytes, **kwargs: Any) -> Any:
        kwargs.setdefault("parse_int", _bounded_int)
        kwargs.setdefault("parse_constant", _no_constant)
        try:
            value = super().loads(s, **kwargs)
        except RecursionError as exc:
            raise JsonTooDeep("JSON nested too deep") from exc
        _check_value(value, MAX_JSON_DEPTH)
        return value


class BoundedArgs(ImmutableMultiDict):
    """Query and form parameters without NUL whose `get`/`getlist(..., type=int)` never yield an out-of-range
    integer."""

    def __init__(self, mapping: Any = None) -> None:
        super().__init__(mapping)
        for key, value in self.items(multi=True):
            if NUL in key or (isinstance(value, str) and NUL in value):
                raise ApiError(400, "invalid_parameter", f"Параметр «{key.replace(NUL, '')}»: недопустимый "
                                                         "символ NUL (\\u0000).")

    def get(self, key: Any, default: Any = None, type: Any = None) -> Any:
        value = super().get(key, default, type)
        if type is int and value is not default:
            _check_param(key, value)
        return value

    def getlist(self, key: Any, type: Any = None) -> list:
        values = super().getlist(key, type)
        if type is int:
            for value in values:
                _check_param(key, value)
        return values


def _check_param(key: str, value: int) -> None:
    if not PARAM_MIN <= value <= PARAM_MAX:
        raise ApiError(400, "invalid_parameter", f"Параметр «{key}»: слишком большое число.")


class SafeRequest(Request):
    parameter_storage_class = BoundedArgs

    def on_json_loading_failed(self, e: ValueError | None) -> Any:
        """A body that is not JSON we read: 400 `invalid_json` in the API's shape, saying what is wrong."""
        if e is None:  # not a JSON content type: Flask's 415
            return super().on_json_loading_failed(e)
        message = e.message if isinstance(e, JsonLimitError) else "Тело запроса — некорректный JSON."
        raise ApiError(400, "invalid_json", message)


class BoundedIntConverter(IntegerConverter):
    """`<int:id>` in a route: a number beyond PARAM_MAX matches no route (404), as any unknown id."""

    def __init__(self, map: Any, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("max", PARAM_MAX)
        super().__init__(map, *args, **kwargs)


class NulFreeConverter(UnicodeConverter):
    """`<name>` in a route: a segment holding NUL matches no route (404), as any unknown name."""

    def __init__(self, map: Any, *args: Any, **kwargs: Any) -> None:
        super().__init__(map, *args, **kwargs)
        self.regex = self.regex.replace("[^/]", "[^/\\x00]", 1)


def init_app(app: Flask) -> None:
    """Install the bounded JSON reader, parameters and route converters (before any blueprint)."""
    app.json = SafeJSONProvider(app)
    app.json.ensure_ascii = False  # type: ignore[attr-defined]
    app.request_class = SafeRequest
    app.url_map.converters["int"] = BoundedIntConverter
    app.url_map.converters["default"] = app.url_map.converters["string"] = NulFreeConverter
