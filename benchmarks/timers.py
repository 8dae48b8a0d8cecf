"""Timer benchmark: does the scheduler's cost depend on how many timers wait in the future?

    python benchmarks/timers.py                       # fresh PostgreSQL db, 1,000,000 future + 10,000 due
    python benchmarks/timers.py --future 100000 --due 2000
    python benchmarks/timers.py --embedded --future 100000 --due 2000   # SQLite

The scheduler promises (engine/scheduler.py) that each pass reads only due rows through the due_at
index. This benchmark checks that promise where it matters, with a large backlog of future timers:

* Scenario A: an empty timer table, then `--due` real instances of bench_timer whose timer falls
  due at one moment; time Scheduler.fire_due_timers() passes (in-process) until all have fired.
* Scenario B: the same after `--future` timer rows have been added far in the future.
  Creating 10^6 real instances would take hours, so these rows are inserted in bulk with SQL and
  point at one dummy instance whose state is not even loadable: if the scheduler ever picked one
  up, firing it would fail and leave a `timer_failed` journal row, which the report counts.
* Per-pass cost of an idle pass (nothing due), median of `--passes` Scheduler.run_pass() calls,
  with 0 and with `--future` rows; EXPLAIN of the exact due-timer statement the scheduler issues
  (captured from a real pass), and on PostgreSQL the table/index scan counters around each phase.

The due instances are created with fire_at = now + a margin computed from a calibration run
(instances whose timer is already past complete inside start() and leave no timer row), so they
are all still waiting when creation ends, and then all fall due together.
"""

from __future__ import annotations

import sys
from pathlib import Path

_HERE = Path(__file__).resolve().parent
if sys.path and Path(sys.path[0] or ".").resolve() == _HERE:
    sys.path[0] = str(_HERE.parent)  # the repository root, as for benchmarks/engine.py

import argparse  # noqa: E402
import os  # noqa: E402
import time  # noqa: E402
from concurrent.futures import ThreadPoolExecutor  # noqa: E402
from dataclasses import asdict, dataclass, field  # noqa: E402
from datetime import UTC, datetime, timedelta  # noqa: E402
from typing import Any  # noqa: E402

from sqlalchemy import Engine, event, select, text  # noqa: E402

from benchmarks._support import (  # noqa: E402
    WORKFLOWS,
    add_backend_arguments,
    backend_from_args,
    check_backend_arguments,
    fmt,
    install_signal_cleanup,
    median,
    percentile,
    print_table,
    run_benchmark,
    wait_until,
)

PROCESS_ID = "bench_timer"
DIAGRAM = WORKFLOWS / "bench_timer.bpmn"
FUTURE_BASE = "2090-01-01 00:00:00"  # far enough that no future row is ever due
PAST = "2000-01-01T00:00:00+00:00"


@dataclass
class FireResult:
    """Firing one scenario's due timers."""

    future_rows: int
    due_created: int
    create_s: float
    create_per_instance_ms: float
    margin_s: float
    waited_s: float
    due_rows_at_start: int
    fired: int
    completed: int
    fire_s: float  # first pass start -> end of the pass that fired the last timer
    timers_per_s: float
    passes: int
    full_pass_ms: dict[str, float | None]  # passes that handled a full batch
    per_timer_ms: float
    table_stats: dict[str, int] = field(default_factory=dict)


@dataclass
class PassCost:
    future_rows: int
    passes: int
    median_ms: float | None
    p95_ms: float | None
    max_ms: float | None
    table_stats: dict[str, int] = field(default_factory=dict)


class StatementCapture:
    """Records the due-timer SELECT exactly as the scheduler sends it, to EXPLAIN that very statement."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.statement: str | None = None
        self.params: Any = None

    def __enter__(self) -> StatementCapture:
        event.listen(self.engine, "before_cursor_execute", self._seen)
        return self

    def __exit__(self, *exc: object) -> None:
        event.remove(self.engine, "before_cursor_execute", self._seen)

    def _seen(self, conn: Any, cursor: Any, statement: str, params: Any, context: Any, many: bool) -> None:
        flat = " ".join(statement.split())
        if self.statement is None and "FROM timer" in flat and "due_at <=" in flat:
            self.statement, self.params = statement, params


def _now_params(params: Any) -> Any:
    """The captured parameters with their `now` moved to the present (the statement is re-run later)."""
    now = datetime.now(UTC)
    if isinstance(params, dict):
        return {k: (now if isinstance(v, datetime) else v) for k, v in params.items()}
    if isinstance(params, (tuple, list)):
        return tuple(now if isinstance(v, datetime) else v for v in params)
    return params


def explain(engine: Engine, capture: StatementCapture) -> list[str]:
    """EXPLAIN (ANALYZE, BUFFERS) on PostgreSQL, EXPLAIN QUERY PLAN on SQLite; rolled back (it takes locks)."""
    if capture.statement is None:
        return ["(due-timer statement not captured)"]
    is_pg = engine.dialect.name == "postgresql"
    prefix = "EXPLAIN (ANALYZE, BUFFERS) " if is_pg else "EXPLAIN QUERY PLAN "
    with engine.connect() as conn:
        rows = conn.exec_driver_sql(prefix + capture.statement, _now_params(capture.params)).all()
    if is_pg:
        return [r[0] for r in rows]
    return [str(r[-1]) for r in rows]


def timer_stats(engine: Engine) -> dict[str, int]:
    """Scan counters of the timer table and its due_at index (PostgreSQL only)."""
    if engine.dialect.name != "postgresql":
        return {}
    with engine.connect() as conn:
        conn.exec_driver_sql("SELECT pg_stat_clear_snapshot()")
        t = conn.exec_driver_sql("SELECT coalesce(seq_scan,0), coalesce(seq_tup_read,0), coalesce(idx_scan,0), "
                                 "coalesce(idx_tup_fetch,0) FROM pg_stat_user_tables WHERE relname='timer'").one()
        i = conn.exec_driver_sql("SELECT coalesce(idx_scan,0), coalesce(idx_tup_read,0) FROM pg_stat_user_indexes "
                                 "WHERE indexrelname='ix_timer_due_at'").one()
    return {"seq_scan": t[0], "seq_tup_read": t[1], "idx_scan": t[2], "idx_tup_fetch": t[3],
            "due_at_idx_scan": i[0], "due_at_idx_tup_read": i[1]}


def _stats_delta(engine: Engine, before: dict[str, int]) -> dict[str, int]:
    if not before:
        return {}
    time.sleep(1.5)  # PG 15 backends flush their counters at most once a second
    after = timer_stats(engine)
    return {k: after[k] - before[k] for k in before}


def pass_cost(scheduler: Any, engine: Engine, future_rows: int, passes: int) -> PassCost:
    """Median cost of an idle Scheduler.run_pass() (fire due timers + wake due retries, nothing due)."""
    for _ in range(5):
        scheduler.run_pass()
    before = timer_stats(engine)
    times = []
    for _ in range(passes):
        t = time.perf_counter()
        result = scheduler.run_pass()
        times.append((time.perf_counter() - t) * 1000)
        if result.timers_fired:
            raise RuntimeError("an idle pass fired timers: the future rows are due?")
    return PassCost(future_rows, passes, median(times), percentile(times, 95), max(times),
                    _stats_delta(engine, before))


def _count(engine: Engine, sql: str, **params: Any) -> int:
    with engine.connect() as conn:
        return int(conn.execute(text(sql), params).scalar_one())


def fire_scenario(services: Any, scheduler: Any, engine: Engine, args: argparse.Namespace, future_rows: int,
                  capture: StatementCapture, plans: dict[str, dict], label: str) -> FireResult:
    runtime = services.runtime
    pool = ThreadPoolExecutor(max_workers=args.threads, thread_name_prefix="create")
    try:
        def start(fire_at: str) -> int:
            return runtime.start(PROCESS_ID, {"fire_at": fire_at}, owner="bench").id

        # Calibrate creation speed with instances whose timer is already past (no timer row is left).
        calib = 100
        t = time.perf_counter()
        list(pool.map(start, [PAST] * calib))
        per_instance = (time.perf_counter() - t) / calib
        margin = per_instance * args.due * 1.3 + 5.0
        fire_at = datetime.now(UTC) + timedelta(seconds=margin)

        t = time.perf_counter()
        ids = list(pool.map(start, [fire_at.isoformat()] * args.due, chunksize=50))
        create_s = time.perf_counter() - t
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
    lo, hi = min(ids), max(ids)
    if datetime.now(UTC) >= fire_at:
        print(f"warning: creation overran the margin ({create_s:.1f} s > {margin:.1f} s); "
              "late instances fired inside start()", file=sys.stderr)
    t = time.perf_counter()
    wait_until(lambda: datetime.now(UTC) > fire_at + timedelta(milliseconds=50), margin + 60, 0.05, "timers due")
    waited = time.perf_counter() - t
    due_rows = _count(engine, "SELECT count(*) FROM timer WHERE instance_id BETWEEN :lo AND :hi", lo=lo, hi=hi)
    plans[f"{label}: {due_rows:,} due + {future_rows:,} future rows"] = {"future_rows": future_rows,
                                                                         "plan": explain(engine, capture)}

    before = timer_stats(engine)
    passes: list[tuple[int, float]] = []
    fired = 0
    t0 = time.perf_counter()
    last_end = t0
    while True:
        t = time.perf_counter()
        n = scheduler.fire_due_timers()
        end = time.perf_counter()
        if n == 0:
            break
        passes.append((n, (end - t) * 1000))
        fired += n
        last_end = end
    fire_s = last_end - t0
    stats = _stats_delta(engine, before)
    completed = _count(engine, "SELECT count(*) FROM process_instance WHERE id BETWEEN :lo AND :hi AND completed",
                       lo=lo, hi=hi)
    full = [ms for n, ms in passes if n >= scheduler.batch]
    return FireResult(
        future_rows=future_rows, due_created=len(ids), create_s=create_s, create_per_instance_ms=per_instance * 1000,
        margin_s=margin, waited_s=waited, due_rows_at_start=due_rows, fired=fired, completed=completed,
        fire_s=fire_s, timers_per_s=fired / fire_s if fire_s > 0 else 0.0, passes=len(passes),
        full_pass_ms={"median": median(full), "p95": percentile(full, 95), "max": max(full) if full else None,
                      "first5": median(full[:5]), "last5": median(full[-5:])},
        per_timer_ms=(sum(ms for _, ms in passes) / fired) if fired else 0.0, table_stats=stats,
    )


def insert_future(engine: Engine, dummy_id: int, n: int) -> float:
    """Bulk-insert n never-due timer rows pointing at the dummy instance; returns seconds incl. ANALYZE."""
    t = time.perf_counter()
    if engine.dialect.name == "postgresql":
        sql = ("INSERT INTO timer (instance_id, task_guid, task_spec, due_at) "
               "SELECT :iid, 'future-' || g, 'wait', "
               f"TIMESTAMPTZ '{FUTURE_BASE}+00' + g * INTERVAL '1 second' FROM generate_series(1, :n) AS g")
    else:
        sql = ("WITH RECURSIVE g(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM g WHERE x < :n) "
               "INSERT INTO timer (instance_id, task_guid, task_spec, due_at) "
               f"SELECT :iid, 'future-' || x, 'wait', strftime('%Y-%m-%d %H:%M:%f', '{FUTURE_BASE}', "
               "'+' || x || ' seconds') || '000' FROM g")
    with engine.begin() as conn:
        conn.execute(text(sql), {"iid": dummy_id, "n": n})
    # Statistics as a production table would have them (autovacuum would run this in the middle of scenario B).
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql("VACUUM ANALYZE timer" if engine.dialect.name == "postgresql" else "ANALYZE timer")
    return time.perf_counter() - t


def insert_dummy(services: Any) -> int:
    """The one instance all future rows belong to; its state is deliberately unloadable."""
    from engine.models import ProcessInstance, ProcessVersion

    with services.database.session() as s:
        version_id = s.scalar(select(ProcessVersion.id).where(ProcessVersion.process_id == PROCESS_ID))
        now = datetime.now(UTC)
        inst = ProcessInstance(process_id=f"{PROCESS_ID}_dummy", version_id=version_id, owner="bench", status=None,
                               completed=False, state="{}", projection={}, created_at=now, updated_at=now)
        s.add(inst)
        s.flush()
        return inst.id


def _remove_dummy(engine: Engine, dummy_id: int) -> None:
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM timer WHERE instance_id = :d"), {"d": dummy_id})
        conn.execute(text("DELETE FROM process_instance WHERE id = :d"), {"d": dummy_id})


def run(args: argparse.Namespace) -> dict[str, Any]:
    install_signal_cleanup()
    report: dict[str, Any] = {"benchmark": "timers", "future": args.future, "due": args.due,
                              "host": {"cpus": os.cpu_count(), "loadavg_start": os.getloadavg()[0]}}
    with backend_from_args(args, "timers") as backend:
        report["backend"] = backend.describe()
        backend.cli("db", "upgrade")
        backend.cli("workflows", "deploy", str(DIAGRAM))
        backend.use_in_process()

        from engine.context import build_services
        from engine.scheduler import Scheduler

        services = build_services(backend.settings())
        backend.on_close(services.database.engine.dispose)
        engine = services.database.engine
        scheduler = Scheduler(services.runtime, services.redis)
        report["batch"] = scheduler.batch
        plans: dict[str, dict] = {}
        capture = StatementCapture(engine)
        with capture:
            scheduler.fire_due_timers()

        t_all = time.perf_counter()
        existing = _count(engine, "SELECT count(*) FROM timer")  # 0 unless --database-url has timers
        idle_empty = pass_cost(scheduler, engine, existing, args.passes)
        plans[f"idle: {existing:,} rows"] = {"future_rows": existing, "plan": explain(engine, capture)}
        scenario_a = fire_scenario(services, scheduler, engine, args, existing, capture, plans, "A")

        dummy = insert_dummy(services)
        if not backend.created_db and backend.kind != "embedded":
            backend.on_close(lambda: _remove_dummy(engine, dummy))  # leave a given database as it was
        insert_s = insert_future(engine, dummy, args.future)
        idle_future = pass_cost(scheduler, engine, existing + args.future, args.passes)
        plans[f"idle: {existing + args.future:,} future rows"] = {"future_rows": existing + args.future,
                                                                 "plan": explain(engine, capture)}
        scenario_b = fire_scenario(services, scheduler, engine, args, existing + args.future, capture, plans, "B")

        future_left = _count(engine, "SELECT count(*) FROM timer WHERE instance_id = :d", d=dummy)
        failed = _count(engine, "SELECT count(*) FROM journal WHERE event = 'timer_failed'")
        report.update({
            "insert_future_s": insert_s,
            "analyze": "VACUUM ANALYZE" if engine.dialect.name == "postgresql" else "ANALYZE",
            "idle_pass": {"empty": asdict(idle_empty), "future": asdict(idle_future)},
            "scenario_a": asdict(scenario_a),
            "scenario_b": asdict(scenario_b),
            "future_rows_left_untouched": future_left,
            "timer_failed_journal_rows": failed,
            "plans": plans,
            # With a handful of rows a seq scan is cheaper and PostgreSQL rightly picks it; what
            # matters is the plan once the table holds the future backlog.
            "uses_due_at_index": all("ix_timer_due_at" in "\n".join(p["plan"]) for p in plans.values()
                                     if p["future_rows"] > 0),
            "total_s": time.perf_counter() - t_all,
        })
    return report


def print_report(r: dict[str, Any]) -> None:
    a, b = r["scenario_a"], r["scenario_b"]
    ia, ib = r["idle_pass"]["empty"], r["idle_pass"]["future"]
    head_a, head_b = f"{a['future_rows']:,} future", f"{b['future_rows']:,} future"
    be = r["backend"]
    title = (f"Timer benchmark: {r['due']:,} due timers, {r['future']:,} future rows, {be['kind']} "
             f"({r['host']['cpus']} CPUs, load avg {r['host']['loadavg_start']:.2f} at start)")

    def pair(d: dict, k1: str, k2: str, digits: int) -> str:
        return f"{fmt(d[k1], digits)} / {fmt(d[k2], digits)} ms"

    def st(d: dict, k: str) -> str:
        return fmt(d["table_stats"].get(k)) if d["table_stats"] else "n/a"

    print_table(title, [
        (f"database {be['database']}; scheduler batch {r['batch']}; bulk insert of future rows "
         f"{r['insert_future_s']:.1f} s (incl. {r['analyze']})",),
        ("", head_a, head_b),
        ("Firing the due timers (in-process Scheduler.fire_due_timers passes)",),
        ("due instances created", fmt(a["due_created"]), fmt(b["due_created"])),
        ("  creation time", fmt(a["create_s"], 1, "s"), fmt(b["create_s"], 1, "s")),
        ("timer rows due when firing started", fmt(a["due_rows_at_start"]), fmt(b["due_rows_at_start"])),
        ("fired / instances completed", f"{a['fired']:,} / {a['completed']:,}", f"{b['fired']:,} / {b['completed']:,}"),
        ("time to fire all", fmt(a["fire_s"], 2, "s"), fmt(b["fire_s"], 2, "s")),
        ("timers/s", fmt(a["timers_per_s"], 1), fmt(b["timers_per_s"], 1)),
        ("passes", fmt(a["passes"]), fmt(b["passes"])),
        ("full pass (batch) median / p95", pair(a["full_pass_ms"], "median", "p95", 0),
         pair(b["full_pass_ms"], "median", "p95", 0)),
        ("  first / last 5 full passes (median)", pair(a["full_pass_ms"], "first5", "last5", 0),
         pair(b["full_pass_ms"], "first5", "last5", 0)),
        ("per timer", fmt(a["per_timer_ms"], 2, "ms"), fmt(b["per_timer_ms"], 2, "ms")),
        ("timer seq scans during firing", st(a, "seq_scan"), st(b, "seq_scan")),
        ("due_at index tuples read during firing", st(a, "due_at_idx_tup_read"), st(b, "due_at_idx_tup_read")),
        (f"Idle pass (nothing due): Scheduler.run_pass() x {ia['passes']}",),
        ("median", fmt(ia["median_ms"], 3, "ms"), fmt(ib["median_ms"], 3, "ms")),
        ("p95 / max", pair(ia, "p95_ms", "max_ms", 3), pair(ib, "p95_ms", "max_ms", 3)),
        ("timer seq scans during idle passes", st(ia, "seq_scan"), st(ib, "seq_scan")),
        ("due_at index tuples read during idle passes", st(ia, "due_at_idx_tup_read"), st(ib, "due_at_idx_tup_read")),
        ("Checks",),
        ("future rows still in place", "", fmt(r["future_rows_left_untouched"])),
        ("timer_failed journal rows (a future row was fired)", "", fmt(r["timer_failed_journal_rows"])),
        ("due-timer query uses ix_timer_due_at (with future rows)", "", "yes" if r["uses_due_at_index"] else "NO"),
    ])
    print("\nEXPLAIN of the scheduler's due-timer statement")
    for name, entry in r["plans"].items():
        print(f"\n  [{name}]")
        for line in entry["plan"]:
            print(f"    {line}")
    print(f"\ntotal benchmark time (after setup): {r['total_s']:.0f} s")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--future", type=int, default=1_000_000, help="future timer rows (default 1,000,000)")
    p.add_argument("--due", type=int, default=10_000, help="real instances whose timer falls due (default 10,000)")
    p.add_argument("--passes", type=int, default=200, help="idle passes to time (default 200)")
    p.add_argument("--threads", type=int, default=4, help="threads creating the due instances (default 4)")
    add_backend_arguments(p, "Redis for build_services (the scheduler only needs it for retries)")
    args = p.parse_args(argv)
    check_backend_arguments(p, args)
    if args.future < 0 or args.due < 1 or args.passes < 1:
        p.error("--future must be >= 0, --due and --passes >= 1")
    return args


def main(argv: list[str] | None = None) -> int:
    return run_benchmark(parse_args(argv), run, print_report)


if __name__ == "__main__":
    sys.exit(main())
