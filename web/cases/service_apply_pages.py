"""The generic application page of a catalogued service: /apply/service/<id>, one form, then the confirmation.

A service listed in workflows/services.toml without a page of its own is applied for here: the form is
drawn from the service's application schema by forms.rendering (labels, hints, ДД.ММ.ГГГГ dates, errors
next to their fields, the error summary), validated by the same rules as POST /api/v1/applications,
and submitted through the same submission code; the page works without JavaScript. So a new service
needs no page code: its schema is its page.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from engine.errors import DataValidationError, FieldError
from forms.rendering import build_form, form_data_from_flat
from forms.validation import clean, load_schema
from tasks.cases.catalogue import Service, service
from tasks.cases.submission import submit_application

from ..extensions import db
from ..security import current_actor, roles_required
from ..services import services

bp = Blueprint("service_apply", __name__)
Page = str | tuple[str, int] | Response


def _service(service_id: str) -> Service:
    found = service(service_id)
    if found is None:
        abort(404)
    return found


def _page(svc: Service, values: Any, errors: list[FieldError] | None = None, status: int = 200) -> Page:
    view = build_form(load_schema(svc.schema), values, errors or [])
    return render_template("cases/service_apply.html", view=view, service=svc), status


@bp.get("/apply/service/<service_id>")
@roles_required("citizen")
def form(service_id: str) -> Page:
    """The service's form (a service with a page of its own is sent there)."""
    svc = _service(service_id)
    if svc.apply_page:
        return redirect(url_for(svc.apply_page))
    return _page(svc, None)


@bp.post("/apply/service/<service_id>")
@roles_required("citizen")
def submit(service_id: str) -> Page:
    svc = _service(service_id)
    if svc.apply_page:
        abort(404)
    user = current_actor()
    owner_id, owner_email = user.id, user.email  # read before the commit below expires the object
    data = {**form_data_from_flat(load_schema(svc.schema), request.form), "service": svc.id}
    _, errors = clean(svc.schema, data, surface="page")
    if errors:
        return _page(svc, request.form, errors, 422)
    db.session.commit()  # end the request's transaction: on SQLite it would hold the lock the runtime needs
    try:
        result = submit_application(services().database, services().runtime, owner_id, owner_email, data)
    except DataValidationError as exc:
        return _page(svc, request.form, exc.fields, 422)
    return redirect(url_for("cases.submitted", number=result.number))
