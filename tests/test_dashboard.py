"""The supervisor's dashboard: figures from a known set of cases, and who may see it.

The cases are inserted as rows (application, process_instance, journal, human_task) the way the
engine writes them, dated in March 2020, and the figures are asked for "as of" 10.03.2020 15:00
MSK: rows other tests write on the shared database are years later and fall outside every time
window. Counts that have no window (cases by status, open tasks, SLA) are compared as the
difference before and after the insert, so other tests' rows cancel out.
"""

from __future__ import annotations

import re
import uuid
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select

from engine.models import HumanTask, JournalEntry, ProcessInstance, ProcessVersion
from tasks.accounts.models import User
from tasks.analytics.figures import dashboard
from tasks.cases.models.cases import Application
from tests.support.accounts import PASSWORD, add_user, bearer, client_from, fresh_otp, login
from web.dashboard.views import format_duration
from web.extensions import db
from web.security import unguarded_endpoints

NOW = datetime(2020, 3, 10, 12, 0, tzinfo=UTC)  # 15:00 in Moscow
H = timedelta(hours=1)


def _utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


# number suffix, final status, submitted_at, [(at, status)] in order
CASES = [
    ("a", "ready", _utc(2020, 3, 10, 8), [(_utc(2020, 3, 10, 10), "ready")]),  # 2 h, today
    ("b", "rejected", _utc(2020, 3, 10, 6), [(_utc(2020, 3, 10, 10), "rejected")]),  # 4 h, today
    # 22:00 UTC on 09.03 is 01:00 on 10.03 in Moscow: «today» is a Moscow day. 6 h.
    ("c", "closed", _utc(2020, 3, 9, 16), [(_utc(2020, 3, 9, 22), "closed")]),
    # Refused after 24 h, issued later after a resubmission: counted once, at the first decision.
    ("d", "ready", _utc(2020, 3, 5, 10), [(_utc(2020, 3, 6, 10), "rejected"), (_utc(2020, 3, 10, 9), "ready")]),
    ("e", "ready", _utc(2020, 3, 1, 10), [(_utc(2020, 3, 2, 12), "ready")]),  # outside 7 days, on the chart
    ("f", "in_progress", _utc(2020, 3, 10, 11), []),  # no decision yet
    ("g", "ready", _utc(2020, 3, 10, 11), [(_utc(2020, 3, 10, 13), "ready")]),  # after "now": not yet
]


def _insert_cases(app, owner_email: str) -> list[int]:
    """The known cases, their journal rows and some tasks; returns the instance ids."""
    with app.app_context():
        s = db.session
        owner = s.scalar(select(User).where(User.email == owner_email))
        version = s.scalar(select(ProcessVersion.id).limit(1))
        tag = uuid.uuid4().hex[:8]
        ids = []
        for suffix, status, submitted, decisions in CASES:
            inst = ProcessInstance(process_id="certificate_individual", version_id=version,
                                   business_key=f"D{tag}{suffix}", owner=str(owner.id), status=status,
                                   completed=False, state="{}", projection={}, created_at=submitted,
                                   updated_at=submitted)
            s.add(inst)
            s.flush()
            ids.append(inst.id)
            s.add(Application(number=f"D{tag}{suffix}", attempt=1, applicant="individual", owner_id=owner.id,
                              process_id="certificate_individual", instance_id=inst.id, data={},
                              search_name="тест", submitted_at=submitted, updated_at=submitted))
            s.add(JournalEntry(instance_id=inst.id, at=submitted, actor=f"user:{owner.id}", event="status_changed",
                               message="submitted", details={"from": None, "to": "submitted"}))
            previous = "submitted"
            for at, to in decisions:
                s.add(JournalEntry(instance_id=inst.id, at=at, actor="worker", event="status_changed",
                                   message=to, details={"from": previous, "to": to}))
                previous = to
        a, f = ids[0], ids[5]
        s.add_all([
            _task(f, "operator", created=NOW - 30 * H, due=NOW - H),  # overdue
            _task(f, "operator", created=NOW - 10 * H, due=NOW + timedelta(minutes=5)),  # almost all time used
            _task(f, "supervisor", created=NOW - timedelta(minutes=5), due=NOW + 30 * 24 * H),  # plenty of time
            _task(a, "operator", created=NOW - 30 * H, due=NOW - 2 * H, status="completed"),  # not open
        ])
        s.commit()
        return ids


def _task(instance_id: int, role: str, *, created: datetime, due: datetime, status: str = "open") -> HumanTask:
    return HumanTask(instance_id=instance_id, task_guid=str(uuid.uuid4()), spec_name="operator_review",
                     title="Проверить заявление", lane="Оператор", role=role, created_at=created, due_at=due,
                     status=status)


def _figures(app):
    with app.app_context():
        return dashboard(db.session, NOW)


def test_figures_from_a_known_set_of_cases(make_app):
    app = make_app()
    before = _figures(app)
    _insert_cases(app, add_user(app, "citizen"))
    after = _figures(app)

    by_status = {c.code: c.count for c in after.cases_by_status}
    delta = {code: n - {c.code: c.count for c in before.cases_by_status}.get(code, 0) for code, n in by_status.items()}
    assert delta == {"submitted": 0, "in_progress": 1, "needs_info": 0, "approved": 0, "ready": 4,
                     "rejected": 1, "appealed": 0, "closed": 1, "cancelled": 0}
    assert [c.label for c in after.cases_by_status][:3] == ["Принято", "В обработке", "Требуется уточнение"]
    assert after.cases_total - before.cases_total == len(CASES)

    tasks_before = {c.code: c.count for c in before.open_tasks}
    tasks_delta = {c.code: c.count - tasks_before.get(c.code, 0) for c in after.open_tasks}
    assert {k: v for k, v in tasks_delta.items() if v} == {"operator": 2, "supervisor": 1}
    assert {c.code: c.label for c in after.open_tasks}["operator"] == "Оператор"
    assert after.sla_overdue - before.sla_overdue == 1
    assert after.sla_at_risk - before.sla_at_risk == 1

    # Today (10.03 in Moscow): a 2 h, b 4 h, c 6 h (decided at 01:00 MSK); g is after "now".
    assert after.today.decisions == 3
    assert after.today.median_seconds == pytest.approx(4 * 3600, abs=1)
    # Seven days: a, b, c and d's first decision (24 h); d's later «ready» and e are not counted.
    assert after.last_7_days.decisions == 4
    assert after.last_7_days.median_seconds == pytest.approx(5 * 3600, abs=1)

    days = {d.day: (d.issued, d.refused) for d in after.per_day}
    assert len(after.per_day) == 14
    assert after.per_day[0].day == date(2020, 2, 26) and after.per_day[-1].day == date(2020, 3, 10)
    assert days[date(2020, 3, 10)] == (1, 2)
    assert days[date(2020, 3, 6)] == (0, 1)
    assert days[date(2020, 3, 2)] == (1, 0)
    assert sum(i + r for i, r in days.values()) == 5

    data = after.as_json()
    assert data["time_to_decision"]["today"]["decisions"] == 3
    assert data["decisions_per_day"][-1] == {"day": "2020-03-10", "issued": 1, "refused": 2}


def test_format_duration_in_russian():
    assert format_duration(None) == "—"
    assert format_duration(40) == "40 с"
    assert format_duration(12 * 60 + 5) == "12 мин"
    assert format_duration(5 * 3600 + 7 * 60) == "5 ч 07 мин"
    assert format_duration(2 * 86400 + 3 * 3600 + 59) == "2 д 3 ч"


def _token(client, email: str) -> str:
    """A Bearer token; staff give a code of their authenticator (tests.support.accounts enrols them)."""
    body = {"email": email, "password": PASSWORD}
    if not email.startswith("citizen"):
        body["otp"] = fresh_otp(client.application, email)
    r = client.post("/api/v1/auth/token", json=body)
    assert r.status_code == 200, r.get_json()
    return r.get_json()["token"]


def test_only_supervisors_and_admins_see_the_dashboard(make_app):
    app = make_app(RATE_LIMITS="off")
    assert not [e for e in unguarded_endpoints(app) if e.split(".")[0] in ("dashboard", "staff_audit")]
    client = client_from(app)
    assert client.get("/api/v1/dashboard").status_code == 401
    anonymous = client.get("/dashboard")
    assert anonymous.status_code == 302 and "/login" in anonymous.headers["Location"]
    for role in ("citizen", "operator", "appeals", "analyst"):
        token = _token(client, add_user(app, role))
        r = client.get("/api/v1/dashboard", headers=bearer(token))
        assert r.status_code == 403, role
        assert r.get_json()["error"]["code"] == "forbidden"
    for role in ("supervisor", "admin"):
        r = client.get("/api/v1/dashboard", headers=bearer(_token(client, add_user(app, role))))
        assert r.status_code == 200, role
        body = r.get_json()
        assert set(body) == {"generated_at", "cases", "open_tasks", "sla", "time_to_decision", "decisions_per_day"}
        assert [s["status"] for s in body["cases"]["by_status"]][:8] == [
            "submitted", "in_progress", "needs_info", "approved", "ready", "rejected", "appealed", "closed"]
        assert len(body["decisions_per_day"]) == 14
        with app.app_context():
            expected = dashboard(db.session).as_json()
        assert body["cases"] == expected["cases"] and body["open_tasks"] == expected["open_tasks"]


def test_dashboard_page_for_a_supervisor(make_app):
    app = make_app(RATE_LIMITS="off")
    _insert_cases(app, add_user(app, "citizen"))
    operator = client_from(app)
    login(operator, add_user(app, "operator"))
    assert operator.get("/dashboard").status_code == 403
    supervisor = client_from(app)
    login(supervisor, add_user(app, "supervisor"))
    r = supervisor.get("/dashboard")
    assert r.status_code == 200
    html = r.get_data(as_text=True)
    assert "<h1>Панель руководителя</h1>" in html
    assert 'href="/dashboard" aria-current="page">Панель руководителя</a>' in html  # the menu item, marked
    with app.app_context():
        figures = dashboard(db.session)
    ready = next(c.count for c in figures.cases_by_status if c.code == "ready")
    row = re.search(r'<tr data-status="ready">(.*?)</tr>', html, re.S).group(1)
    assert "Готово к скачиванию" in row and f"<td>{ready}</td>" in row
    assert f'data-figure="sla-overdue">{figures.sla_overdue}<' in html
    assert "<svg" in html and 'role="img"' in html and "style=" not in html.split("<svg", 1)[1]
    assert html.count("<rect") >= 2  # legend swatches at least
