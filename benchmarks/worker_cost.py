"""The workers' cost of one application: SQL statements, commits and CPU ms of the jobs that carry it to `ready`.

    python benchmarks/worker_cost.py                  # fresh PostgreSQL db + Redis, 100 applications after 20
    python benchmarks/worker_cost.py --tree /path/to/other/checkout   # the same figures for another commit

The product's own worker code runs in this process: the real app (`web.app:create_app`) takes the POSTs
through Flask's test client (not measured), then an RQ SimpleWorker (tasks/worker.py's class) of a worker's
services (`tasks.process.start`, as `backoffice worker` builds them) drains the queue in burst mode until
every case is ready and its notices are sent: the registry checks (the registry stand-in as a subprocess,
no added latency), the decision, the certificate (stencils built during the warm-up), the notices over SMTP
to an aiosmtpd sink in a subprocess. CPU is this process's (`time.process_time`) over the measured drain;
statements and commits are counted with SQLAlchemy's events on the worker's engine (not the "commit" of a
connection in autocommit: nothing goes to the server). `--tree` puts another checkout first on sys.path (its
migrations and workflows too), so two commits are compared with the same script. Printed with the floor of the
same run (CPU unit, one connection's commits/s).
"""

from __future__ import annotations

import sys

if __package__:
    from benchmarks._tree import TREE, prepare
else:  # run as a script: benchmarks/ is sys.path[0] until _tree puts the measured tree there
    from _tree import TREE, prepare

import argparse
import os
import socket
import subprocess
import time
from dataclasses import dataclass
from typing import Any

from sqlalchemy import event, text

from benchmarks._support import Backend, cost_parser, fmt, print_table, run_benchmark
from benchmarks.floor import measure_commits, measure_cpu
from benchmarks.post_cost import Counter, application_body, citizen_token


def run(args: argparse.Namespace) -> dict[str, Any]:
    backend = Backend.create(embedded=False, database_url=None, redis_url=None, label="worker")
    try:
        return _measure(args, backend)
    finally:
        backend.close()


def _smtp_sink(backend: Backend) -> str:
    """aiosmtpd's Sink handler in a process of its own, so its CPU is not the worker's."""
    from tests.support.registry import free_port

    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "aiosmtpd", "-n", "-c", "aiosmtpd.handlers.Sink",
                             "-l", f"127.0.0.1:{port}"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    backend.on_close(lambda: (proc.terminate(), proc.wait(timeout=10)))
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return f"smtp://127.0.0.1:{port}"
        time.sleep(0.1)
    raise RuntimeError("the SMTP sink did not start")


def _autocommit(conn: Any) -> bool:
    """A connection in autocommit (a read outside any transaction) reports a commit that sends nothing."""
    return conn.get_execution_options().get("isolation_level") == "AUTOCOMMIT"


@dataclass
class InProcessProduct:
    """The real app and a worker's services in this process, with the registry stand-in and an SMTP sink in
    processes of their own: what the in-process cost benchmarks (this one, web_cost) measure."""

    app: Any
    client: Any  # the app's Flask test client
    headers: dict[str, str]  # a citizen's bearer token
    services: Any  # what `backoffice worker` builds (tasks.process.start)
    queue: Any  # the services' RQ queue


def in_process_product(backend: Backend, secret: str) -> InProcessProduct:
    """Start the product on `backend` in this process (after `prepare`, so `--tree` decides whose code runs)."""
    from tests.support.registry import RegistryService

    registry = RegistryService().start()
    backend.on_close(registry.stop)
    env = prepare(backend, SECRET_KEY=secret * 4, RATE_LIMITS="off", REGISTRY_URL=registry.url,
                  SMTP_URL=_smtp_sink(backend), PUBLIC_BASE_URL="http://127.0.0.1:8000")
    from rq import Queue

    from tasks.config import AppConfig
    from tasks.process import start
    from web.app import create_app

    config = AppConfig.from_env(env)
    app = create_app(config)
    headers = {"Authorization": f"Bearer {citizen_token(app)}"}
    services = start(config)  # what `backoffice worker` builds; the app keeps its own
    return InProcessProduct(app, app.test_client(), headers, services,
                            Queue(services.settings.queue_name, connection=services.redis))


def _measure(args: argparse.Namespace, backend: Backend) -> dict[str, Any]:
    product = in_process_product(backend, "worker-benchmark-")
    from tasks.worker import Worker

    client, headers, services, queue = product.client, product.headers, product.services, product.queue
    counter = Counter()
    event.listen(services.database.engine, "before_cursor_execute", counter.statement)
    event.listen(services.database.engine, "commit", lambda conn: None if _autocommit(conn) else counter.commit())
    kinds: dict[str, int] = {}

    def note(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        words = " ".join(statement.split()[:6])
        kinds[words] = kinds.get(words, 0) + 1

    def post(first: int, count: int) -> None:
        for i in range(first, first + count):
            response = client.post("/api/v1/applications", json=application_body(i), headers=headers)
            if response.status_code != 201:
                raise RuntimeError(f"POST: HTTP {response.status_code} {response.get_data(as_text=True)[:300]}")

    def drain() -> tuple[int, int, float, float]:
        before = (counter.statements, counter.commits, time.process_time(), time.perf_counter())
        Worker([queue], connection=services.redis).work(burst=True, with_scheduler=False, logging_level="WARNING")
        return (counter.statements - before[0], counter.commits - before[1], time.process_time() - before[2],
                time.perf_counter() - before[3])

    post(0, args.warmup)
    drain()
    post(args.warmup, args.applications)
    if args.statements:
        event.listen(services.database.engine, "before_cursor_execute", note)
    if args.profile:  # the measured drain under cProfile, in CPU time (its CPU figure includes the profiler's)
        import cProfile

        with cProfile.Profile(time.process_time) as profile:  # CPU time, not the waits
            statements, commits, cpu_s, wall_s = drain()
        profile.dump_stats(args.profile)
    else:
        statements, commits, cpu_s, wall_s = drain()
    with services.database.engine.connect() as conn:
        ready = conn.execute(text("SELECT count(*) FROM process_instance WHERE status = 'ready'")).scalar_one()
    cpu_floor = measure_cpu(50)
    commit_floor = measure_commits(backend.database_url)
    services.database.engine.dispose()
    n = args.applications
    return {"tree": str(TREE), "applications": n, "warmup": args.warmup, "ready": ready,
            "statements": statements / n, "commits": commits / n, "cpu_ms": cpu_s * 1000 / n,
            "wall_ms": wall_s * 1000 / n,
            "statement_kinds": {k: v / n for k, v in sorted(kinds.items(), key=lambda kv: -kv[1])},
            "floor": {"cpu_unit_ms": cpu_floor.median_ms, "commits_per_s": commit_floor.commits_per_s},
            "load": os.getloadavg()}


def print_report(r: dict[str, Any]) -> None:
    cpu_unit = r["floor"]["cpu_unit_ms"]
    print_table(f"Worker jobs per application, {r['applications']} after {r['warmup']} warm-up ({r['tree']})", [
        ("figure", "value"),
        ("cases ready (warm-up included)", str(r["ready"])),
        ("SQL statements per application", fmt(r["statements"], 1)),
        ("commits per application", fmt(r["commits"], 1)),
        ("worker CPU ms per application", fmt(r["cpu_ms"])),
        ("  in CPU floor units", fmt(r["cpu_ms"] / cpu_unit if cpu_unit else None, 1)),
        ("wall ms per application (one worker, serial)", fmt(r["wall_ms"])),
        ("floor: CPU unit (ms)", fmt(cpu_unit, 2)),
        ("floor: commits/s, one connection", fmt(r["floor"]["commits_per_s"], 0)),
        ("load average (1/5/15 min)", " / ".join(f"{x:.2f}" for x in r["load"])),
    ])
    if r["statement_kinds"]:
        print_table("Statements per application by their first words", [("statement", "per application")] + [
            (words[:100], fmt(count, 2)) for words, count in r["statement_kinds"].items()])


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = cost_parser(__doc__, "applications", 100, 30, "stencils, caches, pools")
    p.add_argument("--statements", action="store_true", help="also list the statements by their first words")
    p.add_argument("--profile", metavar="FILE", help="write the measured drain's cProfile statistics to FILE")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    return run_benchmark(parse_args(argv), run, print_report)


if __name__ == "__main__":
    sys.exit(main())
