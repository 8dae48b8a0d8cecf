"""The staff's journal of a case: the page and the JSON API over the audit read model (tasks.cases.audit).

Opening the audit reads personal data (the readers' names, the applicant's case), so it is journaled
itself as `case_viewed` with {"view": "audit"}.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, jsonify, render_template

from tasks.accounts.roles import CASE_WORKERS
from tasks.cases.audit import audit_rows
from tasks.cases.labels import status_label
from tasks.cases.queries import case_status
from tasks.cases.submission import applicant_name

from ..case_diagram import page_diagram
from ..cases import access
from ..extensions import db
from ..security import roles_required

bp = Blueprint("staff_audit", __name__)


def _audit(number: str, with_diagram: bool = False) -> dict[str, Any]:
    """The case's audit, read before the view itself is journaled (record_view commits)."""
    app = access.readable_application(number)  # 404 for an unknown number
    status = case_status(db.session, app)
    audit = {"number": app.number, "applicant": applicant_name(app.data), "submitted_at": app.submitted_at,
             "status": status, "status_label": status_label(status), "rows": audit_rows(db.session, app),
             "diagram": page_diagram(db.session, app.number, app.instance_id) if with_diagram else None}
    access.record_view(app, "case_viewed", {"view": "audit"})
    return audit


@bp.get("/staff/cases/<number>/journal")
@roles_required(*CASE_WORKERS)
def page(number: str) -> str:
    return render_template("staff/case_journal.html", **_audit(number, with_diagram=True))


@bp.get("/api/v1/applications/<number>/audit")
@roles_required(*CASE_WORKERS)
def api(number: str) -> Response:
    audit = _audit(number)
    return jsonify({"number": audit["number"], "status": audit["status"], "status_label": audit["status_label"],
                    "items": [r.as_json() for r in audit["rows"]]})
