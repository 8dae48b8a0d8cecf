"""Migration over JSON: `POST /api/v1/migrations` (dry run or start), progress, revert.

`{process, from, to, dry_run: true}` answers `{movable: [case], blocked: [{case, reason, code,
element_id}]}` at once; without `dry_run` the move is queued for a worker and the answer is 202 with
the run's id and where to follow its progress.
"""

from __future__ import annotations

from flask import Blueprint, Response, jsonify, url_for

from engine.errors import Conflict, FieldError, NotFound
from engine.migration import MigrationRefused
from engine.migration_runs import get_run, run_cases
from tasks.errors import ApiError

from ..api_errors import json_object
from ..extensions import db
from ..security import current_actor, roles_required
from . import service
from .service import MOVERS, VIEWERS

bp = Blueprint("migrations_api", __name__, url_prefix="/api/v1")


def _not_found(exc: Exception) -> ApiError:
    return ApiError(404, "not_found", str(exc))


def _no_run(migration_id: int) -> ApiError:
    return ApiError(404, "not_found", f"Переноса № {migration_id} нет.")


@bp.post("/migrations")
@roles_required(*VIEWERS)
def create() -> tuple[Response, int] | Response:
    data = json_object()
    req = service.read_request(data)
    actor = current_actor()
    dry = data.get("dry_run", False)
    if not isinstance(dry, bool):
        raise ApiError(422, "validation_failed", "dry_run — true или false.",
                       [FieldError("dry_run", "invalid", "dry_run — true или false.")])
    if not dry and actor.role not in MOVERS:
        raise ApiError(403, "forbidden", "Переносить дела могут руководители и администраторы; "
                                         "аналитику доступна только пробная проверка (dry_run).")
    email = actor.email
    try:
        if dry:
            verdicts = service.run_dry_run(req, email)
            return jsonify(service.dry_run_json(req, verdicts))
        migration_id = service.start_run(req, email)
    except NotFound as exc:
        raise _not_found(exc) from exc
    except MigrationRefused as exc:
        raise ApiError(422, "validation_failed", str(exc)) from exc
    body = {"id": migration_id, "status": "queued",
            "progress_url": url_for("migrations_api.progress", migration_id=migration_id)}
    return jsonify(body), 202


@bp.get("/migrations/<int:migration_id>")
@roles_required(*MOVERS)
def progress(migration_id: int) -> Response:
    try:
        run = get_run(db.session, migration_id)
    except NotFound as exc:
        raise _no_run(migration_id) from exc
    body = service.run_json(run, run_cases(db.session, migration_id))
    db.session.commit()
    return jsonify(body)


@bp.post("/migrations/<int:migration_id>/revert")
@roles_required(*MOVERS)
def revert(migration_id: int) -> tuple[Response, int]:
    email = current_actor().email
    db.session.commit()
    try:
        service.revert_run(migration_id, email)
    except NotFound as exc:
        raise _no_run(migration_id) from exc
    except Conflict as exc:
        raise ApiError(409, "not_revertible", "Отменить можно только завершённый или прерванный перенос, "
                                              "который ещё не отменён.") from exc
    return jsonify({"id": migration_id, "status": "revert_queued",
                    "progress_url": url_for("migrations_api.progress", migration_id=migration_id)}), 202
