"""The staff inbox as pages (/inbox): queues with filters and saved filters, bulk actions, and the task page
with the whole case on one screen and the task's form.

Everything works without JavaScript (plain GET filters, POST forms with CSRF, redirects with flash
messages); web/static/inbox.js only polls `/inbox/poll` to announce new tasks and refresh the table in
place. Every route is for case-working staff, and a task of another role answers 404.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlencode

from flask import Blueprint, abort, flash, jsonify, redirect, render_template, request, url_for
from sqlalchemy import select
from werkzeug.wrappers import Response

from engine import journal
from engine.errors import Conflict, DataValidationError, NotFound
from engine.models import HumanTask, ProcessInstance
from engine.runtime import Runtime
from engine.sla_state import SLA_LABELS
from forms.rendering import build_form, form_data_from_flat
from forms.typography import NUMBER_SIGN
from tasks.accounts.roles import CASE_WORKERS, ROLE_LABELS
from tasks.cases.labels import status_label
from tasks.cases.models.cases import Document
from tasks.inbox.actions import MAX_BULK, TaskActions, parse_assignee
from tasks.inbox.case_screen import application_of, case_screen, record_case_view, task_form_schema
from tasks.inbox.filters import QUEUE_LABELS, SEE_ALL, SORTS, STATUSES, InvalidFilter, TaskFilter, parse_filter
from tasks.inbox.queries import TOTAL_CAP, actor_id, count_since, list_tasks, queue_stats
from tasks.inbox.saved_filters import delete_filter, save_filter, saved_filters
from tasks.inbox.staff import assignable_staff, who_may_take

from ..api_errors import error_response
from ..case_diagram import page_diagram
from ..cases import page_format
from ..cases.access import document_response
from ..extensions import db
from ..security import current_actor, roles_required
from ..services import app_config, services
from ..support.actions import support_thread

bp = Blueprint("inbox", __name__, url_prefix="/inbox")
page_format.register(bp)
POLL_SECONDS = 15
_TYPES_TTL = 60.0
_task_types: tuple[float, list[tuple[str, str]]] = (0.0, [])


def _runtime() -> Runtime:
    return services().runtime


def _actions() -> TaskActions:
    user = current_actor()
    return TaskActions(db.session, _runtime(), user.id, user.role)


def task_types() -> list[tuple[str, str]]:
    """(spec name, title) of the user tasks staff have had, for the «Тип задачи» filter; cached for a minute."""
    global _task_types
    stamp, types = _task_types
    if time.monotonic() - stamp > _TYPES_TTL:
        rows = db.session.execute(select(HumanTask.spec_name, HumanTask.title).distinct()).all()
        titles: dict[str, str] = {}
        for name, title in rows:
            titles.setdefault(name, title)
        types = sorted(titles.items(), key=lambda item: item[1])
        _task_types = (time.monotonic(), types)
    return types


def _back(default: str = "") -> str:
    """Where to return after an action: the inbox with the query string the form carried (never another site)."""
    query = request.form.get("back", default)
    pairs = [(k, v) for k, v in parse_qsl(query) if k in ("queue", "role", "task", "sla", "due_from", "due_to",
                                                          "status", "q", "sort", "page")]
    return url_for("inbox.index") + (f"?{urlencode(pairs)}" if pairs else "")


def _flash_outcomes(outcomes: list[Any]) -> None:
    done = [o for o in outcomes if o.ok]
    if len(outcomes) == 1:
        flash(outcomes[0].message, "success" if outcomes[0].ok else "error")
        return
    if done:
        flash(f"Выполнено для задач: {len(done)}.", "success")
    for o in outcomes:
        if not o.ok:
            flash(f"Задача {NUMBER_SIGN}{o.id}: {o.message}", "error")


# ---------------------------------------------------------------------- the list
@bp.get("")
@roles_required(*CASE_WORKERS)
def index() -> tuple[str, int] | str:
    user = current_actor()
    errors, f = [], None
    try:
        f = parse_filter(request.args, user.role, default_queue="mine" if "queue" not in request.args else "group")
    except InvalidFilter as exc:
        errors = exc.fields
    page = list_tasks(db.session, f, user.role, actor_id(user.id)) if f is not None else None
    staff = _bulk_assignees(page.items) if page is not None and user.role in SEE_ALL else []
    context = {
        "f": f or TaskFilter(queue="group"), "page": page, "errors": {e.field: e.message for e in errors},
        "args": request.args, "queues": [q for q in QUEUE_LABELS if q != "all" or user.role in SEE_ALL],
        "queue_labels": QUEUE_LABELS, "sla_labels": SLA_LABELS, "statuses": STATUSES, "sorts": SORTS,
        "types": task_types(), "saved": saved_filters(db.session, user.id), "staff": staff,
        "role_labels": ROLE_LABELS, "supervisor": user.role in SEE_ALL, "poll_seconds": POLL_SECONDS,
        "query": f.query_string() if f is not None else "",
    }
    db.session.commit()
    html = render_template("inbox/index.html", **context)
    return (html, 422) if errors else html


@dataclass(frozen=True)
class BulkAssignee:
    """A person the bulk «Назначить» list offers, and which tasks on the page they may take (by role)."""

    id: int
    name: str
    role: str
    task_roles: tuple[str, ...]  # the lane roles of the page's tasks this person may take
    all_tasks: bool  # may take every task on the page


def _bulk_assignees(items: list[dict[str, Any]]) -> list[BulkAssignee]:
    """Everyone who may take at least one task on the page (`who_may_take`), grouped by their role."""
    roles = {t["role"] for t in items}
    people = who_may_take(db.session, roles)
    order = {role: i for i, role in enumerate(CASE_WORKERS)}
    return sorted((BulkAssignee(u.id, u.full_name, u.role, tuple(sorted(r or "" for r in can)), can == roles)
                   for u, can in people), key=lambda a: order.get(a.role, len(order)))


@bp.get("/poll")
@roles_required(*CASE_WORKERS)
def poll() -> Response:
    """What inbox.js polls: {total, max_id, new} of the visible queue (`since`: the highest id on the page)."""
    user = current_actor()
    try:
        f = parse_filter(request.args, user.role, default_queue="mine" if "queue" not in request.args else "group")
    except InvalidFilter as exc:  # the API's error shape, as /api/v1/tasks answers it
        return error_response(422, "validation_failed", "Проверьте параметры фильтра.", exc.fields)
    total, max_id = queue_stats(db.session, f, user.role, actor_id(user.id))
    since = request.args.get("since", type=int)
    new = count_since(db.session, f, user.role, actor_id(user.id), since) if since is not None else 0
    db.session.commit()
    capped = total > f.offset + TOTAL_CAP
    return jsonify({"total": total - 1 if capped else total, "total_capped": capped, "max_id": max_id, "new": new})


@bp.post("/bulk")
@roles_required(*CASE_WORKERS)
def bulk() -> Response:
    action = request.form.get("action")
    ids = [v for v in request.form.getlist("ids", type=int) if v > 0][:MAX_BULK]
    if action not in ("claim", "assign"):
        flash("Выберите действие.", "error")
    elif not ids:
        flash("Отметьте задачи в списке.", "error")
    elif action == "assign" and current_actor().role not in SEE_ALL:
        abort(403)
    else:
        try:
            assignee = parse_assignee(request.form.get("assignee")) if action == "assign" else None
        except ValueError:
            flash("Выберите сотрудника из списка.", "error")
            return redirect(_back())
        if action == "assign" and assignee is None:
            flash("Выберите сотрудника, которому назначить задачи.", "error")
            return redirect(_back())
        _flash_outcomes(_actions().bulk(action, ids, assignee))
    return redirect(_back())


# ---------------------------------------------------------------------- saved filters
@bp.post("/filters")
@roles_required(*CASE_WORKERS)
def save_saved_filter() -> Response:
    user = current_actor()
    try:
        saved = save_filter(db.session, user.id, user.role, request.form.get("name", ""), request.form.get("back", ""))
    except InvalidFilter as exc:
        for e in exc.fields:
            flash(f"Фильтр не сохранён: {e.message}.", "error")
        return redirect(_back())
    db.session.commit()
    flash(f"Фильтр «{saved.name}» сохранён.", "success")
    return redirect(_back())


@bp.post("/filters/<int:filter_id>/delete")
@roles_required(*CASE_WORKERS)
def delete_saved_filter(filter_id: int) -> Response:
    if not delete_filter(db.session, current_actor().id, filter_id):
        abort(404)
    db.session.commit()
    flash("Фильтр удалён.", "success")
    return redirect(_back())


# ---------------------------------------------------------------------- one task
def _task_or_404(task_id: int) -> HumanTask:
    found = _actions().task(task_id)
    if found is None:
        abort(404)
    return found


def _render_task(task: HumanTask, values: Any = None, form_errors: Any = (), status: int = 200) -> tuple[str, int]:
    user = current_actor()
    screen = case_screen(db.session, _runtime(), task)
    schema = task_form_schema(db.session, _runtime(), screen, task.form_schema)
    mine_or_free = task.assignee in (None, actor_id(user.id))
    form = build_form(schema, values, form_errors) if schema and task.status == "open" and mine_or_free else None
    context = {"s": screen, "t": screen.task, "form": form, "mine": task.assignee == actor_id(user.id),
               "supervisor": user.role in SEE_ALL, "me": actor_id(user.id),
               "staff": assignable_staff(db.session, [task.role]) if user.role in SEE_ALL else [],
               "sla_labels": SLA_LABELS, "back": request.values.get("back", ""),
               "diagram": page_diagram(db.session, screen.number or "", screen.instance_id) if screen.number else None,
               "support_request": support_thread(screen.number)}
    record_case_view(db.session, screen, actor_id(user.id), user.role, "page")  # commits: no lock held while rendering
    return render_template("inbox/task.html", **context), status


@bp.get("/tasks/<int:task_id>")
@roles_required(*CASE_WORKERS)
def task_page(task_id: int) -> tuple[str, int]:
    return _render_task(_task_or_404(task_id))


def _to_task(task_id: int) -> Response:
    back = request.form.get("back", "")
    return redirect(url_for("inbox.task_page", task_id=task_id, **({"back": back} if back else {})))


@bp.post("/tasks/<int:task_id>/claim")
@roles_required(*CASE_WORKERS)
def claim(task_id: int) -> Response:
    outcome = _actions().claim(task_id)
    _flash_outcomes([outcome])
    if outcome.code == "not_found":
        abort(404)
    return _to_task(task_id) if request.form.get("stay") or outcome.ok else redirect(_back())


@bp.post("/tasks/<int:task_id>/unclaim")
@roles_required(*CASE_WORKERS)
def unclaim(task_id: int) -> Response:
    outcome = _actions().unclaim(task_id)
    _flash_outcomes([outcome])
    if outcome.code == "not_found":
        abort(404)
    return _to_task(task_id) if request.form.get("stay") else redirect(_back())


@bp.post("/tasks/<int:task_id>/assign")
@roles_required("supervisor", "admin")
def assign(task_id: int) -> Response:
    try:
        assignee = parse_assignee(request.form.get("assignee"))
    except ValueError:
        flash("Выберите сотрудника из списка.", "error")
        return _to_task(task_id)
    outcome = _actions().assign(task_id, assignee)
    _flash_outcomes([outcome])
    if outcome.code == "not_found":
        abort(404)
    return _to_task(task_id)


@bp.post("/tasks/<int:task_id>/complete")
@roles_required(*CASE_WORKERS)
def complete(task_id: int) -> Response | tuple[str, int]:
    task = _task_or_404(task_id)
    me = actor_id(current_actor().id)  # read before the commit: reloading it later would open a transaction
    schema = _runtime().specs.forms(db.session, _version_of(task)).get(task.form_schema or "")
    data = form_data_from_flat(schema, request.form) if schema else {}
    try:
        info = _runtime().complete_user_task(task_id, data, me)
    except DataValidationError as exc:
        fresh = _task_or_404(task_id)
        return _render_task(fresh, request.form, exc.fields, 422)
    except (Conflict, NotFound):
        flash("Задача уже выполнена или взята в работу другим сотрудником.", "error")
        return redirect(_back())
    label = status_label(info.status) if info.status else None
    flash(f"Задача выполнена. Статус заявления: «{label}»." if label else "Задача выполнена.", "success")
    return redirect(_back())


def _version_of(task: HumanTask) -> int:
    return db.session.scalar(select(ProcessInstance.version_id).where(ProcessInstance.id == task.instance_id))


@bp.get("/tasks/<int:task_id>/documents/<int:doc_id>")
@roles_required(*CASE_WORKERS)
def document(task_id: int, doc_id: int) -> Response:
    """A document of the task's case; each opening is journaled.

    Inline for the preview (`?preview=1`, the frame on the task page), a download otherwise; either way
    under the upload's own sandboxing policy (web.cases.access.UPLOAD_CSP).
    """
    task = _task_or_404(task_id)
    _, app = application_of(db.session, task)
    doc = db.session.get(Document, doc_id)
    if app is None or doc is None or doc.application_id != app.id:
        abort(404)
    user = current_actor()
    journal.record(db.session, task.instance_id, "document_viewed", actor=actor_id(user.id),
                   details={"role": user.role, "document": doc.id, "task": task.id})
    db.session.commit()
    preview = request.args.get("preview") == "1"
    return document_response(app_config(), doc, inline=preview)
