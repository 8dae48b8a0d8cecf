"""JSON API of applications (/api/v1/applications...), certificates and the public policy check."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from flask import Blueprint, Response, jsonify, request
from sqlalchemy.orm import Session

from engine.errors import DataValidationError
from forms.dates import today_moscow
from forms.validation import clean
from tasks.cases.actions import ActionRefused
from tasks.cases.appeals import answer_request as deliver_answer
from tasks.cases.appeals import file_appeal
from tasks.cases.certificates import verify_certificate
from tasks.cases.models.cases import Application
from tasks.cases.policy_check import check_policy
from tasks.cases.queries import case_status, case_view, documents_of, list_cases, new_case_facts, render_case_view
from tasks.cases.register_verification import is_register, register_summary
from tasks.cases.resubmission import resubmit
from tasks.cases.submission import submit_application
from tasks.cases.uploads import MAX_DOCUMENTS
from tasks.documents.formatting import moscow_time
from tasks.errors import ApiError
from tasks.registries.client import RegistryUnavailable

from ..api_errors import error_response, json_object
from ..extensions import db
from ..rate_limits import rate_limited
from ..security import api_auth_required, current_actor, public, roles_required
from ..services import app_config, services
from . import access
from .files import api_upload, case_pdf_response, document_json, receipt_response
from .public_pages import POLICY_SCHEMA as POLICY_CHECK_SCHEMA  # the page's form: one set of rules

T = TypeVar("T")

bp = Blueprint("cases_api", __name__, url_prefix="/api/v1")
# Files may come while the case is under review, and with a resubmission or an appeal after a refusal.
UPLOAD_STATUSES = ("submitted", "in_progress", "needs_info", "rejected", "appealed")


@bp.post("/applications")
@roles_required("citizen")
def create_application() -> tuple[Response, int]:
    user = current_actor()
    owner_id, owner_email = user.id, user.email  # read before the commit expires the object
    body = json_object()
    documents = _document_ids(body)
    runtime = services().runtime
    views: list[dict[str, Any]] = []

    def keep_view(s: Session, app: Application) -> None:
        """The case as it will commit, from what its transaction holds: nothing is read back after it."""
        views.append(render_case_view(app, new_case_facts(s, runtime, app, documents=bool(documents))))

    try:
        submit_application(services().database, runtime, owner_id, owner_email, body, document_ids=documents,
                           on_created=keep_view)
    except DataValidationError as exc:
        raise ApiError(422, "validation_failed", "Проверьте введённые данные.", exc.fields) from exc
    return jsonify(views[0]), 201


def _document_ids(body: dict[str, Any]) -> list[int]:
    ids = body.pop("document_ids", None) or []
    if not isinstance(ids, list) or not all(isinstance(i, int) for i in ids):
        raise ApiError(422, "validation_failed", "document_ids: ожидается список номеров документов.")
    return ids


@bp.get("/applications")
@api_auth_required
def applications() -> Response:
    user = current_actor()
    limit = min(max(request.args.get("limit", 50, type=int), 1), 200)
    offset = max(request.args.get("offset", 0, type=int), 0)
    owner = None if user.role in access.STAFF_ROLES else user.id
    items, total = list_cases(db.session, owner_id=owner, search=request.args.get("q"),
                              status=request.args.get("status"), limit=limit, offset=offset)
    return jsonify({"items": items, "total": total, "limit": limit, "offset": offset})


@bp.get("/applications/<number>")
@api_auth_required
def application(number: str) -> Response:
    found = access.readable_case(number)
    app = found.application
    staff = current_actor().role in access.STAFF_ROLES
    view = access.readers_view(app, case_view(db.session, services().runtime, app, staff=staff, found=found))
    assisted = access.filed_on_a_call(app, view)
    view["channel"] = assisted["channel"] if assisted else "portal"
    if assisted:
        view["filed_by"] = assisted["staff"]
    access.record_view(app, "case_viewed")
    return jsonify(view)


@bp.post("/applications/<number>/documents")
@api_auth_required
def upload_document(number: str) -> tuple[Response, int]:
    app = access.own_application(number)
    if case_status(db.session, app) not in UPLOAD_STATUSES:
        raise ApiError(409, "case_closed", "Документы можно добавить, пока заявление рассматривается.")
    if len(documents_of(db.session, app)) >= MAX_DOCUMENTS:
        raise ApiError(409, "too_many_documents", f"К заявлению можно приложить не больше {MAX_DOCUMENTS} файлов.")
    doc = api_upload(db.session, app_config(), owner_id=app.owner_id, application=app)
    db.session.commit()
    return jsonify(document_json(doc)), 201


@bp.get("/applications/<number>/documents/<int:doc_id>")
@api_auth_required
def download_document(number: str, doc_id: int) -> Response:
    app = access.readable_application(number)
    doc = access.document_of(app, doc_id)
    response = access.document_response(app_config(), doc)  # 410 once retention deleted the file
    access.record_view(app, "document_viewed", {"document": doc.id})
    return response


@bp.get("/applications/<number>/certificate.pdf")
@api_auth_required
def certificate_pdf(number: str) -> Response:
    found = access.readable_case(number)
    app = found.application
    return case_pdf_response(db.session, app_config(), app, "certificate", attachment=False, found=found,
                             missing=lambda: error_response(409, "not_ready", "Справка ещё не готова."))


@bp.get("/applications/<number>/receipt.pdf")
@api_auth_required
def receipt(number: str) -> Response:
    app = access.readable_application(number)
    return receipt_response(db.session, app_config(), app)


def _citizen_action(number: str, invalid: str, run: Callable[[int, str, dict[str, Any]], T]) -> T:
    """The owner's request on their case: `run(owner_id, owner_email, body)`; bad input -> 422 with
    `invalid` and the field errors, an action the case does not wait for -> 409. Nothing changes on error."""
    user = current_actor()
    owner_id, owner_email = user.id, user.email
    access.own_application(number)
    body = json_object()
    try:
        return run(owner_id, owner_email, body)
    except DataValidationError as exc:
        raise ApiError(422, "validation_failed", invalid, exc.fields) from exc
    except ActionRefused as exc:
        raise ApiError(409, exc.code, exc.message) from exc


def _case_json(number: str) -> tuple[Response, int]:
    return jsonify(case_view(db.session, services().runtime, access.own_application(number))), 200


@bp.post("/applications/<number>/resubmit")
@roles_required("citizen")
def resubmit_application(number: str) -> tuple[Response, int]:
    """«Подать повторно»: changed fields of the application, a comment and document ids -> the next attempt."""
    _citizen_action(number, "Проверьте введённые данные.", lambda owner_id, owner_email, body: resubmit(
        services().database, services().runtime, number=number, owner_id=owner_id, owner_email=owner_email,
        body=body))
    return _case_json(number)


@bp.post("/applications/<number>/appeal")
@roles_required("citizen")
def appeal(number: str) -> tuple[Response, int]:
    """«Обжаловать отказ»: grounds and document ids -> the appeal's number and the date it is due."""
    filed = _citizen_action(number, "Проверьте заполнение жалобы.", lambda owner_id, _email, body: file_appeal(
        services().database, services().runtime, number=number, owner_id=owner_id, body=body))
    return jsonify({"appeal_number": filed.appeal_number, "level": filed.level, "status": "appealed",
                    "filed_at": filed.filed_at.isoformat(), "due_at": filed.due_at.isoformat(),
                    "due_date": moscow_time(filed.due_at).date().isoformat()}), 201


@bp.post("/applications/<number>/answer")
@roles_required("citizen")
def answer(number: str) -> tuple[Response, int]:
    """The applicant's answer to an appeal's request for information (answer, document ids)."""
    _citizen_action(number, "Проверьте ответ.", lambda owner_id, _email, body: deliver_answer(
        services().database, services().runtime, number=number, owner_id=owner_id, body=body))
    return _case_json(number)


@bp.get("/applications/<number>/decision.pdf")
@api_auth_required
def decision_pdf(number: str) -> Response:
    """The «Решение об отказе» of the case's current attempt; 409 when the case has none."""
    app = access.readable_application(number)
    return case_pdf_response(db.session, app_config(), app, "decision", attachment=False,
                             missing=lambda: error_response(409, "no_decision", "Решения об отказе по заявлению нет."))


@bp.get("/certificates/<number>/verify")
@public
@rate_limited("lookup")
def verify(number: str) -> Response:
    result = verify_certificate(db.session, app_config(), number, request.args.get("code"), today_moscow())
    if result.certificate is None:
        return jsonify({"valid": False, "status": "not_found"})
    cert = result.certificate
    answer = {"valid": result.valid and result.status == "valid", "status": result.status,
              "number": cert.number, "issued_at": cert.issued_at.date().isoformat(),
              "period": {"from": cert.period_from.isoformat(), "to": cert.period_to.isoformat()},
              "holder": cert.holder_masked}
    if is_register(cert):  # an organisation's register: the organisation and the counts, no employee
        answer |= {"kind": "register", **register_summary(cert)}
    return jsonify(answer)


@bp.post("/policies/check")
@public
@rate_limited("lookup")
def policy_check() -> Response:
    """{enp, birth_date} in the body, never in a URL: both are personal data and URLs end up in logs."""
    data, errors = clean(POLICY_CHECK_SCHEMA, json_object(), surface="api")
    if errors:
        raise ApiError(422, "validation_failed", "Проверьте введённые данные.", errors)
    enp, birth = data["enp"], data["birth_date"]
    try:
        found = check_policy(access.registry_client(), enp, birth)
    except RegistryUnavailable as exc:
        raise ApiError(503, "registry_unavailable", "Реестр застрахованных лиц временно недоступен. "
                                                    "Попробуйте позже.") from exc
    if not found.found:
        return jsonify({"status": "not_found", "message": "Полис с такими номером и датой рождения не найден."})
    return jsonify({"status": found.status, "insurer": found.insurer, "region": found.region,
                    "valid_from": found.valid_from, "valid_to": found.valid_to})
