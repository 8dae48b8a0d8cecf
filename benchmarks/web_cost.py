"""The web's cost of a citizen's journey, request by request: SQL statements, commits and CPU ms of
`POST /api/v1/applications`, `GET /api/v1/applications/{number}` and `GET .../certificate.pdf`.

    python benchmarks/web_cost.py                     # fresh PostgreSQL db + Redis, 100 cases after 20 warm-up
    python benchmarks/web_cost.py --tree /path/to/other/checkout   # the same figures for another commit
    python benchmarks/web_cost.py --profile /tmp/web.prof          # cProfile (CPU time) of the measured requests

`benchmarks/post_cost.py` measures the POST alone; this script also carries the cases to `ready` (an RQ
SimpleWorker of a worker's own services drains the queue in this process, not measured: the registry
stand-in and an SMTP sink run as subprocesses, as in `benchmarks/worker_cost.py`) and then reads each case
and downloads its certificate, as `benchmarks/portal.py`'s clients and the portal's case page do. Each
request is timed alone (`time.process_time` of this process around Flask's test client call), and its
statements and commits are counted with SQLAlchemy's events on the app's engine. `--tree` puts another
checkout first on sys.path, so two commits are compared with the same script; run both trees at the same
time and compare pairs, the machine's load moves the CPU figures by a third from run to run.
"""

from __future__ import annotations

import sys

if __package__:
    from benchmarks._tree import TREE
else:  # run as a script: benchmarks/ is sys.path[0] until _tree puts the measured tree there
    from _tree import TREE

import argparse
import contextlib
import os
import statistics
import time
from collections.abc import Callable, Iterator
from typing import Any

from sqlalchemy import event

from benchmarks._support import Backend, cost_parser, fmt, print_table, run_benchmark
from benchmarks.floor import measure_cpu
from benchmarks.post_cost import Counter, application_body
from benchmarks.worker_cost import in_process_product

REQUESTS = ("POST /applications", "GET /applications/{n}", "GET certificate.pdf")


def run(args: argparse.Namespace) -> dict[str, Any]:
    backend = Backend.create(embedded=False, database_url=None, redis_url=None, label="web")
    try:
        return _measure(args, backend)
    finally:
        backend.close()


class Meter:
    """Statements, commits and CPU ms of each measured request, by request kind."""

    def __init__(self, counter: Counter, profile: Any) -> None:
        self.counter, self.profile = counter, profile
        self.samples: dict[str, list[tuple[int, int, float]]] = {name: [] for name in REQUESTS}
        self.current: str | None = None  # the measured request running now, for `note`
        self.kinds: dict[str, dict[str, int]] = {name: {} for name in REQUESTS}

    def note(self, _conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        """A statement of the measured request running now, by its first words (`--statements`)."""
        if self.current is not None:
            words = " ".join(statement.split()[:8])[:110]
            self.kinds[self.current][words] = self.kinds[self.current].get(words, 0) + 1

    def call(self, name: str, request: Callable[[], Any], expect: int, measured: bool) -> Any:
        self.current = name if measured else None
        before = (self.counter.statements, self.counter.commits, time.process_time())
        with self.profile if (measured and self.profile is not None) else contextlib.nullcontext():
            response = request()
        spent = time.process_time() - before[2]
        self.current = None
        if response.status_code != expect:
            raise RuntimeError(f"{name}: HTTP {response.status_code} {response.get_data(as_text=True)[:300]}")
        if measured:
            self.samples[name].append((self.counter.statements - before[0], self.counter.commits - before[1],
                                       spent * 1000))
        return response

    def figures(self) -> dict[str, dict[str, float]]:
        out = {}
        for name, rows in self.samples.items():
            cpu = [r[2] for r in rows]
            out[name] = {"statements": statistics.median(r[0] for r in rows),
                         "commits": statistics.median(r[1] for r in rows),
                         "cpu_median": statistics.median(cpu), "cpu_p90": statistics.quantiles(cpu, n=10)[-1]}
        return out


@contextlib.contextmanager
def _profiled(path: str | None) -> Iterator[Any]:
    if not path:
        yield None
        return
    import cProfile

    profile = cProfile.Profile(time.process_time)  # CPU time, not the waits
    yield profile
    profile.dump_stats(path)


def _measure(args: argparse.Namespace, backend: Backend) -> dict[str, Any]:
    product = in_process_product(backend, "web-benchmark-")
    from tasks.worker import Worker
    from web.extensions import db

    app, client, headers = product.app, product.client, product.headers
    services, queue = product.services, product.queue
    with app.app_context():
        engine = db.engine
    counter = Counter()
    event.listen(engine, "before_cursor_execute", counter.statement)
    event.listen(engine, "commit", counter.commit)
    total = args.warmup + args.cases
    with _profiled(args.profile) as profile:
        meter = Meter(counter, profile)
        if args.statements:
            event.listen(engine, "before_cursor_execute", meter.note)
        numbers = [meter.call(REQUESTS[0], lambda i=i: client.post("/api/v1/applications", json=application_body(i),
                                                                   headers=headers), 201, i >= args.warmup)
                   .get_json()["number"] for i in range(total)]
        Worker([queue], connection=services.redis).work(burst=True, with_scheduler=False, logging_level="WARNING")
        for i, number in enumerate(numbers):
            for _ in range(args.reads):
                case = meter.call(REQUESTS[1], lambda n=number: client.get(f"/api/v1/applications/{n}",
                                                                          headers=headers), 200, i >= args.warmup)
            if case.get_json()["status"] != "ready":
                raise RuntimeError(f"case {number} is {case.get_json()['status']}, not ready")
            meter.call(REQUESTS[2], lambda n=number: client.get(f"/api/v1/applications/{n}/certificate.pdf",
                                                               headers=headers), 200, i >= args.warmup)
    cpu_floor = measure_cpu(50)
    services.database.engine.dispose()
    with app.app_context():
        db.engine.dispose()
    per_request = {name: args.cases * (args.reads if name == REQUESTS[1] else 1) for name in REQUESTS}
    return {"tree": str(TREE), "cases": args.cases, "warmup": args.warmup, "reads": args.reads,
            "requests": meter.figures(),
            "statement_kinds": {name: {k: v / per_request[name] for k, v in kinds.items()}
                                for name, kinds in meter.kinds.items() if kinds},
            "floor": {"cpu_unit_ms": cpu_floor.median_ms}, "load": os.getloadavg()}


def print_report(r: dict[str, Any]) -> None:
    rows: list[tuple[str, ...]] = [("request", "statements", "commits", "CPU ms median", "CPU ms p90")]
    per_case = 0.0
    for name, f in r["requests"].items():
        rows.append((name, f"{f['statements']:g}", f"{f['commits']:g}", fmt(f["cpu_median"], 2), fmt(f["cpu_p90"], 2)))
        per_case += f["cpu_median"] * (r["reads"] if name == REQUESTS[1] else 1)
    rows.append((f"a case: POST + {r['reads']} GET + PDF (medians)", "", "", fmt(per_case, 2), ""))
    rows.append(("floor: CPU unit (ms)", "", "", fmt(r["floor"]["cpu_unit_ms"], 2), ""))
    rows.append(("load average (1/5/15 min)", "", "", " / ".join(f"{x:.2f}" for x in r["load"]), ""))
    print_table(f"Web requests of a case, {r['cases']} after {r['warmup']} warm-up ({r['tree']})", rows)
    for name, kinds in r["statement_kinds"].items():
        print_table(f"{name}: statements by their first words", [("statement", "per request")] + [
            (words, fmt(count, 2)) for words, count in kinds.items()])


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = cost_parser(__doc__, "cases", 100, 20, "caches, pools, stencils")
    p.add_argument("--reads", type=int, default=1, help="GETs of each case (a client polling its status)")
    p.add_argument("--statements", action="store_true", help="also list each request's statements")
    p.add_argument("--profile", metavar="FILE", help="write the measured requests' cProfile statistics to FILE")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    return run_benchmark(parse_args(argv), run, print_report)


if __name__ == "__main__":
    sys.exit(main())
