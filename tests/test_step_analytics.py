"""Step analytics over a small known set: the API's passes, percentiles, breach rates, flow counts and weekly
trend equal what direct SQL counts and what the seeded times give; the page and the CSV show the same;
bad periods, unknown processes and other roles are refused.

The set is a process of its own (a version row with a tiny diagram, a unique id) with `step` rows as the
engine writes them, dated March 2020, so rows other tests write never fall inside it. PostgreSQL
computes the figures with percentile_cont, SQLite in Python: both must give the same numbers.
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import text

from engine.clock import utcnow
from engine.models import ProcessInstance, ProcessVersion, Step
from forms.dates import format_ru_date, today_moscow
from tasks.analytics.rollup import catch_up
from tests.support.accounts import PASSWORD, add_user, bearer, client_from, fresh_otp, login
from tests.support.backend import wait_for
from web.extensions import db

H = timedelta(hours=1)
BPMN = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d" targetNamespace="t">
  <bpmn:process id="{pid}" name="Тестовый процесс" isExecutable="true">
    <bpmn:startEvent id="start" name="Начало"/>
    <bpmn:serviceTask id="svc" name="Запрос в реестр"/>
    <bpmn:userTask id="review" name="Проверить"/>
    <bpmn:endEvent id="end" name="Конец"/>
    <bpmn:sequenceFlow id="f_start_svc" sourceRef="start" targetRef="svc"/>
    <bpmn:sequenceFlow id="f_svc_review" sourceRef="svc" targetRef="review"/>
    <bpmn:sequenceFlow id="f_review_svc" sourceRef="review" targetRef="svc"/>
    <bpmn:sequenceFlow id="f_review_end" sourceRef="review" targetRef="end"/>
  </bpmn:process>
</bpmn:definitions>"""


def _at(day: int, hour: int) -> datetime:
    return datetime(2020, 3, day, hour, tzinfo=UTC)


def _step(inst: int, pid: str, element: str, source: str | None, entered: datetime, ended: datetime,
          started: datetime | None = None, due: datetime | None = None) -> Step:
    return Step(instance_id=inst, process_id=pid, element=element, kind="X", source=source, entered_at=entered,
                started_at=started, ended_at=ended, due_at=due)


def _seed(app) -> str:
    """Three cases; the first goes round the review -> svc loop once. Returns the process id."""
    pid = f"analytics_{uuid.uuid4().hex[:8]}"
    with app.app_context():
        s = db.session
        version = ProcessVersion(process_id=pid, version=1, name="Тестовый процесс", sha256="0" * 64,
                                 sources={"p.bpmn": BPMN.format(pid=pid)}, spec_json="{}", forms={},
                                 deployed_at=_at(1, 0))
        s.add(version)
        s.flush()
        ids = []
        for _ in range(3):
            inst = ProcessInstance(process_id=pid, version_id=version.id, status=None, completed=True, state="",
                                   projection={}, created_at=_at(10, 9), updated_at=_at(10, 9))
            s.add(inst)
            s.flush()
            ids.append(inst.id)
        # Case n (0, 1, 2) waits n+1 hours to be claimed and is handled for n+1 hours; due 5 h after it arrived.
        # The third case is a week later and finishes late.
        for n, inst in enumerate(ids):
            day = 10 if n < 2 else 17
            arrived = _at(day, 10)
            s.add_all([
                _step(inst, pid, "start", None, _at(day, 9), _at(day, 9)),
                _step(inst, pid, "svc", "start", _at(day, 9), _at(day, 9) + timedelta(minutes=1), started=_at(day, 9)),
                _step(inst, pid, "review", "svc", arrived, arrived + (n + 1) * 2 * H,
                      started=arrived + (n + 1) * H, due=arrived + 5 * H),
            ])
        loop = ids[0]
        s.add_all([
            _step(loop, pid, "svc", "review", _at(10, 12), _at(10, 12) + timedelta(minutes=1), started=_at(10, 12)),
            _step(loop, pid, "review", "svc", _at(10, 13), _at(10, 14), started=_at(10, 13), due=_at(10, 18)),
        ])
        for n, inst in enumerate(ids):
            day = 10 if n < 2 else 17
            s.add(_step(inst, pid, "end", "review", _at(day, 20), _at(day, 20)))
        s.commit()
    return pid


def _token(app, role: str) -> str:
    email = add_user(app, role)
    r = client_from(app).post("/api/v1/auth/token", json={"email": email, "password": PASSWORD,
                                                          "otp": fresh_otp(app, email)})
    assert r.status_code == 200, r.get_json()
    return r.get_json()["token"]


def test_analytics_equal_sql_counts_and_the_seeded_times(make_app, backend) -> None:
    app = make_app()
    pid = _seed(app)
    if backend.kind == "postgres":  # what the scheduler's roll-up job does for every process
        catch_up(backend.services.database, pid)
    client = client_from(app)
    token = _token(app, "analyst")
    r = client.get(f"/api/v1/processes/{pid}/analytics", query_string={"from": "2020-03-01", "to": "2020-03-31"},
                   headers=bearer(token))
    assert r.status_code == 200, r.get_json()
    body = r.get_json()
    with app.app_context():
        passes = dict(db.session.execute(text(
            "SELECT element, count(*) FROM step WHERE process_id = :p GROUP BY element"), {"p": pid}).all())
        flows = {(a, b): n for a, b, n in db.session.execute(text(
            "SELECT source, element, count(DISTINCT instance_id) FROM step WHERE process_id = :p "
            "AND source IS NOT NULL GROUP BY source, element"), {"p": pid})}
        db.session.rollback()
    elements = {e["element"]: e for e in body["elements"]}
    assert {e: v["passes"] for e, v in elements.items()} == passes == {"start": 3, "svc": 4, "review": 4, "end": 3}
    assert {(f["source"], f["target"]): f["taken"] for f in body["flows"]} == flows
    assert flows[("svc", "review")] == 3  # four passes along it, three cases
    assert {f["id"]: f["taken"] for f in body["flows"]} == {"f_start_svc": 3, "f_svc_review": 3, "f_review_svc": 1,
                                                             "f_review_end": 3}

    review = elements["review"]
    assert review["name"] == "Проверить" and review["kind"] == "userTask"
    # Waits 0 (the loop's second pass), 1 h, 2 h, 3 h; handled 1 h, 1 h, 2 h, 3 h; percentiles interpolate
    # (SQLite exactly; PostgreSQL from the daily histograms, within 5 %).
    assert review["wait_p50"] == pytest.approx(1.5 * 3600, rel=.05)
    assert review["wait_p90"] == pytest.approx(2.7 * 3600, rel=.05)
    assert review["handling_p50"] == pytest.approx(1.5 * 3600, rel=.05)
    assert review["handling_p90"] == pytest.approx(2.7 * 3600, rel=.05)
    assert (review["with_due"], review["late"], review["breach_rate"]) == (4, 1, 0.25)
    svc = elements["svc"]
    assert (svc["wait_p50"], svc["breach_rate"]) == (0, None) and svc["handling_p90"] == pytest.approx(60, rel=.05)
    assert body["weeks"] == [
        {"week": "2020-03-09", "element": "review", "with_due": 3, "late": 0, "breach_rate": 0.0},
        {"week": "2020-03-16", "element": "review", "with_due": 1, "late": 1, "breach_rate": 1.0},
    ]
    week = client.get(f"/api/v1/processes/{pid}/analytics", query_string={"from": "2020-03-15", "to": "2020-03-20"},
                      headers=bearer(token)).get_json()
    assert {e["element"]: e["passes"] for e in week["elements"]} == {"start": 1, "svc": 1, "review": 1, "end": 1}

    # Bad input changes nothing and says which field; unknown processes are 404.
    r = client.get(f"/api/v1/processes/{pid}/analytics", query_string={"from": "01.03.2020"}, headers=bearer(token))
    assert r.status_code == 422 and r.get_json()["error"]["fields"][0]["field"] == "from"
    r = client.get(f"/api/v1/processes/{pid}/analytics", query_string={"from": "2020-03-31", "to": "2020-03-01"},
                   headers=bearer(token))
    assert r.status_code == 422 and r.get_json()["error"]["fields"][0]["field"] == "to"
    assert client.get("/api/v1/processes/no_such_process/analytics", headers=bearer(token)).status_code == 404

    # The page (ДД.ММ.ГГГГ) and the CSV show the same numbers.
    browser = client_from(app)
    login(browser, add_user(app, "supervisor"))
    html = browser.get(f"/processes/{pid}/analytics?from=01.03.2020&to=31.03.2020").get_data(as_text=True)
    assert 'data-element="review"><td>Проверить</td><td data-passes>4</td>' in html
    assert "25,0\u00a0%" in html and 'data-flow="f_svc_review"' in html
    assert '"f_review_svc": 1' in html or '"f_review_svc":1' in html  # the heatmap's data block
    bad = browser.get(f"/processes/{pid}/analytics?from=32.03.2020")
    assert bad.status_code == 422 and "Введите дату в формате ДД.ММ.ГГГГ" in bad.get_data(as_text=True)
    csv = browser.get(f"/processes/{pid}/analytics.csv?from=2020-03-01&to=2020-03-31")
    assert csv.status_code == 200 and csv.mimetype == "text/csv"
    lines = csv.get_data(as_text=True).lstrip("\ufeff").splitlines()
    assert lines[0].startswith("Элемент;Название;Проходов")
    review_line = next(line for line in lines if line.startswith("review;"))
    assert review_line.startswith("review;Проверить;4;") and review_line.endswith(";4;1;0.25")
    assert "f_svc_review;Запрос в реестр;Проверить;3" in lines


def _figures(client, token: str, pid: str, first: str, last: str) -> dict:
    r = client.get(f"/api/v1/processes/{pid}/analytics", query_string={"from": first, "to": last},
                   headers=bearer(token))
    assert r.status_code == 200, r.get_json()
    return r.get_json()


def test_the_scheduled_roll_up_keeps_the_figures_current_and_the_page_says_how_fresh(make_app, backend,
                                                                                    cluster) -> None:
    """PostgreSQL: a page never rolls up; it reads the roll-ups plus the few days the job has not reached (today),
    leaves older unrolled days out and says so, until the scheduler's job has rolled them up. SQLite computes
    from the steps: always complete, no freshness to tell."""
    app = make_app()
    pid = _seed(app)
    now = utcnow()
    with app.app_context():
        instance_id = db.session.scalar(text("SELECT min(id) FROM process_instance WHERE process_id = :p"), {"p": pid})
        db.session.add(_step(instance_id, pid, "svc", "review", now - H, now, started=now - H))
        db.session.commit()
    client, token = client_from(app), _token(app, "analyst")
    today = today_moscow().isoformat()
    assert {e["element"]: e["passes"] for e in _figures(client, token, pid, today, today)["elements"]} == {"svc": 1}
    browser = client_from(app)
    login(browser, add_user(app, "supervisor"))
    if backend.kind != "postgres":
        march = _figures(client, token, pid, "2020-03-01", "2020-03-31")
        assert march["freshness"] is None and {e["element"]: e["passes"] for e in march["elements"]}["svc"] == 4
        assert "data-freshness" not in browser.get(f"/processes/{pid}/analytics").get_data(as_text=True)
        return

    march = _figures(client, token, pid, "2020-03-01", "2020-03-31")
    assert march["elements"] == [] and march["freshness"]["missing_days"] == 22  # 10.03-31.03, not rolled up yet
    html = browser.get(f"/processes/{pid}/analytics?from=01.03.2020&to=31.03.2020").get_data(as_text=True)
    assert 'data-missing-days="22"' in html
    assert _figures(client, token, pid, today, today)["freshness"]["raw_from"] == today

    cluster.scheduler(ANALYTICS_ROLLUP_INTERVAL="1")
    march = wait_for(lambda: (f := _figures(client, token, pid, "2020-03-01", "2020-03-31"))["freshness"]
                     ["missing_days"] == 0 and f["elements"] and f, timeout=120, message="the roll-up job")
    assert {e["element"]: e["passes"] for e in march["elements"]} == {"start": 3, "svc": 4, "review": 4, "end": 3}
    yesterday = date.fromisoformat(today) - timedelta(days=1)
    fresh = wait_for(lambda: (f := _figures(client, token, pid, today, today)["freshness"])["rolled_through"]
                     == yesterday.isoformat() and f, timeout=120, message="the roll-up up to yesterday")
    assert fresh["raw_from"] == today and fresh["rolled_at"] and fresh["missing_days"] == 0
    with app.app_context():
        rolled = db.session.scalar(text("SELECT count(*) FROM analytics_day WHERE process_id = :p AND day "
                                        "BETWEEN '2020-03-10' AND '2020-03-31'"), {"p": pid})
        db.session.rollback()
    assert rolled == 22
    html = browser.get(f"/processes/{pid}/analytics").get_data(as_text=True)
    assert f"Сводные данные — по {format_ru_date(yesterday)} включительно" in html
    assert "data-missing-days" not in html


def test_days_rolled_up_while_the_clock_ran_ahead_are_read_from_the_steps(make_app, backend) -> None:
    """A clock set back (an NTP correction, a host restored) must not freeze today's figures: a roll-up of
    today made while the clock was ahead is ignored, and today is counted from the steps as they are now."""
    app = make_app()
    pid = _seed(app)

    def add_pass() -> None:
        now = utcnow()
        with app.app_context():
            instance_id = db.session.scalar(text("SELECT min(id) FROM process_instance WHERE process_id = :p"),
                                            {"p": pid})
            db.session.add(_step(instance_id, pid, "svc", "review", now - H, now, started=now - H))
            db.session.commit()

    add_pass()
    today = today_moscow()
    if backend.kind == "postgres":  # SQLite computes from the steps: it has no roll-ups to mistrust
        assert catch_up(backend.services.runtime.db, pid, today=today + timedelta(days=3)) > 0  # today rolled up
    add_pass()
    client, token = client_from(app), _token(app, "analyst")
    figures = _figures(client, token, pid, today.isoformat(), today.isoformat())
    assert {e["element"]: e["passes"] for e in figures["elements"]} == {"svc": 2}
    assert backend.kind != "postgres" or figures["freshness"]["raw_from"] == today.isoformat()


def test_only_supervisors_admins_and_analysts(make_app) -> None:
    app = make_app()
    pid = _seed(app)
    for role, status in (("citizen", 403), ("operator", 403), ("appeals", 403), ("supervisor", 200),
                         ("admin", 200), ("analyst", 200)):
        client = client_from(app)
        login(client, add_user(app, role))
        for path in (f"/processes/{pid}/analytics", f"/processes/{pid}/analytics.csv", "/analytics",
                     f"/api/v1/processes/{pid}/analytics"):
            assert client.get(path).status_code == status, (role, path)
    assert client_from(app).get(f"/api/v1/processes/{pid}/analytics").status_code == 401
