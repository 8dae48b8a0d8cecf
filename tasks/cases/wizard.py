"""The application wizard's state: which steps there are, what each step holds, and the server-side draft.

The steps and the fields of each step come from the schema (`x-steps`, `x-step`), so the wizard and
the API validate the very same data with the very same code. The draft lives in the database
(`application_draft`), found by its owner: closing the browser, logging in elsewhere or a new
session loses nothing. It holds the API-shaped data exactly as typed (dates as ISO where they parse);
normalisation (the period's dates, identifiers without separators) happens when it is validated.
An account has one draft per applicant kind: the draft functions take the kind (`individual` by
default; the organisation's one-page form, web.cases.org_apply_pages, keeps its draft the same way).
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from engine.clock import utcnow
from engine.errors import FieldError
from forms.flat import initial_data
from forms.rendering import display_value
from forms.schema_walk import Leaf, Schema, field_schema, is_object, iter_leaves, step_of, widget_for
from forms.validation import clean, load_schema
from tasks.cases.catalogue import default_service
from tasks.cases.models.cases import Document, Draft
from tasks.cases.uploads import MAX_DOCUMENTS

APPLICANT = "individual"
DOCUMENTS_STEP = "documents"
REVIEW_STEP = "review"
MAX_DRAFT_DOCUMENTS = MAX_DOCUMENTS
# The period step offers three ways to say the same thing; keep only the inputs of the chosen one,
# so that the summary and the stored application never show a leftover month next to «Текущий год».
PERIOD_FIELDS = {"current_year": {"kind"}, "month": {"kind", "month"}, "custom": {"kind", "from", "to"}}
_MISSING = object()
_NOT_SHOWN = frozenset({"hidden", "file", "password"})


@dataclass(frozen=True)
class Step:
    id: str
    title: str


@dataclass(frozen=True)
class SummaryRow:
    label: str
    value: str


@dataclass(frozen=True)
class StepSummary:
    step: Step
    rows: list[SummaryRow]


def schema(applicant: str = APPLICANT) -> Schema:
    """The form schema of an applicant kind (the one POST /applications validates it with)."""
    service = default_service(applicant)
    if service is None:
        raise KeyError(f"no default service for applicant kind {applicant}")
    return load_schema(service.schema)


def steps(applicant: str = APPLICANT) -> list[Step]:
    return [Step(s["id"], s["title"]) for s in schema(applicant)["x-steps"]]


def step_ids(applicant: str = APPLICANT) -> list[str]:
    return [s.id for s in steps(applicant)]


def step_title(step_id: str) -> str:
    return next((s.title for s in steps() if s.id == step_id), step_id)


def next_step(step_id: str) -> str:
    ids = step_ids()
    return ids[min(ids.index(step_id) + 1, len(ids) - 1)]


def previous_step(step_id: str) -> str | None:
    ids = step_ids()
    index = ids.index(step_id)
    return ids[index - 1] if index > 0 else None


def later_step(a: str, b: str, applicant: str = APPLICANT) -> str:
    """The one of two steps further along: the draft remembers how far the person got.

    A step the schema no longer has (a draft saved before the steps changed) counts as not started.
    """
    ids = step_ids(applicant)
    rank = {step: index for index, step in enumerate(ids)}
    return max((a, b), key=lambda step: rank.get(step, -1)) if a in rank or b in rank else ids[0]


def step_leaves(step_id: str) -> list[Leaf]:
    """The inputs a step's page shows and saves (files are uploaded separately)."""
    return [leaf for leaf in iter_leaves(schema()) if leaf.step == step_id and widget_for(leaf.schema) != "file"]


# ------------------------------------------------------------------ data of a draft
def new_draft_data(profile: Mapping[str, Any]) -> dict[str, Any]:
    """A fresh application: the schema's initial values with the person's data from their profile.

    `profile` is in the application's shape (`person` fields, `policy_number`; tasks.accounts.profile).
    """
    data = initial_data(schema())
    person = data.setdefault("person", {})
    person.update({k: v for k, v in (profile.get("person") or {}).items() if v})
    data.update({k: v for k, v in profile.items() if k != "person" and v})
    return data


def merge_step(data: Mapping[str, Any], posted: Mapping[str, Any], step_id: str) -> dict[str, Any]:
    """The draft's data with one step's fields replaced by what was posted (an emptied input removes)."""
    merged = copy.deepcopy(dict(data))
    for leaf in step_leaves(step_id):
        value = _get(posted, leaf.path)
        if value is _MISSING:
            _remove(merged, leaf.path)
        else:
            _set(merged, leaf.path, value)
    return trim_period(merged)


def trim_period(data: dict[str, Any]) -> dict[str, Any]:
    """The data with only the inputs of the chosen way to give the period (changed in place, returned)."""
    period = data.get("period")
    if isinstance(period, dict) and period.get("kind") in PERIOD_FIELDS:
        keep = PERIOD_FIELDS[period["kind"]]
        data["period"] = {k: v for k, v in period.items() if k in keep}
    return data


def _get(data: Mapping[str, Any], path: str) -> Any:
    node: Any = data
    for part in path.split("."):
        if not isinstance(node, Mapping) or part not in node:
            return _MISSING
        node = node[part]
    return node


def _set(data: dict[str, Any], path: str, value: Any) -> None:
    *parents, name = path.split(".")
    node = data
    for part in parents:
        if not isinstance(node.get(part), dict):
            node[part] = {}
        node = node[part]
    node[name] = value


def _remove(data: dict[str, Any], path: str) -> None:
    *parents, name = path.split(".")
    node: Any = data
    for part in parents:
        node = node.get(part) if isinstance(node, dict) else None
    if isinstance(node, dict):
        node.pop(name, None)


def check(data: Mapping[str, Any]) -> tuple[dict[str, Any], list[FieldError]]:
    """The normalised application and every problem in it, as the page words them."""
    return clean(schema(), dict(data), surface="page")


def step_errors(data: Mapping[str, Any], step_id: str) -> list[FieldError]:
    """Only the problems a step's page can show: the person fixes one step at a time."""
    _, errors = check(data)
    root = schema()
    return [e for e in errors if step_of(root, e.field) == step_id]


def errors_elsewhere(errors: Sequence[FieldError], step_id: str) -> list[FieldError]:
    """Problems of fields on other steps than this one (the review step links to them)."""
    root = schema()
    return [e for e in errors if step_of(root, e.field) not in (step_id, None)]


def step_of_field(path: str) -> str | None:
    return step_of(schema(), path)


def is_group(path: str) -> bool:
    """A whole object of the schema (the passport), not one input: missing when its step was never saved."""
    return is_object(field_schema(schema(), path))


def field_label(path: str) -> str:
    return field_schema(schema(), path).get("title") or path


def review_sections(normalized: Mapping[str, Any]) -> list[StepSummary]:
    """What the person entered, step by step, as they read it (dates ДД.ММ.ГГГГ, choices by label)."""
    sections = []
    for step in steps():
        if step.id in (DOCUMENTS_STEP, REVIEW_STEP):
            continue
        rows = [SummaryRow(leaf.schema.get("title") or leaf.path, display_value(leaf.schema, value))
                for leaf in step_leaves(step.id)
                if widget_for(leaf.schema) not in _NOT_SHOWN
                and (value := _get(normalized, leaf.path)) not in (_MISSING, None, "", [])]
        sections.append(StepSummary(step, rows))
    return sections


# ------------------------------------------------------------------ the draft row
def find_draft(session: Session, owner_id: int, applicant: str = APPLICANT) -> Draft | None:
    return session.scalar(select(Draft).where(Draft.owner_id == owner_id, Draft.applicant == applicant))


def save_draft(session: Session, owner_id: int, data: dict[str, Any], reached: str,
               applicant: str = APPLICANT) -> Draft:
    """Create or update the owner's draft of that applicant kind (one per owner and kind) and commit."""
    draft = find_draft(session, owner_id, applicant)
    if draft is None:
        draft = Draft(owner_id=owner_id, applicant=applicant, data=data, step=reached, updated_at=utcnow())
        session.add(draft)
        try:
            session.commit()
        except IntegrityError:  # the same person saved in another tab a moment earlier
            session.rollback()
            return save_draft(session, owner_id, data, reached, applicant)
        return draft
    draft.data = data
    draft.step = later_step(draft.step, reached, applicant)
    draft.updated_at = utcnow()
    session.commit()
    return draft


def claim_draft(session: Session, draft_id: int) -> bool:
    """Take the draft for submission by deleting it; False when another request already did.

    A double click on «Подать заявление» (or two tabs) sends two requests; only the one whose
    DELETE removed the row goes on to submit, so one draft never becomes two applications.
    """
    session.execute(update(Document).where(Document.draft_id == draft_id).values(draft_id=None))
    claimed = session.execute(delete(Draft).where(Draft.id == draft_id)).rowcount == 1
    session.commit()
    return claimed


def restore_draft(session: Session, owner_id: int, data: dict[str, Any], document_ids: Sequence[int],
                  applicant: str = APPLICANT) -> None:
    """Put a claimed draft back when the submission failed, so nothing typed or uploaded is lost."""
    draft = Draft(owner_id=owner_id, applicant=applicant, data=data, step=REVIEW_STEP, updated_at=utcnow())
    session.add(draft)
    session.flush()
    if document_ids:
        session.execute(update(Document).where(Document.id.in_(list(document_ids)), Document.owner_id == owner_id,
                                               Document.application_id.is_(None)).values(draft_id=draft.id))
    session.commit()
