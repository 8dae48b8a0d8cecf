"""Pages of colleague access: «Доступ коллег» of an organisation's case, and the cases shared with me.

The owner of an organisation's case opens /applications/<number>/access, gives a colleague's e-mail
and the scope (this case or all the organisation's cases), and can close access again. A colleague
finds what was shared at /organizations/shared and reads each case on its usual page. Plain forms:
works without JavaScript; errors come back next to the field (422).
"""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from tasks.cases.models import Application
from tasks.cases.queries import case_status, case_summary
from tasks.cases.submission import applicant_name

from ..cases import access
from ..extensions import db
from ..security import current_actor, roles_required
from . import grants

bp = Blueprint("org_access", __name__)
Page = str | tuple[str, int] | Response


def _organization_case(number: str) -> Application:
    """The current account's own organisation case, else 404 (a person's case has no colleagues)."""
    app = access.own_application(number)
    if app.applicant != "organization":
        abort(404)
    return app


def _render(app: Application, errors: dict[str, str] | None = None, values: dict[str, str] | None = None,
            status: int = 200) -> tuple[str, int]:
    html = render_template("organizations/access.html", number=app.number, organization=applicant_name(app.data),
                           grants=grants.grants_of(db.session, app), scopes=grants.SCOPES, errors=errors or {},
                           values=values or {"scope": "case"})
    return html, status


@bp.get("/applications/<number>/access")
@roles_required("citizen")
def page(number: str) -> Page:
    app = _organization_case(number)
    access.record_view(app, "access_viewed")
    return _render(app)


@bp.post("/applications/<number>/access")
@roles_required("citizen")
def add(number: str) -> Page:
    app = _organization_case(number)
    values = {"email": (request.form.get("email") or "").strip(), "scope": request.form.get("scope") or "case"}
    try:
        view = grants.grant(db.session, app, values["email"], values["scope"])
    except grants.GrantRefused as exc:
        db.session.rollback()
        return _render(app, {exc.field or "email": exc.message}, values, 422 if exc.status == 422 else 409)
    db.session.commit()
    flash(f"Доступ открыт: {view.email} ({grants.SCOPES[view.scope].lower()}).", "success")
    return redirect(url_for(".page", number=number))


@bp.post("/applications/<number>/access/<int:grant_id>/revoke")
@roles_required("citizen")
def revoke(number: str, grant_id: int) -> Response:
    app = _organization_case(number)
    found = grants.revoke(db.session, app, grant_id)
    if found is None:
        abort(404)
    db.session.commit()
    flash(f"Доступ закрыт: {found.email}.", "info")
    return redirect(url_for(".page", number=number))


@bp.get("/organizations/shared")
@roles_required("citizen")
def shared() -> str:
    """Organisations' cases colleagues let me read."""
    apps = grants.shared_with(db.session, current_actor().id)
    items = [{**case_summary(a, case_status(db.session, a)), "organization": applicant_name(a.data)} for a in apps]
    return render_template("organizations/shared.html", items=items)
