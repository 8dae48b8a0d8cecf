"""Retention of closed cases (152-FZ: keep only what the purpose needs, destroy with a record).

Two periods, counted from the moment a case's process ended, are named SLA durations (workflows/sla.toml,
overridable with BACKOFFICE_SLA like every term):

- `retention_scans`: the uploaded scans are deleted (the file; the row stays with its kind, size and
  checksum as the record of what was held), and so is the employee list's problem report;
- `retention_personal_data`: the case's personal data is minimised: the applicant reduced to initials,
  identifiers, addresses and free texts removed from every attempt and appeal, the employees of an
  organisation's list deleted, the process instance's data emptied. Number, dates, period, status and the
  issued certificate's record stay (the certificate can still be verified).

Each action is journaled on the case (`scans_deleted`, `personal_data_minimised`, actor `retention`).
The scheduler runs `apply_retention` periodically (tasks/scheduler.py). A catalogue without these
names (a test's own diagrams) keeps everything.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import delete, or_, select
from sqlalchemy.orm import Session

from engine import journal
from engine.clock import aware, utcnow
from engine.db import Database
from engine.models import ProcessInstance
from engine.runtime import Runtime
from engine.sla import SlaDuration, SlaRegistry, UnknownSla
from tasks.config import business_calendar

from .models.cases import Appeal, Application, ApplicationAttempt, Document
from .models.employees import CaseEmployeeList, Employee
from .storage import FileStore

log = logging.getLogger(__name__)
SCANS = "retention_scans"
PERSONAL_DATA = "retention_personal_data"
ACTOR = "retention"
ERASED_TEXT = "(удалено по истечении срока хранения)"
BATCH = 100
_ORGANIZATION_KEPT = ("name", "inn", "kpp", "ogrn")  # a legal entity's requisites are not personal data


@dataclass
class RetentionResult:
    scans_deleted: int = 0
    cases_minimised: int = 0


def _initials(person: dict[str, Any]) -> dict[str, str]:
    return {k: f"{person[k][0]}." for k in ("last_name", "first_name") if isinstance(person.get(k), str) and person[k]}


def minimised(data: dict[str, Any]) -> dict[str, Any]:
    """An application's data with only what the closed case's record needs."""
    out: dict[str, Any] = {k: data[k] for k in ("applicant", "period") if k in data}
    if data.get("applicant") == "organization":
        org = data.get("organization") or {}
        out["organization"] = {k: org[k] for k in _ORGANIZATION_KEPT if k in org}
    else:
        out["person"] = _initials(data.get("person") or {})
    return out


def _candidates(s: Session, period: SlaDuration, now: datetime, pending: Any) -> list[int]:
    """Ids of applications whose process ended at least `period` ago and for which `pending` holds."""
    # n business days are at least n calendar days: fetch on that bound, then check each end exactly.
    bound = period.delta if period.delta is not None else timedelta(days=period.business_days or 0)
    rows = s.execute(select(Application.id, ProcessInstance.ended_at)
                     .join(ProcessInstance, ProcessInstance.id == Application.instance_id)
                     .where(ProcessInstance.completed.is_(True), ProcessInstance.ended_at <= now - bound, pending)
                     .order_by(ProcessInstance.ended_at).limit(BATCH)).all()
    return [app_id for app_id, ended in rows if period.due(aware(ended), calendar=business_calendar()) <= now]


def _locked(s: Session, app_id: int) -> Application | None:
    return s.scalar(select(Application).where(Application.id == app_id).with_for_update(skip_locked=True))


def delete_scans(db: Database, uploads: FileStore, period: SlaDuration, now: datetime) -> int:
    """Delete the stored files of closed cases' uploads; returns how many files were deleted."""
    pending = or_(Application.id.in_(select(Document.application_id).where(Document.erased_at.is_(None))),
                  Application.id.in_(select(CaseEmployeeList.application_id)
                                     .where(CaseEmployeeList.report_key.is_not(None))))
    deleted = 0
    with db.session() as s:
        for app_id in _candidates(s, period, now, pending):
            app = _locked(s, app_id)
            if app is None:
                continue  # another scheduler is at it
            docs = list(s.scalars(select(Document).where(Document.application_id == app_id,
                                                         Document.erased_at.is_(None))))
            for doc in docs:  # files first: a failed commit leaves rows to retry, never a row claiming a file
                uploads.path(doc.storage_key).unlink(missing_ok=True)
                doc.erased_at = now
            reports = list(s.scalars(select(CaseEmployeeList).where(CaseEmployeeList.application_id == app_id,
                                                                    CaseEmployeeList.report_key.is_not(None))))
            for employees in reports:  # the employee list with its problems marked: names and ЕНП of people
                uploads.path(employees.report_key).unlink(missing_ok=True)
                employees.report_key = None
            journal.record(s, app.instance_id, "scans_deleted", actor=ACTOR,
                           details={"documents": [d.id for d in docs], "employee_reports": len(reports),
                                    "period": period.text})
            s.commit()
            deleted += len(docs)
    return deleted


def minimise_cases(db: Database, runtime: Runtime, period: SlaDuration, now: datetime) -> int:
    """Minimise the personal data of closed cases; returns how many cases were minimised."""
    done = 0
    with db.session() as s:
        for app_id in _candidates(s, period, now, Application.minimised_at.is_(None)):
            app = _locked(s, app_id)
            if app is None or app.minimised_at is not None:
                continue
            _minimise(s, app, now)
            if app.instance_id is not None:
                runtime.erase_data(s, app.instance_id, ACTOR)
            journal.record(s, app.instance_id, "personal_data_minimised", actor=ACTOR,
                           details={"period": period.text})
            s.commit()
            done += 1
    return done


def _minimise(s: Session, app: Application, now: datetime) -> None:
    app.data = minimised(app.data)
    person = app.data.get("person") or {}
    app.search_name = " ".join(person.values()).lower() if app.applicant != "organization" else app.search_name
    app.snils, app.minimised_at = None, now
    for attempt in s.scalars(select(ApplicationAttempt).where(ApplicationAttempt.application_id == app.id)):
        attempt.data, attempt.comment = minimised(attempt.data), None
    for appeal in s.scalars(select(Appeal).where(Appeal.application_id == app.id)):
        appeal.grounds, appeal.decision_comment = ERASED_TEXT, None
    for doc in s.scalars(select(Document).where(Document.application_id == app.id)):
        doc.filename = f"{doc.kind}{Path(doc.filename).suffix}"  # a file's own name may name the person
    s.execute(delete(Employee).where(Employee.application_id == app.id))
    for employees in s.scalars(select(CaseEmployeeList).where(CaseEmployeeList.application_id == app.id)):
        employees.problems, employees.filename = [], f"employees{Path(employees.filename).suffix}"


def _period(sla: SlaRegistry, name: str) -> SlaDuration | None:
    try:
        return sla.get(name)
    except UnknownSla:
        return None


def apply_retention(db: Database, runtime: Runtime, sla: SlaRegistry, uploads_dir: Path,
                    now: datetime | None = None) -> RetentionResult:
    """One pass of both retention rules (a batch each); the periodic job of the scheduler."""
    now = now or utcnow()
    result = RetentionResult()
    scans, personal = _period(sla, SCANS), _period(sla, PERSONAL_DATA)
    if scans is not None:
        result.scans_deleted = delete_scans(db, FileStore(uploads_dir), scans, now)
    if personal is not None:
        result.cases_minimised = minimise_cases(db, runtime, personal, now)
    if result.scans_deleted or result.cases_minimised:
        log.info("retention: %d scan(s) deleted, %d case(s) minimised", result.scans_deleted, result.cases_minimised)
    return result
