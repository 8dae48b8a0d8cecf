"""The migration page: pick a process and two versions, see the dry run, start, follow, revert.

Works without JavaScript: the dry run is a GET form, the run's page refreshes itself (a meta refresh,
allowed by the CSP) while a worker moves the cases.
"""

from __future__ import annotations

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for

from engine.errors import Conflict, NotFound
from engine.migration import MigrationRefused
from engine.migration_runs import get_run, run_cases
from tasks.errors import ApiError
from tasks.studio.catalogue import deployed_processes

from ..extensions import db
from ..security import current_actor, roles_required
from . import service
from .service import CASE_LABELS, MOVERS, STATUS_LABELS, VIEWERS

bp = Blueprint("migrations", __name__)
ACTIVE = ("queued", "running", "revert_queued", "reverting")


@bp.get("/migrations")
@roles_required(*VIEWERS)
def index() -> tuple[str, int]:
    """The form; with `process`, `from` and `to` in the query, the dry run's table below it."""
    actor = current_actor()
    email, may_move = actor.email, actor.role in MOVERS
    processes = deployed_processes(db.session)
    runs = service.recent_runs(db.session) if may_move else []
    args = request.args
    errors: dict[str, str] = {}
    verdicts = req = None
    if any(args.get(k) for k in ("process", "from", "to")):
        try:
            req = service.read_request({k: args.get(k) for k in ("process", "from", "to")})
            verdicts = service.run_dry_run(req, email)
        except ApiError as exc:
            errors = {f.field: f.message for f in exc.fields} or {"process": exc.message}
        except (NotFound, MigrationRefused) as exc:
            errors = {"to": str(exc)}
    status = 422 if errors else 200
    return render_template("instance_migration/index.html", processes=processes, runs=runs, args=args,
                           errors=errors, req=req, verdicts=verdicts, may_move=may_move,
                           status_labels=STATUS_LABELS, case_label=service.case_label), status


@bp.post("/migrations")
@roles_required(*MOVERS)
def start() -> Response:
    form = request.form
    actor = current_actor().email
    db.session.commit()
    try:
        req = service.read_request({k: form.get(k) for k in ("process", "from", "to")})
        migration_id = service.start_run(req, actor)
    except (ApiError, NotFound, MigrationRefused) as exc:
        flash(getattr(exc, "message", str(exc)), "error")
        return redirect(url_for("migrations.index"))
    flash(f"Перенос № {migration_id} поставлен в очередь: дела переносятся в фоне, пакетами.", "success")
    return redirect(url_for("migrations.run_view", migration_id=migration_id))


@bp.get("/migrations/<int:migration_id>")
@roles_required(*MOVERS)
def run_view(migration_id: int) -> str:
    try:
        run = get_run(db.session, migration_id)
    except NotFound:
        abort(404)
    cases = [c for c in run_cases(db.session, migration_id) if c.status != "migrated" or run.status != "done"]
    db.session.commit()
    return render_template("instance_migration/run.html", run=run, cases=cases, active=run.status in ACTIVE,
                           status_labels=STATUS_LABELS, case_labels=CASE_LABELS, case_label=service.case_label)


@bp.post("/migrations/<int:migration_id>/revert")
@roles_required(*MOVERS)
def revert(migration_id: int) -> Response:
    actor = current_actor().email
    db.session.commit()
    if request.form.get("confirm") != "yes":
        flash("Подтвердите отмену переноса флажком рядом с кнопкой.", "error")
        return redirect(url_for("migrations.run_view", migration_id=migration_id))
    try:
        service.revert_run(migration_id, actor)
    except NotFound:
        abort(404)
    except Conflict:
        flash("Отменить можно только завершённый или прерванный перенос, который ещё не отменён.", "error")
        return redirect(url_for("migrations.run_view", migration_id=migration_id))
    flash("Отмена переноса поставлена в очередь: дела, которые с тех пор не продвинулись, вернутся "
          "на прежнюю версию.", "success")
    return redirect(url_for("migrations.run_view", migration_id=migration_id))
