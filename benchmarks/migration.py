"""Migration benchmark: how fast running cases move to another version, and back.

    python benchmarks/migration.py                        # fresh PostgreSQL db, 10,000 cases, 1 worker
    python benchmarks/migration.py --cases 2000 --embedded

Version 1 of `workflows/bench_migration.bpmn` gets `--cases` running cases: 90 % waiting at the first
user task (with a 30-day SLA timer on it), 10 % at the second. Version 2 renames the second task and adds a
script task before the end, so the first group is movable and the second is not. Then:

* dry run: `engine.migration_runs.dry_run` in-process (every case loaded, judged and moved in memory);
* migration: a run queued as the page and API do and carried out by a real `backoffice.cli worker` process,
  batches of 100 cases per transaction; cases/s = cases examined / (queued -> finished);
* revert of the same run by the worker (every moved case put back).

Cases are created in-process through Runtime.start (8 threads), which is the slow part of the setup.
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
from typing import Any  # noqa: E402

from benchmarks._support import (  # noqa: E402
    WORKFLOWS,
    add_backend_arguments,
    backend_from_args,
    check_backend_arguments,
    fmt,
    install_signal_cleanup,
    print_table,
    run_benchmark,
    wait_until,
)

PROCESS_ID = "bench_migration"
DIAGRAM = WORKFLOWS / "bench_migration.bpmn"
LANES = {"Система": "system", "Оператор": "operator"}


def _v2(text: str) -> str:
    """The changed version: «Вторая проверка» renamed (at the position of some cases), a new script ahead."""
    text = text.replace('name="Вторая проверка"', 'name="Вторая проверка, новая редакция"')
    text = text.replace('<bpmn:sequenceFlow id="f3" sourceRef="second" targetRef="finish" />',
                        '<bpmn:sequenceFlow id="f3" sourceRef="second" targetRef="note" />\n'
                        '    <bpmn:scriptTask id="note" name="Отметка новой версии">\n'
                        '      <bpmn:script>path = "v2"</bpmn:script>\n'
                        '    </bpmn:scriptTask>\n'
                        '    <bpmn:sequenceFlow id="f3b" sourceRef="note" targetRef="finish" />')
    ref = "<bpmn:flowNodeRef>finish</bpmn:flowNodeRef>"
    text = text.replace(ref, f"<bpmn:flowNodeRef>note</bpmn:flowNodeRef>\n        {ref}")
    return text.replace('"v1_done"', '"v2_done"')


def deploy(services: Any, content: bytes) -> int:
    from engine.deploy import Deployer, Source

    deployer = Deployer(services.database, services.script_env, services.settings.forms_dirs)
    return deployer.deploy([Source(DIAGRAM.name, content, WORKFLOWS)], LANES, actor="bench")[0].version


def start_cases(services: Any, count: int) -> float:
    """`count` cases; every tenth is moved on to the second task. Seconds taken."""
    from sqlalchemy import select

    from engine.models import HumanTask

    runtime = services.runtime

    def one(i: int) -> None:
        info = runtime.start(PROCESS_ID, {}, business_key=f"B-{i:06d}")
        if i % 10 == 0:
            with services.database.session() as s:
                task_id = s.scalar(select(HumanTask.id).where(HumanTask.instance_id == info.id,
                                                              HumanTask.status == "open"))
            runtime.complete_user_task(task_id, {}, "bench")

    t0 = time.perf_counter()
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(one, range(count)))
    return time.perf_counter() - t0


def wait_status(services: Any, migration_id: int, status: str, timeout: float) -> Any:
    from engine.migration_runs import get_run

    def reached() -> Any:
        with services.database.session() as s:
            run = get_run(s, migration_id)
        if run.status == "failed":
            raise RuntimeError(f"migration failed: {run.error}")
        return run if run.status == status else None

    return wait_until(reached, timeout=timeout, interval=0.2, what=f"migration {status}")


def run(args: argparse.Namespace) -> dict[str, Any]:
    install_signal_cleanup()
    report: dict[str, Any] = {"benchmark": "migration", "cases": args.cases,
                              "host": {"cpus": os.cpu_count(), "loadavg_start": os.getloadavg()[0]}}
    with backend_from_args(args, "migration") as backend:
        report["backend"] = backend.describe()
        backend.cli("db", "upgrade")
        backend.use_in_process()

        from engine import migration_runs
        from engine.context import build_services

        services = build_services(backend.settings())
        backend.on_close(services.database.engine.dispose)
        for i in range(args.workers):  # started now, so they are warm when the run is queued
            backend.spawn(f"worker-{i}", ["-m", "backoffice.cli", "worker"])
        text = DIAGRAM.read_text(encoding="utf-8")
        old = deploy(services, text.encode("utf-8"))
        report["setup_s"] = start_cases(services, args.cases)
        new = deploy(services, _v2(text).encode("utf-8"))

        t0 = time.perf_counter()
        verdicts = migration_runs.dry_run(services.runtime, PROCESS_ID, old, new, "bench")
        dry_s = time.perf_counter() - t0
        movable = sum(v.movable for v in verdicts)
        report["dry_run"] = {"cases": len(verdicts), "movable": movable, "seconds": dry_s,
                             "cases_per_s": len(verdicts) / dry_s}

        migration_id = migration_runs.create_run(services.runtime, PROCESS_ID, old, new, "bench")
        t0 = time.perf_counter()
        migration_runs.enqueue(services.runtime, services.redis, services.settings.queue_name, migration_id)
        moved = wait_status(services, migration_id, "done", args.timeout)
        move_s = time.perf_counter() - t0
        report["migration"] = {"examined": moved.processed, "migrated": moved.migrated, "blocked": moved.blocked,
                               "seconds": move_s, "cases_per_s": moved.processed / move_s,
                               "migrated_per_s": moved.migrated / move_s}

        migration_runs.request_revert(services.runtime, migration_id, "bench")
        t0 = time.perf_counter()
        migration_runs.enqueue(services.runtime, services.redis, services.settings.queue_name, migration_id)
        back = wait_status(services, migration_id, "reverted", args.timeout)
        revert_s = time.perf_counter() - t0
        report["revert"] = {"reverted": back.reverted, "kept": back.kept, "seconds": revert_s,
                            "cases_per_s": back.reverted / revert_s}
        report["host"]["loadavg_end"] = os.getloadavg()[0]
        backend.stop_all()
    return report


def print_report(r: dict[str, Any]) -> None:
    d, m, v = r["dry_run"], r["migration"], r["revert"]
    print_table(f"Migration of {r['cases']:,} running cases ({r['backend']['kind']})", [
        ("setup: cases started", fmt(r["setup_s"], 1, "s")),
        ("dry run", f"{fmt(d['cases'])} cases ({fmt(d['movable'])} movable) in {fmt(d['seconds'], 2, 's')}",
         fmt(d["cases_per_s"], 0, "cases/s")),
        ("migration (worker)", f"{fmt(m['examined'])} examined, {fmt(m['migrated'])} moved, "
                               f"{fmt(m['blocked'])} blocked in {fmt(m['seconds'], 2, 's')}",
         fmt(m["cases_per_s"], 0, "cases/s")),
        ("revert (worker)", f"{fmt(v['reverted'])} reverted, {fmt(v['kept'])} kept in {fmt(v['seconds'], 2, 's')}",
         fmt(v["cases_per_s"], 0, "cases/s")),
        ("load average start / end", f"{r['host']['loadavg_start']:.2f} / {r['host']['loadavg_end']:.2f}"),
    ])


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--cases", type=int, default=10_000)
    p.add_argument("--workers", type=int, default=1, help="worker processes (one run is one job: 1 is enough)")
    p.add_argument("--timeout", type=float, default=1800.0, help="seconds to wait for the run and the revert")
    add_backend_arguments(p)
    args = p.parse_args(argv)
    check_backend_arguments(p, args)
    return args


def main(argv: list[str] | None = None) -> int:
    return run_benchmark(parse_args(argv), run, print_report)


if __name__ == "__main__":
    sys.exit(main())
