"""The web's cost of one application: SQL statements, commits and CPU ms per `POST /api/v1/applications`.

    python benchmarks/post_cost.py                    # fresh PostgreSQL db + Redis, 200 POSTs after 20 warm-up
    python benchmarks/post_cost.py --tree /path/to/other/checkout   # the same figures for another commit

The real app (`web.app:create_app`) runs in this process on a fresh database migrated and deployed
through the CLI with the product's workflows/, and takes the POSTs through Flask's test client: no
HTTP server, no worker (the jobs the POSTs enqueue wait in Redis), so the CPU time is the web
process's own - the view, validation, the engine's start, SQLAlchemy and the driver. Statements and
commits are counted with SQLAlchemy's events on the app's engine. `--tree` puts another checkout first
on sys.path (its migrations and workflows are used too), which is how the figures before a change were
taken. Printed with the floor of the same run: commits/s of one connection and the CPU unit
(benchmarks/floor.py).
"""

from __future__ import annotations

import sys

if __package__:
    from benchmarks._tree import TREE, prepare
else:  # run as a script: benchmarks/ is sys.path[0] until _tree puts the measured tree there
    from _tree import TREE, prepare

import argparse
import os
import statistics
import time
from datetime import date
from typing import Any

from sqlalchemy import event

from benchmarks._support import Backend, cost_parser, fmt, print_table, run_benchmark
from benchmarks.floor import measure_commits, measure_cpu


def application_body(index: int) -> dict[str, Any]:
    from tests.support.registry import demo_person, demo_records

    person = demo_person("valid", index % len(demo_records("valid")))
    year = date.today().year
    return {"applicant": "individual", **person, "period": {"from": f"{year}-01-01", "to": f"{year}-12-31"}}


def citizen_token(app: Any) -> str:
    from tasks.accounts.service import AccountService
    from tasks.legal import acceptance as legal
    from web.extensions import db
    from web.legal.gate import current_catalogue

    with app.app_context():
        service = AccountService(db.session, app.config["SECRET_KEY"])
        user, _ = service.create_user("bench-citizen@example.ru", "citizen", "Нагрузочный-тест-2026",
                                      last_name="Иванов", first_name="Сергей")
        legal.record(db.session, user.id, current_catalogue().all_current(), channel="page")
        db.session.commit()
        return service.issue_token(user).token


class Counter:
    def __init__(self) -> None:
        self.statements = 0
        self.commits = 0

    def statement(self, *_: Any) -> None:
        self.statements += 1

    def commit(self, *_: Any) -> None:
        self.commits += 1


def run(args: argparse.Namespace) -> dict[str, Any]:
    backend = Backend.create(embedded=False, database_url=None, redis_url=None, label="post")
    try:
        return _measure(args, backend)
    finally:
        backend.close()


def _measure(args: argparse.Namespace, backend: Backend) -> dict[str, Any]:
    env = prepare(backend, BACKOFFICE_OPERATOR_MODULES="", SECRET_KEY="post-benchmark-" * 4, RATE_LIMITS="off")
    from tasks.config import AppConfig
    from web.app import create_app
    from web.extensions import db

    app = create_app(AppConfig.from_env(env))
    token = citizen_token(app)
    client = app.test_client()
    headers = {"Authorization": f"Bearer {token}"}
    with app.app_context():
        engine = db.engine
    counter = Counter()
    event.listen(engine, "before_cursor_execute", counter.statement)
    event.listen(engine, "commit", counter.commit)
    statements, commits, cpu_ms = [], [], []
    for i in range(args.warmup + args.posts):
        body = application_body(i)
        before = (counter.statements, counter.commits, time.process_time())
        response = client.post("/api/v1/applications", json=body, headers=headers)
        spent = time.process_time() - before[2]
        if response.status_code != 201:
            raise RuntimeError(f"POST: HTTP {response.status_code} {response.get_data(as_text=True)[:300]}")
        if i >= args.warmup:
            statements.append(counter.statements - before[0])
            commits.append(counter.commits - before[1])
            cpu_ms.append(spent * 1000)
    cpu_floor = measure_cpu(50)
    commit_floor = measure_commits(backend.database_url)
    with app.app_context():
        db.engine.dispose()
    return {"tree": str(TREE), "posts": args.posts, "warmup": args.warmup,
            "statements": {"median": statistics.median(statements), "max": max(statements)},
            "commits": {"median": statistics.median(commits), "max": max(commits)},
            "cpu_ms": {"median": statistics.median(cpu_ms), "p90": statistics.quantiles(cpu_ms, n=10)[-1]},
            "floor": {"cpu_unit_ms": cpu_floor.median_ms, "commits_per_s": commit_floor.commits_per_s},
            "load": os.getloadavg()}


def print_report(r: dict[str, Any]) -> None:
    cpu_unit = r["floor"]["cpu_unit_ms"]
    print_table(f"POST /api/v1/applications, {r['posts']} after {r['warmup']} warm-up ({r['tree']})", [
        ("figure", "value"),
        ("SQL statements per POST (median / max)", f"{r['statements']['median']:g} / {r['statements']['max']}"),
        ("commits per POST (median / max)", f"{r['commits']['median']:g} / {r['commits']['max']}"),
        ("web CPU ms per POST (median / p90)", f"{fmt(r['cpu_ms']['median'])} / {fmt(r['cpu_ms']['p90'])}"),
        ("  in CPU floor units", fmt(r["cpu_ms"]["median"] / cpu_unit if cpu_unit else None, 1)),
        ("floor: CPU unit (ms)", fmt(cpu_unit, 2)),
        ("floor: commits/s, one connection", fmt(r["floor"]["commits_per_s"], 0)),
        ("load average (1/5/15 min)", " / ".join(f"{x:.2f}" for x in r["load"])),
    ])


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    return cost_parser(__doc__, "posts", 200, 20, "caches, pools").parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    return run_benchmark(parse_args(argv), run, print_report)


if __name__ == "__main__":
    sys.exit(main())
