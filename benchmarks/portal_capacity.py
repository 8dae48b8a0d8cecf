"""Capacity of the portal: A/B against another commit, and how capacity grows with workers.

    python benchmarks/portal.py --base 34e5c62                # base and this tree by turns, 2 rounds
    python benchmarks/portal.py --base HEAD --rounds 2        # sanity: the same code on both sides
    python benchmarks/portal.py --workers-scaling 1,2,3       # this tree with 1, 2 and 3 workers

Capacity is the highest offered rate (open loop, applications/s) whose p95 scheduled -> ready stays
under 3 s and whose backlog does not grow (the last third of a step's cases waits at most 1 s longer,
by the median, than the first third). A search steps the rate up by `--factor` from `--start-rate`
until a step fails, then halves the bracket geometrically until it is narrower than `--resolution`;
each step offers `--step-seconds` of load and waits until every case is ready (so steps never
overlap). A side's later rounds start at its previous capacity.

A/B (`--base COMMIT`): the commit is checked out in a temporary git worktree; both sides run at
once, each its own product (web, workers, scheduler, registry stand-in, SMTP sink, a fresh
PostgreSQL database and a redis-server of its own, so Redis's CPU is the side's), with the same
.venv: the base's processes run the base's code (cwd and PYTHONPATH), the benchmark's own process
(clients, the ready watch, the SMTP sinks) this tree's. Rounds measure the sides by turns, the order
swapped every round (base, head | head, base | ...), each round after the machine's floor (no-op RQ
jobs/s through two SimpleWorkers, single-row commits/s) and with the load average, so a change in the
machine's speed or in other people's load hits both sides alike.

CPU per application is counted per process group from /proc over the passing steps (a step counts
until its last case is ready): web (gunicorn), workers, scheduler, PostgreSQL backends of the side's
database (pg_stat_activity; the server's shared background processes are left out), the side's
redis-server = the product; the registry stand-in and the benchmark's process are printed apart.
"""

from __future__ import annotations

import argparse
import contextlib
import math
import os
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from benchmarks import floor
from benchmarks._support import (
    ROOT,
    Backend,
    CpuMeter,
    base_checkout,
    fmt,
    git,
    install_signal_cleanup,
    median,
    print_table,
)
from benchmarks.portal import (
    TARGET_P95_MS,
    Clients,
    Portal,
    ReadyWatch,
    Tracker,
    process_groups,
    register_accounts,
    run_phase,
    start_portal,
)

TARGET_CPU_RATIO = 0.5  # issue 19: CPU per application at most half the base's
TARGET_CAPACITY_RATIO = 2.0  # and capacity at least twice
PRODUCT_GROUPS = ("web (gunicorn)", "workers", "scheduler", "postgres (this database's backends)", "redis")
NET = "product total, net of idle"  # minus what the product burns with no load over the step's time
IDLE = "product idle, ms per s"
COMMITS = "database commits per application"  # pg_stat_database, not CPU: kept with the CPU figures for the table
ASIDE_GROUPS = ("registry service", "benchmark (clients, SMTP sink)")


@dataclass
class Side:
    """One running product and what measuring it needs; `rounds` collects its capacity searches."""

    name: str
    root: Path
    workers: int
    portal: Portal
    watch: ReadyWatch
    clients: Clients
    rounds: list[dict[str, Any]] = field(default_factory=list)

    @property
    def last_capacity(self) -> float | None:
        found = [r["capacity"] for r in self.rounds if r.get("capacity")]
        return found[-1] if found else None


def _check_code_root(backend: Backend) -> None:
    """The side's processes must import the product from its own checkout, not from the .venv's install."""
    # A base from before the entry points moved out of web/ has no backoffice package.
    names = ", ".join(p for p in ("backoffice", "engine", "tasks", "web") if (backend.root / p).is_dir())
    probe = f"import {names}\nprint('\\n'.join(m.__file__ for m in ({names},)))"
    out = subprocess.run([sys.executable, "-c", probe], env=backend.env(), cwd=backend.root, capture_output=True,
                         text=True, check=True).stdout.split()
    stray = [f for f in out if not Path(f).resolve().is_relative_to(backend.root.resolve())]
    if stray:
        raise RuntimeError(f"the product was not imported from {backend.root}: {stray}")


def open_side(args: argparse.Namespace, name: str, root: Path, workers: int,
              stack: contextlib.ExitStack) -> Side:
    """Start a product on a fresh database and an own redis-server, register citizens, warm it up."""
    from tests.support.drills import OwnRedis

    began = time.monotonic()
    own_redis = OwnRedis().start()
    stack.callback(own_redis.close)
    backend = Backend.create(embedded=False, database_url=None, redis_url=own_redis.url,
                             label=f"capacity-{name}", root=root)
    stack.callback(backend.close)
    _check_code_root(backend)
    try:
        portal = start_portal(args, backend, workers)
    except Exception:
        print(backend.log_tail(), file=sys.stderr)
        raise
    limits = httpx.Limits(max_connections=args.open_loop_threads + 16, keepalive_expiry=1.0)
    client = httpx.Client(base_url=portal.url, timeout=60, limits=limits)
    stack.callback(client.close)
    tracker = Tracker(client, download_threads=4)
    stack.callback(tracker.close)
    watch = ReadyWatch(portal, tracker)
    watch.start()

    def stop_watch() -> None:
        watch.stopped.set()
        watch.join(5)

    stack.callback(stop_watch)
    clients = Clients(tracker, register_accounts(portal, client, args.accounts))
    run_phase(portal, clients, watch, "warmup", args.warmup, lambda subs: clients.closed_loop(subs, 4))
    progress(f"{name}: {workers} worker(s), code of {root}, ready in {time.monotonic() - began:.0f} s")
    return Side(name, root, workers, portal, watch, clients)


# ------------------------------------------------------------------------------- the search
def run_step(side: Side, args: argparse.Namespace, rate: float) -> dict[str, Any]:
    """Offer `rate`/s for `--step-seconds`, wait for every case; passed = p95 < 3 s and no growing backlog."""
    n = max(args.min_step_applications, round(rate * args.step_seconds))
    step: dict[str, Any] = {"rate": rate, "applications": n, "loadavg_start": os.getloadavg()[0]}
    began = time.monotonic()
    try:
        fig = run_phase(side.portal, side.clients, side.watch, f"{side.name} at {rate:.2f}/s", n,
                        lambda subs: side.clients.open_loop(subs, rate, args.open_loop_threads), settle=False,
                        drain=lambda: wait_quiet(side.portal, args.drain_seconds))
    except (RuntimeError, TimeoutError) as exc:
        return {**step, "passed": False, "failed": f"{exc.__class__.__name__}: {str(exc)[:300]}",
                "seconds": time.monotonic() - began}
    p95 = fig["scheduled_to_ready_ms"]["p95"]
    growth = fig.get("backlog_growth_ms")
    step.update(p95_ms=p95, p50_ms=fig["scheduled_to_ready_ms"]["p50"], backlog_growth_ms=growth,
                cpu_ms_per_application=fig["cpu_ms_per_application"], utilisation=fig["cpu_utilisation"],
                commits_per_application=fig["commits_per_application"], loadavg_end=fig["loadavg_end"],
                queue_depth_max=fig["queue_depth"]["max"], seconds=time.monotonic() - began, phase_s=fig["phase_s"],
                passed=p95 is not None and p95 < TARGET_P95_MS and (growth is None or growth <= args.growth_ms))
    return step


def wait_quiet(portal: Portal, timeout: float) -> bool:
    """Until the RQ queue is empty and no job runs for half a second: a step's notices are sent after its
    cases are ready, and left over they would slow the next step (and charge it their CPU)."""
    from rq import Queue
    from rq.registry import StartedJobRegistry

    queue = Queue(portal.backend.queue, connection=portal.redis)
    started = StartedJobRegistry(queue=queue)
    deadline, quiet_since = time.monotonic() + timeout, None
    while time.monotonic() < deadline:
        if queue.count == 0 and started.count == 0:
            quiet_since = quiet_since or time.monotonic()
            if time.monotonic() - quiet_since >= 0.5:
                return True
        else:
            quiet_since = None
        time.sleep(0.1)
    return False


def measure_idle(side: Side, seconds: float) -> dict[str, float]:
    """CPU ms per second each process group burns with no load (timers, heartbeats, polling)."""
    meter = CpuMeter(lambda: process_groups(side.portal))
    meter.start()
    time.sleep(seconds)
    return {name: cpu * 1000 / seconds for name, cpu in meter.stop().items()}


def capacity_search(side: Side, args: argparse.Namespace, start: float, factor: float) -> dict[str, Any]:
    """Bracket the capacity by stepping `factor` up (or down), then bisect it geometrically."""
    idle = measure_idle(side, args.idle_seconds)
    lo: float | None = None
    hi: float | None = None
    rate, steps = start, []
    began = time.monotonic()
    while len(steps) < args.max_steps:
        step = run_step(side, args, rate)
        steps.append(step)
        progress(_step_line(side.name, step))
        if step["passed"]:
            lo = rate
        else:
            hi = rate
        if lo is not None and hi is not None:
            if hi / lo <= args.resolution:
                break
            rate = math.sqrt(lo * hi)
        else:
            rate = rate * factor if hi is None else rate / factor
        if rate < args.min_rate:
            break
    passing = [s for s in steps if s["passed"]] or [s for s in steps if "failed" not in s]
    return {"side": side.name, "workers": side.workers, "capacity": lo, "ceiling": hi, "steps": steps,
            "cpu_ms_per_application": _weighted_cpu(passing, idle), "idle_ms_per_s": idle,
            "seconds": time.monotonic() - began,
            "cpu_from": "passing steps" if any(s["passed"] for s in steps) else "failing steps (none passed)"}


def _weighted_cpu(steps: list[dict[str, Any]], idle: dict[str, float] | None = None) -> dict[str, float]:
    """CPU ms per application by group over `steps`, and the product's total gross and net of `idle`.

    The net figure matters in an A/B: a side that passes at higher rates spreads its idle burn over
    more applications, which would flatter its gross figure.
    """
    total = sum(s["applications"] for s in steps)
    groups: dict[str, float] = {}
    idle_share = 0.0
    for s in steps:
        for name, ms in s["cpu_ms_per_application"].items():
            groups[name] = groups.get(name, 0.0) + ms * s["applications"] / total
        if idle:
            idle_share += sum(idle.get(g, 0.0) for g in PRODUCT_GROUPS) * s.get("phase_s", 0.0) / total
    commits = [s["commits_per_application"] * s["applications"] for s in steps if s.get("commits_per_application")]
    if commits and len(commits) == len(steps):
        groups[COMMITS] = sum(commits) / total
    if groups:
        groups["product total"] = sum(groups.get(g, 0.0) for g in PRODUCT_GROUPS)
        if idle:
            groups[NET] = groups["product total"] - idle_share
            groups[IDLE] = sum(idle.get(g, 0.0) for g in PRODUCT_GROUPS)
    return groups


def _step_line(name: str, s: dict[str, Any]) -> str:
    verdict = "pass" if s["passed"] else "FAIL"
    if "failed" in s:
        return f"{name}: {s['rate']:.2f}/s x {s['applications']}: FAILED ({s['failed']})"
    cpu = _weighted_cpu([s]).get("product total")
    return (f"{name}: {s['rate']:.2f}/s x {s['applications']}: p95 {fmt(s['p95_ms'], 0)} ms, backlog growth "
            f"{fmt(s['backlog_growth_ms'], 0)} ms, product CPU {fmt(cpu, 1)} ms/app, load "
            f"{s['loadavg_start']:.1f}->{s['loadavg_end']:.1f}, {s['seconds']:.0f} s: {verdict}")


def measure_floor(side: Side, args: argparse.Namespace) -> dict[str, Any]:
    """No-op RQ jobs/s (two SimpleWorkers on the side's redis-server) and commits/s on its database, now."""
    backend = side.portal.backend
    load = os.getloadavg()[0]
    try:
        rq = floor.measure_rq(backend.redis_url or "", 2, args.floor_jobs, backend.spawn, backend.stop,
                              f"{backend.queue}-floor")
        commits = floor.measure_commits(backend.settings().database_url, args.floor_commit_seconds)
    except Exception as exc:  # the floor is context: a failed one is said, the round goes on
        return {"failed": f"{exc.__class__.__name__}: {exc}", "loadavg": load}
    return {"rq_noop_jobs_per_s": rq.jobs_per_s, "commits_per_s": commits.commits_per_s, "loadavg": load}


def _search_or_failure(side: Side, args: argparse.Namespace) -> dict[str, Any]:
    previous = side.last_capacity
    start, factor = (previous, args.refine_factor) if previous else (args.start_rate, args.factor)
    try:
        return capacity_search(side, args, start, factor)
    except Exception as exc:  # a round that failed says so; the others still count
        return {"side": side.name, "workers": side.workers, "capacity": None, "steps": [],
                "failed": f"{exc.__class__.__name__}: {exc}", "cpu_ms_per_application": {}}


# ------------------------------------------------------------------------------- the runs
def run_ab(args: argparse.Namespace) -> dict[str, Any]:
    install_signal_cleanup()
    head = git("rev-parse", "HEAD")
    dirty = bool(git("status", "--porcelain", "--untracked-files=no"))
    began, load_start = time.monotonic(), os.getloadavg()
    with base_checkout(args.base) as (checkout, base_commit), contextlib.ExitStack() as stack:
        sides = [open_side(args, "base", checkout, args.workers, stack),
                 open_side(args, "head", ROOT, args.workers, stack)]
        if args.sanity:  # this tree a second time: head-again / head shows what the method calls a difference
            sides.append(open_side(args, "head-again", ROOT, args.workers, stack))
        rounds = []
        for number in range(args.rounds or 2):
            order = sides if number % 2 == 0 else sides[::-1]
            progress(f"round {number + 1}: {', '.join(s.name for s in order)}")
            entry: dict[str, Any] = {"round": number + 1, "order": [s.name for s in order],
                                     "floor": measure_floor(sides[1], args)}
            for side in order:
                result = _search_or_failure(side, args)
                side.rounds.append(result)
                entry[side.name] = result
            rounds.append(entry)
    pairs = [("head", "base")] + ([("head-again", "head")] if args.sanity else [])
    return {"mode": "ab", "base_commit": base_commit, "head_commit": head, "head_dirty": dirty,
            "workers": args.workers, "rounds": rounds, "summary": _ab_summary(rounds, pairs),
            "config": _config(args), "cpus": os.cpu_count(), "loadavg_start": load_start,
            "loadavg_end": os.getloadavg(), "seconds": time.monotonic() - began}


def progress(message: str) -> None:
    """A line while the run goes on (the table comes at the end), with the time and the load average."""
    print(f"[{time.strftime('%H:%M:%S')} load {os.getloadavg()[0]:.1f}] {message}", file=sys.stderr, flush=True)


def run_scaling(args: argparse.Namespace) -> dict[str, Any]:
    install_signal_cleanup()
    head = git("rev-parse", "HEAD")
    began, load_start = time.monotonic(), os.getloadavg()
    results, previous = [], None
    for _ in range(args.rounds or 1):
        for workers in args.workers_scaling:
            with contextlib.ExitStack() as stack:
                try:
                    side = open_side(args, f"{workers}w", ROOT, workers, stack)
                except Exception as exc:
                    results.append({"workers": workers, "capacity": None, "failed": f"{exc}"[:500]})
                    continue
                if previous:
                    side.rounds.append({"capacity": previous})  # start near the last figure
                entry = {"floor": measure_floor(side, args), **_search_or_failure(side, args)}
                previous = entry.get("capacity") or previous
                results.append(entry)
    return {"mode": "scaling", "head_commit": head, "results": results, "config": _config(args),
            "cpus": os.cpu_count(), "loadavg_start": load_start, "loadavg_end": os.getloadavg(),
            "seconds": time.monotonic() - began}


def _config(args: argparse.Namespace) -> dict[str, Any]:
    keys = ("rounds", "idle_seconds", "drain_seconds", "step_seconds", "start_rate", "factor", "refine_factor",
            "resolution", "max_steps", "growth_ms", "accounts", "warmup", "web_threads", "web_processes",
            "registry_latency_ms")
    return {k: getattr(args, k) for k in keys}


def _ab_summary(rounds: list[dict[str, Any]], pairs: list[tuple[str, str]]) -> dict[str, Any]:
    """Medians of each side over the rounds that did not fail, and each pair's ratios (medians, and per round)."""
    def values(side: str, key: str) -> list[float]:
        out = []
        for r in rounds:
            res = r[side]
            value = res.get("capacity") if key == "capacity" else res.get("cpu_ms_per_application", {}).get(key)
            if value is not None and "failed" not in res:
                out.append(value)
        return out

    sides = sorted({name for pair in pairs for name in pair})
    keys = ("capacity", "product total", NET, IDLE, *PRODUCT_GROUPS, *ASIDE_GROUPS, COMMITS)
    medians = {side: {key: median(values(side, key)) for key in keys} for side in sides}
    every = {side: {key: values(side, key) for key in keys} for side in sides}

    def cpu(r: dict[str, Any], side: str, key: str = "product total") -> float | None:
        return r[side].get("cpu_ms_per_application", {}).get(key)

    ratios = []
    for a, b in pairs:
        ratios.append({
            "pair": f"{a} / {b}",
            "medians": {key: _ratio(medians[a][key], medians[b][key]) for key in keys},
            "per_round": [{"round": r["round"], "cpu": _ratio(cpu(r, a), cpu(r, b)),
                           "cpu_net": _ratio(cpu(r, a, NET), cpu(r, b, NET)),
                           "capacity": _ratio(r[a].get("capacity"), r[b].get("capacity"))} for r in rounds],
        })
    return {"medians": medians, "values": every, "ratios": ratios}


def _ratio(a: float | None, b: float | None) -> float | None:
    return a / b if a is not None and b else None


# ------------------------------------------------------------------------------- output
def print_report(r: dict[str, Any]) -> None:
    if r["mode"] == "scaling":
        _print_scaling(r)
    else:
        _print_ab(r)


def _floor_cell(f: dict[str, Any]) -> str:
    if "failed" in f:
        return f"floor FAILED ({f['failed'][:80]}), load {f['loadavg']:.1f}"
    return (f"floor {fmt(f['rq_noop_jobs_per_s'], 0)} no-op RQ jobs/s, {fmt(f['commits_per_s'], 0)} commits/s, "
            f"load {f['loadavg']:.1f}")


def _search_cell(res: dict[str, Any]) -> str:
    if "failed" in res:
        return f"FAILED: {res['failed'][:200]}"
    cap = res["capacity"]
    cap_text = f"{cap:.2f}/s" if cap else f"below {res['steps'][-1]['rate']:.2f}/s (no step passed)"
    ceiling = f" (failed at {res['ceiling']:.2f}/s)" if res.get("ceiling") else " (no failing step: higher)"
    cpu = res["cpu_ms_per_application"]
    return (f"capacity {cap_text}{ceiling}; product CPU {fmt(cpu.get('product total'), 1)} ms/app, "
            f"net of idle {fmt(cpu.get(NET), 1)} ({res.get('cpu_from', '')})")


def _cpu_rows(cpus: list[dict[str, float]]) -> list[tuple[str, ...]]:
    groups = (*PRODUCT_GROUPS, "product total", NET, IDLE, *ASIDE_GROUPS, COMMITS)
    return [(f"  {g}", *(fmt(c.get(g), 1) for c in cpus)) for g in groups]


def _print_ab(r: dict[str, Any]) -> None:
    s = r["summary"]
    names = list(s["medians"])
    names = [n for n in ("base", "head", "head-again") if n in names]
    rows: list[tuple[str, ...]] = [("Rounds (each side's capacity search after the floor)",)]
    for rnd in r["rounds"]:
        rows.append((f"round {rnd['round']}: {', '.join(rnd['order'])}", _floor_cell(rnd["floor"])))
        rows += [(f"  {name}", _search_cell(rnd[name])) for name in rnd["order"]]
        for pair in s["ratios"]:
            this = next(x for x in pair["per_round"] if x["round"] == rnd["round"])
            rows.append((f"  {pair['pair']} this round",
                         f"CPU {fmt(this['cpu'], 2)} (net of idle {fmt(this['cpu_net'], 2)}), "
                         f"capacity {fmt(this['capacity'], 2)}"))
    pairs = [p["pair"] for p in s["ratios"]]
    rows.append(("Medians over the rounds", *names, *pairs, "target (head / base)"))

    def row(label: str, key: str, digits: int, target: str = "") -> tuple[str, ...]:
        return (label, *(fmt(s["medians"][n][key], digits) for n in names),
                *(fmt(p["medians"][key], 2) for p in s["ratios"]), target)

    rows += [row("capacity, applications/s (p95 < 3 s)", "capacity", 2, f">= {TARGET_CAPACITY_RATIO:g}"),
             row("CPU ms per application, product", "product total", 1, f"<= {TARGET_CPU_RATIO:g}"),
             row(f"  {NET}", NET, 1, f"<= {TARGET_CPU_RATIO:g}"),
             row(f"  {IDLE}", IDLE, 1),
             *[row(f"  {g}", g, 1) for g in (*PRODUCT_GROUPS, *ASIDE_GROUPS)],
             row(COMMITS, COMMITS, 1)]
    title = (f"Portal A/B: base {r['base_commit'][:8]} vs head {r['head_commit'][:8]}{'+' if r['head_dirty'] else ''}"
             f", {r['workers']} workers each, {r['cpus']} CPUs, load {r['loadavg_start'][0]:.1f} -> "
             f"{r['loadavg_end'][0]:.1f}")
    print_table(title, rows)
    print(f"\nsteps of {r['config']['step_seconds']:g} s; total {r['seconds'] / 60:.1f} min. The machine is shared: "
          "the load average includes other people's work; the floor says what the machine gave at that time.")


def _print_scaling(r: dict[str, Any]) -> None:
    rows: list[tuple[str, ...]] = [("workers", "capacity /s", "failed at /s", "product CPU ms/app", "floor")]
    for res in r["results"]:
        if "failed" in res:
            rows.append((str(res["workers"]), "FAILED", res["failed"][:120], "", ""))
            continue
        cpu = res["cpu_ms_per_application"]
        rows.append((str(res["workers"]), fmt(res["capacity"], 2), fmt(res.get("ceiling"), 2),
                     fmt(cpu.get("product total"), 1), _floor_cell(res["floor"])))
    rows.append(("CPU ms per application by group", *(f"{res['workers']} worker(s)" for res in r["results"])))
    rows += _cpu_rows([res.get("cpu_ms_per_application", {}) for res in r["results"]])
    print_table(f"Portal capacity by worker processes, head {r['head_commit'][:8]}, {r['cpus']} CPUs, load "
                f"{r['loadavg_start'][0]:.1f} -> {r['loadavg_end'][0]:.1f}", rows)
    print(f"\ntotal {r['seconds'] / 60:.1f} min; the machine is shared (load average includes other people's work)")


def add_arguments(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("capacity (A/B and scaling)")
    g.add_argument("--base", metavar="COMMIT",
                   help="A/B: capacity and CPU per application of COMMIT and of this tree, by turns")
    g.add_argument("--sanity", action="store_true",
                   help="A/B: run this tree as a third side too (head-again / head shows the method's noise)")
    g.add_argument("--workers-scaling", metavar="N,N,...", type=lambda v: [int(x) for x in v.split(",")],
                   help="capacity of this tree with each number of worker processes, e.g. 1,2,3")
    g.add_argument("--rounds", type=int, help="capacity searches per side, by turns (A/B 2; scaling 1)")
    g.add_argument("--step-seconds", type=float, default=15.0, help="load offered per search step (15)")
    g.add_argument("--start-rate", type=float, default=3.0, help="first step's offered rate, per s (3)")
    g.add_argument("--factor", type=float, default=1.5, help="rate factor until the first failing step (1.5)")
    g.add_argument("--refine-factor", type=float, default=1.2,
                   help="the same from a side's previous capacity, in later rounds (1.2)")
    g.add_argument("--resolution", type=float, default=1.12, help="stop when failing/passing rate <= this (1.12)")
    g.add_argument("--max-steps", type=int, default=8, help="steps per search at most (8)")
    g.add_argument("--min-rate", type=float, default=0.5, help="give up below this rate (0.5/s)")
    g.add_argument("--min-step-applications", type=int, default=20, help="applications per step at least (20)")
    g.add_argument("--growth-ms", type=float, default=1000.0,
                   help="a step fails when its last third waits this much longer than its first (1000 ms)")
    g.add_argument("--drain-seconds", type=float, default=120.0,
                   help="after a step, wait at most this long for the queue to empty (120 s)")
    g.add_argument("--idle-seconds", type=float, default=5.0,
                   help="the product's CPU with no load, measured before each search (5 s)")
    g.add_argument("--floor-jobs", type=int, default=1000, help="no-op RQ jobs of each round's floor (1000)")
    g.add_argument("--floor-commit-seconds", type=float, default=2.0, help="commit loop of each floor (2 s)")
