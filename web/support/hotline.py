"""The support line files an application on a citizen's call: /hotline (page) and
POST /api/v1/hotline/applications {email, application} (support specialists only; 403 for others).

The page is the application's own schema on one screen plus the citizen's account e-mail; the rules
are in tasks/support/hotline.py (identity first, then the same submission as the citizen's own).
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, jsonify, render_template, request

from engine.errors import DataValidationError, FieldError
from forms.rendering import build_form, form_data_from_flat
from forms.validation import load_schema
from tasks.accounts.roles import SUPPORT
from tasks.cases.catalogue import default_service
from tasks.cases.queries import case_view
from tasks.cases.submission import Submitted, find_application
from tasks.cases.terms import sla_term
from tasks.errors import ApiError
from tasks.registries.client import RegistryUnavailable
from tasks.support.hotline import IdentityMismatch, file_for_citizen

from ..api_errors import json_object
from ..cases.access import registry_client
from ..extensions import db
from ..security import current_actor, roles_required
from ..services import services

bp = Blueprint("hotline", __name__)
SCHEMA = default_service("individual").schema  # type: ignore[union-attr]  # the certificate, as the citizen's own
EMAIL_FIELD = "citizen_email"
EMAIL_OUTSIDE = {EMAIL_FIELD: ("Электронная почта гражданина", f"f-{EMAIL_FIELD}")}


def _file(email: str, data: Any, surface: str) -> Submitted:
    user = current_actor()
    staff_id, staff_name = user.id, user.short_name
    found = services()
    if not email.strip():
        raise DataValidationError("no e-mail", [FieldError(EMAIL_FIELD, "required",
                                                           "Укажите электронную почту учётной записи гражданина")])
    return file_for_citizen(found.database, found.runtime, registry_client(), staff_id=staff_id,
                            staff_name=staff_name, email=email, data=data, surface=surface)


def _hotline_schema() -> dict[str, Any]:
    """The application's schema without the file inputs: nobody can hand over a scan on a phone call."""
    schema = load_schema(SCHEMA)
    return {**schema, "properties": {k: v for k, v in schema["properties"].items() if k != "documents"}}


def _page(values: Any = None, errors: list[FieldError] | None = None, mismatch: str | None = None,
          status: int = 200) -> tuple[str, int]:
    errors = errors or []
    form = build_form(_hotline_schema(), values, [e for e in errors if e.field != EMAIL_FIELD], outside=EMAIL_OUTSIDE)
    email_error = next((e.message for e in errors if e.field == EMAIL_FIELD), None)
    return render_template("support/hotline.html", form=form, email=(values or {}).get(EMAIL_FIELD, ""),
                           email_error=email_error, mismatch=mismatch), status


@bp.get("/hotline")
@roles_required(SUPPORT)
def form() -> tuple[str, int]:
    return _page()


@bp.post("/hotline")
@roles_required(SUPPORT)
def submit() -> tuple[str, int]:
    data = form_data_from_flat(_hotline_schema(), request.form)
    try:
        filed = _file(request.form.get(EMAIL_FIELD, ""), data, "page")
    except DataValidationError as exc:
        return _page(request.form, exc.fields, status=422)
    except IdentityMismatch as exc:
        errors = [FieldError(EMAIL_FIELD, exc.code, exc.message)] if exc.code == "account_not_found" else []
        return _page(request.form, errors, None if errors else exc.message, 422)
    except RegistryUnavailable:
        return _page(request.form, [], "Реестр сейчас не отвечает, личность проверить нельзя. Попробуйте через "
                                       "несколько минут.", 503)
    return render_template("support/hotline_filed.html", number=filed.number, submitted_at=filed.submitted_at,
                           review_term=sla_term("operator_review")), 201


@bp.post("/api/v1/hotline/applications")
@roles_required(SUPPORT)
def api_submit() -> tuple[Response, int]:
    """{email, application} -> 201 the case (the citizen's); 422 with `identity_mismatch` when it did not match."""
    body = json_object()
    email = body.get("email") if isinstance(body.get("email"), str) else ""
    try:
        filed = _file(email, body.get("application"), "api")
    except DataValidationError as exc:
        fields = [FieldError("email" if e.field == EMAIL_FIELD else f"application.{e.field}", e.code, e.message)
                  for e in exc.fields]
        raise ApiError(422, "validation_failed", "Проверьте введённые данные.", fields) from exc
    except IdentityMismatch as exc:
        raise ApiError(422, "identity_mismatch", exc.message,
                       [FieldError("identity", exc.code, exc.message)]) from exc
    except RegistryUnavailable as exc:
        raise ApiError(503, "registry_unavailable", "Реестр не отвечает, личность проверить нельзя.") from exc
    app = find_application(db.session, filed.number)
    return jsonify(case_view(db.session, services().runtime, app, staff=True)), 201
