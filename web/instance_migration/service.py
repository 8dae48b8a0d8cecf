"""What the page and the API share: reading a request, running the dry run, starting and reverting runs.

Supervisors and administrators move cases; analysts may look at a dry run (it changes nothing and shows
no personal data, only case numbers and elements). Every dry run, start and revert is journaled with
the person who asked.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.errors import FieldError
from engine.migration_models import InstanceMigration
from engine.migration_runs import Verdict, create_run, dry_run, enqueue, request_revert
from tasks.accounts.roles import ADMIN, ANALYST, SUPERVISOR
from tasks.errors import ApiError

from ..services import services

MOVERS = (SUPERVISOR, ADMIN)
VIEWERS = (SUPERVISOR, ADMIN, ANALYST)
STATUS_LABELS = {
    "queued": "в очереди", "running": "выполняется", "done": "завершён", "failed": "ошибка",
    "revert_queued": "отмена в очереди", "reverting": "отменяется", "reverted": "отменён",
}
CASE_LABELS = {"migrated": "перенесено", "blocked": "не переносится", "reverted": "возвращено",
               "moved_on": "продвинулось после переноса, оставлено на новой версии"}


@dataclass(frozen=True)
class Request:
    process: str
    source: int
    target: int


def read_request(data: dict[str, Any]) -> Request:
    """`process`, `from`, `to` from a JSON body or a form; 422 naming every bad field."""
    problems: list[FieldError] = []
    process = data.get("process")
    if not isinstance(process, str) or not process.strip():
        problems.append(FieldError("process", "required", "Укажите процесс."))
    numbers: dict[str, int] = {}
    for name, label in (("from", "исходную"), ("to", "целевую")):
        value = data.get(name)
        number = _positive(value)
        if number is None:
            problems.append(FieldError(name, "required" if value in (None, "") else "invalid",
                                       f"Укажите {label} версию: целое число больше нуля."))
        else:
            numbers[name] = number
    if not problems and numbers["from"] == numbers["to"]:
        problems.append(FieldError("to", "same_version", "Целевая версия должна отличаться от исходной."))
    if problems:
        raise ApiError(422, "validation_failed", problems[0].message, problems)
    return Request(process.strip(), numbers["from"], numbers["to"])


def _positive(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value.strip())
    return value if isinstance(value, int) and value > 0 else None


def case_label(verdict_or_case: Any) -> str | int:
    """How a case is named: its business key (the case number), else its instance id."""
    return verdict_or_case.business_key or verdict_or_case.instance_id


def run_dry_run(req: Request, actor: str) -> list[Verdict]:
    return dry_run(services().runtime, req.process, req.source, req.target, actor)


def start_run(req: Request, actor: str) -> int:
    svc = services()
    migration_id = create_run(svc.runtime, req.process, req.source, req.target, actor)
    enqueue(svc.runtime, svc.redis, svc.settings.queue_name, migration_id)
    return migration_id


def revert_run(migration_id: int, actor: str) -> None:
    svc = services()
    request_revert(svc.runtime, migration_id, actor)
    enqueue(svc.runtime, svc.redis, svc.settings.queue_name, migration_id)


def recent_runs(session: Session, limit: int = 20) -> list[InstanceMigration]:
    return list(session.scalars(select(InstanceMigration).order_by(InstanceMigration.id.desc()).limit(limit)))


def dry_run_json(req: Request, verdicts: list[Verdict]) -> dict[str, Any]:
    return {"process": req.process, "from": req.source, "to": req.target,
            "movable": [case_label(v) for v in verdicts if v.movable],
            "blocked": [{"case": case_label(v), "reason": v.obstacle.message, "code": v.obstacle.code,
                         "element_id": v.obstacle.element_id} for v in verdicts if v.obstacle is not None]}


def run_json(run: InstanceMigration, cases: list[Any]) -> dict[str, Any]:
    return {
        "id": run.id, "process": run.process_id, "from": run.source_version, "to": run.target_version,
        "status": run.status, "actor": run.actor, "created_at": run.created_at.isoformat(),
        "finished_at": run.finished_at.isoformat() if run.finished_at else None,
        "total": run.total, "processed": run.processed, "migrated": run.migrated, "blocked": run.blocked,
        "reverted": run.reverted, "kept": run.kept, "error": run.error,
        "cases": [{"case": case_label(c), "status": c.status,
                   "reason": (c.reason or {}).get("message")} for c in cases],
    }
