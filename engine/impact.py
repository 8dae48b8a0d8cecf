"""The impact of changed decision tables and gateways on cases already decided, before they go live.

The last N decided cases are read from the step table (the newest pass of each decision element per
case), and each pass is replayed through the new specs (engine.decision_replay): would the decision
come out otherwise, would the gateway it feeds send the case elsewhere? Passes are grouped by what
was recorded, so each distinct combination of inputs is evaluated once however many cases share it;
this keeps a preview over a hundred thousand cases to seconds.

"Before" is what the pass recorded (its outputs; for passes recorded before outputs were, the
case's own version's table replayed on the same inputs) and, at a gateway, the element the case
actually went to next.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, NamedTuple

from sqlalchemy import Text, and_, cast, func, or_, select
from sqlalchemy.orm import Session

from .decision_replay import (
    UNRECORDED,
    GatewayReplay,
    Replayed,
    ReplayScriptEngine,
    TableReplay,
    Unreplayable,
    next_gateway,
    normalise,
)
from .models import ProcessInstance, Step
from .serialization import StateSerializer
from .versions import SpecCache

DEFAULT_LIMIT = 1000
BATCH = 2000


@dataclass(frozen=True)
class DecisionPoint:
    """A business rule task of a process in the new specs, and the gateway its outputs feed."""

    process_id: str
    table: TableReplay
    gateway: GatewayReplay | None

    @property
    def element(self) -> str:
        return self.table.task_spec.bpmn_id


@dataclass(frozen=True)
class Change:
    case: str
    instance_id: int
    kind: str  # "decision" or "gateway"
    element: str
    decision: str
    before: Any  # outputs by column name, or the element a gateway led to
    after: Any
    rules_before: tuple[str, ...] = ()
    rules_after: tuple[str, ...] = ()


@dataclass(frozen=True)
class Skipped:
    case: str
    instance_id: int
    element: str
    decision: str
    reason: str


@dataclass
class Impact:
    cases: int = 0
    passes: int = 0
    changed: list[Change] = field(default_factory=list)
    unreplayable: list[Skipped] = field(default_factory=list)
    columns: dict[str, dict[str, str]] = field(default_factory=dict)  # decision element -> output -> label
    element_names: dict[str, str] = field(default_factory=dict)  # element id -> its name in the new specs

    @property
    def changed_cases(self) -> int:
        return len({c.instance_id for c in self.changed})


def decision_points(process_specs: dict[str, Iterable[Any]], script_engine: Any,
                    known_globals: frozenset[str]) -> list[DecisionPoint]:
    """Every business rule task in ``process_specs`` (process id -> its spec and its subprocess specs)."""
    script_engine = ReplayScriptEngine(script_engine)
    points = []
    for process_id, specs in process_specs.items():
        for wf_spec in specs:
            for task_spec in wf_spec.task_specs.values():
                if getattr(task_spec, "dmnEngine", None) is None:
                    continue
                gateway = next_gateway(task_spec)
                points.append(DecisionPoint(process_id, TableReplay(task_spec, wf_spec, script_engine, known_globals),
                                            GatewayReplay(gateway, wf_spec, script_engine) if gateway else None))
    return points


class _Pass(NamedTuple):  # one per case: a tuple is built several times faster than a frozen dataclass
    step_id: int
    instance_id: int
    case: str
    version_id: int
    ended_at: Any
    details: str | None  # a key of the recorded details (their JSON text, or its digest on PostgreSQL)


def _passes(session: Session, points: list[DecisionPoint], limit: int) -> Iterator[tuple[DecisionPoint, _Pass]]:
    """The newest pass of each decision element per case, for the newest ``limit`` cases."""
    by_key = {(p.process_id, p.element): p for p in points}
    query = (select(Step.id, Step.instance_id, Step.process_id, Step.element, Step.ended_at,
                    _details_key(session).label("details"), ProcessInstance.business_key, ProcessInstance.version_id)
             .join(ProcessInstance, ProcessInstance.id == Step.instance_id)
             .where(or_(*(and_(Step.process_id == pid, Step.element == element) for pid, element in by_key)))
             .order_by(Step.ended_at.desc()))  # the (process, ended_at) index's order: no sort before the first row
    seen: set[tuple[int, str]] = set()
    cases: set[int] = set()
    rows = session.execute(query.execution_options(yield_per=BATCH))
    for step_id, instance_id, process_id, element, ended_at, details, number, version_id in rows:
        if (instance_id, element) in seen:
            continue
        if instance_id not in cases and len(cases) >= limit:
            break
        seen.add((instance_id, element))
        cases.add(instance_id)
        yield by_key[(process_id, element)], _Pass(step_id, instance_id, number or str(instance_id), version_id,
                                                   ended_at, details)


def _on_postgres(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def _details_key(session: Session) -> Any:
    """What identifies a pass's recorded details: thousands of cases share a few hundred distinct ones, so
    PostgreSQL sends a digest per case and each distinct text once (_details_texts)."""
    text = cast(Step.details, Text)
    return func.md5(text) if _on_postgres(session) else text


def _details_texts(session: Session, passes: list[tuple[DecisionPoint, _Pass]]) -> dict[str | None, str | None]:
    """Details key -> the details' JSON text."""
    if not _on_postgres(session):
        return {s.details: s.details for _, s in passes}
    first: dict[str | None, int] = {}
    for _, step in passes:
        first.setdefault(step.details, step.step_id)
    texts: dict[str | None, str | None] = {}
    ids = list(first.values())
    for start in range(0, len(ids), BATCH):
        rows = session.execute(select(func.md5(cast(Step.details, Text)), cast(Step.details, Text))
                               .where(Step.id.in_(ids[start:start + BATCH])))
        texts.update({key: text for key, text in rows})
    return texts


def _next_elements(session: Session, passes: list[tuple[DecisionPoint, _Pass]]) -> dict[int, str]:
    """Step id of a decision pass -> the element its gateway sent the case to (the recorded path).

    One streamed read of the gateways' outgoing steps since the oldest pass, rather than a query per
    batch of cases: the step table's (process, ended_at) index answers it.
    """
    wanted = {(s.instance_id, p.gateway.element): s.step_id for p, s in passes if p.gateway is not None}
    if not wanted:
        return {}
    gateways = {gateway for _, gateway in wanted}
    process_ids = {p.process_id for p, _ in passes}
    since = min(s.ended_at for _, s in passes)
    query = (select(Step.id, Step.instance_id, Step.source, Step.element)
             .where(Step.process_id.in_(process_ids), Step.ended_at >= since, Step.source.in_(gateways))
             .order_by(Step.id))
    found: dict[int, str] = {}
    for row in session.execute(query.execution_options(yield_per=BATCH)):
        decided = wanted.get((row.instance_id, row.source))
        if decided is not None and row.id > decided and decided not in found:
            found[decided] = row.element
    return found


class _VersionTables:
    """The decision tables the cases actually ran on, restored once per version and element."""

    def __init__(self, session: Session, script_engine: Any, known_globals: frozenset[str],
                 specs: SpecCache | None) -> None:
        self.session, self.script_engine, self.known = session, ReplayScriptEngine(script_engine), known_globals
        self.specs = specs or SpecCache(StateSerializer())
        self.tables: dict[tuple[int, str], TableReplay | None] = {}

    def get(self, version_id: int, element: str) -> TableReplay | None:
        key = (version_id, element)
        if key not in self.tables:
            self.tables[key] = self._load(version_id, element)
        return self.tables[key]

    def _load(self, version_id: int, element: str) -> TableReplay | None:
        bundle = self.specs.bundle(self.session, version_id)
        for wf_spec in (bundle.spec, *bundle.subprocess_specs.values()):
            task_spec = wf_spec.task_specs.get(element)
            if task_spec is not None and getattr(task_spec, "dmnEngine", None) is not None:
                return TableReplay(task_spec, wf_spec, self.script_engine, self.known)
        return None


def _inputs(details: dict[str, Any]) -> dict[str, Any]:
    return {normalise(i.get("expression")): i.get("value") for i in details.get("inputs") or []}


@dataclass(frozen=True)
class _Outcome:
    inputs: dict[str, Any]
    before: dict[str, Any]
    rules_before: tuple[str, ...]
    after: Replayed | None
    reason: str | None

    @cached_property
    def differing(self) -> list[str]:
        """The outputs the new table changes (judged once per group of identical passes)."""
        return _differs(self.before, self.after.outputs) if self.after is not None else []


def _replay_group(point: DecisionPoint, details: dict[str, Any] | None, old: TableReplay | None) -> _Outcome:
    """Before and after for one distinct recorded pass."""
    if not details or "inputs" not in details:
        return _Outcome({}, {}, (), None, "при решении не записаны значения входных полей")
    inputs = _inputs(details)
    rules_before = tuple(r.get("id") for r in details.get("rules") or [])
    before = details.get("outputs")
    if before is None:
        before = _old_outputs(old, inputs)
    known: dict[tuple[str, str], Any] = {}
    if old is not None and len(rules_before) == 1:
        known = {(column, text): before.get(column, UNRECORDED) for column, text in old.output_texts(rules_before)}
    try:
        after = point.table.replay(inputs, known)
    except Unreplayable as exc:
        return _Outcome(inputs, before, rules_before, None, str(exc))
    return _Outcome(inputs, before, rules_before, after, None)


def _old_outputs(old: TableReplay | None, inputs: dict[str, Any]) -> dict[str, Any]:
    if old is None:
        return {}
    try:
        return old.replay(inputs, {}, lenient=True).outputs
    except Unreplayable:
        return {}


def _differs(before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    return [column for column, value in after.items() if before.get(column, UNRECORDED) != value]


def _plain(outputs: dict[str, Any]) -> dict[str, Any]:
    return {k: (None if v is UNRECORDED else v) for k, v in outputs.items()}


def preview(session: Session, points: list[DecisionPoint], script_engine: Any, known_globals: frozenset[str],
            limit: int = DEFAULT_LIMIT, specs: SpecCache | None = None) -> Impact:
    """Replay the newest ``limit`` decided cases through ``points`` (the new specs' decisions); ``specs``
    is the runtime's cache of deployed versions, so their tables are not restored at every preview."""
    impact = Impact(columns={p.element: p.table.columns() for p in points},
                    element_names={k: v for p in points for k, v in p.table.element_names().items()})
    if not points:
        return impact
    passes = list(_passes(session, points, limit))
    impact.cases, impact.passes = len({s.instance_id for _, s in passes}), len(passes)
    next_elements = _next_elements(session, passes)
    old_tables = _VersionTables(session, script_engine, known_globals, specs)
    texts = _details_texts(session, passes)
    outcomes: dict[tuple[int, str, int, str], _Outcome] = {}
    targets: dict[tuple[int, str], Any] = {}
    for point, step in passes:
        key = (id(point), point.element, step.version_id, step.details)
        if key not in outcomes:
            text = texts.get(step.details)
            details = json.loads(text) if text else None
            outcomes[key] = _replay_group(point, details, old_tables.get(step.version_id, point.element))
        _judge(impact, point, step, outcomes[key], next_elements.get(step.step_id), targets, key)
    return impact


def _judge(impact: Impact, point: DecisionPoint, step: _Pass, outcome: _Outcome, went_to: str | None,
           targets: dict[tuple[Any, ...], Any], key: tuple[Any, ...]) -> None:
    name = point.table.name
    if outcome.after is None:
        impact.unreplayable.append(Skipped(step.case, step.instance_id, point.element, name, outcome.reason or ""))
        return
    differing = outcome.differing
    if any(outcome.before.get(c, UNRECORDED) is UNRECORDED for c in differing):
        impact.unreplayable.append(Skipped(step.case, step.instance_id, point.element, name,
                                           "при решении не записаны результаты, которые меняет новая таблица"))
        return
    if differing:
        impact.changed.append(Change(step.case, step.instance_id, "decision", point.element, name,
                                     _plain(outcome.before), _plain(outcome.after.outputs), outcome.rules_before,
                                     outcome.after.rules))
    if point.gateway is None or went_to is None:
        return
    if key not in targets:
        try:
            targets[key] = point.gateway.target({**_bare_inputs(outcome.inputs), **outcome.after.result})
        except Unreplayable as exc:
            targets[key] = exc
    target = targets[key]
    if isinstance(target, Unreplayable):
        impact.unreplayable.append(Skipped(step.case, step.instance_id, point.gateway.element, name, str(target)))
    elif target != went_to:
        impact.changed.append(Change(step.case, step.instance_id, "gateway", point.gateway.element, name,
                                     went_to, target))


def _bare_inputs(inputs: dict[str, Any]) -> dict[str, Any]:
    """Inputs that are plain variable names: their values are the task's data as the gateway sees it."""
    return {k: v for k, v in inputs.items() if k.isidentifier()}
