"""Fault drills: what a failure of each part costs while applications flow at a steady rate.

    python benchmarks/drills.py                            # every drill, the issue's durations (~25 min)
    python benchmarks/drills.py --fault-seconds 60 --outage-seconds 20 --drills smtp_down,registry_down
    python benchmarks/drills.py --json

The whole product runs as in the end-to-end tests (tests/support/drills.py): a worker pool
(`backoffice worker --processes N`, N = `--workers`), the scheduler, the registry service over HTTP, an
aiosmtpd SMTP server, the app in this process serving the JSON API through Flask's test client.
PostgreSQL and Redis are a cluster and a server of the benchmark's own (initdb + pg_ctl on a free port,
redis-server without persistence), so restarting them harms nobody; the scheduler and retries run with
the product's default timings (scheduler every 0.5 s, lost jobs looked for every 5 s after 10 s of
grace, registry retries up to 60 s apart). `--rate` valid applications per second are submitted by a
few citizens throughout.

The drills, one after another on the same product:

* worker_sigkill: `--kills` times, a worker of the pool that is running a job right now (RQ's registry
  says so) is SIGKILLed, and the pool forks its replacement; the registries answer in 200 ms, so jobs
  last long enough to be hit;
* redis_restart: Redis killed and started again empty after `--outage-seconds`;
* postgres_restart: PostgreSQL stopped with `-m immediate` (a crash to its clients) and started after
  `--outage-seconds`;
* scheduler_killed: the scheduler SIGKILLed, a worker SIGKILLed mid-job while it is gone (the pool
  replaces the worker, only the scheduler re-queues its job), a new scheduler after `--outage-seconds`;
* registry_down: the registry service stopped for `--fault-seconds` (default 300), then started on
  its port again;
* smtp_down: the SMTP server stopped for `--fault-seconds`, then started on its port again;
* uploads_disk_full: the uploads folder on a tiny tmpfs filled to the last page (root only) for
  `--outage-seconds`; each tick also files a support request with a screenshot, which must be refused
  with a clear 507 while the disk is full and go through afterwards.

For each: applications submitted (answered 201), refused (an error answer, so the citizen knows),
finished (both notices, «принято» and «справка готова», arrived), lost (not finished within `--sla`
seconds after the fault ended), duplicate notices (a letter about a case received twice under different
Message-IDs), re-sent copies (the same Message-ID again, which mail clients show once) and the time
to recover (from the fault's end until every case submitted before it had finished and one submitted
after it finished too). Targets: 0 lost, 0 duplicates, recovery under 60 s.
"""

from __future__ import annotations

import sys
from pathlib import Path

_HERE = Path(__file__).resolve().parent
if sys.path and Path(sys.path[0] or ".").resolve() == _HERE:
    sys.path[0] = str(_HERE.parent)  # benchmarks/engine.py would shadow the product's `engine` package

import argparse  # noqa: E402
import os  # noqa: E402
import time  # noqa: E402
from collections import Counter  # noqa: E402
from typing import Any  # noqa: E402

from benchmarks._support import fmt, install_signal_cleanup, print_table, run_benchmark  # noqa: E402
from benchmarks.floor import measure_cpu  # noqa: E402

# The product's defaults, not the tests' quick ones: recovery is measured as deployed.
PRODUCTION_TIMINGS = {"BACKOFFICE_SCHEDULER_INTERVAL": "0.5", "BACKOFFICE_RECONCILE_INTERVAL": "5",
                      "BACKOFFICE_RECONCILE_GRACE": "10", "REGISTRY_RETRY_MAX_DELAY": "60"}
DRILLS = ("worker_sigkill", "redis_restart", "postgres_restart", "scheduler_killed", "registry_down", "smtp_down",
          "uploads_disk_full")


def _drill(name: str, args: argparse.Namespace, parts: dict[str, Any]) -> dict[str, Any]:
    from tests.support import drills as d

    product = parts["product"]
    answers: Counter = Counter()
    filed: list[tuple[str, str]] = []
    disk = None
    if name == "uploads_disk_full":
        disk = d.full_disk(product.backend.data_dir / "uploads")
        free_space = disk.__enter__()
    flow = d.Flow(product, parts["tokens"], args.rate,
                  each_tick=d.support_with_screenshot(answers, filed) if disk else None).start()
    extra: dict[str, Any] = {"load_start": os.getloadavg()[0], "floor_ms": measure_cpu(20).median_ms}
    try:
        time.sleep(args.warmup)
        started = time.monotonic()
        if name == "worker_sigkill":
            product.registry.set_faults("*:latency_ms=200")
            missed = 0
            for _ in range(args.kills):
                victim = d.busy_worker(product, timeout=30)
                if victim is None:
                    missed += 1
                    continue
                d.sigkill(victim)
            product.registry.clear_faults()
            extra["kills"] = args.kills - missed
        elif name == "redis_restart":
            parts["redis"].stop()
            time.sleep(args.outage_seconds)
            parts["redis"].start()
        elif name == "postgres_restart":
            parts["pg"].stop("immediate")
            time.sleep(args.outage_seconds)
            parts["pg"].start()
        elif name == "scheduler_killed":
            d.sigkill(d.scheduler_of(product))
            victim = d.busy_worker(product, timeout=30)
            if victim is not None:
                d.sigkill(victim)
            time.sleep(args.outage_seconds)
            d.spawn_scheduler(product)
        elif name == "registry_down":
            port = int(product.registry.url.rsplit(":", 1)[1])
            product.registry.stop()
            time.sleep(args.fault_seconds)
            product.registry.start(port=port)
        elif name == "smtp_down":
            product.smtp.stop()
            time.sleep(args.fault_seconds)
            product.smtp.start()
        elif name == "uploads_disk_full":
            time.sleep(args.outage_seconds)
            free_space()
        fault_end = time.monotonic()
        outcome = flow.outcome(fault_end, args.sla, after=args.after)
    finally:
        if disk is not None:
            disk.__exit__(None, None, None)
    extra["load_end"] = os.getloadavg()[0]
    row = {"drill": name, "fault_s": round(fault_end - started, 1), **outcome.row(), **extra}
    if disk is not None:
        row["uploads"] = {"refused_507": answers[507], "stored_201": answers[201],
                          "other": sum(v for k, v in answers.items() if k not in (201, 507))}
    if outcome.lost:
        row["lost_numbers"] = outcome.lost[:20]
    return row


def run(args: argparse.Namespace) -> dict[str, Any]:
    from tests.support import drills as d

    pg = d.OwnPostgres().init()
    own_redis = d.OwnRedis().start()
    rows = []
    try:
        with d.drill_product(pg, own_redis, args.workers, **PRODUCTION_TIMINGS) as product:
            parts = {"product": product, "pg": pg, "redis": own_redis, "tokens": d.citizens(product, 4)}
            for name in args.drills:
                print(f"drill {name} ...", file=sys.stderr, flush=True)
                rows.append(_drill(name, args, parts))
                print(f"  {rows[-1]}", file=sys.stderr, flush=True)
    finally:
        own_redis.close()
        pg.close()
    return {"benchmark": "drills", "rate": args.rate, "workers": args.workers, "sla_s": args.sla,
            "fault_seconds": args.fault_seconds, "outage_seconds": args.outage_seconds, "drills": rows}


def print_report(report: dict[str, Any]) -> None:
    rows: list[tuple[str, ...]] = [("drill", "fault s", "submitted", "refused", "finished", "lost", "dup. notices",
                                    "re-sent (same Message-ID)", "recovery s", "load start/end", "CPU floor ms")]
    for r in report["drills"]:
        rows.append((r["drill"], fmt(r["fault_s"]), fmt(r["submitted"]), fmt(r["refused"]), fmt(r["finished"]),
                     fmt(r["lost"]), fmt(r["duplicates"]), fmt(r["resent"]), fmt(r["recovery_s"]),
                     f"{r['load_start']:.1f}/{r['load_end']:.1f}", fmt(r["floor_ms"], 2)))
    print_table(f"Fault drills ({report['rate']}/s offered, a pool of {report['workers']} workers, lost = not finished "
                f"{report['sla_s']:.0f} s after the fault)", rows)
    for r in report["drills"]:
        if "kills" in r:
            print(f"  worker_sigkill: {r['kills']} workers SIGKILLed while running a job")
        if "uploads" in r:
            u = r["uploads"]
            print(f"  uploads_disk_full: screenshots refused with 507 {u['refused_507']}, stored {u['stored_201']}, "
                  f"other answers {u['other']}")


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--drills", default=",".join(DRILLS), help=f"comma-separated subset of {', '.join(DRILLS)}")
    p.add_argument("--rate", type=float, default=2.0, help="applications per second offered")
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--kills", type=int, default=50, help="worker SIGKILLs in worker_sigkill")
    p.add_argument("--fault-seconds", type=float, default=300.0, help="how long the registry / SMTP stay down")
    p.add_argument("--outage-seconds", type=float, default=30.0,
                   help="how long Redis, PostgreSQL, the scheduler, the uploads disk stay down")
    p.add_argument("--warmup", type=float, default=10.0, help="seconds of flow before each fault")
    p.add_argument("--after", type=float, default=15.0, help="seconds of flow after each fault")
    p.add_argument("--sla", type=float, default=120.0, help="a case is lost when not finished so long after the fault")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    args = p.parse_args()
    args.drills = [name.strip() for name in args.drills.split(",") if name.strip()]
    if unknown := set(args.drills) - set(DRILLS):
        p.error(f"unknown drills: {', '.join(sorted(unknown))}")
    install_signal_cleanup()
    return run_benchmark(args, run, print_report)


if __name__ == "__main__":
    sys.exit(main())
