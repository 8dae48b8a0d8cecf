"""The whole product for end-to-end tests: the real app, worker and scheduler processes running the
product's own workflows/, the registry service over HTTP and a real SMTP server.

    def test_x(product):
        token = product.citizen_token()
        number = product.apply(token, scenario="valid")["number"]
        product.wait_status(number, "ready")

`product` is one running product per backend per test module (starting a worker and a scheduler
costs seconds, and most tests only need *a* product): after each test the process versions it found
are current again and the mail it received is handed out, so the next test starts as if the product
were new. A test that needs its own environment (a shorter SLA, other retry settings, ...) takes
`product_with(**env)`, which starts a product of its own; the module's product is paused meanwhile,
so that only one worker and one scheduler serve the backend's queue and database at a time.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from engine.clock import aware, offset
from engine.models import HumanTask, JournalEntry, ProcessInstance, ServiceCall, Timer
from engine.versions import current_versions, make_current
from forms.dates import today_moscow
from tasks.config import AppConfig
from tests.support import forkserver
from tests.support.accounts import PASSWORD, add_user, bearer, client_from, fresh_otp, unique_email
from tests.support.backend import Backend, Cluster, wait_for
from tests.support.clock import advance_clock, advance_clock_to
from tests.support.registry import RegistryService, demo_person
from tests.support.smtp import SmtpServer, activation_code
from web.app import create_app
from web.extensions import db

ROOT = Path(__file__).resolve().parent.parent.parent
PRODUCT_WORKFLOWS = ROOT / "workflows"
_deployed: set[str] = set()
# How many products (a worker and a scheduler each) the session started, per backend: printed at the
# end of the run (tests/conftest.py), the figure the suite's running time depends on most.
STARTS: Counter[str] = Counter()
# The module product running on each backend, paused while a test runs a product of its own.
_module_products: dict[str, Product] = {}


def this_year_period() -> dict[str, str]:
    year = today_moscow().year
    return {"from": f"{year}-01-01", "to": f"{year}-12-31"}


@dataclass
class Product:
    backend: Backend
    registry: RegistryService
    smtp: SmtpServer
    env: dict[str, str]
    cluster: Cluster
    app: Flask
    clients: list[FlaskClient] = field(default_factory=list)
    versions_at_start: dict[str, int] = field(default_factory=dict)
    worker_processes: int | None = None  # None: one plain worker process; N: a pool of N (`worker --processes N`)

    def client(self) -> FlaskClient:
        client = client_from(self.app)
        self.clients.append(client)
        return client

    def citizen_token(self, email: str | None = None, **person: Any) -> str:
        """Register with the API's registration body, read the code from the SMTP server, activate, get a token."""
        email = email or unique_email("citizen")
        client = self.client()
        body = {"email": email, "password": PASSWORD, "phone": "+79161234567", "last_name": "Иванов",
                "first_name": "Сергей", "birth_date": "1985-03-14", **person}
        r = client.post("/api/v1/auth/register", json=body)
        assert r.status_code == 201, r.get_json()
        code = activation_code(self.smtp.wait_for_mail(email))
        assert client.post("/api/v1/auth/activate", json={"email": email, "code": code}).status_code == 200
        r = client.post("/api/v1/auth/token", json={"email": email, "password": PASSWORD})
        assert r.status_code == 200, r.get_json()
        return r.get_json()["token"]

    def application_body(self, scenario: str = "valid", index: int = 0, **changes: Any) -> dict[str, Any]:
        applicant = {k: v for k, v in demo_person(scenario, index).items() if v is not None}
        return {"applicant": "individual", **applicant, "period": this_year_period(), **changes}

    def apply(self, token: str, scenario: str = "valid", index: int = 0, **changes: Any) -> dict[str, Any]:
        r = self.client().post("/api/v1/applications", json=self.application_body(scenario, index, **changes),
                               headers=bearer(token))
        assert r.status_code == 201, r.get_json()
        return r.get_json()

    def case(self, token: str, number: str) -> dict[str, Any]:
        r = self.client().get(f"/api/v1/applications/{number}", headers=bearer(token))
        assert r.status_code == 200, r.get_json()
        return r.get_json()

    def wait_status(self, token: str, number: str, *statuses: str, timeout: float = 90) -> dict[str, Any]:
        seen: list[str] = []

        def reached() -> dict[str, Any] | None:
            view = self.case(token, number)
            if not seen or seen[-1] != view["status"]:
                seen.append(view["status"])
            return view if view["status"] in statuses else None

        try:
            return wait_for(reached, timeout=timeout, interval=0.3, message=f"{number} to reach {statuses}")
        except AssertionError as exc:
            raise AssertionError(f"{exc}; statuses seen: {seen}\n{self.where_it_waits(number)}") from None

    def where_it_waits(self, business_key: str) -> str:
        """What the case's process waits on, for a failure message: its open calls, timers, tasks and last
        journal rows, and the test clock's offset (a case stuck for a minute says why at once)."""
        with self.app.app_context():
            inst = db.session.scalar(select(ProcessInstance).where(ProcessInstance.business_key == business_key))
            if inst is None:
                return f"no process instance for {business_key}"
            lines = [f"instance {inst.id} {inst.process_id} completed={inst.completed} clock offset={offset()}"]
            lines += [f"  call {c.task_spec} {c.operator} {c.status} attempts={c.attempts} dispatched="
                      f"{c.dispatched_at} next={c.next_attempt_at} error={c.last_error}"
                      for c in db.session.scalars(select(ServiceCall).where(ServiceCall.instance_id == inst.id))
                      if c.status != "done"]
            lines += [f"  timer {t.task_spec} due {t.due_at}"
                      for t in db.session.scalars(select(Timer).where(Timer.instance_id == inst.id))]
            lines += [f"  task {t.spec_name} {t.status}"
                      for t in db.session.scalars(select(HumanTask).where(HumanTask.instance_id == inst.id))]
            lines += [f"  journal {j.at} {j.event} {j.task_spec} {(j.message or '')[:120]}"
                      for j in db.session.scalars(select(JournalEntry).where(JournalEntry.instance_id == inst.id)
                                                  .order_by(JournalEntry.id.desc()).limit(8))]
            db.session.rollback()
        return "\n".join(lines)

    def staff_token(self, role: str) -> str:
        email = add_user(self.app, role)
        r = self.client().post("/api/v1/auth/token",
                               json={"email": email, "password": PASSWORD, "otp": fresh_otp(self.app, email)})
        assert r.status_code == 200, r.get_json()
        return r.get_json()["token"]

    def tasks(self, token: str, queue: str = "group", number: str | None = None) -> list[dict[str, Any]]:
        """The first page of a queue; with `number`, only that case's tasks (searched by its number, so
        the open tasks earlier tests left in the session's database cannot push it off the page)."""
        query = {"queue": queue, **({"q": number} if number else {})}
        r = self.client().get("/api/v1/tasks", query_string=query, headers=bearer(token))
        assert r.status_code == 200, r.get_json()
        items = r.get_json()["items"]
        return [t for t in items if t["case_number"] == number] if number else items

    def wait_task(self, token: str, number: str, task: str, timeout: float = 60) -> dict[str, Any]:
        def found() -> dict[str, Any] | None:
            return next((t for t in self.tasks(token, number=number) if t["task"] == task), None)

        try:
            return wait_for(found, timeout=timeout, interval=0.3, message=f"task {task} of {number}")
        except AssertionError as exc:
            raise AssertionError(f"{exc}\n{self.where_it_waits(number)}") from None

    def login(self, email: str, *, staff: bool = False) -> str:
        """A new API token of an existing user (a token lives 24 hours: after the clock passed a deadline
        of days, the one taken before has expired, as it would have for a real user)."""
        body = {"email": email, "password": PASSWORD, **({"otp": fresh_otp(self.app, email)} if staff else {})}
        r = self.client().post("/api/v1/auth/token", json=body)
        assert r.status_code == 200, r.get_json()
        return r.get_json()["token"]

    def advance_clock(self, delta: timedelta) -> datetime:
        """Let `delta` pass for the app, the worker and the scheduler at once (tests/support/clock.py)."""
        return advance_clock(delta)

    def advance_clock_past(self, moment: datetime | str) -> datetime:
        """Move the product's clock just past `moment` (an aware datetime or its ISO text, as the API gives it)."""
        return advance_clock_to(datetime.fromisoformat(moment) if isinstance(moment, str) else moment)

    def timer_due(self, business_key: str, timer: str, timeout: float = 60) -> datetime:
        """When the waiting timer `timer` (its BPMN event id) of the case or request `business_key` falls due,
        once the process has set it."""
        def due() -> datetime | None:
            with self.app.app_context():
                found = db.session.scalar(select(Timer.due_at)
                                          .join(ProcessInstance, ProcessInstance.id == Timer.instance_id)
                                          .where(ProcessInstance.business_key == business_key,
                                                 Timer.task_spec == timer))
                db.session.rollback()
            return aware(found)

        return wait_for(due, timeout=timeout, interval=0.3, message=f"timer {timer} of {business_key}")

    def pass_timer(self, business_key: str, timer: str) -> datetime:
        """Let the time pass until the timer `timer` of `business_key` is due (the scheduler then fires it)."""
        return self.advance_clock_past(self.timer_due(business_key, timer))

    def stop(self) -> None:
        self.cluster.stop_all()
        with self.app.app_context():
            restore_current_versions(self.versions_at_start)
            db.engine.dispose()

    def running(self) -> bool:
        """Whether the worker and the scheduler are up (paused, or one of them died: not)."""
        return bool(self.cluster.procs) and all(proc.poll() is None for proc in self.cluster.procs)

    def pause(self) -> None:
        """Stop the worker and the scheduler (the app stays): another product serves the backend meanwhile."""
        self.cluster.stop_all()

    def resume(self) -> None:
        """Start the worker and the scheduler again after `pause()` (or after one of them died)."""
        if self.running():
            return
        self.cluster.stop_all()
        start_processes(self.cluster, self.env, self.backend, self.worker_processes)
        STARTS[self.backend.kind] += 1

    def reset_between_tests(self) -> None:
        """What a test changed in the shared product, undone: process versions current again, its clients
        dropped, its mail handed out (so `smtp.wait_for_mail` sees only mail sent during the next test)."""
        with self.app.app_context():
            restore_current_versions(self.versions_at_start)
            db.session.remove()
        self.clients.clear()
        self.smtp.hand_out_received()


def restore_current_versions(versions: dict[str, int]) -> None:
    """Point each process back at the version that was current when the test began.

    The database lives for the whole session, so a test that deploys or rolls back a product process
    (the studio's) would otherwise leave every later test running its edited diagram."""
    for process_id, version in versions.items():
        make_current(db.session, process_id, version, actor="tests", reason="test teardown")
    db.session.commit()


def product_env(backend: Backend, registry: RegistryService, smtp: SmtpServer, **extra: str) -> dict[str, str]:
    """The product's environment; `extra` may also override these defaults (a drill runs production timings)."""
    return backend.env(**{
        "BACKOFFICE_WORKFLOWS_DIR": str(PRODUCT_WORKFLOWS), "REGISTRY_URL": registry.url, "SMTP_URL": smtp.url,
        "PUBLIC_BASE_URL": "http://127.0.0.1:8765", "REGISTRY_RETRY_MAX_DELAY": "1", "SECRET_KEY": "test-secret-key",
        **extra,
    })


def deploy_product(backend: Backend, env: dict[str, str]) -> None:
    if backend.database_url_or_dir in _deployed:
        return
    forkserver.run(["workflows", "deploy", str(PRODUCT_WORKFLOWS)], env=env, cwd=ROOT, timeout=300)
    _deployed.add(backend.database_url_or_dir)


def start_processes(cluster: Cluster, env: dict[str, str], backend: Backend,
                    worker_processes: int | None = None) -> None:
    if worker_processes is None:
        cluster.worker(**extra_env(env, backend))
    else:
        cluster.worker_pool(worker_processes, **extra_env(env, backend))
    cluster.scheduler(**extra_env(env, backend))


def start_product(backend: Backend, registry: RegistryService, smtp: SmtpServer,
                  worker_processes: int | None = None, **extra: str) -> Product:
    env = product_env(backend, registry, smtp, **extra)
    deploy_product(backend, env)
    cluster = Cluster(backend)
    start_processes(cluster, env, backend, worker_processes)
    STARTS[backend.kind] += 1
    app = create_app(AppConfig.from_env(env))
    with app.app_context():
        versions = current_versions(db.session)
        db.session.commit()
    return Product(backend, registry, smtp, env, cluster, app, versions_at_start=versions,
                   worker_processes=worker_processes)


def extra_env(env: dict[str, str], backend: Backend) -> dict[str, str]:
    base = backend.env()
    return {k: v for k, v in env.items() if base.get(k) != v}


def pause_module_product(backend: Backend) -> None:
    """Before a test starts workers of its own on `backend`: the module product's worker would otherwise
    take their jobs (with the module's environment) and its scheduler fire their timers."""
    shared = _module_products.get(backend.kind)
    if shared is not None:
        shared.pause()


@pytest.fixture(scope="module")
def module_product(backend: Backend, registry_service: RegistryService) -> Iterator[Product]:
    """The product the tests of one module share on one backend, with an SMTP server of its own."""
    smtp = SmtpServer().start()
    try:
        p = start_product(backend, registry_service, smtp)
        _module_products[backend.kind] = p
        try:
            yield p
        finally:
            _module_products.pop(backend.kind, None)
            p.stop()
    finally:
        smtp.stop()


@pytest.fixture
def product(module_product: Product) -> Iterator[Product]:
    """The module's running product (see the module docstring), reset after the test."""
    module_product.resume()
    try:
        yield module_product
    finally:
        module_product.reset_between_tests()


@pytest.fixture
def product_with(backend: Backend, registry_service: RegistryService,
                 smtp_server: SmtpServer) -> Iterator[Callable[..., Product]]:
    """`product_with(BACKOFFICE_SLA="operator_review=PT2S")`: the product with extra environment."""
    started: list[Product] = []
    pause_module_product(backend)

    def start(**env: str) -> Product:
        started.append(start_product(backend, registry_service, smtp_server, **env))
        return started[-1]

    try:
        yield start
    finally:
        for p in started:
            p.stop()
