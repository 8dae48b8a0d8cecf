"""Pages of colleague access: «Доступ коллег» of an organisation's case, and the cases shared with me.

The owner of an organisation's case opens /applications/<number>/access, gives a colleague's e-mail,
the scope (this case or all the organisation's cases) and, if they wish, the last day of access, and
can close access again. The page shows only the addresses the owner typed (tasks.cases.grants:
never whose account it is). A colleague finds what was shared at /organizations/shared and reads each
case on its usual page. Plain forms: works without JavaScript; errors come back next to the field (422).
Both pages are journaled as reads of personal data.
"""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from engine.errors import FieldError
from forms.dates import format_ru_date
from forms.rendering import error_links
from tasks.cases import grants
from tasks.cases.models.cases import Application
from tasks.cases.queries import case_status, case_summary
from tasks.cases.submission import applicant_name

from ..cases import access
from ..extensions import db
from ..rate_limits import charge_attempt, rate_limited
from ..security import current_actor, roles_required

bp = Blueprint("org_access", __name__)
Page = str | tuple[str, int] | Response
# The page's fields: name -> (label, element id), for the error summary's links.
FIELDS = {"email": ("Электронная почта коллеги", "f-email"), "scope": ("К каким заявлениям", "f-scope-0"),
          "expires_at": ("Доступ до", "f-expires_at")}


def _organization_case(number: str) -> Application:
    """The current account's own organisation case, else 404 (a person's case has no colleagues)."""
    app = access.own_application(number)
    if app.applicant != "organization":
        abort(404)
    return app


def _render(app: Application, errors: dict[str, str] | None = None, values: dict[str, str] | None = None,
            status: int = 200) -> tuple[str, int]:
    """The page with the grants covering the case; showing the colleagues' addresses is journaled."""
    standing = grants.grants_of(db.session, app)
    limit = grants.longest_end(db.session, app)
    access.record_view(app, "access_viewed")
    summary = error_links([FieldError(f, "invalid", m) for f, m in (errors or {}).items()], FIELDS)
    html = render_template("organizations/access.html", number=app.number, organization=applicant_name(app.data),
                           grants=standing, scopes=grants.SCOPES, errors=errors or {}, summary=summary, limit=limit,
                           values=values or {"scope": "case"})
    return html, status


@bp.get("/applications/<number>/access")
@roles_required("citizen")
def page(number: str) -> Page:
    return _render(_organization_case(number))


@bp.post("/applications/<number>/access")
@roles_required("citizen")
@rate_limited("grant")
def add(number: str) -> Page:
    charge_attempt()
    app = _organization_case(number)
    values = {name: (request.form.get(name) or "").strip() for name in ("email", "scope", "expires_at")}
    values["scope"] = values["scope"] or "case"
    try:
        view = grants.grant(db.session, app, values["email"], values["scope"], values["expires_at"] or None)
    except grants.GrantRefused as exc:
        db.session.rollback()
        return _render(app, {exc.field or "email": exc.message}, values, 422 if exc.status == 422 else 409)
    db.session.commit()
    until = f", до {format_ru_date(view.expires_at)} включительно" if view.expires_at else ""
    flash(f"Доступ открыт: {view.email} ({grants.SCOPES[view.scope].lower()}{until}).", "success")
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
    user = current_actor()
    apps = grants.shared_with(db.session, user)
    items = [{**case_summary(a, case_status(db.session, a)), "organization": applicant_name(a.data)} for a in apps]
    grants.record_shared_list_view(db.session, apps, user)
    return render_template("organizations/shared.html", items=items)
