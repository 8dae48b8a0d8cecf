"""Between a flat HTML form (dotted names, ДД.ММ.ГГГГ, checkbox "on") and the API-shaped dict.

A page posts `person.passport.series=4500`, `person.birth_date=05.03.1985`, `consent=on`; the API
takes `{"person": {"passport": {"series": "4500"}, "birth_date": "1985-03-05"}, "consent": true}`.
Converting the page's post into the API's shape first means the page and the API are validated by
the very same code against the very same dict.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .dates import format_ru_date, iso_month_to_ru, ru_month_to_iso, ru_to_iso
from .schema_walk import Schema, is_object, required_names, resolve, widget_for

FlatValue = str | list[str]
_CHECKED = frozenset({"on", "true", "1", "yes", "да"})
_ABSENT = object()


def get_list(flat: Mapping[str, Any], name: str) -> list[str]:
    """All submitted values of a name: works with werkzeug's MultiDict and with plain dicts."""
    if hasattr(flat, "getlist"):
        return [str(v) for v in flat.getlist(name)]
    value = flat.get(name)
    if value is None:
        return []
    return [str(v) for v in value] if isinstance(value, list | tuple) else [str(value)]


def get_one(flat: Mapping[str, Any], name: str) -> str | None:
    values = get_list(flat, name)
    return values[0] if values else None


# ------------------------------------------------------------------ flat -> data
def form_data_from_flat(schema: Schema, flat: Mapping[str, Any]) -> dict[str, Any]:
    """Nested, API-shaped data from a posted form.

    Dates become ISO (unparseable text is kept for validation to report), checkboxes booleans,
    empty optional inputs are dropped. Objects the schema requires are always present, so that a
    missing value is reported at its own field (`person.last_name`), not at `person`. File inputs
    are not part of the data: the page uploads them separately.
    """
    root = resolve(schema, schema)
    return _object_from_flat(root, schema, flat, "")


def _object_from_flat(node: Schema, root: Schema, flat: Mapping[str, Any], prefix: str) -> dict[str, Any]:
    required = required_names(node, page=True)
    result: dict[str, Any] = {}
    for name, child in (node.get("properties") or {}).items():
        child = resolve(child, root)
        path = f"{prefix}{name}"
        if is_object(child):
            sub = _object_from_flat(child, root, flat, path + ".")
            if name in required or _has_values(sub):
                result[name] = sub
            continue
        value = _leaf_from_flat(child, flat, path, name in required)
        if value is not _ABSENT:
            result[name] = value
    return result


def _has_values(data: dict[str, Any]) -> bool:
    """Whether anything was typed in: an optional object whose inputs are all empty is left out,
    even when it holds required objects of its own (those are kept empty only to report errors)."""
    return any(_has_values(v) if isinstance(v, dict) else True for v in data.values())


def _leaf_from_flat(node: Schema, flat: Mapping[str, Any], path: str, required: bool) -> Any:
    widget = widget_for(node)
    if widget == "file":
        return _ABSENT
    if widget == "checkbox":
        raw = (get_one(flat, path) or "").strip().lower()
        if raw in _CHECKED:
            return True
        return _ABSENT if required else False
    if widget == "checkboxes":
        chosen = [v.strip() for v in get_list(flat, path) if v.strip()]
        return chosen or _ABSENT
    raw = get_one(flat, path)
    if widget == "hidden" and not raw and "const" in node:
        return node["const"]
    if raw is None or not raw.strip():
        return _ABSENT
    return _typed(node, raw if widget == "password" else raw.strip())


def _typed(node: Schema, text: str) -> Any:
    """Text of one input -> the JSON value the schema expects (left as text when it does not fit)."""
    fmt, kind = node.get("format"), node.get("type")
    if fmt == "date":
        return ru_to_iso(text)
    if fmt == "month":
        return ru_month_to_iso(text)
    if kind == "boolean":
        return {"true": True, "false": False}.get(text.lower(), text)
    if kind in ("integer", "number"):
        try:
            return int(text) if kind == "integer" else float(text.replace(",", "."))
        except ValueError:
            return text
    return text


# ------------------------------------------------------------------ data -> flat
def flat_from_data(schema: Schema, data: Mapping[str, Any]) -> dict[str, FlatValue]:
    """Flat page values from API-shaped data: the inverse of form_data_from_flat (dates as ДД.ММ.ГГГГ)."""
    flat: dict[str, FlatValue] = {}
    _object_to_flat(resolve(schema, schema), schema, data, "", flat)
    return flat


def _object_to_flat(node: Schema, root: Schema, data: Mapping[str, Any], prefix: str,
                    flat: dict[str, FlatValue]) -> None:
    for name, child in (node.get("properties") or {}).items():
        if name not in data or data[name] is None:
            continue
        child, value, path = resolve(child, root), data[name], f"{prefix}{name}"
        if is_object(child):
            if isinstance(value, Mapping):
                _object_to_flat(child, root, value, path + ".", flat)
        elif isinstance(value, bool):
            if value:
                flat[path] = "on" if widget_for(child) == "checkbox" else "true"
            elif widget_for(child) != "checkbox":
                flat[path] = "false"
        elif isinstance(value, list):
            flat[path] = [str(v) for v in value]
        else:
            flat[path] = _text(child, value)


def _text(node: Schema, value: Any) -> str:
    if node.get("format") == "date" and isinstance(value, str):
        return format_ru_date(value)
    if node.get("format") == "month" and isinstance(value, str):
        return iso_month_to_ru(value)
    return str(value)


def initial_data(schema: Schema) -> dict[str, Any]:
    """What a fresh form shows: each field's `x-initial`, else its `default`."""
    return _initial(resolve(schema, schema), schema)


def _initial(node: Schema, root: Schema) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for name, child in (node.get("properties") or {}).items():
        child = resolve(child, root)
        if is_object(child):
            sub = _initial(child, root)
            if sub:
                result[name] = sub
        elif "x-initial" in child:
            result[name] = child["x-initial"]
        elif "default" in child:
            result[name] = child["default"]
    return result
