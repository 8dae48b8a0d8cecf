"""Walking a form schema: local $ref resolution, field lookup by dotted path, leaf enumeration.

Validation, normalisation and rendering all need to know "what does the schema say about
`person.passport.issued_on`"; this module answers it once. Only local references
(`#/$defs/...`) are resolved: a form schema travels alone (the engine stores each one with the
deployed process version), so it cannot point at other files.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

Schema = dict[str, Any]


def resolve(node: Schema, root: Schema) -> Schema:
    """Merge a local `$ref` target under the node's own keywords (2020-12 allows siblings of $ref)."""
    ref = node.get("$ref")
    if not isinstance(ref, str) or not ref.startswith("#/"):
        return node
    target: Any = root
    for part in ref[2:].split("/"):
        target = target[part.replace("~1", "/").replace("~0", "~")]
    merged = {**resolve(target, root), **{k: v for k, v in node.items() if k != "$ref"}}
    if "x-messages" in target and "x-messages" in node:
        merged["x-messages"] = {**target["x-messages"], **node["x-messages"]}
    return merged


def field_schema(root: Schema, path: str) -> Schema:
    """Resolved schema of the field at a dotted path (`reasons.0` reaches the items); {} if unknown."""
    node = resolve(root, root)
    if path in ("", "$"):
        return node
    for part in path.split("."):
        if part.isdigit() and isinstance(node.get("items"), dict):
            node = node["items"]
        else:
            node = (node.get("properties") or {}).get(part)
            if not isinstance(node, dict):
                return {}
        node = resolve(node, root)
    return node


def is_object(node: Schema) -> bool:
    return node.get("type") == "object" or "properties" in node


def required_names(node: Schema, *, page: bool) -> set[str]:
    """Property names an object requires; pages also require `x-required-on-page` (e.g. consent)."""
    names = set(node.get("required") or ())
    if page:
        names |= set(node.get("x-required-on-page") or ())
    return names


@dataclass(frozen=True)
class Condition:
    """«Field `field` (dotted path in the whole form) has one of `values`»: when a field applies or is required."""

    field: str
    values: tuple[str, ...]

    def met(self, chosen: list[str]) -> bool:
        return any(v in self.values for v in chosen)


def shown_when(node: Schema) -> Condition | None:
    """`x-shown-when: {"field": "<dotted path>", "in": [...]}`: the field only applies to those choices.

    Pages hide such a field until one of the choices is made (without JavaScript they show it with a
    hint naming the choices). It says nothing about validation: the schema's own keywords do that.
    """
    rule = node.get("x-shown-when")
    if not isinstance(rule, dict):
        return None
    return Condition(str(rule["field"]), tuple(str(v) for v in rule["in"]))


def required_when(node: Schema, root: Schema, prefix: str) -> dict[str, list[Condition]]:
    """Children an object requires only for some choice: `allOf: [{if: {properties: {x: {const|enum}}},
    then|else: {required: [...]}}]`, as child name -> conditions (on one choice field, values merged).

    `then` requires for the values listed in `if`, `else` for the other values of the choice field.
    """
    found: dict[str, dict[str, set[str]]] = {}
    properties = node.get("properties") or {}
    for entry in node.get("allOf") or ():
        tests = ((entry.get("if") or {}).get("properties") or {}).items()
        for name, test in tests:
            values = {str(v) for v in ([test["const"]] if "const" in test else test.get("enum") or ())}
            every = {str(v) for v in enum_values(resolve(properties.get(name) or {}, root)) or ()}
            for branch, chosen in (("then", values), ("else", every - values)):
                for child in (entry.get(branch) or {}).get("required") or ():
                    found.setdefault(child, {}).setdefault(prefix + name, set()).update(chosen)
    return {child: [Condition(field, tuple(sorted(values))) for field, values in by_field.items()]
            for child, by_field in found.items()}


@dataclass(frozen=True)
class Leaf:
    """A field a person fills in: dotted path, resolved schema, whether its parent requires it."""

    path: str
    schema: Schema
    required: bool
    step: str | None


def iter_leaves(root: Schema, *, page: bool = True) -> Iterator[Leaf]:
    """Every non-object field in schema order (the order of the page and of error lists)."""
    yield from _leaves(resolve(root, root), root, "", page, None)


def _leaves(node: Schema, root: Schema, prefix: str, page: bool, step: str | None) -> Iterator[Leaf]:
    required = required_names(node, page=page)
    for name, child in (node.get("properties") or {}).items():
        child = resolve(child, root)
        path = f"{prefix}{name}"
        child_step = child.get("x-step", step)
        if is_object(child):
            yield from _leaves(child, root, path + ".", page, child_step)
        else:
            yield Leaf(path, child, name in required, child_step)


def field_order(root: Schema) -> dict[str, int]:
    """Dotted path -> position, for sorting error lists the way the page shows the fields."""
    order: dict[str, int] = {}
    for index, leaf in enumerate(iter_leaves(root)):
        parts = leaf.path.split(".")
        for depth in range(1, len(parts) + 1):
            order.setdefault(".".join(parts[:depth]), index)
    return order


# Formats whose values are typed as digits: the page asks phones for a numeric keypad.
NUMERIC_FORMATS = frozenset({
    "snils", "inn", "inn10", "inn12", "ogrn", "ogrnip", "bik", "account", "corr-account", "enp",
    "passport-series", "passport-number", "division-code", "date", "month",
})


def enum_values(node: Schema) -> list[Any] | None:
    """Allowed values of a choice field (the field's own enum, or its items' enum for a list)."""
    if "enum" in node:
        return list(node["enum"])
    items = node.get("items")
    if node.get("type") == "array" and isinstance(items, dict) and "enum" in items:
        return list(items["enum"])
    return None


def widget_for(node: Schema) -> str:
    """How a field is shown: `x-widget` when the schema says, else derived from type and format."""
    if "x-widget" in node:
        return str(node["x-widget"])
    fmt = node.get("format")
    if node.get("type") == "boolean":
        return "checkbox"
    if node.get("type") == "array" and enum_values(node) is not None:
        return "checkboxes"
    choices = enum_values(node)
    if choices is not None:
        return "radio" if len(choices) <= 4 else "select"
    if fmt in ("date", "month", "email"):
        return fmt
    if fmt == "phone":
        return "tel"
    if (node.get("maxLength") or 0) > 300:
        return "textarea"
    return "text"


def step_of(root: Schema, path: str) -> str | None:
    """The wizard step (`x-step`, inherited from enclosing objects) a dotted field belongs to."""
    node, step = resolve(root, root), root.get("x-step")
    for part in path.split("."):
        if part.isdigit() and isinstance(node.get("items"), dict):
            node = node["items"]
        else:
            child = (node.get("properties") or {}).get(part)
            if not isinstance(child, dict):
                break
            node = child
        node = resolve(node, root)
        step = node.get("x-step", step)
    return step
