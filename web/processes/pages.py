"""The studio's read-only pages: the catalogue of deployed processes and the view of one version.

The catalogue is the analyst's landing page; administrators see it too. A version page draws each
BPMN file with bpmn-js and each DMN file with dmn-js (the bundle from web/static/studio); without
JavaScript it still lists the diagram's elements by lane and offers every source file for download.
"""

from __future__ import annotations

from collections import defaultdict

from flask import Blueprint, Response, abort, make_response, render_template, request
from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.models import LaneRole

from ..accounts.roles import ADMIN, ANALYST, ROLE_LABELS
from ..extensions import db
from ..security import roles_required
from ..studio_assets import viewer_csp
from .catalogue import deployed_processes, is_current, ordered_files, process_version
from .outline import bpmn_outline, dmn_decisions, has_bpmn_di

bp = Blueprint("processes", __name__)
SYSTEM_LANE_ROLE = "system"  # lanes run by the engine itself (service tasks), not by people


def lane_roles(session: Session) -> list[tuple[str, str]]:
    """(lane, the Russian name of its role) for the lanes people work in."""
    grouped: dict[str, list[str]] = defaultdict(list)
    for lane, role in session.execute(select(LaneRole.lane, LaneRole.role).order_by(LaneRole.lane)):
        if role != SYSTEM_LANE_ROLE:
            grouped[lane].append(ROLE_LABELS.get(role, role))
    return [(lane, ", ".join(roles)) for lane, roles in grouped.items()]


@bp.get("/processes")
@roles_required(ANALYST, ADMIN)
def index() -> str:
    processes, lanes = deployed_processes(db.session), lane_roles(db.session)
    db.session.commit()  # end the read transaction before rendering
    return render_template("processes/index.html", processes=processes, lanes=lanes)


@bp.get("/processes/<process_id>/versions/<int:version>")
@roles_required(ANALYST, ADMIN)
def version_view(process_id: str, version: int) -> Response:
    """One version: a tab per source file (`?file=`), the selected one drawn, its elements listed."""
    row = process_version(db.session, process_id, version)
    files = ordered_files(row)
    selected = request.args.get("file") or files[0]
    if selected not in row.sources:
        abort(404)
    xml = row.sources[selected]
    current = is_current(db.session, row)
    db.session.commit()
    kind = "bpmn" if selected.endswith(".bpmn") else "dmn"
    response = make_response(render_template(
        "processes/version.html", row=row, files=files, selected=selected, kind=kind, xml=xml, current=current,
        has_di=has_bpmn_di(xml) if kind == "bpmn" else True,
        outline=bpmn_outline(xml) if kind == "bpmn" else [], decisions=dmn_decisions(xml) if kind == "dmn" else []))
    if kind == "dmn":
        response.headers["Content-Security-Policy"] = viewer_csp()
    return response


@bp.get("/processes/<process_id>/versions/<int:version>/files/<name>")
@roles_required(ANALYST, ADMIN)
def download(process_id: str, version: int, name: str) -> Response:
    """A source file exactly as deployed, to open in a desktop modeler."""
    row = process_version(db.session, process_id, version)
    if name not in row.sources:
        abort(404)
    content = row.sources[name]
    db.session.commit()
    response = Response(content, mimetype="application/xml")
    response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    return response
