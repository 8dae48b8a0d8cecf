"""The studio over JSON for analysts who script: `GET /api/v1/processes` and one version's sources.

Same data as the catalogue page (web.processes.catalogue); role analyst or admin, 401 without a
login, 403 for every other role.
"""

from __future__ import annotations

from datetime import datetime

from flask import Blueprint, Response, jsonify

from ..accounts.roles import ADMIN, ANALYST
from ..extensions import db
from ..security import roles_required
from .catalogue import deployed_processes, is_current, process_version

bp = Blueprint("processes_api", __name__, url_prefix="/api/v1")


def _iso(value: datetime) -> str:
    return value.isoformat()


@bp.get("/processes")
@roles_required(ANALYST, ADMIN)
def processes() -> Response:
    rows = deployed_processes(db.session)
    db.session.commit()
    return jsonify([{
        "id": p.process_id, "name": p.name, "current_version": p.current_version,
        "versions": [{"version": v.version, "deployed_by": v.deployed_by, "deployed_at": _iso(v.deployed_at),
                      "comment": v.comment, "running": v.running, "finished": v.finished} for v in p.versions],
    } for p in rows])


@bp.get("/processes/<process_id>/versions/<int:version>")
@roles_required(ANALYST, ADMIN)
def version(process_id: str, version: int) -> Response:
    row = process_version(db.session, process_id, version)
    body = {"id": row.process_id, "name": row.name or row.process_id, "version": row.version,
            "current": is_current(db.session, row), "deployed_by": row.deployed_by,
            "deployed_at": _iso(row.deployed_at), "comment": row.comment, "sha256": row.sha256,
            "sources": dict(sorted(row.sources.items()))}
    db.session.commit()
    return jsonify(body)
