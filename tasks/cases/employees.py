"""An organisation case's employee list: taking an upload, replacing the stored list, telling the process.

Every upload replaces the whole list (`POST /api/v1/applications/{number}/employees`). A file
whose rows all pass is `accepted`: its rows are stored and the process hears of it; a file with
row problems is `rejected`: the problems and their XLSX report are kept, no employee is, and the
case waits until a corrected file replaces the list - same case, same number. A file refused as a
whole (too large, not CSV/XLSX, broken) changes nothing in the API; on the page, where a worker
reads it, the refusal is what the list shows.

When a list may be replaced: while the case has not yet reached its employee checks in the current
attempt, while the process waits for the list, or while it waits for a resubmission (after a
refusal or a request for information). Once the process takes the list for its ЕРЗЛ checks
(`locked_attempt`), a new file is refused with 409 until the case waits for a resubmission again.

The process asks for an accepted list with a service task (`employees.accepted_list`) and, if there
is none, waits for the message `employees_accepted` that an accepted upload sends. An upload that
lands between that question and the wait would find no one to tell, so `announce` waits for the
question's answer to be applied and tells again (see there).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from sqlalchemy import delete, func, insert, select
from sqlalchemy.orm import Session

from engine import journal
from engine.clock import aware, utcnow
from engine.db import Database
from engine.errors import NotFound, UndeliverableMessage
from engine.models import ServiceCall
from engine.runtime import Runtime
from tasks.config import AppConfig

from .actions import RESUBMIT_MESSAGE, ActionRefused, waiting_messages
from .models.cases import Application
from .models.employees import CaseEmployeeList, Employee
from .queries import case_status
from .storage import FileStore
from .submission import find_application

LIST_MESSAGE = "employees_accepted"
ASK_OPERATOR = "employees.accepted_list"
# Statuses in which a case that has not reached its employee checks yet takes a list.
OPEN_STATUSES = ("submitted", "in_progress")
# A page upload still "checking" after this long lost its worker job: a new upload may replace it.
STALE_CHECK = timedelta(minutes=10)
ANNOUNCE_WAIT_S = 30.0
LOCKED = ("Список работников уже проверяется или заявление рассмотрено: заменить его можно после "
          "отказа или запроса уточнения, вместе с повторной подачей заявления.")
NOT_ORGANIZATION = "Список работников прикладывают только к заявлению организации."


@dataclass(frozen=True)
class Checked:
    """What reading a file gave: its rows and problems (forms.employees.EmployeeList) and the report."""

    result: Any  # forms.employees.EmployeeList
    report: bytes | None


def check_file(data: bytes, filename: str, progress: Any = None) -> Checked:
    """Read and check the file (forms.employees); EmployeeFileError when it is refused as a whole."""
    from forms.employees import problems_report_xlsx, read_employee_list

    result = read_employee_list(data, filename, progress)
    report = problems_report_xlsx(data, filename, result) if result.problems else None
    return Checked(result, report)


# --------------------------------------------------------------------------------- reading state
def current_list(session: Session, application_id: int, *, lock: bool = False) -> CaseEmployeeList | None:
    query = select(CaseEmployeeList).where(CaseEmployeeList.application_id == application_id)
    return session.scalar(query.with_for_update() if lock else query)


def accepts_list(session: Session, app: Application, stored: CaseEmployeeList | None) -> bool:
    """Whether the case takes a new list now (see the module's docstring)."""
    if app.applicant != "organization":
        return False
    waiting = waiting_messages(session, app)
    if LIST_MESSAGE in waiting or RESUBMIT_MESSAGE in waiting:
        return True
    if case_status(session, app) not in OPEN_STATUSES:
        return False
    return stored is None or stored.locked_attempt is None or stored.locked_attempt < app.attempt


def require_open(session: Session, app: Application, stored: CaseEmployeeList | None = None) -> None:
    """ActionRefused (HTTP 409) unless the case takes a new list now."""
    if app.applicant != "organization":
        raise ActionRefused("not_organization", NOT_ORGANIZATION)
    if not accepts_list(session, app, stored if stored is not None else current_list(session, app.id)):
        raise ActionRefused("list_locked", LOCKED)


def result_counts(session: Session, application_id: int) -> dict[str, int]:
    """Employees by the result of their latest ЕРЗЛ check: insured, not_insured, unchecked."""
    rows = session.execute(select(Employee.result, func.count()).where(Employee.application_id == application_id)
                           .group_by(Employee.result))
    counts = {"insured": 0, "not_insured": 0, "unchecked": 0}
    for result, count in rows:
        counts[result or "unchecked"] = counts.get(result or "unchecked", 0) + count
    return counts


# --------------------------------------------------------------------------------- storing a list
def begin_page_check(db: Database, config: AppConfig, *, number: str, uploader_id: int, filename: str,
                     data: bytes) -> tuple[int, int]:
    """A page upload: keep the file for the worker and mark the list `checking`; (list id, version).

    ActionRefused when the case does not take a list now (nothing is stored then).
    """
    from hashlib import sha256

    store = FileStore(config.uploads_dir)
    with db.session() as s:
        app, stored = _locked_case(s, number)
        require_open(s, app, stored)
        key = store.put(data, "employee-uploads", _suffix(filename))
        stored = _replace_row(s, app, stored, uploader_id, filename, sha256(data).hexdigest(), len(data))
        stored.status, stored.file_key = "checking", key
        s.execute(delete(Employee).where(Employee.application_id == app.id))
        s.flush()
        return stored.id, stored.version


def store_checked(db: Database, config: AppConfig, *, number: str, uploader_id: int, filename: str, data: bytes,
                  checked: Checked, version: int | None = None) -> CaseEmployeeList | None:
    """Replace the list with a checked file: its rows when accepted, its problems when rejected.

    `version` is the page upload this result belongs to: when a newer upload replaced it meanwhile,
    nothing is stored and None is returned. ActionRefused when the case does not take a list now.
    """
    from hashlib import sha256

    result, store = checked.result, FileStore(config.uploads_dir)
    report_key = store.put(checked.report, "employee-reports", ".xlsx") if checked.report else None
    with db.session() as s:
        app, stored = _locked_case(s, number)
        if version is not None and (stored is None or stored.version != version):
            _forget(store, report_key)
            return None
        try:
            require_open(s, app, stored)
        except ActionRefused:
            _forget(store, report_key)
            raise
        if version is None:
            stored = _replace_row(s, app, stored, uploader_id, filename, sha256(data).hexdigest(), len(data))
        assert stored is not None
        old_files = (stored.report_key, stored.file_key)
        _fill(stored, result, report_key)
        s.execute(delete(Employee).where(Employee.application_id == app.id))
        if not result.problems and result.rows:
            s.execute(insert(Employee.__table__), _employee_rows(app.id, result.rows))
        journal.record(s, app.instance_id, "employees_uploaded", actor=f"user:{uploader_id}",
                       message=f"Список работников: принято строк {stored.accepted}, с ошибками {stored.rejected}",
                       details={"version": stored.version, "status": stored.status, "total_rows": stored.total_rows,
                                "accepted": stored.accepted, "rejected": stored.rejected})
        s.flush()
        s.expunge(stored)
    for key in old_files:
        _forget(store, key)
    return stored


def store_refused(db: Database, config: AppConfig, *, list_id: int, version: int, code: str, message: str,
                  status: int) -> None:
    """A page upload refused as a whole (too large, not CSV/XLSX, broken): the list says why."""
    with db.session() as s:
        stored = s.get(CaseEmployeeList, list_id, with_for_update=True)
        if stored is None or stored.version != version:
            return
        key, stored.file_key = stored.file_key, None
        stored.status, stored.error = "refused", {"code": code, "message": message, "status": status}
        stored.checked_at = utcnow()
    _forget(FileStore(config.uploads_dir), key)


def record_progress(db: Database, list_id: int, version: int, done: int, total: int) -> None:
    """How far a worker got reading a page upload («Проверено N из M строк»)."""
    with db.session() as s:
        stored = s.get(CaseEmployeeList, list_id)
        if stored is not None and stored.version == version and stored.status == "checking":
            stored.progress_done, stored.progress_total = done, total


def is_stale(stored: CaseEmployeeList) -> bool:
    """A `checking` list whose worker job is long gone (a new upload may replace it)."""
    return stored.status == "checking" and utcnow() - aware(stored.uploaded_at) > STALE_CHECK


def _locked_case(s: Session, number: str) -> tuple[Application, CaseEmployeeList | None]:
    """The case (its row locked, so uploads of one case go one after another) and its list."""
    app = s.scalar(select(Application).where(Application.number == number).with_for_update())
    if app is None:
        raise NotFound(number)
    return app, current_list(s, app.id, lock=True)


def _replace_row(s: Session, app: Application, stored: CaseEmployeeList | None, uploader_id: int, filename: str,
                 digest: str, size: int) -> CaseEmployeeList:
    now = utcnow()
    if stored is None:
        stored = CaseEmployeeList(application_id=app.id, version=0, problems=[])
        s.add(stored)
    stored.version += 1
    stored.filename, stored.sha256, stored.size = filename[:255], digest, size
    stored.uploaded_by, stored.uploaded_at, stored.checked_at = uploader_id, now, None
    stored.total_rows = stored.accepted = stored.rejected = stored.progress_done = stored.progress_total = 0
    stored.problems, stored.error, stored.locked_attempt = [], None, None
    return stored


def _fill(stored: CaseEmployeeList, result: Any, report_key: str | None) -> None:
    problems = [{"row": p.row, "field": p.field, "code": p.code, "message": p.message} for p in result.problems]
    stored.status = "rejected" if problems or not result.rows else "accepted"
    stored.problems = problems or ([] if result.rows else [_EMPTY])
    stored.total_rows, stored.accepted = result.total_rows, len(result.rows)
    stored.rejected = len({p["row"] for p in stored.problems if p["row"] > 1})
    stored.progress_done = stored.progress_total = result.total_rows
    stored.report_key, stored.file_key, stored.error = report_key, None, None
    stored.checked_at = utcnow()


_EMPTY = {"row": 1, "field": "", "code": "empty", "message": "В файле нет ни одного работника"}


def _employee_rows(application_id: int, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{"application_id": application_id, "seq": seq, "row": r["row"], "last_name": r["last_name"],
             "first_name": r["first_name"], "middle_name": r.get("middle_name") or None,
             "birth_date": date.fromisoformat(r["birth_date"]), "inn": r.get("inn") or None,
             "position": r["position"], "enp": r["enp"], "email": r["email"], "batch": None, "result": None,
             "reason": None, "insurer_name": None, "insurer_code": None, "checked_attempt": None}
            for seq, r in enumerate(rows)]


def _suffix(filename: str) -> str:
    lower = filename.lower()
    return ".xlsx" if lower.endswith(".xlsx") else ".csv" if lower.endswith(".csv") else ""


def _forget(store: FileStore, key: str | None) -> None:
    if key:
        store.path(key).unlink(missing_ok=True)


# ------------------------------------------------------------------------------ telling the process
def announce(db: Database, runtime: Runtime, *, number: str, stored: CaseEmployeeList, actor: str) -> bool:
    """Tell the case's process that an accepted list is there, if it waits for one; True if delivered.

    When it does not wait, it either has not asked yet (it will find the list when it asks) or its
    question is being answered right now: the worker may have read "no list" just before this upload
    committed, and will start waiting only when that answer is applied. So, when a question is still
    queued, wait for it to be settled (a worker applies it within milliseconds of reading) and tell
    again; a question asked after this upload committed finds the list by itself.
    """
    if stored.status != "accepted":
        return False
    payload = {"version": stored.version, "accepted": stored.accepted}
    deadline = time.monotonic() + ANNOUNCE_WAIT_S
    while True:
        # Looked at before telling: the answer's commit both settles the question and starts the wait, so
        # a question seen settled after a failed telling may have been answered in between (the process
        # then waits, untold). Seen settled before it, a telling that fails is final.
        pending = _question_pending(db, number)
        try:
            runtime.deliver_message(LIST_MESSAGE, number, payload, actor=actor)
            return True
        except UndeliverableMessage:
            if not pending or time.monotonic() > deadline:
                return False
        time.sleep(0.1)


def _question_pending(db: Database, number: str) -> bool:
    with db.session() as s:
        app = find_application(s, number)
        if app is None or app.instance_id is None:
            return False
        return bool(s.scalar(select(func.count()).select_from(ServiceCall).where(
            ServiceCall.instance_id == app.instance_id, ServiceCall.operator == ASK_OPERATOR,
            ServiceCall.status.in_(("queued", "retry_wait")))))
