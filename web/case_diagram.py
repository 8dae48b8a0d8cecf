"""A case on its diagram, for staff: the diagram of the case's own version with the elements passed, where
the case stands now and the sequence flows it took, plus the ordered history with times.

The staff case page and the task page render the history and the current position on the server (they
work without JavaScript); `frontend/src/case-diagram.js` draws the diagram from
`GET /api/v1/applications/<number>/diagram` and shows, for a clicked element, what happened there.
What each role may see of that is decided here, in `DETAIL_ROLES`: every case worker sees the path,
the times and who completed a task with the data they entered; a service call's parameters and result
and the inputs of a decision table are personal data beyond a task's needs, shown to supervisors and
administrators only. Citizens and analysts never get any of it (403).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from flask import Blueprint, Response, jsonify
from sqlalchemy.orm import Session

from engine.bpmn_flows import Diagram, version_diagrams
from engine.errors import NotFound
from engine.models import ProcessVersion
from engine.trace import Trace, instance_trace
from tasks.accounts.roles import ADMIN, CASE_WORKERS, ROLE_LABELS, SUPERVISOR
from tasks.cases.audit import SYSTEM_ACTORS, actor_names

from .cases import access
from .cases.page_format import ru_datetime
from .extensions import db
from .security import current_actor, roles_required
from .services import services

bp = Blueprint("case_diagram", __name__)

# What of an element's story each role sees (besides the path, times and who did a task).
DETAIL_ROLES: dict[str, tuple[str, ...]] = {
    "forms": CASE_WORKERS,
    "service_calls": (SUPERVISOR, ADMIN),
    "decisions": (SUPERVISOR, ADMIN),
}
POSITION_LABELS = {
    "user_task": "Ждёт сотрудника",
    "timer": "Ждёт срока",
    "service_call": "Ждёт ответа сервиса",
    "incident": "Инцидент: сервис не ответил",
}
CALL_STATUS = {"queued": "в очереди", "retry_wait": "ждёт повтора", "done": "выполнен", "failed": "ошибка",
               "incident": "инцидент", "cancelled": "отменён"}


@dataclass
class HistoryRow:
    element: str
    name: str
    entered_at: str
    ended_at: str
    actor: str | None


@dataclass
class CurrentRow:
    element: str
    name: str
    kind: str
    label: str
    since: str
    due_at: str
    note: str | None


@dataclass
class CaseDiagram:
    number: str
    process_id: str
    version: int
    file: str | None
    xml: str | None
    history: list[HistoryRow]
    current: list[CurrentRow]
    done: list[str]
    flows: list[str]
    details: dict[str, dict[str, Any]] = field(default_factory=dict)
    processes: list[dict[str, Any]] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {
            "number": self.number, "process_id": self.process_id, "version": self.version, "file": self.file,
            "xml": self.xml, "done": self.done, "flows": self.flows, "processes": self.processes,
            "current": [{"element": c.element, "kind": c.kind, "label": c.label, "since": c.since,
                         "due_at": c.due_at, "note": c.note} for c in self.current],
            "history": [vars(h) for h in self.history], "details": self.details,
        }


def case_diagram(session: Session, number: str, instance_id: int, role: str) -> CaseDiagram:
    """Everything the case's diagram shows to a reader of `role` (read in the caller's session)."""
    runtime = services().runtime
    trace = instance_trace(session, runtime, instance_id)
    version = session.get(ProcessVersion, trace.version_id)
    diagrams = version_diagrams(version) if version is not None else []
    diagram = diagrams[0] if diagrams else None
    names = {**runtime.specs.element_names(session, trace.version_id),
             **{k: v for d in reversed(diagrams) for k, v in d.names.items()}}
    people = _people(session, trace)
    done = sorted({s.element for s in trace.steps})
    pairs = [(s.source, s.element) for s in trace.steps] + trace.entering
    flows = sorted({diagram.flows[pair] for pair in pairs if diagram is not None and pair in diagram.flows})
    current_elements = {p.element for p in trace.current} | {element for _, element in trace.entering}
    # The list names the steps a person recognises; unnamed joins and forks are marked on the drawing only.
    history = [HistoryRow(s.element, names[s.element], ru_datetime(s.entered_at),
                          ru_datetime(s.ended_at), people.get(s.actor) if s.actor else None)
               for s in trace.steps if names.get(s.element)]
    current = [CurrentRow(p.element, names.get(p.element, p.element), p.kind, POSITION_LABELS[p.kind],
                          ru_datetime(p.since), ru_datetime(p.due_at), _note(p.kind, p.info, people))
               for p in trace.current]
    return CaseDiagram(number, trace.process_id, version.version if version else 0,
                       diagram.file if diagram else None, diagram.xml if diagram else None, history, current,
                       done, flows, _details(trace, names, people, role),
                       _processes(diagrams, set(done), current_elements, pairs))


def _processes(diagrams: list[Diagram], done: set[str], current: set[str],
               pairs: list[tuple[str | None, str]]) -> list[dict[str, Any]]:
    """Each diagram the case passed through (its own first, then called processes it entered), with the
    elements passed, those active now (a call activity while the case is inside the process it called) and
    the flows taken in it: the page offers one tab per diagram."""
    out = []
    for index, d in enumerate(diagrams):
        own = set(d.names)
        if index and not own & (done | current):
            continue
        out.append({"process_id": d.process_id, "name": d.title, "file": d.file, "xml": d.xml,
                    "done": sorted(done & own), "active": sorted(current & own),
                    "flows": sorted({d.flows[pair] for pair in pairs if pair in d.flows})})
    return out


def _people(session: Session, trace: Trace) -> dict[str, str]:
    actors = {s.actor for s in trace.steps} | {p.info.get("assignee") for p in trace.current}
    actors |= {f["completed_by"] for forms in trace.forms.values() for f in forms}
    named = {actor: name for actor, (name, _) in actor_names(session, actors).items()}
    return {**{k: v for k, v in SYSTEM_ACTORS.items() if k}, **named}


def _note(kind: str, info: dict[str, Any], people: dict[str, str]) -> str | None:
    if kind == "user_task":
        assignee = info.get("assignee")
        who = people.get(assignee, assignee) if assignee else None
        role = ROLE_LABELS.get(info.get("role") or "", info.get("role"))
        return f"в работе у: {who}" if who else (f"в очереди: {role}" if role else None)
    if kind in ("service_call", "incident"):
        text = f"попыток: {info.get('attempts', 0)}"
        return f"{text}; ошибка: {info['error']}" if info.get("error") else text
    return None


def _details(trace: Trace, names: dict[str, str], people: dict[str, str], role: str) -> dict[str, dict[str, Any]]:
    """Per element: its passes, and what the role may see of service calls, forms and decisions."""
    out: dict[str, dict[str, Any]] = {}

    def of(element: str) -> dict[str, Any]:
        return out.setdefault(element, {"name": names.get(element, element), "passes": []})

    for s in trace.steps:
        entry = of(s.element)
        entry["passes"].append({"entered_at": ru_datetime(s.entered_at), "ended_at": ru_datetime(s.ended_at),
                                "actor": people.get(s.actor) if s.actor else None})
        if s.details and role in DETAIL_ROLES["decisions"]:
            entry.setdefault("decisions", []).append(s.details)
    for element, calls in trace.calls.items():
        visible = role in DETAIL_ROLES["service_calls"]
        of(element)["calls"] = [{
            "operator": c["operator"], "status": CALL_STATUS.get(c["status"], c["status"]), "attempts": c["attempts"],
            "error": c["error"] if visible else None, "created_at": ru_datetime(c["created_at"]),
            "finished_at": ru_datetime(c["finished_at"]),
            **({"params": c["params"], "result": c["result"]} if visible else {})} for c in calls]
    for element, forms in trace.forms.items():
        visible = role in DETAIL_ROLES["forms"]
        of(element)["forms"] = [{"completed_by": people.get(f["completed_by"], f["completed_by"]),
                                 "completed_at": ru_datetime(f["completed_at"]),
                                 **({"data": f["data"]} if visible else {})} for f in forms]
    for p in trace.current:
        of(p.element)
    return out


def page_diagram(session: Session, number: str, instance_id: int | None) -> CaseDiagram | None:
    """For the staff pages' history section (None for a case without a process instance)."""
    if instance_id is None:
        return None
    try:
        return case_diagram(session, number, instance_id, current_actor().role)
    except NotFound:
        return None


@bp.get("/api/v1/applications/<number>/diagram")
@roles_required(*CASE_WORKERS)
def api(number: str) -> Response:
    app = access.readable_application(number)
    view = page_diagram(db.session, app.number, app.instance_id)
    if view is None:
        return jsonify({"error": {"code": "not_found", "message": "У заявления нет процесса.", "fields": []}}), 404
    access.record_view(app, "case_viewed", {"view": "diagram"})
    return jsonify(view.as_json())
