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
    Schema,
    enum_values,
    field_schema,
    is_object,
    required_names,
    resolve,
    step_of,
    widget_for,
)

__all__ = [
    "TEMPLATES_DIR", "FieldView", "FieldsetView", "FormView", "Option", "SummaryRow", "SummarySection",
    "build_form", "display_value", "environment", "errors_in_step", "flat_from_data", "form_data_from_flat",
    "render_form", "summary",
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
    kind: str = "field"

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
    kind: str = "fieldset"


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
               errors: Sequence[FieldError] = (), *, step: str | None = None) -> FormView:
    """View of the whole form, or of one wizard step (`x-step`), re-filled and with errors in place.

    `values` is the flat posted form (dotted names, as the person typed them); None shows a fresh
    form with the schema's initial values.
    """
    root = resolve(schema, schema)
    flat = values if values is not None else flat_from_data(schema, initial_data(schema))
    if step is not None:
        errors = [e for e in errors if step_of(schema, e.field) in (step, None)]
    builder = _Builder(schema, flat, list(errors), step)
    nodes = builder.children(root, "", None)
    return FormView(
        title=root.get("title"), description=root.get("description"), nodes=nodes,
        errors=builder.error_links(), step=step, steps=list(root.get("x-steps") or []),
        multipart=builder.has_files,
    )


class _Builder:
    def __init__(self, root: Schema, flat: Mapping[str, Any], errors: list[FieldError], step: str | None) -> None:
        self.root, self.flat, self.errors, self.step = root, flat, errors, step
        self.placed: dict[int, str] = {}  # index in errors -> anchor id
        self.has_files = False

    def children(self, node: Schema, prefix: str, inherited: str | None) -> list[FieldView | FieldsetView]:
        required = required_names(node, page=True)
        out: list[FieldView | FieldsetView] = []
        for name, child in (node.get("properties") or {}).items():
            child = resolve(child, self.root)
            path, step = f"{prefix}{name}", child.get("x-step", inherited)
            if is_object(child):
                fieldset = self.fieldset(child, path, step)
                if fieldset.children:
                    out.append(fieldset)
            elif self.step is None or step == self.step:
                out.append(self.field(child, path, name in required))
        return out

    def fieldset(self, node: Schema, path: str, step: str | None) -> FieldsetView:
        fid = _element_id(path)
        children = self.children(node, path + ".", step)
        error = self.take_error(path, exact=True, anchor=fid) if children else None
        return FieldsetView(path, fid, node.get("title"), node.get("description"), children, error)

    def field(self, node: Schema, path: str, required: bool) -> FieldView:
        widget, fmt = widget_for(node), node.get("format")
        self.has_files |= widget == "file"
        view = FieldView(
            name=path, id=_element_id(path), label=node.get("title") or path, widget=widget,
            hint=node.get("description"), required=required,
            placeholder=node.get("x-placeholder") or _PLACEHOLDERS.get(widget),
            inputmode="numeric" if fmt in NUMERIC_FORMATS else None,
            maxlength=node.get("maxLength"), autocomplete=node.get("x-autocomplete"), accept=node.get("x-accept"),
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

    def take_error(self, path: str, *, exact: bool, anchor: str) -> str | None:
        """First error for this field (or, for lists, for one of its items); remembered for the summary."""
        message = None
        for index, error in enumerate(self.errors):
            if index not in self.placed and (error.field == path or (not exact and error.field.startswith(path + "."))):
                self.placed[index] = anchor
                message = message or error.message
        return message

    def error_links(self) -> list[ErrorLink]:
        return [ErrorLink(_summary_text(self.root, e), f"#{self.placed[i]}" if i in self.placed else None)
                for i, e in enumerate(self.errors)]


def _summary_text(root: Schema, error: FieldError) -> str:
    """The field's label and the message, so that a summary line makes sense on its own."""
    label = field_schema(root, error.field).get("title")
    if not label:
        return error.message
    message = error.message
    if len(message) > 1 and message[1].islower():
        message = message[0].lower() + message[1:]
    return f"{label} — {message}"


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
    return Environment(loader=FileSystemLoader(TEMPLATES_DIR), autoescape=select_autoescape(default=True))


_FORM = '{% import "forms/macros.html" as forms %}{{ forms.form(view, action=action, submit=submit) }}'


def render_form(schema: Schema, values: Mapping[str, Any] | None = None, errors: Sequence[FieldError] = (), *,
                step: str | None = None, action: str = "", submit: str = "Отправить",
                env: Environment | None = None) -> Markup:
    """The complete <form> for a schema (or one step of it), as safe HTML."""
    view = build_form(schema, values, errors, step=step)
    template = (env or environment()).from_string(_FORM)
    # The template is autoescaped (Flask's environment autoescapes string templates as well).
    return Markup(template.render(view=view, action=action, submit=submit))  # noqa: S704
