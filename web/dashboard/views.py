"""The supervisor's dashboard: the page (/dashboard) and the same figures over JSON (/api/v1/dashboard).

Only supervisors and administrators see it: it shows no personal data, but the workload and
timeliness of the whole service are management information. Nothing here is journaled for the
same reason (aggregates only: no case is read).
"""

from __future__ import annotations

from flask import Blueprint, Response, jsonify, render_template

from engine.sla_state import SLA_LABELS
from tasks.accounts.roles import ADMIN, SUPERVISOR
from tasks.analytics.figures import dashboard

from ..extensions import db
from ..security import roles_required
from .chart import decisions_chart

bp = Blueprint("dashboard", __name__)
MANAGERS = (SUPERVISOR, ADMIN)


def format_duration(seconds: float | None) -> str:
    """A median wait the way people say it: «2 д 3 ч», «5 ч 07 мин», «12 мин», «40 с»; «—» with no data."""
    if seconds is None:
        return "—"
    total = max(round(seconds), 0)
    days, rest = divmod(total, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days} д {hours} ч"
    if hours:
        return f"{hours} ч {minutes:02d} мин"
    if minutes:
        return f"{minutes} мин"
    return f"{secs} с"


@bp.get("/dashboard")
@roles_required(*MANAGERS)
def page() -> str:
    figures = dashboard(db.session)
    db.session.commit()  # end the read transaction before rendering
    return render_template("dashboard/index.html", d=figures, chart=decisions_chart(figures.per_day),
                           duration=format_duration, sla_labels=SLA_LABELS)


@bp.get("/api/v1/dashboard")
@roles_required(*MANAGERS)
def api() -> Response:
    figures = dashboard(db.session)
    db.session.commit()
    return jsonify(figures.as_json())
