"""HTML forms from the schema: view models for the Jinja2 macros in templates/forms/macros.html.

The schema says everything a page needs (labels in `title`, hints in `description`, `x-widget`,
`x-placeholder`, `x-enum-labels`, wizard steps in `x-step`); `build_form` turns schema + submitted
values + FieldErrors into plain objects that the macros print. Pages work without JavaScript:
every step is an ordinary POST, errors come back next to their fields and values are re-filled
from what was posted.

In a Flask template (TEMPLATES_DIR added to the app's loader):
    {% import "forms/macros.html" as forms %}
    {{ forms.form(view, action=url_for(...), submit="Далее") }}
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup

from engine.errors import FieldError

from .dates import format_ru_date, iso_month_to_ru
from .flat import flat_from_data, form_data_from_flat, get_list, initial_data
from .identifiers import format_snils
from .schema_walk import (
    NUMERIC_FORMATS,
    Condition,
    Schema,
    enum_values,
    field_schema,
    is_object,
    required_names,
    required_when,
    resolve,
    shown_when,
    step_of,
    widget_for,
)
from .typography import NumberSignExtension

__all__ = [
    "TEMPLATES_DIR", "ErrorLink", "FieldView", "FieldsetView", "FormView", "Option", "SummaryRow", "SummarySection",
    "build_form", "display_value", "environment", "error_links", "errors_in_step", "flat_from_data",
    "form_data_from_flat", "render_form", "summary",
]

TEMPLATES_DIR = Path(__file__).resolve().parent / "templates"

_PLACEHOLDERS = {"date": "ДД.ММ.ГГГГ", "month": "ММ.ГГГГ"}
_CHECKED = frozenset({"on", "true", "1", "yes", "да"})


@dataclass
class Option:
    value: str
    label: str
    selected: bool


@dataclass
class FieldView:
    """One input (or one group of radios/checkboxes) with everything its markup needs."""

    name: str
    id: str
    label: str
    widget: str
    hint: str | None = None
    required: bool = False
    value: str = ""
    options: list[Option] = field(default_factory=list)
    error: str | None = None
    placeholder: str | None = None
    inputmode: str | None = None
    maxlength: int | None = None
    autocomplete: str | None = None
    accept: str | None = None
    starred: bool = False
    required_if: list[Condition] = field(default_factory=list)
    shown_if: Condition | None = None
    kind: str = "field"

    @property
    def required_if_attr(self) -> str | None:
        """`data-required-if` for forms.js: the choices that make the field required (star, aria-required)."""
        return _conditions_json(self.required_if) if self.required_if else None

    @property
    def shown_if_attr(self) -> str | None:
        return _conditions_json([self.shown_if]) if self.shown_if else None

    @property
    def anchor(self) -> str:
        """Element an error summary links to: the input, or the first option of a group."""
        return f"{self.id}-0" if self.widget in ("radio", "checkboxes") else self.id

    @property
    def describedby(self) -> str | None:
        ids = [f"{self.id}-hint"] if self.hint else []
        if self.error:
            ids.append(f"{self.id}-error")
        return " ".join(ids) or None

    @property
    def checked(self) -> bool:
        return self.value.strip().lower() in _CHECKED


@dataclass
class FieldsetView:
    """An object of the schema: a <fieldset> with a legend around its fields."""

    name: str
    id: str
    legend: str | None
    hint: str | None
    children: list[FieldView | FieldsetView]
    error: str | None = None
    shown_if: Condition | None = None
    kind: str = "fieldset"

    @property
    def shown_if_attr(self) -> str | None:
        return _conditions_json([self.shown_if]) if self.shown_if else None


@dataclass
class ErrorLink:
    """A line of the error summary: «Имя — заполните поле», linked to the field when it is on the page."""

    text: str
    href: str | None


@dataclass
class FormView:
    title: str | None
    description: str | None
    nodes: list[FieldView | FieldsetView]
    errors: list[ErrorLink]
    step: str | None = None
    steps: list[dict[str, str]] = field(default_factory=list)
    multipart: bool = False


# ------------------------------------------------------------------ building views
def build_form(schema: Schema, values: Mapping[str, Any] | None = None,
               errors: Sequence[FieldError] = (), *, step: str | None = None,
               outside: Mapping[str, tuple[str, str]] | None = None) -> FormView:
    """View of the whole form, or of one wizard step (`x-step`), re-filled and with errors in place.

    `values` is the flat posted form (dotted names, as the person typed them); None shows a fresh
    form with the schema's initial values. `outside`: fields the page draws itself next to the
    schema's (files, a comment), name -> (label, element id), so that the summary links to them too.
    """
    root = resolve(schema, schema)
    flat = values if values is not None else flat_from_data(schema, initial_data(schema))
    if step is not None:
        errors = [e for e in errors if step_of(schema, e.field) in (step, None)]
    builder = _Builder(schema, flat, list(errors), step, outside or {})
    nodes = builder.children(root, "", None, [])
    return FormView(
        title=root.get("title"), description=root.get("description"), nodes=nodes,
        errors=builder.error_links(), step=step, steps=list(root.get("x-steps") or []),
        multipart=builder.has_files,
    )


class _Builder:
    def __init__(self, root: Schema, flat: Mapping[str, Any], errors: list[FieldError], step: str | None,
                 outside: Mapping[str, tuple[str, str]]) -> None:
        self.root, self.flat, self.errors, self.step, self.outside = root, flat, errors, step, outside
        self.placed: dict[int, str] = {}  # index in errors -> anchor id
        self.has_files = False

    def children(self, node: Schema, prefix: str, inherited: str | None,
                 needed: list[Condition] | None) -> list[FieldView | FieldsetView]:
        """Views of an object's properties. `needed`: the choices under which the object itself is
        required ([] always, None never: the fields of an optional object carry no star)."""
        required = required_names(node, page=True)
        conditional = required_when(node, self.root, prefix)
        out: list[FieldView | FieldsetView] = []
        for name, child in (node.get("properties") or {}).items():
            child = resolve(child, self.root)
            path, step = f"{prefix}{name}", child.get("x-step", inherited)
            own = [] if name in required else conditional.get(name)
            child_needed = None if needed is None or own is None else [*needed, *own]
            if is_object(child):
                fieldset = self.fieldset(child, path, step, child_needed)
                if fieldset.children:
                    out.append(fieldset)
            elif self.step is None or step == self.step:
                out.append(self.field(child, path, child_needed))
        return out

    def fieldset(self, node: Schema, path: str, step: str | None, needed: list[Condition] | None) -> FieldsetView:
        fid = _element_id(path)
        children = self.children(node, path + ".", step, needed)
        error = self.take_error(path, exact=True, anchor=fid) if children else None
        shown_if = shown_when(node)
        optional = _optional_block_hint(node, self.root) if needed is None else None
        hint = _join_hints(self.when_hint(shown_if), optional, node.get("description"))
        return FieldsetView(path, fid, node.get("title"), hint, children, error, shown_if)

    def field(self, node: Schema, path: str, needed: list[Condition] | None) -> FieldView:
        widget, fmt = widget_for(node), node.get("format")
        self.has_files |= widget == "file"
        shown_if = shown_when(node)
        view = FieldView(
            name=path, id=_element_id(path), label=node.get("title") or path, widget=widget,
            hint=_join_hints(self.when_hint(shown_if), node.get("description")),
            required=needed is not None and all(c.met(get_list(self.flat, c.field)) for c in needed),
            placeholder=node.get("x-placeholder") or _PLACEHOLDERS.get(widget),
            inputmode="numeric" if fmt in NUMERIC_FORMATS else None,
            maxlength=node.get("maxLength"), autocomplete=node.get("x-autocomplete"), accept=node.get("x-accept"),
            starred=needed is not None, required_if=list(needed or ()), shown_if=shown_if,
        )
        selected = get_list(self.flat, path)
        view.value = selected[0] if selected else ""
        if widget == "hidden" and not view.value and "const" in node:
            view.value = str(node["const"])
        labels = node.get("x-enum-labels") or {}
        view.options = [Option(str(v), labels.get(str(v), str(v)), str(v) in selected)
                        for v in enum_values(node) or ()]
        view.error = self.take_error(path, exact=False, anchor=view.anchor)
        return view

    def when_hint(self, condition: Condition | None) -> str | None:
        """«Для варианта «По доверенности»»: what a page without JavaScript says about a dependent field."""
        if condition is None:
            return None
        choice = field_schema(self.root, condition.field)
        labels = choice.get("x-enum-labels") or {}
        names = [f"«{labels.get(str(v), str(v))}»" for v in enum_values(choice) or condition.values
                 if str(v) in condition.values]
        if len(names) == 1:
            return f"Для варианта {names[0]}"
        return f"Для вариантов {', '.join(names[:-1])} и {names[-1]}"

    def take_error(self, path: str, *, exact: bool, anchor: str) -> str | None:
        """First error for this field (or, for lists, for one of its items); remembered for the summary."""
        message = None
        for index, error in enumerate(self.errors):
            if index not in self.placed and (error.field == path or (not exact and error.field.startswith(path + "."))):
                self.placed[index] = anchor
                message = message or error.message
        return message

    def error_links(self) -> list[ErrorLink]:
        return [ErrorLink(_summary_text(self.root, e), f"#{self.placed[i]}") if i in self.placed
                else error_links([e], self.outside)[0]
                for i, e in enumerate(self.errors)]


def error_links(errors: Sequence[FieldError], fields: Mapping[str, tuple[str, str]]) -> list[ErrorLink]:
    """Summary lines for fields a page draws without the schema (name -> (label, element id)).

    An error of a field the page does not show keeps its message and links nowhere.
    """
    links: list[ErrorLink] = []
    for error in errors:
        label, anchor = fields.get(error.field, (None, None))
        links.append(ErrorLink(_labelled(label, error.message) if label else error.message,
                               f"#{anchor}" if anchor else None))
    return links


def _summary_text(root: Schema, error: FieldError) -> str:
    """The field's label and the message, so that a summary line makes sense on its own."""
    label = field_schema(root, error.field).get("title")
    return _labelled(label, error.message) if label else error.message


def _labelled(label: str, message: str) -> str:
    if len(message) > 1 and message[1].islower():
        message = message[0].lower() + message[1:]
    return f"{label} — {message}"


def _optional_block_hint(node: Schema, root: Schema) -> str | None:
    """An optional object whose fields are required together: say so instead of starring them."""
    required = required_names(node, page=True)
    shown = {name: resolve(child, root) for name, child in (node.get("properties") or {}).items()
             if widget_for(resolve(child, root)) != "hidden"}
    needed = [child.get("title") or name for name, child in shown.items() if name in required]
    if not needed:
        return None
    if len(needed) == len(shown):
        return "Необязательно. Если заполняете этот раздел, заполните все его поля"
    return "Необязательно. Если заполняете этот раздел, заполните поля: " + ", ".join(f"«{n}»" for n in needed)


def _join_hints(*parts: str | None) -> str | None:
    return ". ".join(p.rstrip(".") for p in parts if p) or None


def _conditions_json(conditions: Sequence[Condition]) -> str:
    return json.dumps([{"field": c.field, "values": list(c.values)} for c in conditions], ensure_ascii=False)


def _element_id(path: str) -> str:
    return "f-" + path.replace(".", "-").replace("_", "-")


# ------------------------------------------------------------------ review summary
@dataclass
class SummaryRow:
    name: str
    label: str
    value: str


@dataclass
class SummarySection:
    title: str | None
    rows: list[SummaryRow]
    step: str | None = None


def summary(schema: Schema, data: Mapping[str, Any]) -> list[SummarySection]:
    """What the person entered, as labelled text for the review step (dates ДД.ММ.ГГГГ, choices by label)."""
    sections: list[SummarySection] = []
    top = SummarySection(None, [])
    _summarize(resolve(schema, schema), schema, data, "", top, sections, None)
    return ([top] if top.rows else []) + [s for s in sections if s.rows]


def _summarize(node: Schema, root: Schema, data: Mapping[str, Any], prefix: str, section: SummarySection,
               sections: list[SummarySection], step: str | None) -> None:
    for name, child in (node.get("properties") or {}).items():
        child = resolve(child, root)
        value, path, child_step = data.get(name), f"{prefix}{name}", child.get("x-step", step)
        if is_object(child):
            if isinstance(value, Mapping):
                inner = SummarySection(child.get("title"), [], child_step)
                sections.append(inner)
                _summarize(child, root, value, path + ".", inner, sections, child_step)
        elif value not in (None, "", []) and widget_for(child) not in ("hidden", "file", "password"):
            section.rows.append(SummaryRow(path, child.get("title") or name, display_value(child, value)))


def display_value(node: Schema, value: Any) -> str:
    """A stored value as a person reads it."""
    labels = node.get("x-enum-labels") or {}
    if isinstance(value, bool):
        return "Да" if value else "Нет"
    if isinstance(value, list):
        return "; ".join(labels.get(str(v), str(v)) for v in value)
    text = str(value)
    fmt = node.get("format")
    if fmt == "date":
        return format_ru_date(text)
    if fmt == "month":
        return iso_month_to_ru(text)
    if fmt == "snils":
        return format_snils(text)
    return labels.get(text, text)


def errors_in_step(schema: Schema, errors: Sequence[FieldError], step: str) -> list[FieldError]:
    """The errors a wizard step can show: those of fields that belong to the step (`x-step`)."""
    return [e for e in errors if step_of(schema, e.field) == step]


# ------------------------------------------------------------------ rendering
def environment() -> Environment:
    """A stand-alone Jinja2 environment with the form macros (tests, e-mails, simple pages)."""
    return Environment(loader=FileSystemLoader(TEMPLATES_DIR), autoescape=select_autoescape(default=True),
                       extensions=[NumberSignExtension])


_FORM = ('{% import "forms/macros.html" as forms %}{{ forms.error_summary(view.errors) }}'
         '{{ forms.form(view, action=action, submit=submit) }}')


def render_form(schema: Schema, values: Mapping[str, Any] | None = None, errors: Sequence[FieldError] = (), *,
                step: str | None = None, action: str = "", submit: str = "Отправить",
                env: Environment | None = None) -> Markup:
    """The error summary and the complete <form> for a schema (or one step of it), as safe HTML."""
    view = build_form(schema, values, errors, step=step)
    template = (env or environment()).from_string(_FORM)
    # The template is autoescaped (Flask's environment autoescapes string templates as well).
    return Markup(template.render(view=view, action=action, submit=submit))  # noqa: S704
