"""The process's work on the stored employee list: batch plan, ЕРЗЛ results, the register's rows.

The workflow never carries the employees themselves (10,000 of them would be megabytes of state
saved at every step): it carries batch numbers and counts. Each batch is one instance of the
multi-instance service task `employees.check_batch`, which reads its rows here, asks ЕРЗЛ in one
round trip per 1,000 and writes the answers back to the `employee` table.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import Session

from engine.db import Database
from engine.errors import NotFound
from tasks.registries.batch_policies import EmployeePolicy, PolicyLookupItem

from .employees import current_list, result_counts
from .models.cases import Application
from .models.employees import CaseEmployeeList, Employee
from .submission import find_application


class StaleBatch(Exception):
    """The list changed or another attempt took it: this batch's results would belong to nobody."""


@dataclass(frozen=True)
class Plan:
    accepted: bool
    batches: list[int]
    total: int
    version: int | None


def plan_batches(db: Database, *, number: str, attempt: int, batch_size: int) -> Plan:
    """Take the accepted list for this attempt's checks: number its rows into batches, clear old results.

    A list that is not accepted (a newer upload with errors, or one still being read) is not taken:
    the process goes back to waiting for one.
    """
    if batch_size < 1:
        raise ValueError("batch_size must be positive")
    with db.session() as s:
        app = _case(s, number)
        stored = current_list(s, app.id, lock=True)
        if stored is None or stored.status != "accepted":
            return Plan(False, [], 0, stored.version if stored else None)
        stored.locked_attempt = attempt
        table = Employee.__table__
        s.execute(update(table).where(table.c.application_id == app.id)
                  .values(batch=table.c.seq // batch_size, result=None, reason=None, insurer_name=None,
                          insurer_code=None, checked_attempt=None))
        count = -(-stored.accepted // batch_size)
        return Plan(True, list(range(count)), stored.accepted, stored.version)


@dataclass(frozen=True)
class BatchRows:
    application_id: int
    period: dict[str, Any] | None
    ids: list[int]
    items: list[PolicyLookupItem]


def batch_rows(db: Database, *, number: str, attempt: int, batch: int) -> BatchRows:
    """The employees of one batch, as this attempt planned them; StaleBatch when the plan is gone."""
    with db.session() as s:
        app = _case(s, number)
        _require_plan(current_list(s, app.id), attempt)
        rows = s.execute(select(Employee.id, Employee.enp, Employee.birth_date)
                         .where(Employee.application_id == app.id, Employee.batch == batch)
                         .order_by(Employee.seq)).all()
        return BatchRows(app.id, app.data.get("period"), [r.id for r in rows],
                         [PolicyLookupItem(r.enp, r.birth_date.isoformat()) for r in rows])


def write_results(db: Database, *, rows: BatchRows, attempt: int, answers: Sequence[EmployeePolicy]) -> dict[str, int]:
    """Store one batch's answers (the same answers twice change nothing); the batch's counts."""
    values = [{"b_id": row_id, "b_result": "insured" if a.insured else "not_insured", "b_reason": a.reason,
               "b_insurer_name": a.insurer_name, "b_insurer_code": a.insurer_code, "b_attempt": attempt}
              for row_id, a in zip(rows.ids, answers, strict=True)]
    with db.session() as s:
        _require_plan(current_list(s, rows.application_id, lock=True), attempt)
        if values:
            table = Employee.__table__
            s.execute(update(table).where(table.c.id == bindparam("b_id"))
                      .values(result=bindparam("b_result"), reason=bindparam("b_reason"),
                              insurer_name=bindparam("b_insurer_name"), insurer_code=bindparam("b_insurer_code"),
                              checked_attempt=bindparam("b_attempt")),
                      values)
    insured = sum(1 for a in answers if a.insured)
    return {"checked": len(answers), "insured": insured, "not_insured": len(answers) - insured}


def check_batch(db: Database, lookup: Callable[[list[PolicyLookupItem], dict | None], list[EmployeePolicy]], *,
                number: str, attempt: int, batch: int) -> dict[str, int]:
    """One batch end to end: its rows, ЕРЗЛ's answers (`lookup`), the results stored; its counts."""
    rows = batch_rows(db, number=number, attempt=attempt, batch=batch)
    answers = lookup(rows.items, rows.period)
    return {"batch": batch, **write_results(db, rows=rows, attempt=attempt, answers=answers)}


def summary(db: Database, *, number: str) -> dict[str, int]:
    """Employees by result, read from the table (what the register will list)."""
    with db.session() as s:
        app = _case(s, number)
        counts = result_counts(s, app.id)
    return {"total": sum(counts.values()), **counts}


def register_rows(session: Session, application_id: int) -> list[Any]:
    """Every employee of the case as a register row (tasks/documents/register.RegisterRow), in file order."""
    from tasks.documents.register import RegisterRow

    rows = session.scalars(select(Employee).where(Employee.application_id == application_id).order_by(Employee.seq))
    return [RegisterRow(last_name=e.last_name, first_name=e.first_name, middle_name=e.middle_name,
                        birth_date=e.birth_date, position=e.position, enp=e.enp,
                        insurer_name=e.insurer_name, insurer_code=e.insurer_code,
                        status=e.result or "not_insured",
                        reason=e.reason if e.result else "Сведения в ЕРЗЛ не проверены")
            for e in rows]


def _case(s: Session, number: str) -> Application:
    app = find_application(s, number)
    if app is None:
        raise NotFound(f"case {number} does not exist")
    return app


def _require_plan(stored: CaseEmployeeList | None, attempt: int) -> None:
    if stored is None or stored.status != "accepted" or stored.locked_attempt != attempt:
        raise StaleBatch(f"the employee list is no longer the one attempt {attempt} checks")
