"""What the API and the page show of an employee list: its state, its rows, the report and the templates."""

from __future__ import annotations

import io
from typing import Any

from flask import Response, send_file
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine.clock import aware
from engine.db import Database
from tasks.cases.employees import accepts_list, current_list, is_stale, result_counts
from tasks.cases.models.cases import Application
from tasks.cases.models.employees import CaseEmployeeList, Employee
from tasks.cases.storage import FileStore
from tasks.config import AppConfig

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
TEMPLATE_NAMES = {"xlsx": "Шаблон списка работников.xlsx", "csv": "Шаблон списка работников.csv"}


def stored_list(session: Session, app: Application) -> CaseEmployeeList | None:
    return current_list(session, app.id)


def list_view(session: Session, app: Application) -> dict[str, Any]:
    """The list as the applicant (and staff) see it; `status` is None before the first upload."""
    stored = current_list(session, app.id)
    can_upload = accepts_list(session, app, stored) and (stored is None or stored.status != "checking"
                                                         or is_stale(stored))
    if stored is None:
        return {"status": None, "can_upload": can_upload}
    view: dict[str, Any] = {
        "status": stored.status, "version": stored.version, "filename": stored.filename,
        "uploaded_at": aware(stored.uploaded_at).isoformat(), "total_rows": stored.total_rows,
        "accepted": stored.accepted, "rejected_rows": stored.rejected, "problems": stored.problems or [],
        "error": stored.error, "report": bool(stored.report_key), "can_upload": can_upload,
        "progress": {"done": stored.progress_done, "total": stored.progress_total},
    }
    if stored.status == "accepted":
        view["results"] = result_counts(session, app.id)
    return view


def employee_rows(session: Session, app: Application, *, result: str | None, limit: int,
                  offset: int) -> tuple[list[dict[str, Any]], int]:
    """A page of the case's employees in file order, optionally only those with a given check result."""
    query = select(Employee).where(Employee.application_id == app.id)
    if result == "unchecked":
        query = query.where(Employee.result.is_(None))
    elif result:
        query = query.where(Employee.result == result)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.scalars(query.order_by(Employee.seq).limit(limit).offset(offset))
    return [employee_view(e) for e in rows], total


def employee_view(e: Employee) -> dict[str, Any]:
    return {"row": e.row, "last_name": e.last_name, "first_name": e.first_name, "middle_name": e.middle_name,
            "birth_date": e.birth_date.isoformat(), "position": e.position, "enp": e.enp, "inn": e.inn,
            "email": e.email, "result": e.result, "reason": e.reason,
            "insurer": {"name": e.insurer_name, "code": e.insurer_code} if e.insurer_name else None}


def report_response(config: AppConfig, stored: CaseEmployeeList) -> Response:
    path = FileStore(config.uploads_dir).path(stored.report_key or "")
    return send_file(path, mimetype=XLSX, as_attachment=True, download_name="Ошибки в списке работников.xlsx")


def template_response(kind: str) -> Response:
    from forms.employees import template_csv, template_xlsx

    data, mimetype = (template_xlsx(), XLSX) if kind == "xlsx" else (template_csv(), "text/csv; charset=utf-8")
    return send_file(io.BytesIO(data), mimetype=mimetype, as_attachment=True, download_name=TEMPLATE_NAMES[kind])


def register_response(db: Database, config: AppConfig, number: str, kind: str) -> Response | None:
    """The issued register's PDF or XLSX (tasks/cases/registers.py), or None while there is none."""
    from tasks.cases.registers import register_files

    _, files = register_files(db, config, number)
    if files is None:
        return None
    path, mimetype = (files.pdf, "application/pdf") if kind == "pdf" else (files.xlsx, XLSX)
    return send_file(path, mimetype=mimetype, as_attachment=kind == "xlsx",
                     download_name=f"Реестр {files.register.number}.{kind}")
