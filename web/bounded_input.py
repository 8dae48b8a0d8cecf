"""Integers from a URL fit the database: out-of-range numbers are bad input, never an OverflowError (500).

Python's int has no limit, the database's columns do: a 32-bit INTEGER (user, process version, draft and
migration ids), a 64-bit BIGINT elsewhere. `?offset=99999999999999999999` or `/processes/p/versions/2**40`
used to reach the database and fail there. One bound for every number from a URL, the smaller column's, is
far above any id or page this service will see. Query arguments read with
`request.args.get(name, type=int)` answer 400 `invalid_parameter` when out of range; an `<int:...>` path
segment out of range matches no route (404).
"""

from __future__ import annotations

from typing import Any

from flask import Flask, Request
from werkzeug.datastructures import ImmutableMultiDict
from werkzeug.routing import IntegerConverter

from .api_errors import MAX_INT, ApiError


class BoundedArgs(ImmutableMultiDict):
    def get(self, key: str, default: Any = None, type: Any = None) -> Any:
        value = super().get(key, default, type)
        if type is int and isinstance(value, int) and not -MAX_INT <= value <= MAX_INT:
            raise ApiError(400, "invalid_parameter", f"Параметр {key}: слишком большое число.")
        return value


class BoundedRequest(Request):
    parameter_storage_class = BoundedArgs


class BoundedIntConverter(IntegerConverter):
    def __init__(self, map: Any, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("max", MAX_INT)
        super().__init__(map, *args, **kwargs)


def init_app(app: Flask) -> None:
    """Install before any blueprint: rules bind their converters when they are added."""
    app.request_class = BoundedRequest
    app.url_map.converters["int"] = BoundedIntConverter
