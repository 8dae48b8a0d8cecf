"""Page «Кто обращался к моим данным» (/my/data-access) with its download, and the same over the API:
`GET /api/v1/me/data-access` -> {items: [...]}, `GET /api/v1/me/data-export` -> a zip (data.json + files).

A citizen sees only their own data; opening the list and downloading the archive are journaled too
(they read personal data), under the account rather than a case.
"""

from __future__ import annotations

from flask import Blueprint, Response, jsonify, render_template

from engine import journal
from forms.dates import today_moscow
from tasks.accounts.roles import CITIZEN
from tasks.tracker.access_log import access_rows
from tasks.tracker.export import export_archive

from ..extensions import db
from ..security import current_actor, roles_required
from ..services import app_config

pages = Blueprint("tracker", __name__)
api = Blueprint("tracker_api", __name__, url_prefix="/api/v1/me")


def _with_names() -> bool:
    return app_config().tracker_staff_names


def _record(event: str) -> None:
    user = current_actor()
    journal.record(db.session, None, event, actor=f"user:{user.id}", details={"role": user.role})
    db.session.commit()


def _rows() -> list:
    rows = access_rows(db.session, current_actor().id, with_names=_with_names())
    _record("data_access_viewed")
    return rows


def _archive() -> Response:
    data = export_archive(db.session, app_config(), current_actor(),
                          with_names=_with_names())
    _record("data_exported")
    name = f"moi-dannye-{today_moscow().isoformat()}.zip"
    return Response(data, mimetype="application/zip",
                    headers={"Content-Disposition": f'attachment; filename="{name}"',
                             "Cache-Control": "no-store, private"})


@pages.get("/my/data-access")
@roles_required(CITIZEN)
def page() -> str:
    return render_template("tracker/access.html", rows=_rows(), with_names=_with_names())


@pages.get("/my/data-access/export.zip")
@roles_required(CITIZEN)
def page_export() -> Response:
    return _archive()


@api.get("/data-access")
@roles_required(CITIZEN)
def access_list() -> Response:
    return jsonify({"items": [r.as_json() for r in _rows()], "staff_names_shown": _with_names()})


@api.get("/data-export")
@roles_required(CITIZEN)
def data_export() -> Response:
    return _archive()
