"""Fault drills, short: applications flow at a steady rate through the whole product while one part
fails; afterwards no case is lost (each citizen got «принято» and «справка готова») and no notice
came twice. The full drills, longer and with figures, are benchmarks/drills.py.

The product runs here on a PostgreSQL cluster and a Redis server of the module's own
(tests/support/drills.py), and on its own registry service and SMTP server, so restarting or stopping
them disturbs no other test. Nearby tests, not repeated here: tests/test_resilience.py (a worker
SIGKILLed in the middle of the engine's demo job; the queue flushed under twenty waiting instances;
racing completions), tests/test_notifications.py (a mail server that answers slowly or refuses).
"""

from __future__ import annotations

import io
import time
from collections import Counter
from collections.abc import Iterator

import pytest

from tests.support.accounts import bearer
from tests.support.drills import (
    Flow,
    Outcome,
    OwnPostgres,
    OwnRedis,
    busy_worker,
    citizens,
    drill_product,
    full_disk,
    pool_workers,
    scheduler_of,
    sigkill,
    spawn_scheduler,
    support_with_screenshot,
)
from tests.support.pdf import SCAN_PDF
from tests.support.product import Product

SLA = 90.0  # seconds after the fault ends within which every case must have finished
RATE = 1.0  # applications per second


@pytest.fixture(scope="module")
def own_pg() -> Iterator[OwnPostgres]:
    pg = OwnPostgres().init()
    try:
        yield pg
    finally:
        pg.close()


@pytest.fixture(scope="module")
def own_redis() -> Iterator[OwnRedis]:
    server = OwnRedis().start()
    try:
        yield server
    finally:
        server.close()


@pytest.fixture(scope="module")
def drill(own_pg: OwnPostgres, own_redis: OwnRedis) -> Iterator[Product]:
    """One product for the module's drills (each leaves it whole: the part it broke is back)."""
    with drill_product(own_pg, own_redis) as product:
        yield product


def _flowing(product: Product, **kw) -> Flow:
    flow = Flow(product, citizens(product, 2), RATE, **kw).start()
    time.sleep(3)  # a few cases in every stage when the fault strikes
    return flow


def _nothing_lost(outcome: Outcome) -> None:
    assert outcome.submitted >= 3
    assert outcome.lost == [], f"cases not finished within {SLA:.0f} s after the fault: {outcome.lost}"
    assert outcome.duplicates == 0
    assert outcome.recovery_s is not None


def test_worker_sigkilled_mid_job(drill: Product) -> None:
    """Workers of the pool killed while they run a job: the pool forks their replacements, the reconciler
    re-queues the killed jobs."""
    flow = _flowing(drill)
    killed = []
    for _ in range(3):
        victim = busy_worker(drill)
        assert victim is not None, "no worker was running a job"
        sigkill(victim)
        killed.append(victim)
    _nothing_lost(flow.outcome(time.monotonic(), SLA))
    assert len(pool_workers(drill)) == 2 and not set(killed) & set(pool_workers(drill))


def test_redis_restarted_empty(drill: Product, own_redis: OwnRedis) -> None:
    """Down long enough that a worker's next round starts while Redis is still gone (RQ's constructor
    already talks to it): every worker lives on and takes the jobs the outbox brings back."""
    workers = pool_workers(drill)
    flow = _flowing(drill)
    own_redis.stop()
    try:
        time.sleep(8)
    finally:
        own_redis.start()  # empty: every queued job is gone, the outbox must bring them back
    _nothing_lost(flow.outcome(time.monotonic(), SLA))
    assert workers and pool_workers(drill) == workers, "a worker died of the Redis outage"


def test_postgres_restarted(drill: Product, own_pg: OwnPostgres) -> None:
    flow = _flowing(drill)
    own_pg.stop("immediate")
    try:
        time.sleep(3)
    finally:
        own_pg.start()
    outcome = flow.outcome(time.monotonic(), SLA)
    _nothing_lost(outcome)


def test_scheduler_killed_while_a_job_dies(drill: Product) -> None:
    """With the scheduler gone nothing repairs a job whose worker died; once a new one starts, it does."""
    flow = _flowing(drill)
    sigkill(scheduler_of(drill))
    try:
        victim = busy_worker(drill)
        assert victim is not None, "no worker was running a job"
        sigkill(victim)  # the pool forks a new worker; only the scheduler can re-queue the victim's job
        time.sleep(5)
    finally:
        spawn_scheduler(drill)  # the next drills need one, whatever happened here
    _nothing_lost(flow.outcome(time.monotonic(), SLA))


def test_registry_down(drill: Product) -> None:
    flow = _flowing(drill)
    port = int(drill.registry.url.rsplit(":", 1)[1])
    drill.registry.stop()
    try:
        time.sleep(5)
    finally:
        drill.registry.start(port=port)
    _nothing_lost(flow.outcome(time.monotonic(), SLA))


def test_smtp_down(drill: Product) -> None:
    flow = _flowing(drill)
    drill.smtp.stop()
    try:
        time.sleep(5)
    finally:
        drill.smtp.start()  # the same port: the notices held back go out now, each once
    _nothing_lost(flow.outcome(time.monotonic(), SLA))


def test_uploads_disk_full(drill: Product) -> None:
    """A screenshot that cannot be stored is a clear 507 that files nothing; the cases flow on, and once
    there is room again the same request goes through."""
    answers: Counter = Counter()
    filed: list[tuple[str, str]] = []
    uploads = drill.backend.data_dir / "uploads"
    with full_disk(uploads) as free_space:
        flow = _flowing(drill, each_tick=support_with_screenshot(answers, filed))
        token = flow.tokens[0]
        mine = len(drill.client().get("/api/v1/support-requests", headers=bearer(token)).get_json()["items"])
        r = drill.client().post("/api/v1/support-requests", headers=bearer(token), content_type="multipart/form-data",
                                data={"type": "technical", "text": "Не загружается страница заявления.",
                                      "screenshots": [(io.BytesIO(SCAN_PDF), "скан.pdf")]})
        assert r.status_code == 507
        assert r.get_json()["error"]["code"] == "storage_full"
        assert "закончилось место" in r.get_json()["error"]["message"]
        listed = drill.client().get("/api/v1/support-requests", headers=bearer(token)).get_json()["items"]
        assert len(listed) == mine  # nothing filed
        free_space()
        fault_end = time.monotonic()
        time.sleep(3)
        outcome = flow.outcome(fault_end, SLA)
        assert not [p for p in uploads.rglob("*") if p.name.endswith(".tmp")], "a half-written upload was left"
    _nothing_lost(outcome)
    assert answers[507] >= 1 and answers[201] >= 1 and set(answers) == {201, 507}
    for owner, number in filed:
        assert drill.client().get(f"/api/v1/support-requests/{number}", headers=bearer(owner)).status_code == 200
