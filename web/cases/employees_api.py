"""JSON API of an organisation case's employee list (`POST /applications/{number}/employees`).

    POST /api/v1/applications/{number}/employees      multipart `file` (CSV or XLSX), the owner only
        200 {status: accepted|rejected, accepted, rejected: [{row, field, code, message}], total_rows, version}
        413 too_large, 415 invalid_format, 422 (too_many_rows, missing_columns, broken_file, ...): the
        file is refused as a whole and nothing changes; 409 when the case no longer takes a list
    GET  /api/v1/applications/{number}/employees      the list: status, counts, problems, ЕРЗЛ results
    GET  /api/v1/applications/{number}/employees/rows?result=not_insured&offset=&limit=
    GET  /api/v1/applications/{number}/employees/report.xlsx   the rows with their problems marked
    GET  /api/v1/employees/template.xlsx | template.csv        the file to fill in
    GET  /api/v1/applications/{number}/register.pdf | register.xlsx  the issued register (409 until ready)

Every upload replaces the whole list (tasks.cases.employees). Someone else's case is 404; reading
employees' data is journaled like any read of personal data.
"""

from __future__ import annotations

from flask import Blueprint, Response, jsonify, request

from tasks.cases.actions import ActionRefused
from tasks.cases.employees import announce, check_file, require_open, store_checked
from tasks.errors import ApiError

from ..extensions import db
from ..security import api_auth_required, current_actor, public, roles_required
from ..services import app_config, services
from . import access
from .employee_views import (
    employee_rows,
    list_view,
    register_response,
    report_response,
    stored_list,
    template_response,
)

bp = Blueprint("employees_api", __name__, url_prefix="/api/v1")
ROW_LIMIT = 500


def read_upload() -> tuple[str, bytes]:
    """The uploaded file's name and bytes (at most one byte over the limit: enough to refuse it)."""
    from forms.employees import MAX_BYTES

    upload = request.files.get("file")
    if upload is None or not upload.filename:
        raise ApiError(422, "validation_failed", "Приложите файл со списком работников.",
                       [access.field_error("file", "required", "Выберите файл CSV или XLSX")])
    return upload.filename, upload.stream.read(MAX_BYTES + 1)


def refuse_locked(exc: ActionRefused) -> ApiError:
    return ApiError(409, exc.code, exc.message)


@bp.post("/applications/<number>/employees")
@roles_required("citizen")
def upload(number: str) -> tuple[Response, int]:
    from forms.employees import EmployeeFileError

    app = access.own_application(number)
    owner_id = current_actor().id
    try:
        require_open(db.session, app)
    except ActionRefused as exc:
        raise refuse_locked(exc) from exc
    filename, data = read_upload()
    try:
        checked = check_file(data, filename)
    except EmployeeFileError as exc:
        raise ApiError(exc.status, exc.code, exc.message,
                       [access.field_error("file", exc.code, exc.message)]) from exc
    svc = services()
    try:
        stored = store_checked(svc.database, app_config(), number=number, uploader_id=owner_id,
                               filename=filename, data=data, checked=checked)
    except ActionRefused as exc:
        raise refuse_locked(exc) from exc
    assert stored is not None
    announce(svc.database, svc.runtime, number=number, stored=stored, actor=f"user:{owner_id}")
    return jsonify({"status": stored.status, "version": stored.version, "total_rows": stored.total_rows,
                    "accepted": stored.accepted, "rejected": stored.problems}), 200


@bp.get("/applications/<number>/employees")
@api_auth_required
def employee_list(number: str) -> Response:
    app = access.readable_application(number)
    view = list_view(db.session, app)
    access.record_view(app, "employees_viewed", {"view": "list"})
    return jsonify(view)


@bp.get("/applications/<number>/employees/rows")
@api_auth_required
def rows(number: str) -> Response:
    app = access.readable_application(number)
    result = request.args.get("result") or None
    if result not in (None, "insured", "not_insured", "unchecked"):
        raise ApiError(422, "validation_failed", "Неизвестный результат проверки.",
                       [access.field_error("result", "enum", "Допустимо: insured, not_insured, unchecked")])
    limit = min(max(request.args.get("limit", 100, type=int), 1), ROW_LIMIT)
    offset = max(request.args.get("offset", 0, type=int), 0)
    items, total = employee_rows(db.session, app, result=result, limit=limit, offset=offset)
    access.record_view(app, "employees_viewed", {"view": "rows", "result": result, "offset": offset,
                                                 "count": len(items)})
    return jsonify({"items": items, "total": total, "limit": limit, "offset": offset})


@bp.get("/applications/<number>/employees/report.xlsx")
@api_auth_required
def report(number: str) -> Response:
    app = access.readable_application(number)
    stored = stored_list(db.session, app)
    if stored is None or not stored.report_key:
        raise ApiError(409, "no_report", "Отчёта нет: в последнем загруженном списке ошибок не найдено.")
    access.record_view(app, "employees_viewed", {"view": "report"})
    return report_response(app_config(), stored)


@bp.get("/employees/template.<kind>")
@public
def template(kind: str) -> Response:
    if kind not in ("xlsx", "csv"):
        raise ApiError(404, "not_found", "Такого шаблона нет: есть template.xlsx и template.csv.")
    return template_response(kind)


@bp.get("/applications/<number>/register.<kind>")
@api_auth_required
def register(number: str, kind: str) -> Response:
    """The register of the case's current attempt, as PDF or XLSX; 409 `not_ready` until it is issued."""
    app = access.readable_application(number)
    if kind not in ("pdf", "xlsx"):
        raise ApiError(404, "not_found", "Реестр можно скачать как register.pdf или register.xlsx.")
    response = register_response(services().database, app_config(), number, kind)
    if response is None:
        raise ApiError(409, "not_ready", "Реестр ещё не готов.")
    access.record_view(app, "document_viewed", {"document": f"register.{kind}"})
    return response
