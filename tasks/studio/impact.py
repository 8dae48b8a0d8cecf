"""The impact preview of a draft: its decisions replayed over the newest decided cases (engine.impact).

The reviewer of a proposed draft sees how many of the last cases its decision tables (and the gateways
they feed) would have decided otherwise, which ones, and from what to what. The draft is built exactly
as the deploy would build it; an invalid draft has no preview (its problems are listed instead).
Each preview is journaled with who asked: it reads decided cases.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from engine import journal
from engine.context import Services
from engine.deploy import startable_process_ids
from engine.impact import DEFAULT_LIMIT, Impact, decision_points, preview
from engine.validation import Validation
from tasks.cases.labels import reason_label
from tasks.inbox.case_screen import OUTCOME_LABELS
from tasks.studio import drafts
from tasks.studio.models import ProcessDraft

MAX_LIMIT = 100_000


def draft_impact(session: Session, services: Services, draft: ProcessDraft, actor: str, limit: int = DEFAULT_LIMIT,
                 checked: Validation | None = None) -> Impact:
    """Replay the newest ``limit`` decided cases through the draft (DraftRefused if it does not build);
    ``checked`` is the draft's validation when the caller has just run it."""
    checked = checked or drafts.validate_draft(session, services, draft)
    if checked.problems:
        raise drafts.DraftRefused(checked.problems)
    env = drafts.script_environment(services)
    parser = checked.parser
    specs = {pid: [parser.get_spec(pid), *parser.get_subprocess_specs(pid).values()]
             for pid in startable_process_ids(checked)}
    script_engine = env.script_engine()
    impact = preview(session, decision_points(specs, script_engine, env.allowed_names), script_engine,
                     env.allowed_names, limit, services.runtime.specs)
    journal.record(session, None, "draft_impact_previewed", actor=actor, message=f"draft {draft.id}",
                   details={"draft_id": draft.id, "limit": limit, "cases": impact.cases,
                            "changed": len(impact.changed), "unreplayable": len(impact.unreplayable)})
    session.commit()
    return impact


def as_json(impact: Impact) -> dict[str, Any]:
    return {"cases": impact.cases, "passes": impact.passes, "changed_cases": impact.changed_cases,
            "changed": [{"case": c.case, "kind": c.kind, "element": c.element, "decision": c.decision,
                         "from": c.before, "to": c.after, "rules_from": list(c.rules_before),
                         "rules_to": list(c.rules_after)} for c in impact.changed],
            "unreplayable": [{"case": s.case, "element": s.element, "decision": s.decision, "reason": s.reason}
                             for s in impact.unreplayable]}


def value_words(column: str, value: Any) -> str:
    """An output value as the page says it: outcome and reason codes in Russian, empty as a dash."""
    if value is None or value == "":
        return "—"
    if column.endswith("outcome"):
        return OUTCOME_LABELS.get(value, str(value))
    if column.endswith("reason"):
        return reason_label(str(value))
    return str(value)


def change_lines(impact: Impact, change: Any) -> list[tuple[str, str, str]]:
    """(what, from, to) in Russian for one changed case: the outputs that differ, or the gateway's targets."""
    if change.kind == "gateway":
        names = impact.element_names
        return [("Переход после шлюза", names.get(change.before, change.before), names.get(change.after, change.after))]
    labels = impact.columns.get(change.element, {})
    return [(labels.get(column, column), value_words(column, change.before.get(column)), value_words(column, value))
            for column, value in change.after.items() if change.before.get(column) != value]
