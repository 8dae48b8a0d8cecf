"""Test backends: PostgreSQL + Redis server, and SQLite + embedded Redis.

Every test that takes `backend` (itself or through `product`, `make_app`, `cluster`, ...) runs on
PostgreSQL; the tests listed in EMBEDDED_TOO run on SQLite + embedded Redis as well. Each run creates
its own PostgreSQL database and claims a free Redis database number, so concurrent runs never collide.

Markers (registered in pyproject.toml): `browser` is set here on every test of a tests/test_browser_*.py
file; `slow` is set by the test files on tests that take a minute or more. `make test` runs everything
else, `make test-slow` the slow ones; CI runs both.

`make test` runs the files side by side in pytest-xdist worker processes (`--dist loadfile`: a file stays in
one process, so its tests share one running product). Each xdist worker is a test session of its own:
its own databases, Redis database number, registry service and fork server (tests/support/forkserver.py).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import psycopg
import pytest
import redis

from engine.process_tuning import tune_gc
from tests.support.accounts import make_app  # noqa: F401  (fixture)
from tests.support.backend import Backend, Cluster
from tests.support.browser import stop_chromium
from tests.support.clock import clock_back_to_now  # noqa: F401  (fixture)
from tests.support.data_change import change_product, own_registry  # noqa: F401  (fixtures)
from tests.support.product import (  # noqa: F401  (fixtures)
    STARTS,
    module_product,
    pause_module_product,
    product,
    product_with,
)
from tests.support.registry import registry_service  # noqa: F401  (fixture)
from tests.support.screenshots import screenshots, summary_lines  # noqa: F401  (fixture)
from tests.support.smtp import smtp_server  # noqa: F401  (fixture)

ROOT = Path(__file__).resolve().parent.parent
PG_ADMIN = os.environ.get("TEST_PG_ADMIN_DSN", "postgresql://postgres@127.0.0.1:5432/test")
REDIS_SERVER = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379")


def _claim_redis_db() -> tuple[int, redis.Redis]:
    """A Redis database number no other run uses: claimed by a key, and with no client connected to it.

    The claim alone is not enough: a worker left running by a killed run (its claim expired or released)
    still waits on the queue of its database number and would take this session's jobs."""
    admin = redis.Redis.from_url(f"{REDIS_SERVER}/0")
    for number in range(1, 16):
        key = f"backoffice-test:db:{number}"
        if not admin.set(key, os.getpid(), nx=True, ex=3 * 3600):
            continue
        if any(client.get("db") == str(number) for client in admin.client_list()):
            admin.delete(key)
            continue
        return number, admin
    raise RuntimeError("no free Redis database number for the tests")


# What runs on SQLite + embedded Redis too (`make run`'s default backend): the parts whose behaviour
# depends on the database's locking, dialect or transactions, or on the embedded Redis. Everything else
# runs on PostgreSQL only: the product's own behaviour over the API and pages is the same on both, and
# running it twice doubled the suite's time. A key is a test file, or file::test for one test.
EMBEDDED_TOO: dict[str, str] = {
    "test_engine_flow.py": "the engine: instances, service calls and locks on SQLite's single writer",
    "test_instance_control.py": "the engine: suspend, resume, cancel and timers moved, on both databases",
    "test_multi_instance.py": "the engine: parallel instances completed under the instance lock",
    "test_engine_settle.py": "the engine: a round's outbox rows finished in one UPDATE ... RETURNING on both dialects",
    "test_case_read_cost.py": "a case read with its status, messages and certificate: SQL per dialect",
    "test_event_gateway.py": "the engine: message and timer events raced through the scheduler",
    "test_timers.py": "timers: due times stored naive by SQLite and aware by PostgreSQL",
    "test_journal.py": "the journal: its queries and its append-only writes on both dialects",
    "test_resilience.py": "resilience: workers and Redis killed mid-job, embedded Redis restarted",
    "test_worker_lanes.py": "worker lanes: two jobs of one process at once on SQLite's single writer",
    "test_deploy.py": "deployment: versions side by side, refused deploys roll back on both databases",
    "test_migration.py": "instance migration: batch writes by a real worker, revert",
    "test_accounts.py": "views that commit: registration, activation and tokens; embedded mode's file mailbox",
    "test_sessions.py": "views that commit: sessions ended by logout and role changes",
    "test_password_reset.py": "views that commit: reset codes and the new password",
    "test_demo_seed.py": "the demo (`make run`) runs on SQLite and embedded Redis",
    "test_step_analytics.py": "analytics SQL (percentiles, weeks) written per dialect",
    "test_inbox.py::test_queue_queries_filter_sort_page_and_search": "the inbox's queue SQL on both dialects",
    "test_notifications.py::test_a_notice_another_run_recorded_first_is_retried_not_reported_as_sent":
        "two runs of one notice: SQLite lets one writer in at a time, PostgreSQL makes the second wait",
    "test_notifications.py::test_two_runs_of_one_notice_sending_at_once_mail_it_once":
        "two runs of one notice at once, under each database's locking",
    "test_notifications.py::test_a_lease_whose_run_died_is_taken_over": "delivery leases under each database's locking",
    "test_resubmit_appeal.py::test_an_attempt_recorded_by_the_web_and_the_process_at_once_is_kept_once":
        "one attempt written by two transactions at once: a different path on each database",
}
BACKENDS = ("postgres", "embedded")
# The screenshots xdist workers took (pytest_testnodedown), listed by the controller.
WORKER_SCREENSHOTS: list[str] = []


def backends_for(nodeid_file: str, name: str) -> tuple[str, ...]:
    """The backends a test runs on, by EMBEDDED_TOO."""
    if nodeid_file in EMBEDDED_TOO or f"{nodeid_file}::{name}" in EMBEDDED_TOO:
        return BACKENDS
    return ("postgres",)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "backend" in metafunc.fixturenames:
        kinds = backends_for(Path(metafunc.definition.path).name, metafunc.definition.originalname)
        metafunc.parametrize("backend", kinds, indirect=True, scope="module")


# The files that take longest (seconds summed over setup, call and teardown in `pytest --durations=0` of a
# whole run, the mean of two: about 135, 85, 60, 55, ...), longest first. They are collected first so that,
# with `--no-loadscope-reorder`, the xdist workers take them at the start and end on short files together,
# instead of one worker running a two-minute file alone at the end. The order only affects the run's length.
LONG_FILES = (
    "test_drills.py", "test_run.py", "test_certificate_stencil.py", "test_notifications.py",
    "test_studio_validation.py", "test_accounts.py", "test_resilience.py", "test_organization_process.py",
    "test_appointments.py", "test_certificate_api.py", "test_browser_studio_edit_flow.py",
    "test_browser_case_diagram.py", "test_registry_adapters.py", "test_browser_roles.py",
    "test_browser_data_change.py", "test_browser_appeal.py", "test_browser_support.py", "test_resubmit_appeal.py",
    "test_browser_task_page.py", "test_browser_no_codes.py", "test_browser_modeler.py",
    "test_data_change_service.py", "test_certificate_truth.py", "test_configuration.py", "test_operations.py",
    "test_employee_list.py", "test_browser_appointments.py", "test_browser_operations.py",
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if item.path.name.startswith("test_browser_"):
            item.add_marker(pytest.mark.browser)
    rank = {name: i for i, name in enumerate(LONG_FILES)}
    items.sort(key=lambda item: rank.get(item.path.name, len(LONG_FILES)))  # stable: a file keeps its order


def pytest_collection_finish(session: pytest.Session) -> None:
    """The product's long-running processes' garbage-collector settings (engine/process_tuning.py) for the test
    process too: it has imported the product and the test modules, and then allocates like a web process (the
    in-process app's requests, apps made per test). With CPython's defaults its collections rescanned all of
    that about every 700 allocations: 9% of a test process's CPU over five product files, 4% with these."""
    tune_gc()


def pytest_sessionstart(session: pytest.Session) -> None:
    """EMBEDDED_TOO names only files and tests that exist (a renamed test would silently lose SQLite), and
    LONG_FILES only files that exist."""
    missing = [name for name in LONG_FILES if not (Path(__file__).parent / name).exists()]
    if missing:
        raise pytest.UsageError(f"LONG_FILES in tests/conftest.py names missing files: {', '.join(missing)}")
    for key in EMBEDDED_TOO:
        path = Path(__file__).parent / key.split("::")[0]
        if not path.exists() or ("::" in key and f"def {key.split('::')[1]}(" not in path.read_text()):
            raise pytest.UsageError(f"EMBEDDED_TOO names {key}, which does not exist")


class BackendPool:
    """The session's backends, one per kind, made on first use and kept to the end of the session.

    A session-scoped parametrized fixture holds one parameter at a time: pytest tears the PostgreSQL
    backend down when an `[embedded]` test comes next and builds a new one (a new database, migrated and
    deployed again) for the next `[postgres]` test. Under pytest-xdist a worker runs whole files, each with
    tests of both kinds, so that would happen at every file; the pool keeps both alive instead."""

    def __init__(self, tmp_path_factory: pytest.TempPathFactory) -> None:
        self._tmp = tmp_path_factory
        self._backends: dict[str, Backend] = {}
        self._closers: list[Callable[[], None]] = []

    def get(self, kind: str) -> Backend:
        if kind not in self._backends:
            self._backends[kind] = self._postgres() if kind == "postgres" else self._embedded()
        return self._backends[kind]

    def _postgres(self) -> Backend:
        name = f"bo_test_{uuid.uuid4().hex[:10]}"
        with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        number, admin = _claim_redis_db()
        redis_url = f"{REDIS_SERVER}/{number}"
        redis.Redis.from_url(redis_url).flushdb()
        b = Backend("postgres", f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}", redis_url,
                    self._tmp.mktemp("data-postgres"))

        def close() -> None:
            b.close()
            redis.Redis.from_url(redis_url).flushdb()
            admin.delete(f"backoffice-test:db:{number}")
            with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

        self._closers.append(close)
        b.prepare()
        return b

    def _embedded(self) -> Backend:
        data_dir = self._tmp.mktemp("data-embedded")
        b = Backend("embedded", None, None, data_dir)

        def close() -> None:
            b.close()
            from engine.embedded_redis import stop_embedded_redis

            stop_embedded_redis(data_dir)

        self._closers.append(close)
        b.prepare()
        return b

    def close(self) -> None:
        for close in reversed(self._closers):
            close()


@pytest.fixture(scope="session")
def backend_pool(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BackendPool]:
    pool = BackendPool(tmp_path_factory)
    try:
        yield pool
    finally:
        pool.close()


@pytest.fixture(scope="module")
def backend(request: pytest.FixtureRequest, backend_pool: BackendPool) -> Backend:
    """The session's backend of the test's kind (parametrized per module by pytest_generate_tests)."""
    return backend_pool.get(request.param)


@pytest.fixture
def cluster(backend: Backend) -> Iterator[Cluster]:
    pause_module_product(backend)
    c = Cluster(backend)
    try:
        yield c
    finally:
        c.stop_all()


def pytest_sessionfinish(session: pytest.Session) -> None:
    """The process's Chromium exits (tests/support/browser.py). Under pytest-xdist each worker process runs its
    share of the files: hand its figures to the controller."""
    stop_chromium()
    workeroutput = getattr(session.config, "workeroutput", None)
    if workeroutput is not None:
        workeroutput["product_starts"] = dict(STARTS)
        workeroutput["screenshots"] = summary_lines()


class _XdistController:
    """On the xdist controller: add up what each worker reported (pytest_sessionfinish above)."""

    @staticmethod
    def pytest_testnodedown(node, error) -> None:
        output = getattr(node, "workeroutput", {})
        STARTS.update(output.get("product_starts", {}))
        WORKER_SCREENSHOTS.extend(output.get("screenshots", []))


def pytest_configure(config: pytest.Config) -> None:
    if config.pluginmanager.hasplugin("xdist"):
        config.pluginmanager.register(_XdistController(), "backoffice-xdist-controller")


def pytest_terminal_summary(terminalreporter) -> None:
    """List the screenshots the browser tests took (tests.support.screenshots), so they travel with the output;
    say how many products (worker + scheduler) the run started, the figure its duration depends on most."""
    if STARTS:
        terminalreporter.write_line("product starts: " + ", ".join(f"{k} {v}" for k, v in sorted(STARTS.items())))
    lines = summary_lines() + WORKER_SCREENSHOTS
    if lines:
        terminalreporter.section(f"screenshots ({len(lines)})")
        for line in sorted(lines):
            terminalreporter.write_line(line)
