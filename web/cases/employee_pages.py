"""The employee list page of an organisation case: upload, row report, progress, templates.

    GET  /applications/<number>/employees              the list: upload form, its state, the row report
    POST /applications/<number>/employees              upload (the owner): read in a worker, then redirect
    GET  /applications/<number>/employees/progress     {status, done, total} for the page's small script
    GET  /applications/<number>/employees/report.xlsx  the rows with their problems marked
    GET  /employees/template.xlsx | template.csv       the file to fill in
    GET  /applications/<number>/register.pdf | .xlsx   the issued register

A list of 10,000 rows takes seconds to read, so the page hands the file to an RQ worker job
(tasks.cases.employee_jobs) and shows «Проверено N из M строк»: refreshed by web/static/js/employees.js,
or without JavaScript by <meta http-equiv="refresh"> and a link. What is cheap to see from the bytes
(size, CSV or XLSX, a zip bomb) is refused at once, before anything is stored.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, jsonify, redirect, render_template, request, url_for
from redis.exceptions import RedisError
from werkzeug.wrappers import Response

from tasks.cases.actions import ActionRefused
from tasks.cases.employee_jobs import enqueue_check, refuse_unchecked
from tasks.cases.employees import begin_page_check, is_stale
from tasks.cases.queries import case_status
from tasks.cases.submission import applicant_name

from ..api_errors import error_page
from ..extensions import db
from ..security import current_actor, login_required_page, public, roles_required
from ..services import app_config, services
from . import access, page_format
from .employee_views import (
    employee_rows,
    list_view,
    register_response,
    report_response,
    stored_list,
    template_response,
)

bp = Blueprint("employees", __name__)
page_format.register(bp)
PROBLEMS_SHOWN = 1000
UNINSURED_SHOWN = 500
REFRESH_SECONDS = 2
Page = str | tuple[str, int] | Response


def _render(app: Any, *, error: str | None = None, status: int = 200) -> tuple[str, int]:
    from forms.employees import COLUMNS

    view = list_view(db.session, app)
    uninsured: list[dict[str, Any]] = []
    if (view.get("results") or {}).get("not_insured"):
        uninsured, _ = employee_rows(db.session, app, result="not_insured", limit=UNINSURED_SHOWN, offset=0)
    checking = view.get("status") == "checking"
    html = render_template("cases/employees.html", number=app.number, applicant=applicant_name(app.data),
                           view=view, problems=view.get("problems", [])[:PROBLEMS_SHOWN], uninsured=uninsured,
                           is_owner=app.owner_id == current_actor().id, error=error, checking=checking,
                           refresh=REFRESH_SECONDS if checking else None, columns=COLUMNS,
                           ready=case_status(db.session, app) == "ready")
    access.record_view(app, "employees_viewed", {"view": "page"})
    return html, status


@bp.get("/applications/<number>/employees")
@login_required_page
def page(number: str) -> Page:
    app = access.readable_application(number)
    if app.applicant != "organization":
        return error_page(404)
    return _render(app)


@bp.post("/applications/<number>/employees")
@roles_required("citizen")
def upload(number: str) -> Page:
    from forms.employees import MAX_BYTES, EmployeeFileError
    from forms.employees.sniff import detect_kind

    app = access.own_application(number)
    stored = stored_list(db.session, app)
    if stored is not None and stored.status == "checking" and not is_stale(stored):
        return _render(app, error="Предыдущий файл ещё проверяется: дождитесь окончания проверки.", status=409)
    file = request.files.get("file")
    if file is None or not file.filename:
        return _render(app, error="Выберите файл со списком работников (CSV или XLSX)", status=422)
    data = file.stream.read(MAX_BYTES + 1)
    try:
        detect_kind(data, file.filename)
    except EmployeeFileError as exc:
        return _render(app, error=exc.message, status=exc.status)
    uploader = current_actor().id
    try:
        list_id, version = begin_page_check(services().database, app_config(), number=number, uploader_id=uploader,
                                            filename=file.filename, data=data)
    except ActionRefused as exc:
        return error_page(409, exc.message, "Список нельзя заменить")
    try:
        enqueue_check(services(), list_id=list_id, version=version, number=number)
    except RedisError:
        refuse_unchecked(services().database, app_config(), list_id=list_id, version=version)
        raise
    flash("Файл загружен и проверяется.", "info")
    return redirect(url_for("employees.page", number=number), code=303)


@bp.get("/applications/<number>/employees/progress")
@login_required_page
def progress(number: str) -> Response:
    app = access.readable_application(number)
    stored = stored_list(db.session, app)
    if stored is None:
        return jsonify({"status": None, "done": 0, "total": 0})
    return jsonify({"status": stored.status, "done": stored.progress_done, "total": stored.progress_total})


@bp.get("/applications/<number>/employees/report.xlsx")
@login_required_page
def report(number: str) -> Page:
    app = access.readable_application(number)
    stored = stored_list(db.session, app)
    if stored is None or not stored.report_key:
        return error_page(409, "В последнем загруженном списке ошибок нет: отчёта нет.", "Отчёта нет")
    access.record_view(app, "employees_viewed", {"view": "report"})
    return report_response(app_config(), stored)


@bp.get("/employees/template.<kind>")
@public
def template(kind: str) -> Page:
    if kind not in ("xlsx", "csv"):
        return error_page(404)
    return template_response(kind)


@bp.get("/applications/<number>/register.<kind>")
@login_required_page
def register(number: str, kind: str) -> Page:
    app = access.readable_application(number)
    if kind not in ("pdf", "xlsx"):
        return error_page(404)
    response = register_response(services().database, app_config(), number, kind)
    if response is None:
        return error_page(409, "Реестр ещё не готов. Когда он будет готов, статус заявления сменится на "
                               "«Готово к скачиванию».", "Реестр ещё не готов")
    access.record_view(app, "document_viewed", {"document": f"register.{kind}"})
    return response
