"""Operations pages (supervisors and administrators): incidents, timers, and control of a case.

`/operations/incidents` lists failed service calls with a filter; several can be retried at once and
each one's outcome is shown. `/operations/timers` lists waiting timers; each can be fired now or moved,
with a reason. `/staff/cases/<number>/cancel|suspend|resume` asks for the reason, then acts; the staff
case page (the case's journal) links to them. A form with a mistake comes back with the error next to
its field and status 422.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from engine.errors import DataValidationError
from engine.incidents import incident_choices
from tasks.inbox.queries import actor_id

from ..dashboard.views import MANAGERS, format_duration
from ..extensions import db
from ..security import current_actor, roles_required
from ..services import services
from . import actions

bp = Blueprint("operations", __name__)


def _actor() -> str:
    return actor_id(current_actor().id)


def _errors(exc: DataValidationError) -> dict[str, str]:
    return {f.field: f.message for f in exc.fields}


# ------------------------------------------------------------------------------ incidents
@bp.get("/operations/incidents")
@roles_required(*MANAGERS)
def incidents() -> str:
    return _incidents_page()


@bp.post("/operations/incidents/retry")
@roles_required(*MANAGERS)
def retry() -> str | tuple[str, int]:
    try:
        ids = actions.retry_ids_of(request.form)
    except DataValidationError as exc:
        return _incidents_page(errors=_errors(exc)), 422
    outcomes = actions.retry(ids, _actor())
    return _incidents_page(results=[{"id": i, "outcome": o, "label": actions.RETRY_OUTCOMES[o]}
                                    for i, o in outcomes.items()])


def _incidents_page(**extra: Any) -> str:
    where, chosen = actions.incident_filter(request.args)
    page = actions.page_number(request.args)
    items, total = actions.incidents_page(where, page)
    operators, processes = incident_choices(services().database)
    return render_template("operations/incidents.html", items=items, total=total, page=page,
                           pages=actions.pages(total), chosen=chosen, operators=operators, processes=processes,
                           ages=actions.AGE_LABELS, results=extra.get("results"), errors=extra.get("errors") or {},
                           duration=format_duration)


# ------------------------------------------------------------------------------ timers
@bp.get("/operations/timers")
@roles_required(*MANAGERS)
def timers() -> str:
    return _timers_page()


@bp.post("/operations/timers/<int:timer_id>/<any(fire, reschedule):action>")
@roles_required(*MANAGERS)
def timer_action(timer_id: int, action: str) -> Response | tuple[str, int]:
    try:
        reason = actions.reason_of(request.form)
        if action == "fire":
            actions.fire_timer(timer_id, _actor(), reason)
        else:
            actions.reschedule_timer(timer_id, actions.due_of(request.form, page=True), _actor(), reason)
    except DataValidationError as exc:
        return _timers_page(failed={"id": timer_id, "action": action, "errors": _errors(exc),
                                    "values": request.form}), 422
    flash(actions.DONE_MESSAGES[action], "success")
    return redirect(url_for("operations.timers", page=actions.page_number(request.args),
                            case=actions.case_of(request.args)))


def _timers_page(**extra: Any) -> str:
    page = actions.page_number(request.args)
    case = actions.case_of(request.args)
    views, total = actions.timers_page(db.session, page, case)
    db.session.commit()
    return render_template("operations/timers.html", timers=views, total=total, page=page, case=case or "",
                           pages=actions.pages(total), failed=extra.get("failed"))


# ------------------------------------------------------------------------------ a case
@bp.route("/staff/cases/<number>/<any(cancel, suspend, resume):action>", methods=["GET", "POST"])
@roles_required(*MANAGERS)
def case_control(number: str, action: str) -> Response | str | tuple[str, int]:
    state = actions.case_state(db.session, number)
    if state is None:
        actions.case_instance(db.session, number)  # raises NotFound: the 404 page
    errors: dict[str, str] = {}
    if request.method == "POST":
        try:
            reason = actions.reason_of(request.form)
            actions.control_case(db.session, number, action, _actor(), reason)
        except DataValidationError as exc:
            errors = _errors(exc)
        else:
            flash(actions.DONE_MESSAGES[action], "success")
            return redirect(url_for("staff_audit.page", number=number))
    html = render_template("operations/case_control.html", number=number, action=action,
                           title=actions.CASE_ACTIONS[action], state=state, errors=errors,
                           reason=request.form.get("reason", ""))
    return (html, 422) if errors else html


def case_control_state(number: str) -> dict[str, Any] | None:
    """For the staff case page: the case's control state when the reader may act on it, else None."""
    actor = current_actor()
    if actor is None or actor.role not in MANAGERS:
        return None
    return actions.case_state(db.session, number)


def init_app(app: Any) -> None:
    app.register_blueprint(bp)
    from .api import bp as api_bp

    app.register_blueprint(api_bp)
    app.add_template_global(case_control_state)
