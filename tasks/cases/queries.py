"""Read models of a case: what the applicant (and staff) see of it, assembled from our tables,
the instance's status and journal, and the data the process holds (decision, reasons)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import Session

from engine import journal
from engine.clock import aware
from engine.models import JournalEntry, ProcessInstance, ServiceCall
from engine.runtime import Runtime
from tasks.documents.formatting import moscow_time

from .actions import ANSWER_MESSAGE, CaseState, allowed_actions, reply_deadline
from .catalogue import service_of_process
from .decisions import refusal_of
from .journal_words import citizen_message
from .labels import APPEAL_OUTCOMES, APPEAL_STATUS, appeal_level_label, status_label
from .models.cases import Appeal, Application, Certificate, Document, RefusalDecision
from .numbering import case_number_of
from .refusal_advice import explain, main_action
from .submission import FoundCase, find_case

# What an applicant sees of the journal: the events that mean something to them, in their words (retention
# tells the applicant what it removed).
CITIZEN_EVENTS = {"status_changed", "message_delivered", "document_added", "appeal_decided", "employees_uploaded",
                  "hotline_filed", "scans_deleted", "personal_data_minimised"}
# The statuses in which a case shows its refusal decision (the view, the download).
REFUSAL_SHOWN = ("rejected", "appealed", "closed")


def _iso(value: datetime | None) -> str | None:
    return aware(value).isoformat() if value else None


def case_status(session: Session, app: Application) -> str:
    status = session.scalar(select(ProcessInstance.status).where(ProcessInstance.id == app.instance_id))
    return status or "submitted"


def shown_statuses(session: Session, statuses: dict[int, str]) -> dict[int, str]:
    """What the applicant is told, by instance id: an approved case whose certificate could not be issued
    (a service call stopped as an incident, e.g. the generator refused inconsistent policy facts) is still
    «В обработке» for them - staff see the incident; «Одобрено» with no document would be a promise."""
    approved = [iid for iid, st in statuses.items() if st == "approved"]
    if not approved:
        return statuses
    stuck = set(session.scalars(select(ServiceCall.instance_id).where(
        ServiceCall.instance_id.in_(approved), ServiceCall.status == "incident")))
    return {iid: "in_progress" if iid in stuck else st for iid, st in statuses.items()}


def cancellation_of(session: Session, app: Application) -> dict[str, Any] | None:
    """{reason, cancelled_at} of a case a supervisor cancelled (its last cancellation), else None."""
    if app.instance_id is None:
        return None
    row = session.execute(select(JournalEntry.message, JournalEntry.at)
                          .where(JournalEntry.instance_id == app.instance_id,
                                 JournalEntry.event == "instance_cancelled")
                          .order_by(JournalEntry.id.desc()).limit(1)).first()
    return None if row is None else {"reason": row.message, "cancelled_at": _iso(row.at)}


def documents_of(session: Session, app: Application) -> list[Document]:
    return list(session.scalars(select(Document).where(Document.application_id == app.id).order_by(Document.id)))


def journal_view(session: Session, app: Application, *, staff: bool) -> list[dict[str, Any]]:
    return journal_entries(journal.read(session, app.instance_id) if app.instance_id else [], staff=staff)


def journal_entries(records: list[journal.JournalRecord], *, staff: bool) -> list[dict[str, Any]]:
    entries = []
    for rec in records:
        if not staff and rec.event not in CITIZEN_EVENTS:
            continue
        entries.append({"at": rec.at.isoformat(), "actor": _actor_label(rec, staff), "event": rec.event,
                        "message": citizen_message(rec.event, rec.message)})
    return entries


def _actor_label(rec: journal.JournalRecord, staff: bool) -> str:
    if staff:
        return rec.actor or "система"
    if rec.event == "hotline_filed":  # a support specialist filed it on the applicant's call
        return "горячая линия"
    # A status is the agency's decision even when the applicant's own action set it off.
    if rec.event != "status_changed" and rec.actor and rec.actor.startswith("user:"):
        return "заявитель"
    return "ведомство"


def service_fields(app: Application) -> dict[str, Any]:
    """The case's service, by its process (the catalogue in workflows/services.toml): its id and title."""
    service = service_of_process(app.process_id)
    return {"service": service.id if service else app.process_id, "service_title": service.title if service else None}


@dataclass(frozen=True)
class CaseFacts:
    """What a case's view shows besides its application row: read by `case_facts`, or known without a
    read by the transaction that has just created the case (`new_case_facts`)."""

    status: str  # as the reader is told it (staff see the instance's own)
    documents: list[Document]
    journal: list[journal.JournalRecord]
    waiting: frozenset[str]
    data: dict[str, Any]  # the process data, only where the view needs it
    cancellation: dict[str, Any] | None = None
    refusal: RefusalDecision | None = None
    appeals: list[Appeal] = field(default_factory=list)
    certificate: Certificate | None = None


def case_view(session: Session, runtime: Runtime, app: Application, *, staff: bool = False,
              found: FoundCase | None = None) -> dict[str, Any]:
    """The case as its reader sees it; `found`: what `find_case` read with it, when the caller has it."""
    return render_case_view(app, case_facts(session, runtime, app, staff=staff, found=found), staff=staff)


def case_facts(session: Session, runtime: Runtime, app: Application, *, staff: bool = False,
               found: FoundCase | None = None) -> CaseFacts:
    """What the view shows, read; only what the status can show: a refusal decision is shown only while the
    case stands refused, a certificate only once it is ready (every poll of a case in progress skips both).
    The status, the messages the case waits for and its certificate come from `find_case` (one statement),
    read here unless the caller read them with the case (`found`)."""
    found = found or find_case(session, app.number)
    assert found is not None  # `app` is a stored case
    status = found.status
    if not staff and app.instance_id:
        status = shown_statuses(session, {app.instance_id: status})[app.instance_id]
    certificate = found.certificate if status == "ready" else None
    documents = documents_of(session, app)
    events = None if staff else CITIZEN_EVENTS  # the rows the view shows (journal_entries)
    records = journal.read(session, app.instance_id, events) if app.instance_id else []
    waiting = found.waiting
    return CaseFacts(
        status=status, documents=documents, journal=records, waiting=waiting,
        data=_view_data(session, runtime, app, status, waiting),
        cancellation=cancellation_of(session, app) if status == "cancelled" else None,
        refusal=refusal_of(session, app) if status in REFUSAL_SHOWN else None,
        appeals=list(session.scalars(select(Appeal).where(Appeal.application_id == app.id).order_by(Appeal.level))),
        certificate=certificate)


def new_case_facts(session: Session, runtime: Runtime, app: Application, *, documents: bool) -> CaseFacts:
    """The facts of a case its own transaction has just created, from what that transaction holds: a new
    case has no refusal, appeal, certificate or stored journal row yet, and its instance is in the session.
    Only the documents it took over (`documents`) are read."""
    inst = session.get(ProcessInstance, app.instance_id)  # the session's own object: no statement
    status = (inst.status if inst is not None else None) or "submitted"
    waiting = frozenset((inst.projection or {}).get("messages", ())) if inst is not None else frozenset()
    return CaseFacts(
        status=status, documents=documents_of(session, app) if documents else [],
        journal=journal.pending(session, app.instance_id), waiting=waiting,
        data=_view_data(session, runtime, app, status, waiting))


def _view_data(session: Session, runtime: Runtime, app: Application, status: str,
               waiting: frozenset[str]) -> dict[str, Any]:
    # Only these states need process data; loading the workflow state (~25 KB of JSON turned into a task
    # tree) for every other view cost each case page and each POST a few ms of CPU.
    needs_data = (waiting or status in ("rejected", "needs_info", "appealed")) and app.instance_id
    return runtime.workflow_data(app.instance_id, session) if needs_data else {}


def render_case_view(app: Application, facts: CaseFacts, *, staff: bool = False) -> dict[str, Any]:
    status, waiting, data = facts.status, facts.waiting, facts.data
    view: dict[str, Any] = {
        "number": app.number, "attempt": app.attempt, "applicant": app.applicant, **service_fields(app),
        "status": status, "status_label": status_label(status), "submitted_at": _iso(app.submitted_at),
        "updated_at": _iso(app.updated_at), "period": app.data.get("period"),
        "documents": [document_view(d) for d in facts.documents],
        "journal": journal_entries(facts.journal, staff=staff), "actions": [],
    }
    if status in ("rejected", "appealed"):
        view["decision"] = "rejected"
        explained = explain(data.get("reasons") or [], data.get("policy_check"))
        view["reasons"] = [r.as_json() for r in explained]
        view["main_action"] = main_action(explained)
    if status == "cancelled":
        view["cancellation"] = facts.cancellation
    if status == "needs_info":
        view["request"] = data.get("explanation")
    elif ANSWER_MESSAGE in waiting:
        view["request"] = data.get("appeal_comment")
    state = CaseState(status, waiting, reply_deadline(data))
    actions = allowed_actions(state)
    if state.reply_until is not None and actions:
        view["reply_until"] = _iso(state.reply_until)
    refusal = facts.refusal
    if refusal is not None and status in REFUSAL_SHOWN:
        view["refusal"] = {"number": refusal.number, "issued_at": _iso(refusal.issued_at)}
        actions.append("download_decision")
    view["appeals"] = [appeal_view(a, answer_awaited=ANSWER_MESSAGE in waiting) for a in facts.appeals]
    view["actions"].extend(actions)
    cert = facts.certificate
    if status == "ready" and cert is not None:
        view["decision"] = "issued"
        view["certificate"] = {"number": cert.number, "issued_at": _iso(cert.issued_at),
                               "period": {"from": cert.period_from.isoformat(), "to": cert.period_to.isoformat()}}
        view["actions"].append("download_certificate")
    view["actions"].append("download_receipt")
    if staff:
        view["data"] = app.data
    return view


def appeal_view(appeal: Appeal, *, answer_awaited: bool = False) -> dict[str, Any]:
    """An appeal as the applicant sees it: number, level, where it stands, when filed and due, and once
    decided (or information was requested) the outcome with the specialist's answer to the applicant
    (never the staff's internal comment). Codes stay for the API, labels are for people."""
    status = appeal.status
    if status == "info_requested" and not answer_awaited:
        status = "answered"  # the applicant answered: the appeal is under review again
    view: dict[str, Any] = {"number": appeal.number, "level": appeal.level,
                            "level_label": appeal_level_label(appeal.level), "status": appeal.status,
                            "status_label": APPEAL_STATUS.get(status, status),
                            "filed_at": _iso(appeal.filed_at),
                            "due_date": moscow_time(aware(appeal.due_at)).date().isoformat(),
                            "outcome": appeal.outcome}
    if appeal.outcome:
        view["outcome_label"] = APPEAL_OUTCOMES.get(appeal.outcome, "")
        view["comment"] = appeal.decision_comment
        view["decided_at"] = _iso(appeal.decided_at)
    return view


def document_view(doc: Document) -> dict[str, Any]:
    return {"id": doc.id, "kind": doc.kind, "filename": doc.filename, "content_type": doc.content_type,
            "size": doc.size, "uploaded_at": _iso(doc.uploaded_at),
            "erased_at": _iso(doc.erased_at)}  # set once the retention job deleted the file


def case_summary(app: Application, status: str | None) -> dict[str, Any]:
    status = status or "submitted"
    return {"number": app.number, "applicant": app.applicant, **service_fields(app),
            "status": status, "status_label": status_label(status),
            "submitted_at": _iso(app.submitted_at), "updated_at": _iso(app.updated_at),
            "period": app.data.get("period")}


def list_cases(session: Session, *, owner_id: int | None, search: str | None = None, status: str | None = None,
               limit: int = 50, offset: int = 0) -> tuple[list[dict[str, Any]], int]:
    """A page of cases (an owner's own, or all for staff when owner_id is None), newest first."""
    query: Select = (select(Application, ProcessInstance.status)
                     .join(ProcessInstance, ProcessInstance.id == Application.instance_id, isouter=True))
    if owner_id is not None:
        query = query.where(Application.owner_id == owner_id)
    if search:
        term = search.strip()
        term = case_number_of(term) if any(ch.isdigit() for ch in term) else term.lower().replace("ё", "е")
        query = query.where(or_(Application.number.contains(term, autoescape=True),
                                Application.search_name.contains(term, autoescape=True)))
    if status:
        query = query.where(ProcessInstance.status == status)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.execute(query.order_by(Application.submitted_at.desc(), Application.id.desc())
                           .limit(limit).offset(offset)).all()
    if owner_id is not None:
        shown = shown_statuses(session, {app.instance_id: st for app, st in rows if app.instance_id})
        rows = [(app, shown.get(app.instance_id, st)) for app, st in rows]
    return [case_summary(app, st) for app, st in rows], total
