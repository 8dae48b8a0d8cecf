"""Engine benchmark: instances/s, start->completed latency, commits and state bytes per instance.

    python benchmarks/engine.py --instances 2000 --workers 2            # fresh PostgreSQL db + Redis db 14
    python benchmarks/engine.py --instances 500 --workers 2 --embedded  # SQLite + embedded Redis
    python benchmarks/engine.py ... --json

Why it is built this way:
* The diagram (bench_three_services: three no-op service tasks) exercises exactly the asynchronous
  path every real case takes: start -> outbox row + RQ job -> worker runs the operator, applies the
  result under the instance lock and runs the next service task inline in the same job.
* Workers are real `python -m backoffice.cli worker` processes; migrations and deploy go through the CLI;
  only the driver is in-process (a thread pool calling Runtime.start on build_services(settings)).
* Completion and latency come from the database (`completed`, created_at -> ended_at), so nothing
  but the product decides when an instance is done.
* The floor (raw no-op RQ jobs/s, raw single-row commits/s) is measured in the same run on the same
  services, so the engine's figures can be read as a fraction of what the hardware allows; the RQ floor
  before and after the engine's phases, the fraction taken of their mean.
"""

from __future__ import annotations

import sys
from pathlib import Path

_HERE = Path(__file__).resolve().parent
if sys.path and Path(sys.path[0] or ".").resolve() == _HERE:
    # Run as a script, this file's directory comes first on sys.path and `engine.py` would shadow
    # the product's `engine` package; the repository root is what the product expects instead.
    sys.path[0] = str(_HERE.parent)

import argparse  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import platform  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402
from concurrent.futures import ThreadPoolExecutor  # noqa: E402
from dataclasses import asdict, dataclass, field  # noqa: E402
from datetime import UTC, datetime, timedelta  # noqa: E402
from typing import Any  # noqa: E402

from sqlalchemy import Engine, select, text  # noqa: E402

from benchmarks import floor  # noqa: E402
from benchmarks._support import (  # noqa: E402
    WORKFLOWS,
    Backend,
    CpuMeter,
    add_backend_arguments,
    backend_from_args,
    check_backend_arguments,
    fmt,
    install_signal_cleanup,
    percentile,
    pids_named,
    print_table,
    run_benchmark,
    settled_commits,
    wait_until,
)

PROCESS_ID = "bench_three_services"
DIAGRAM = WORKFLOWS / "bench_three_services.bpmn"
TARGET_RATE = 100.0  # instances/s with 2 workers on PostgreSQL + Redis
TARGET_P95_MS = 500.0  # start->completed p95 at 50/s offered


@dataclass
class PhaseResult:
    """One measured batch of instances."""

    name: str
    instances: int
    completed: int
    wall_s: float  # first start -> last instance completed
    starts_s: float  # first start -> last Runtime.start returned (the driver's own pace)
    instances_per_s: float
    latency_ms: dict[str, float | None]  # created_at -> ended_at
    offered_rate: float | None = None
    achieved_start_rate: float | None = None
    start_lag_ms: dict[str, float | None] = field(default_factory=dict)  # scheduled -> start() began
    end_to_end_ms: dict[str, float | None] = field(default_factory=dict)  # scheduled -> ended_at


# ------------------------------------------------------------------------------------ database
def _next_xid(engine: Engine) -> int | None:
    """The next transaction id of the cluster: its advance counts write transactions (any database)."""
    if engine.dialect.name != "postgresql":
        return None
    with engine.connect() as conn:
        return int(conn.exec_driver_sql("SELECT pg_snapshot_xmax(pg_current_snapshot())::text::bigint").scalar_one())


def _aware(value: datetime | None) -> datetime | None:
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=UTC)


def _completed_count(engine: Engine, lo: int, hi: int) -> int:
    with engine.connect() as conn:
        return int(conn.execute(text("SELECT count(*) FROM process_instance WHERE id BETWEEN :lo AND :hi "
                                     "AND completed"), {"lo": lo, "hi": hi}).scalar_one())


def _timings(engine: Engine, lo: int, hi: int) -> list[tuple[int, datetime, datetime | None]]:
    from engine.models import ProcessInstance as PI  # typed columns: SQLite returns datetimes as text otherwise

    with engine.connect() as conn:
        rows = conn.execute(select(PI.id, PI.created_at, PI.ended_at).where(PI.id.between(lo, hi))).all()
    return [(r[0], _aware(r[1]), _aware(r[2])) for r in rows]


def _wait_completed(engine: Engine, ids: list[int], timeout: float) -> int:
    lo, hi, n = min(ids), max(ids), len(ids)
    deadline = time.monotonic() + timeout
    done = 0
    while time.monotonic() < deadline:
        done = _completed_count(engine, lo, hi)
        if done >= n:
            return done
        time.sleep(0.05)
    return done


def _summary(values: list[float]) -> dict[str, float | None]:
    return {
        "p50": percentile(values, 50), "p95": percentile(values, 95), "p99": percentile(values, 99),
        "max": max(values) if values else None, "mean": (sum(values) / len(values)) if values else None,
    }


def _per_instance_rows(engine: Engine, lo: int, hi: int) -> dict[str, float]:
    """Rows the engine wrote per instance (journal, outbox), RQ jobs it needed, and how many times it was
    saved and restored (engine/advances.py; zero on a build that does not count them)."""
    from engine import advances

    is_pg = engine.dialect.name == "postgresql"
    size = "octet_length(state)" if is_pg else "length(CAST(state AS BLOB))"
    params = {"lo": lo, "hi": hi}
    with engine.connect() as conn:
        n = conn.execute(text("SELECT count(*) FROM process_instance WHERE id BETWEEN :lo AND :hi"),
                         params).scalar_one()
        state = conn.execute(text(f"SELECT avg({size}), max({size}) FROM process_instance "
                                  "WHERE id BETWEEN :lo AND :hi"), params).one()
        journal = conn.execute(text("SELECT count(*) FROM journal WHERE instance_id BETWEEN :lo AND :hi"),
                               params).scalar_one()
        calls = conn.execute(text("SELECT count(*), count(DISTINCT job_id) FROM service_call "
                                  "WHERE instance_id BETWEEN :lo AND :hi"), params).one()
        counts = [advances.of(_json(p)) for p in conn.execute(
            text("SELECT projection FROM process_instance WHERE id BETWEEN :lo AND :hi"), params).scalars()]
    n = max(1, int(n))
    return {
        "state_bytes_avg": float(state[0] or 0), "state_bytes_max": float(state[1] or 0),
        "journal_rows": journal / n, "service_call_rows": calls[0] / n, "rq_jobs": calls[1] / n,
        "saves": sum(c["saves"] for c in counts) / n, "restores": sum(c["restores"] for c in counts) / n,
    }


def _json(value: Any) -> Any:
    """A JSON column read as text: parsed on SQLite, already a dict on PostgreSQL."""
    return json.loads(value) if isinstance(value, str) else value


# -------------------------------------------------------------------------------------- driver
class Driver:
    """Starts instances in-process, as the web app does, from a pool of threads."""

    def __init__(self, runtime: Any, threads: int) -> None:
        self.runtime = runtime
        self.pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="driver")

    def run(self, n: int, prefix: str, rate: float | None = None) -> tuple[datetime, float, list[int], list[float]]:
        """Start n instances (as fast as possible, or at `rate`/s); return t0, seconds, ids, start lags (s)."""
        lags: list[float] = [0.0] * n
        lock = threading.Lock()

        def one(i: int, scheduled: float) -> int:
            began = time.perf_counter()
            with lock:
                lags[i] = max(0.0, began - scheduled)
            return self.runtime.start(PROCESS_ID, {"n": i}, business_key=f"{prefix}-{i}", owner="bench").id

        t0_wall = datetime.now(UTC)
        p0 = time.perf_counter()
        futures = []
        for i in range(n):
            scheduled = p0 + (i / rate if rate else 0.0)
            if rate:
                delay = scheduled - time.perf_counter()
                if delay > 0:
                    time.sleep(delay)
            futures.append(self.pool.submit(one, i, scheduled))
        ids = [f.result() for f in futures]
        return t0_wall, time.perf_counter() - p0, ids, lags if rate else []

    def close(self) -> None:
        self.pool.shutdown(wait=True, cancel_futures=True)


def _measure(driver: Driver, engine: Engine, name: str, n: int, rate: float | None) -> PhaseResult:
    t0, starts_s, ids, lags = driver.run(n, name, rate)
    timeout = max(120.0, n / 10.0)
    done = _wait_completed(engine, ids, timeout)
    rows = _timings(engine, min(ids), max(ids))
    ended = [(iid, c, e) for iid, c, e in rows if e is not None]
    latencies = [(e - c).total_seconds() * 1000 for _, c, e in ended]
    last = max((e for _, _, e in ended), default=None)
    wall = (last - t0).total_seconds() if last else float("nan")
    result = PhaseResult(
        name=name, instances=n, completed=done, wall_s=wall, starts_s=starts_s,
        instances_per_s=(len(ended) / wall) if last and wall > 0 else 0.0, latency_ms=_summary(latencies),
    )
    if rate:
        index = {iid: i for i, iid in enumerate(ids)}
        e2e = [((e - (t0 + timedelta(seconds=index[iid] / rate))).total_seconds() * 1000)
               for iid, _, e in ended if iid in index]
        result.offered_rate = rate
        result.achieved_start_rate = n / starts_s if starts_s > 0 else None
        result.start_lag_ms = _summary([lag * 1000 for lag in lags])
        result.end_to_end_ms = _summary(e2e)
    if done < n:
        raise TimeoutError(f"{name}: only {done} of {n} instances completed within {timeout:.0f} s")
    return result


# ------------------------------------------------------------------------------------ the run
def run(args: argparse.Namespace) -> dict[str, Any]:
    install_signal_cleanup()
    report: dict[str, Any] = {
        "benchmark": "engine", "instances": args.instances, "workers": args.workers, "history": args.history,
        "operator_latency_ms": float(os.environ.get("BENCH_OPERATOR_LATENCY_MS") or 0),
        "host": {"cpus": os.cpu_count(), "python": platform.python_version(),
                 "loadavg_start": os.getloadavg()[0]},
    }
    with backend_from_args(args, "engine") as backend:
        report["backend"] = backend.describe()
        backend.cli("db", "upgrade")
        backend.cli("workflows", "deploy", str(DIAGRAM))
        backend.use_in_process()

        from engine.context import build_services
        from engine.process_tuning import tune_gc

        services = build_services(backend.settings())
        tune_gc()  # the driver stands for the web process, which gunicorn tunes the same way (backoffice/server.py)
        backend.on_close(services.database.engine.dispose)
        engine = services.database.engine

        def rq_floor(when: str) -> floor.RqFloor:  # a queue and worker names of its own each time
            return floor.measure_rq(backend.redis_url or _redis_url(services), args.workers, args.instances,
                                    backend.spawn, backend.stop, f"{backend.queue}-floor-{when}")

        # The floor is measured before the engine's phases and after them, and the fraction is taken of the
        # mean: on a shared machine its speed drifts over tens of seconds, and one floor taken after the
        # phases alone made the fraction swing with the drift (both floors are printed).
        floor_before = rq_floor("before")
        try:
            report.update(_engine_phases(args, backend, services, engine))
        except Exception:
            tail = backend.log_tail()
            if tail:
                print(tail, file=sys.stderr)
            raise
        backend.stop_all()  # the floor must not share the CPU with idle-polling engine workers

        floor_after = rq_floor("after")
        rq_jobs_per_s = (floor_before.jobs_per_s + floor_after.jobs_per_s) / 2
        commit_floor = floor.measure_commits(services.settings.database_url, args.commit_seconds)
        temp_floor = (floor.measure_commits(services.settings.database_url, min(2.0, args.commit_seconds),
                                            temporary=True) if backend.is_postgres else None)
        tp = report["throughput"]
        commits_per_s = report["commits"]["commits_per_s"]
        report["floor"] = {
            "rq_noop_jobs_per_s": rq_jobs_per_s, "rq_noop_jobs_per_s_before": floor_before.jobs_per_s,
            "rq_noop_jobs_per_s_after": floor_after.jobs_per_s, "rq_jobs": floor_after.jobs,
            "rq_failed": floor_before.failed + floor_after.failed, "rq_enqueue_s": floor_after.enqueue_seconds,
            "commits_per_s": commit_floor.commits_per_s,
            "temp_table_commits_per_s": temp_floor.commits_per_s if temp_floor else None,
        }
        report["fractions"] = {
            "instances_per_s_over_rq_jobs_per_s": tp["instances_per_s"] / rq_jobs_per_s,
            "over_rq_floor_before": tp["instances_per_s"] / floor_before.jobs_per_s,
            "over_rq_floor_after": tp["instances_per_s"] / floor_after.jobs_per_s,
            "commits_per_s_over_raw_commits_per_s": (commits_per_s / commit_floor.commits_per_s
                                                     if commits_per_s is not None else None),
        }
        report["targets"] = {
            "throughput": {"target": f">= {TARGET_RATE:.0f} instances/s", "value": tp["instances_per_s"],
                           "met": tp["instances_per_s"] >= TARGET_RATE},
            "latency_p95": {"target": f"p95 < {TARGET_P95_MS:.0f} ms at {args.rate:g}/s offered",
                            "value": report["latency"]["latency_ms"]["p95"],
                            "met": (report["latency"]["latency_ms"]["p95"] or 1e9) < TARGET_P95_MS},
        }
    return report


def _redis_url(services: Any) -> str:
    from engine.context import redis_url

    return redis_url(services.settings)


def _engine_phases(args: argparse.Namespace, backend: Backend, services: Any, engine: Engine) -> dict[str, Any]:
    from rq import Queue, Worker

    for i in range(args.workers):
        backend.spawn(f"worker-{i}", ["-m", "backoffice.cli", "worker", "--name", f"{backend.queue}-engine-{i}"])
    queue = Queue(backend.queue, connection=services.redis)
    wait_until(lambda: Worker.count(queue=queue) >= args.workers, 60, what=f"{args.workers} workers to register")

    driver = Driver(services.runtime, args.threads)
    try:
        _history(driver, engine, args.history)
        # Warm-up: imports, spec caches and connection pools of every process, excluded from the figures.
        _measure(driver, engine, "warmup", max(20, 10 * args.workers), None)

        commits_before = settled_commits(engine)
        xid_before = _next_xid(engine)
        meter = CpuMeter(lambda: _process_groups(backend, services))
        meter.start()
        throughput = _measure(driver, engine, "tp", args.instances, None)
        cpu = meter.stop()
        commits_after = settled_commits(engine)
        xid_after = _next_xid(engine)
        rows = _ids_rows(engine, "tp")

        latency = _measure(driver, engine, "lat", max(1, int(args.rate * args.latency_seconds)), args.rate)
    finally:
        driver.close()

    commits = None if commits_before is None or commits_after is None else commits_after - commits_before
    xids = None if xid_before is None or xid_after is None else xid_after - xid_before
    return {
        "throughput": asdict(throughput),
        "latency": asdict(latency),
        "commits": {
            "per_instance": commits / args.instances if commits is not None else None,
            "total": commits,
            "commits_per_s": commits / throughput.wall_s if commits is not None else None,
            "write_xacts_per_instance_cluster": xids / args.instances if xids is not None else None,
        },
        "per_instance": rows,
        "cpu_ms_per_instance": {k: v * 1000 / args.instances for k, v in cpu.items()},
        "cpu_utilisation": meter.utilisation,
    }


def _history(driver: Driver, engine: Engine, instances: int) -> None:
    """Finished cases and fresh statistics before anything is measured, as a back office in service has.

    On an empty database the engine's statements are prepared while its tables hold a few rows, and the
    generic plans PostgreSQL then caches scan them whole; they are only planned again when ANALYZE updates
    the tables' statistics, which autovacuum does in service (and never where it is off, as on test
    machines). Measured that way, a lookup by id read every queued row: the figures grew with the run's
    length and swung with the moment each connection cached its plans. `--history 0` measures that start.
    """
    if instances:
        _measure(driver, engine, "history", instances, None)
    with engine.begin() as conn:  # also on SQLite, whose planner uses what ANALYZE gathers the same way
        conn.execute(text("ANALYZE"))


def _process_groups(backend: Backend, services: Any) -> dict[str, list[int]]:
    """The processes that share the machine during a phase, by role (Redis only if it runs here)."""
    try:
        redis_pid = [int(services.redis.info("server")["process_id"])]
    except Exception:
        redis_pid = []
    groups = {
        "driver (start)": [os.getpid()],
        "workers": [p.pid for p in backend.procs],
        "postgres": pids_named("postgres") if backend.is_postgres else [],
        "redis": redis_pid,
    }
    return {name: pids for name, pids in groups.items() if pids}


def _ids_rows(engine: Engine, prefix: str) -> dict[str, float]:
    with engine.connect() as conn:
        lo, hi = conn.execute(text("SELECT min(id), max(id) FROM process_instance WHERE business_key LIKE :p"),
                              {"p": f"{prefix}-%"}).one()
    return _per_instance_rows(engine, lo, hi)


# ------------------------------------------------------------------------------------- output
def print_report(r: dict[str, Any]) -> None:
    tp, lat, c, rows, fl, fr = (r["throughput"], r["latency"], r["commits"], r["per_instance"], r["floor"],
                                r["fractions"])
    b = r["backend"]
    history = f"after {r['history']} finished and ANALYZE" if r.get("history") else "on an empty database"
    title = (f"Engine benchmark: {r['instances']} instances of {PROCESS_ID} {history}, {r['workers']} worker(s), "
             f"{b['kind']} ({r['host']['cpus']} CPUs)")
    ms = "ms"

    def mark(t: dict) -> str:
        return "MET" if t["met"] else "MISSED"

    print_table(title, [
        (f"database {b['database']}; redis {b['redis']}; operator latency {fmt(r['operator_latency_ms'], 0, ms)}",),
        ("Throughput (driver: as fast as possible)",),
        ("instances/s (first start -> last completed)", fmt(tp["instances_per_s"], 1)),
        ("wall time", fmt(tp["wall_s"], 2, "s")),
        ("driver start() rate alone", fmt(tp["instances"] / tp["starts_s"], 1, "/s")),
        ("start->completed p50 / p95", f"{fmt(tp['latency_ms']['p50'], 0)} / {fmt(tp['latency_ms']['p95'], 0)} ms"),
        (f"Latency at {lat['offered_rate']:g}/s offered for {lat['instances'] / lat['offered_rate']:.0f} s",),
        ("start->completed p50 / p95 / p99", f"{fmt(lat['latency_ms']['p50'], 0)} / {fmt(lat['latency_ms']['p95'], 0)}"
                                              f" / {fmt(lat['latency_ms']['p99'], 0)} ms"),
        ("start->completed max", fmt(lat["latency_ms"]["max"], 0, ms)),
        ("achieved start rate", fmt(lat["achieved_start_rate"], 1, "/s")),
        ("driver lag behind schedule p95", fmt(lat["start_lag_ms"]["p95"], 1, ms)),
        ("scheduled->completed p50 / p95", f"{fmt(lat['end_to_end_ms']['p50'], 0)} / "
                                            f"{fmt(lat['end_to_end_ms']['p95'], 0)} ms"),
        ("Cost per instance",),
        ("DB commits (pg_stat_database.xact_commit)", fmt(c["per_instance"], 2)),
        ("write transactions (cluster xid advance)", fmt(c["write_xacts_per_instance_cluster"], 2)),
        ("stored state bytes (avg / max, completed)", f"{fmt(rows['state_bytes_avg'], 0)} / "
                                                       f"{fmt(rows['state_bytes_max'], 0)}"),
        ("journal rows", fmt(rows["journal_rows"], 2)),
        ("service_call rows / RQ jobs", f"{fmt(rows['service_call_rows'], 2)} / {fmt(rows['rq_jobs'], 2)}"),
        ("saves / restores of the workflow", f"{fmt(rows.get('saves'), 2)} / {fmt(rows.get('restores'), 2)}"),
        (f"CPU per instance in the throughput phase (machine {(r['cpu_utilisation'] or 0) * 100:.0f} % busy; "
         f"load avg {r['host']['loadavg_start']:.2f} at start)",),
        *[(f"{name}", fmt(value, 2, ms)) for name, value in r["cpu_ms_per_instance"].items()],
        ("total", fmt(sum(r["cpu_ms_per_instance"].values()), 2, ms)),
        ("Floor (same run, same services)",),
        (f"raw no-op RQ jobs/s ({r['workers']} SimpleWorker procs), mean", fmt(fl["rq_noop_jobs_per_s"], 1)),
        ("  before / after the engine's phases", f"{fmt(fl['rq_noop_jobs_per_s_before'], 1)} / "
                                                  f"{fmt(fl['rq_noop_jobs_per_s_after'], 1)}"),
        ("raw single-row commits/s (1 connection)", fmt(fl["commits_per_s"], 1)),
        ("  same into a TEMP table (not WAL-flushed)", fmt(fl["temp_table_commits_per_s"], 1)),
        ("engine instances/s / raw RQ jobs/s (mean)", fmt(fr["instances_per_s_over_rq_jobs_per_s"], 3)),
        ("  over the floor before / after alone", f"{fmt(fr['over_rq_floor_before'], 3)} / "
                                                   f"{fmt(fr['over_rq_floor_after'], 3)}"),
        ("engine commits/s used", fmt(c["commits_per_s"], 1)),
        ("engine commits/s / raw commits/s", fmt(fr["commits_per_s_over_raw_commits_per_s"], 3)),
        ("Targets",),
        (f"throughput {r['targets']['throughput']['target']}", fmt(r["targets"]["throughput"]["value"], 1),
         mark(r["targets"]["throughput"])),
        (r["targets"]["latency_p95"]["target"], fmt(r["targets"]["latency_p95"]["value"], 0, ms),
         mark(r["targets"]["latency_p95"])),
    ])


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--instances", type=int, default=2000, help="instances in the throughput phase (default 2000)")
    p.add_argument("--workers", type=int, default=2, help="`backoffice.cli worker` processes (default 2)")
    p.add_argument("--rate", type=float, default=50.0, help="offered starts/s in the latency phase (default 50)")
    p.add_argument("--latency-seconds", type=float, default=10.0, help="length of the latency phase (default 10)")
    p.add_argument("--history", type=int, default=2000,
                   help="finished instances run (and ANALYZE) before the warm-up; 0: an empty database (default 2000)")
    p.add_argument("--threads", type=int, default=8, help="driver threads calling Runtime.start (default 8)")
    p.add_argument("--commit-seconds", type=float, default=3.0, help="length of the raw-commit floor loop")
    add_backend_arguments(p)
    args = p.parse_args(argv)
    check_backend_arguments(p, args)
    if args.instances < 1 or args.workers < 1 or args.rate <= 0 or args.history < 0:
        p.error("--instances, --workers and --rate must be positive, --history not negative")
    return args


def main(argv: list[str] | None = None) -> int:
    return run_benchmark(parse_args(argv), run, print_report)


if __name__ == "__main__":
    sys.exit(main())
