"""What a notice about a case says, per event: the e-mail, the in-portal text and the SMS.

One Jinja template per event in templates/mail/<event>.txt. Each extends `_layout.txt` (greeting,
link to the case, footer) and fills the blocks `subject` (the mail's subject and the title in the
portal), `body` (the message itself, also the text of the in-portal notice) and `sms` (a short text
with nothing personal but the case number and the status). Templates are rendered with
StrictUndefined: a detail missing for an event fails loudly instead of mailing a blank.

Events and the keys of `details` each one reads (the operator `notify.case_status` passes them):

=================  ============================================================================
event              details
=================  ============================================================================
submitted          — (what the application is about is its service's `about`, from the catalogue)
in_progress        —
status_changed     — (any other status; the mail names the status by its label and adds the
                   operator's `message` when given)
needs_info         `due_date` (optional: answer by then; else «в течение» the `info_wait` term);
                   the request itself is the operator's `message`
info_answered      `appeal_number` (optional: the answer was to an appeal's request)
rejected           `decision_number` (optional: the refusal decision's number), `due_date`
                   (optional: resubmit or appeal by then); the reasons are the operator's
                   `reasons`: [{code, note?}]
ready              —
closed             — (no answer to a request within the `info_wait` term)
cancelled          `reason`: why a supervisor cancelled the case (tasks/cases/cancellation.py)
appeal_registered  `appeal_number`, `due_date` (the answer is due by then), `level` (optional,
                   1 or 2: 2 says «жалоба второго уровня»)
appeal_decided     `outcome`: "overturned" (the refusal is cancelled, the case is reviewed again),
                   "upheld" (the refusal stays: with `level` 1 (default) the citizen may file a
                   second-level appeal, by `due_date` if given, or go to court; with `level` 2
                   only the court is left) or "info_requested" (the appeals specialist needs
                   more information, by `due_date` if given); `appeal_number` (optional);
                   `comment` (optional; the operator's `message` works the same) is quoted as
                   «Пояснение специалиста»
appeal_reminder    to staff, never to the citizen: `due_date`, `appeal_number` (optional),
                   `assignee_email` (optional: else every active «appeals» user)
=================  ============================================================================

Dates (`due_date`) are ISO dates or ISO datetimes (as `sla()` returns them, UTC); mails show them
as ДД.ММ.ГГГГ in Moscow time. Keys not listed are ignored.

When no event is given, it follows from the status (DEFAULT_EVENTS; `status_changed` otherwise).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from functools import partial
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, Undefined

from engine.sla import SlaRegistry
from tasks.config import AppConfig
from tasks.documents.formatting import format_date

from .catalogue import Service, wording_of
from .labels import status_label
from .refusal_advice import explain
from .terms import sla_term

CITIZEN_EVENTS = frozenset({"submitted", "in_progress", "status_changed", "needs_info", "info_answered", "rejected",
                            "ready", "closed", "cancelled", "appeal_registered", "appeal_decided"})
STAFF_EVENTS = frozenset({"appeal_reminder"})
EVENTS = CITIZEN_EVENTS | STAFF_EVENTS
DEFAULT_EVENTS = {"submitted": "submitted", "in_progress": "in_progress", "needs_info": "needs_info",
                  "rejected": "rejected", "ready": "ready", "closed": "closed"}
APPEAL_OUTCOMES = ("overturned", "upheld", "info_requested")
# Where staff open a case from a reminder (the case's audit page of the staff side).
STAFF_CASE_PATH = "/staff/cases/{number}/journal"

_env = Environment(loader=FileSystemLoader(Path(__file__).parent / "templates" / "mail"),
                   undefined=StrictUndefined, autoescape=False, keep_trailing_newline=True,  # noqa: S701 - plain text
                   trim_blocks=True, lstrip_blocks=True)


def ru_date(value: object) -> str:
    """ISO date or datetime (or a date object) -> ДД.ММ.ГГГГ; datetimes in Moscow time."""
    if isinstance(value, str):
        parsed: date | datetime = date.fromisoformat(value) if len(value) == 10 else datetime.fromisoformat(value)
    elif isinstance(value, date):
        parsed = value
    elif isinstance(value, Undefined):  # a detail the diagram did not pass: StrictUndefined raises UndefinedError
        return str(value)
    else:
        raise ValueError(f"not a date: {value!r}")
    return format_date(parsed)  # the documents' formatter: a datetime is first moved to Moscow time


_env.filters["ru_date"] = ru_date


@dataclass(frozen=True)
class Notice:
    """One notice in every channel's words."""

    event: str
    subject: str  # the mail's subject, the in-portal title
    text: str  # the whole e-mail
    body: str  # the in-portal text: the message without greeting and footer
    sms: str  # ≤ 160 characters, only the case number and the status


class UnknownEvent(ValueError):
    pass


def default_event(status: str) -> str:
    return DEFAULT_EVENTS.get(status, "status_changed")


def case_url(config: AppConfig, number: str) -> str:
    return f"{config.public_base_url}/applications/{number}"


def staff_case_url(config: AppConfig, number: str) -> str:
    return config.public_base_url + STAFF_CASE_PATH.format(number=number)


def render_notice(config: AppConfig, *, event: str, number: str, name: str, status: str,
                  reasons: list[dict[str, Any]] | None = None, message: str | None = None,
                  details: Mapping[str, Any] | None = None, catalogue: SlaRegistry | None = None,
                  service: Service | None = None) -> Notice:
    """The notice of `event` for the case `number`, addressed to `name` (the applicant, or staff).

    Terms (``{{ term("info_wait") }}``) come from ``catalogue``, by default the one this process's
    timers use, so a notice never states a term the diagram does not wait for. ``service`` words what a
    refusal refuses (by default the certificate's words).
    """
    if event not in EVENTS:
        raise UnknownEvent(f"unknown notification event {event!r}; known: {', '.join(sorted(EVENTS))}")
    details = dict(details or {})
    if event == "appeal_decided" and details.get("outcome") not in APPEAL_OUTCOMES:
        raise UnknownEvent(f"appeal_decided needs details.outcome in {APPEAL_OUTCOMES}, got {details.get('outcome')!r}")
    url = staff_case_url(config, number) if event in STAFF_EVENTS else case_url(config, number)
    context = {
        "name": name, "number": number, "status": status, "label": status_label(status), "url": url,
        "message": message, "details": details,
        "reasons": explain(list(reasons or []), None),
        "term": partial(sla_term, catalogue=catalogue),
        "service": service or wording_of({}),
    }
    template = _env.get_template(f"{event}.txt")

    def block(name: str) -> str:
        return "".join(template.blocks[name](template.new_context(context))).strip()

    return Notice(event=event, subject=" ".join(block("subject").split()), text=template.render(context),
                  body=block("body"), sms=" ".join(block("sms").split()))
