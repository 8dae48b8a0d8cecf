"""/metrics: Prometheus text that prometheus-client's own parser reads, with figures equal to RQ's
and the database's, and readable only by administrators, the machine itself or the token holder."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import timedelta

import pytest
from prometheus_client.parser import text_string_to_metric_families
from rq import Queue
from sqlalchemy import delete, func, select

from engine.clock import utcnow
from engine.models import HumanTask, ProcessInstance, ProcessVersion, ServiceCall, Timer
from tests.support.accounts import add_user, client_from, login
from web.extensions import db
from web.security import unguarded_endpoints

TOKEN = "metrics-token-" + uuid.uuid4().hex
PROBE_PROCESS = "metrics_probe"


def scrape(client, **headers: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of /metrics by (name, sorted labels), read with prometheus-client's parser."""
    r = client.get("/metrics", headers=headers)
    assert r.status_code == 200, r.get_data(as_text=True)
    assert r.content_type.startswith("text/plain; version=")
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(r.get_data(as_text=True)) for s in family.samples}


def value(samples: dict, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def total(samples: dict, name: str) -> float:
    return sum(v for (n, _), v in samples.items() if n == name)


def local_client(app):
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = "127.0.0.1"
    return client


@pytest.fixture
def probe_rows(make_app) -> Iterator[tuple[object, str]]:
    """A case with an incident, an overdue open task of its own role and a late timer, removed afterwards
    (so no scheduler of a later test tries to fire a timer of a case without a workflow state)."""
    app = make_app(METRICS_TOKEN=TOKEN)
    role = "probe" + uuid.uuid4().hex[:8]
    now = utcnow()
    with app.app_context():
        s = db.session
        version = s.scalar(select(ProcessVersion.id).limit(1))
        inst = ProcessInstance(process_id=PROBE_PROCESS, version_id=version, business_key=f"M-{role}", state="{}",
                               projection={}, completed=False, created_at=now, updated_at=now)
        s.add(inst)
        s.flush()
        s.add_all([
            ServiceCall(instance_id=inst.id, task_guid=str(uuid.uuid4()), task_spec="call", operator=f"{role}.op",
                        params={}, status="incident", attempts=3, last_error="broken", created_at=now),
            HumanTask(instance_id=inst.id, task_guid=str(uuid.uuid4()), spec_name="review", title="Проверка",
                      role=role, created_at=now - timedelta(days=2), due_at=now - timedelta(hours=1)),
            Timer(instance_id=inst.id, task_guid=str(uuid.uuid4()), task_spec="timer",
                  due_at=now - timedelta(minutes=5)),
        ])
        s.commit()
        instance_id = inst.id
    try:
        yield app, role
    finally:
        with app.app_context():
            for model in (ServiceCall, HumanTask, Timer):
                db.session.execute(delete(model).where(model.instance_id == instance_id))
            db.session.execute(delete(ProcessInstance).where(ProcessInstance.id == instance_id))
            db.session.commit()


def test_metrics_match_rq_and_the_database(probe_rows):
    app, role = probe_rows
    redis = app.extensions["backoffice"].redis
    queue = Queue(f"metrics-test-{uuid.uuid4().hex[:8]}", connection=redis)  # no worker listens to it
    try:
        for n in range(3):
            queue.enqueue_call("tests.support.operators.noop", kwargs={"n": n})
        client = local_client(app)
        samples = scrape(client)

        assert value(samples, "backoffice_rq_queue_jobs", queue=queue.name) == queue.count == 3
        with app.app_context():
            incidents = db.session.scalar(select(func.count()).select_from(ServiceCall)
                                          .where(ServiceCall.status == "incident"))
        assert total(samples, "backoffice_incidents_open") == incidents
        assert value(samples, "backoffice_incidents_open", operator=f"{role}.op") == 1
        assert value(samples, "backoffice_user_tasks_open", role=role) == 1
        assert value(samples, "backoffice_user_tasks_overdue", role=role) == 1
        assert value(samples, "backoffice_timers_late") >= 1
        assert value(samples, "backoffice_timers_waiting") >= value(samples, "backoffice_timers_due") \
            >= value(samples, "backoffice_timers_late")
        assert value(samples, "backoffice_timers_lag_seconds") >= 5 * 60
        assert value(samples, "backoffice_cases_started_total", process=PROBE_PROCESS) == 1
        assert value(samples, "backoffice_cases_finished_total", process=PROBE_PROCESS) == 0
        assert {value(samples, "backoffice_metrics_source_up", source=s) for s in ("database", "redis", "http")} == {1}

        queue.enqueue_call("tests.support.operators.noop")
        assert value(scrape(client), "backoffice_rq_queue_jobs", queue=queue.name) == queue.count == 4
    finally:
        queue.delete(delete_jobs=True)


def test_request_durations_by_route_rule_and_status(make_app):
    app = make_app()
    client = local_client(app)
    name = "backoffice_http_request_duration_seconds_count"
    login_page = {"rule": "/login", "method": "GET", "status": "200"}
    unknown = {"rule": "<unmatched>", "method": "GET", "status": "404"}
    before = scrape(client)
    assert client.get("/login").status_code == 200
    assert client.get("/login").status_code == 200
    assert client.get(f"/no-such-page/{uuid.uuid4().hex}").status_code == 404
    after = scrape(client)
    assert value(after, name, **login_page) - value(before, name, **login_page) == 2
    assert value(after, name, **unknown) - value(before, name, **unknown) == 1
    # The buckets are cumulative and end with +Inf, which equals the count.
    inf = value(after, "backoffice_http_request_duration_seconds_bucket", **login_page, le="+Inf")
    assert inf == value(after, name, **login_page)
    assert value(after, "backoffice_http_request_duration_seconds_sum", **login_page) > 0
    # A scrape counts itself under its own rule; no raw path becomes a label.
    assert value(after, name, rule="/metrics", method="GET", status="200") >= 1
    assert not [labels for (n, labels) in after if n == name and "/no-such-page/" in dict(labels)["rule"]]


def test_who_may_read_the_metrics(make_app):
    app = make_app(METRICS_TOKEN=TOKEN)
    assert "metrics.metrics" not in unguarded_endpoints(app)
    outside = client_from(app)  # a 10.x.y.z address
    r = outside.get("/metrics")
    assert r.status_code == 401 and r.headers["WWW-Authenticate"].startswith("Bearer")
    assert "backoffice_" not in r.get_data(as_text=True)
    assert outside.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 401
    assert outside.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 200

    local = local_client(app)
    assert local.get("/metrics").status_code == 200
    # Through a proxy every request comes from loopback: a forwarded one counts as from outside.
    assert local.get("/metrics", headers={"X-Forwarded-For": "203.0.113.7"}).status_code == 401
    assert local.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 401

    citizen = client_from(app)
    login(citizen, add_user(app, "citizen"))
    assert citizen.get("/metrics").status_code == 403
    operator = client_from(app)
    login(operator, add_user(app, "operator"))
    assert operator.get("/metrics").status_code == 403
    admin = client_from(app)
    assert login(admin, add_user(app, "admin")).status_code == 302
    assert admin.get("/metrics").status_code == 200


def test_without_a_token_configured_no_bearer_opens_the_metrics(make_app):
    app = make_app()
    outside = client_from(app)
    assert outside.get("/metrics", headers={"Authorization": "Bearer "}).status_code == 401
    assert outside.get("/metrics", headers={"Authorization": "Bearer anything"}).status_code == 401
