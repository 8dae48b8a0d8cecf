"""Step analytics pages and API: `/processes/<id>/analytics?from=&to=` (page, heatmap and flow counts on the
diagram, weekly breach trend, CSV) and `GET /api/v1/processes/<id>/analytics`.

Supervisors, administrators and analysts; no personal data is read (counts and times only), so no
journal row. Pages take the period as ДД.ММ.ГГГГ, the API as ISO dates; the period is inclusive and
counted in Moscow days, the last 30 days by default. The diagram drawn is the process's current
version, or with `?diagram=<process id>` a process it calls (whose steps its cases record under its id);
elements of earlier versions that are no longer in it still appear in the tables.
"""

from __future__ import annotations

import csv
import io
import math
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from flask import Blueprint, Response, abort, jsonify, render_template, request, url_for

from engine.bpmn_flows import Diagram, merged, version_diagrams
from engine.errors import FieldError, NotFound
from engine.models import ProcessVersion
from engine.versions import current_version
from forms.dates import format_ru_date, moscow_midnight, parse_iso_date, parse_ru_date, today_moscow
from forms.employees.neutralise import neutralise
from tasks.accounts.roles import ADMIN, ANALYST, SUPERVISOR
from tasks.analytics.queries import Analytics, ElementStats, Freshness, analytics
from tasks.errors import ApiError
from tasks.studio.catalogue import deployed_processes

from ..extensions import db
from ..security import roles_required

bp = Blueprint("analytics", __name__)
ROLES = (SUPERVISOR, ADMIN, ANALYST)
DEFAULT_DAYS = 30
HEAT_LEVELS = 5
NBSP = "\u00a0"


class PeriodError(Exception):
    def __init__(self, fields: list[FieldError]) -> None:
        super().__init__("invalid period")
        self.fields = fields


@dataclass(frozen=True)
class Period:
    first: date
    last: date  # inclusive

    @property
    def since(self) -> datetime:
        return moscow_midnight(self.first)

    @property
    def until(self) -> datetime:
        return moscow_midnight(self.last + timedelta(days=1))


def parse_period(args: Any, *, iso_only: bool) -> Period:
    """The period from `from`/`to` (either may be missing); a bad value is a field error, never a guess."""
    last, first = today_moscow(), None
    errors: list[FieldError] = []
    values: dict[str, date] = {}
    for name in ("from", "to"):
        raw = (args.get(name) or "").strip()
        if not raw:
            continue
        parsed = parse_iso_date(raw) if iso_only else (parse_ru_date(raw) or parse_iso_date(raw))
        if parsed is None:
            shape = "ГГГГ-ММ-ДД" if iso_only else "ДД.ММ.ГГГГ"
            errors.append(FieldError(name, "invalid_date", f"Введите дату в формате {shape}."))
        else:
            values[name] = parsed
    last = values.get("to", last)
    first = values.get("from", last - timedelta(days=DEFAULT_DAYS - 1))
    if not errors and first > last:
        errors.append(FieldError("to", "before_start", "Дата окончания периода раньше даты начала."))
    if errors:
        raise PeriodError(errors)
    return Period(first, last)


def _version(process_id: str) -> ProcessVersion:
    try:
        ref = current_version(db.session, process_id)
    except NotFound:
        abort(404)
    row = db.session.get(ProcessVersion, ref.id)
    if row is None:
        abort(404)
    return row


def duration(seconds: float | None) -> str:
    """«1 дн 4 ч», «2 ч 5 мин», «35 с»: the two largest units, for people reading a table."""
    if seconds is None:
        return "—"
    total = round(seconds)
    parts = [(total // 86400, "дн"), (total % 86400 // 3600, "ч"), (total % 3600 // 60, "мин"), (total % 60, "с")]
    shown = [f"{n}{NBSP}{unit}" for n, unit in parts if n][:2]
    return " ".join(shown) if shown else f"0{NBSP}с"


def percent(rate: float | None) -> str:
    return "—" if rate is None else f"{rate * 100:.1f}".replace(".", ",") + f"{NBSP}%"


def heat(stats: list[ElementStats]) -> dict[str, int]:
    """Element -> heat level 1..HEAT_LEVELS by its share of the busiest element's passes."""
    top = max((s.passes for s in stats), default=0)
    return {s.element: max(1, math.ceil(HEAT_LEVELS * s.passes / top)) for s in stats if top and s.passes}


def _overlay(diagram: Diagram | None, result: Analytics) -> dict[str, Any]:
    """What the heatmap script draws: the XML, passes and heat per element (shaded against the busiest step
    of this diagram), cases per sequence flow."""
    if diagram is None:
        return {}
    levels = heat([s for s in result.elements if s.element in diagram.names])
    flows = {diagram.flows[(f.source, f.target)]: f.taken for f in result.flows
             if (f.source, f.target) in diagram.flows}
    # An expanded subprocess is not shaded: its fill would drown the shades of the steps drawn inside it.
    return {"xml": diagram.xml, "flows": flows,
            "elements": {s.element: {"passes": s.passes, "heat": 0 if diagram.kinds.get(s.element) == "subProcess"
                                     else levels.get(s.element, 0)}
                         for s in result.elements if s.element in diagram.names}}


def _rows(diagram: Diagram | None, result: Analytics) -> list[dict[str, Any]]:
    names = diagram.names if diagram else {}
    kinds = diagram.kinds if diagram else {}
    return [{"element": s.element, "name": names.get(s.element, s.element), "kind": kinds.get(s.element),
             "passes": s.passes, "wait_p50": s.wait_p50, "wait_p90": s.wait_p90, "handling_p50": s.handling_p50,
             "handling_p90": s.handling_p90, "breach_rate": s.breach_rate, "late": s.late, "with_due": s.with_due}
            for s in result.elements]


def _flow_rows(diagram: Diagram | None, result: Analytics) -> list[dict[str, Any]]:
    names = diagram.names if diagram else {}
    flows = diagram.flows if diagram else {}
    return sorted(({"id": flows.get((f.source, f.target)), "source": f.source, "target": f.target,
                    "source_name": names.get(f.source, f.source), "target_name": names.get(f.target, f.target),
                    "taken": f.taken} for f in result.flows), key=lambda r: (-r["taken"], r["source"], r["target"]))


def _trend(diagram: Diagram | None, result: Analytics) -> dict[str, Any]:
    """Weeks as rows, task types as columns: the breach rate and its counts."""
    names = diagram.names if diagram else {}
    types = sorted({w.element for w in result.weeks})
    weeks = sorted({w.week for w in result.weeks})
    cells = {(w.week, w.element): w for w in result.weeks}
    return {"types": [(t, names.get(t, t)) for t in types],
            "rows": [(format_ru_date(week), [cells.get((week, t)) for t in types]) for week in weeks]}


def _compute(process_id: str, period: Period) -> tuple[ProcessVersion, list[Diagram], Analytics]:
    row = _version(process_id)
    diagrams = version_diagrams(row)
    result = analytics(db.session, process_id, period.first, period.last)
    db.session.commit()  # end the read transaction before rendering
    return row, diagrams, result


def _chosen(diagrams: list[Diagram], wanted: str | None) -> Diagram | None:
    """The diagram the heatmap draws: the process's own, or a process it calls (`?diagram=<process id>`)."""
    return next((d for d in diagrams if d.process_id == wanted), diagrams[0] if diagrams else None)


@bp.get("/analytics")
@roles_required(*ROLES)
def index() -> str:
    processes = deployed_processes(db.session)
    db.session.commit()
    return render_template("analytics/index.html", processes=processes)


@bp.get("/processes/<process_id>/analytics")
@roles_required(*ROLES)
def page(process_id: str) -> tuple[str, int]:
    errors: dict[str, str] = {}
    try:
        period = parse_period(request.args, iso_only=False)
    except PeriodError as exc:
        errors = {f.field: f.message for f in exc.fields}
        period = parse_period({}, iso_only=False)
    row, diagrams, result = _compute(process_id, period) if not errors else (_version(process_id), [], None)
    shown = _chosen(diagrams, request.args.get("diagram"))
    context = {"row": row, "period": period, "errors": errors, "args": request.args,
               "duration": duration, "percent": percent, "diagrams": diagrams, "shown": shown}
    if result is not None:
        diagram = merged(diagrams)
        context.update(fresh=result.freshness, elements=_rows(diagram, result), flows=_flow_rows(diagram, result),
                       trend=_trend(diagram, result), overlay=_overlay(shown, result),
                       csv_url=url_for("analytics.export", process_id=process_id, **{
                           "from": period.first.isoformat(), "to": period.last.isoformat()}))
    return render_template("analytics/process.html", **context), 422 if errors else 200


@bp.get("/processes/<process_id>/analytics.csv")
@roles_required(*ROLES)
def export(process_id: str) -> Response:
    try:
        period = parse_period(request.args, iso_only=False)
    except PeriodError:
        abort(400)
    _, diagrams, result = _compute(process_id, period)
    diagram = merged(diagrams)
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";")
    writer.writerow(["Элемент", "Название", "Проходов", "Ожидание, медиана (с)", "Ожидание, 90-й перцентиль (с)",
                     "Обработка, медиана (с)", "Обработка, 90-й перцентиль (с)", "Со сроком", "После срока",
                     "Доля после срока"])
    for r in _rows(diagram, result):
        writer.writerow([neutralise(v) for v in (
            r["element"], r["name"], r["passes"], r["wait_p50"], r["wait_p90"], r["handling_p50"], r["handling_p90"],
            r["with_due"], r["late"], "" if r["breach_rate"] is None else round(r["breach_rate"], 4))])
    writer.writerow([])
    writer.writerow(["Переход", "Откуда", "Куда", "Заявлений"])
    for f in _flow_rows(diagram, result):
        writer.writerow([neutralise(v) for v in (f["id"] or "", f["source_name"], f["target_name"], f["taken"])])
    name = f"analytics-{process_id}-{period.first.isoformat()}-{period.last.isoformat()}.csv"
    # A BOM so that spreadsheet programs read the Russian headers as UTF-8.
    return Response("\ufeff" + out.getvalue(), mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


@bp.get("/api/v1/processes/<process_id>/analytics")
@roles_required(*ROLES)
def api(process_id: str) -> Response:
    try:
        period = parse_period(request.args, iso_only=True)
    except PeriodError as exc:
        raise ApiError(422, "validation_failed", "Период задан неверно.", exc.fields) from None
    _, diagrams, result = _compute(process_id, period)  # an unknown process: 404 in the API's error body
    diagram = merged(diagrams)
    return jsonify({
        "process_id": process_id, "from": period.first.isoformat(), "to": period.last.isoformat(),
        "elements": _rows(diagram, result), "flows": _flow_rows(diagram, result),
        "weeks": [{"week": w.week.isoformat(), "element": w.element, "with_due": w.with_due, "late": w.late,
                   "breach_rate": w.breach_rate} for w in result.weeks],
        "freshness": _freshness_json(result.freshness),
    })


def _freshness_json(fresh: Freshness | None) -> dict[str, Any] | None:
    """How current the figures are (null on SQLite: computed from the steps, always current)."""
    if fresh is None:
        return None
    return {"rolled_through": fresh.rolled_through.isoformat() if fresh.rolled_through else None,
            "rolled_at": fresh.rolled_at.isoformat() if fresh.rolled_at else None,
            "raw_from": fresh.raw_from.isoformat() if fresh.raw_from else None, "missing_days": fresh.missing_days}
