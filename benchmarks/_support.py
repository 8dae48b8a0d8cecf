"""What both benchmarks share: a throw-away backend, the product's CLI, worker processes, cleanup.

A benchmark must measure the product as it is deployed, so migrations and deployment go through
`python -m backoffice.cli` subprocesses and workers are real `backoffice.cli worker` processes; only the driver
(which starts instances or fires timers) runs in-process, with `build_services` on the same
settings. Everything it creates (database, Redis keys, processes, temp dirs) is removed on exit,
even on Ctrl-C, because a benchmark that leaks databases or workers poisons the next run.
"""

from __future__ import annotations

import argparse
import contextlib
import math
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
import redis
from sqlalchemy import Engine

ROOT = Path(__file__).resolve().parent.parent
BENCH_DIR = ROOT / "benchmarks"
WORKFLOWS = BENCH_DIR / "workflows"
PG_ADMIN_DSN = os.environ.get("BENCH_PG_ADMIN_DSN", "postgresql://postgres@127.0.0.1:5432/test")
PG_SERVER = os.environ.get("BENCH_PG_SERVER", "postgresql+psycopg://postgres@127.0.0.1:5432")
REDIS_SERVER = os.environ.get("BENCH_REDIS_SERVER", "redis://127.0.0.1:6379")
REDIS_DB = 14
# The test suite claims Redis database numbers with these keys (tests/conftest.py); taking part in
# the same protocol keeps a benchmark's FLUSHDB from wiping a concurrently running test's queues.
REDIS_CLAIM_KEY = "backoffice-test:db:{number}"


def percentile(values: Sequence[float], pct: float) -> float | None:
    """Nearest-rank percentile (no interpolation): the value a `pct` share of samples do not exceed."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(pct / 100.0 * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]


def median(values: Sequence[float]) -> float | None:
    return statistics.median(values) if values else None


def install_signal_cleanup() -> None:
    """Turn SIGTERM into KeyboardInterrupt so `finally:` blocks drop databases and stop workers."""

    def _raise(*_: Any) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, _raise)


@dataclass
class Backend:
    """One benchmark's database + Redis + data dir, and the processes started on them."""

    kind: str  # "postgres" | "embedded" | "custom"
    database_url: str | None  # None: SQLite in data_dir
    redis_url: str | None  # None: embedded Redis in data_dir
    data_dir: Path
    queue: str
    created_db: str | None = None
    redis_claim: tuple[str, str] | None = None  # (claim key, token) in Redis db 0
    flush_redis: bool = False
    procs: list[subprocess.Popen] = field(default_factory=list)
    log_dir: Path | None = None
    root: Path = ROOT  # whose product code the CLI and the children run (an A/B's base is another checkout)
    _cleanups: list[Callable[[], None]] = field(default_factory=list)

    # --------------------------------------------------------------- creation
    @classmethod
    def create(cls, *, embedded: bool, database_url: str | None, redis_url: str | None,
               label: str, root: Path = ROOT) -> Backend:
        """Fresh PostgreSQL database + claimed Redis db (default), SQLite + embedded Redis, or given URLs."""
        token = uuid.uuid4().hex[:10]
        data_dir = Path(tempfile.mkdtemp(prefix=f"bench-{label}-"))
        queue = f"bench-{label}-{token}"
        if embedded:
            return cls("embedded", None, None, data_dir, queue, root=root)
        backend = cls("custom" if database_url else "postgres", database_url, redis_url, data_dir, queue, root=root)
        try:
            if database_url is None:
                name = f"bench_{token}"
                with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as conn:
                    conn.execute(f'CREATE DATABASE "{name}"')
                backend.created_db = name
                backend.database_url = f"{PG_SERVER}/{name}"
            if redis_url is None:
                number, claim = _claim_redis_db(token)
                backend.redis_claim = claim
                backend.redis_url = f"{REDIS_SERVER}/{number}"
                backend.flush_redis = True
                redis.Redis.from_url(backend.redis_url).flushdb()
        except BaseException:
            backend.close()
            raise
        return backend

    @property
    def is_postgres(self) -> bool:
        url = self.database_url or ""
        return url.startswith("postgres")

    def describe(self) -> dict[str, str]:
        return {
            "kind": self.kind,
            "database": _redact(self.database_url) if self.database_url else f"sqlite in {self.data_dir}",
            "redis": self.redis_url or f"embedded in {self.data_dir}",
            "queue": self.queue,
        }

    # ------------------------------------------------------------------- env
    def env(self, **extra: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
        env.update({
            "BACKOFFICE_DATA_DIR": str(self.data_dir),
            "BACKOFFICE_WORKFLOWS_DIR": str(WORKFLOWS),
            "BACKOFFICE_OPERATOR_MODULES": "benchmarks.operators",
            "BACKOFFICE_QUEUE": self.queue,
            "PYTHONPATH": str(self.root),
        })
        if self.database_url:
            env["DATABASE_URL"] = self.database_url
        if self.redis_url:
            env["REDIS_URL"] = self.redis_url
        env.update(extra)
        return env

    def use_in_process(self) -> None:
        """Point this process's environment at the backend, so the engine's settings match the workers'."""
        os.environ.clear()
        os.environ.update(self.env())

    def settings(self):  # -> engine.settings.Settings (imported lazily: sys.path is fixed by the caller)
        from tasks.config import engine_settings

        return engine_settings(self.env())

    # ------------------------------------------------------------ processes
    @property
    def cli_module(self) -> str:
        """The command-line module of the code under `root`: `backoffice.cli`, or `web.cli` in a checkout from
        before the process entry points moved out of web/ (an A/B against a base commit that old)."""
        return "backoffice.cli" if (self.root / "backoffice" / "cli.py").exists() else "web.cli"

    def cli(self, *args: str, **extra_env: str) -> str:
        """Run `python -m backoffice.cli ARGS` like an operator would; raise with its output on failure."""
        proc = subprocess.run([sys.executable, "-m", self.cli_module, *args], env=self.env(**extra_env), cwd=self.root,
                              capture_output=True, text=True, timeout=600, check=False)
        if proc.returncode != 0:
            raise RuntimeError(f"{self.cli_module} {' '.join(args)} failed ({proc.returncode}):"
                               f"\n{proc.stdout}\n{proc.stderr}")
        return proc.stdout

    def spawn(self, name: str, argv: list[str], **extra_env: str) -> subprocess.Popen:
        """Start a long-running child in its own session; its output goes to a log file, not our table."""
        if self.log_dir is None:
            self.log_dir = self.data_dir / "logs"
            self.log_dir.mkdir(parents=True, exist_ok=True)
        log = open(self.log_dir / f"{name}.log", "ab")  # noqa: SIM115 - closed with the process
        proc = subprocess.Popen([sys.executable, *argv], env=self.env(**extra_env), cwd=self.root,
                                stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        log.close()  # the child holds its own descriptor
        self.procs.append(proc)
        return proc

    def stop(self, proc: subprocess.Popen, timeout: float = 20.0) -> None:
        """SIGTERM (RQ's warm shutdown: finish the current job), then SIGKILL if it does not exit."""
        if proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    proc.kill()
                proc.wait()
        if proc in self.procs:
            self.procs.remove(proc)

    def stop_all(self) -> None:
        for proc in list(self.procs):
            if proc.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    proc.send_signal(signal.SIGTERM)
        for proc in list(self.procs):
            self.stop(proc)

    def log_tail(self, lines: int = 30) -> str:
        if self.log_dir is None:
            return ""
        out = []
        for path in sorted(self.log_dir.glob("*.log")):
            text = path.read_text(errors="replace").splitlines()[-lines:]
            out.append(f"--- {path.name}\n" + "\n".join(text))
        return "\n".join(out)

    def on_close(self, func: Callable[[], None]) -> None:
        self._cleanups.append(func)

    # --------------------------------------------------------------- cleanup
    def close(self) -> None:
        """Stop children, dispose engines, flush/release Redis, drop the database, remove the data dir."""
        self.stop_all()
        for func in reversed(self._cleanups):
            with contextlib.suppress(Exception):
                func()
        self._cleanups.clear()
        if self.flush_redis and self.redis_url:
            with contextlib.suppress(Exception):
                redis.Redis.from_url(self.redis_url).flushdb()
        elif self.redis_url:  # someone else's Redis: remove only our queue (worker keys expire by themselves)
            with contextlib.suppress(Exception):
                from rq import Queue

                Queue(self.queue, connection=redis.Redis.from_url(self.redis_url)).delete(delete_jobs=True)
        if self.redis_claim:
            with contextlib.suppress(Exception):
                _release_redis_db(*self.redis_claim)
            self.redis_claim = None
        if self.created_db:
            with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{self.created_db}" WITH (FORCE)')
            self.created_db = None
        if self.kind == "embedded":
            with contextlib.suppress(Exception):
                from engine.embedded_redis import stop_embedded_redis

                stop_embedded_redis(self.data_dir)
        shutil.rmtree(self.data_dir, ignore_errors=True)


@contextlib.contextmanager
def backend_from_args(args: Any, label: str) -> Iterator[Backend]:
    backend = Backend.create(embedded=args.embedded, database_url=args.database_url,
                             redis_url=getattr(args, "redis_url", None), label=label)
    try:
        yield backend
    finally:
        backend.close()


def git(*argv: str) -> str:
    """Run git in this checkout and return its output."""
    return subprocess.run(["git", "-C", str(ROOT), *argv], check=True, capture_output=True, text=True).stdout.strip()


@contextlib.contextmanager
def base_checkout(commit: str) -> Iterator[tuple[Path, str]]:
    """(path, full hash) of `commit` checked out in a temporary git worktree, removed afterwards (A/B runs)."""
    full = git("rev-parse", "--verify", f"{commit}^{{commit}}")
    checkout = Path(tempfile.mkdtemp(prefix="bench-base-"))
    git("worktree", "add", "--detach", str(checkout), full)
    try:
        yield checkout, full
    finally:
        subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(checkout)],
                       capture_output=True, check=False)
        shutil.rmtree(checkout, ignore_errors=True)


def _claim_redis_db(token: str) -> tuple[int, tuple[str, str]]:
    """Claim Redis db 14 (or the nearest free number) with the test suite's claim key."""
    admin = redis.Redis.from_url(f"{REDIS_SERVER}/0")
    value = f"bench:{os.getpid()}:{token}"
    order = [REDIS_DB, *range(15, REDIS_DB, -1), *range(REDIS_DB - 1, 0, -1)]
    for number in order:
        key = REDIS_CLAIM_KEY.format(number=number)
        if admin.set(key, value, nx=True, ex=3 * 3600):
            if number != REDIS_DB:
                print(f"note: Redis db {REDIS_DB} is claimed by another run; using db {number}", file=sys.stderr)
            return number, (key, value)
    raise RuntimeError("no free Redis database number; pass --redis-url")


def _release_redis_db(key: str, value: str) -> None:
    admin = redis.Redis.from_url(f"{REDIS_SERVER}/0")
    if (admin.get(key) or b"").decode() == value:
        admin.delete(key)


def _redact(url: str) -> str:
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        creds, host = rest.rsplit("@", 1)
        user = creds.split(":", 1)[0]
        return f"{scheme}://{user}@{host}"
    return url


def _cpu_seconds(pid: int) -> float | None:
    """utime + stime of a process from /proc (Linux); None if it is gone or not local."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def pids_named(comm: str) -> list[int]:
    """Local processes whose command name is `comm` (e.g. every PostgreSQL backend)."""
    pids = []
    for entry in Path("/proc").glob("[0-9]*/comm"):
        try:
            if entry.read_text().strip() == comm:
                pids.append(int(entry.parent.name))
        except OSError:
            continue
    return pids


class CpuMeter:
    """CPU seconds spent by groups of processes between start() and stop(): where the time goes.

    Throughput on a small machine is a CPU budget shared by the driver, the workers, PostgreSQL
    and Redis; per-instance CPU by group says which of them the budget is spent on. Processes that
    appear during the interval count from zero; ones that exit are lost (none should, here).
    """

    def __init__(self, groups: Callable[[], dict[str, list[int]]]) -> None:
        self.groups = groups
        self.before: dict[str, dict[int, float]] = {}
        self.machine_before: tuple[float, float, float] = (0.0, 0.0, 0.0)
        self.utilisation: float | None = None  # share of all CPUs busy (anyone's) during the interval

    @staticmethod
    def _machine() -> tuple[float, float, float]:
        """(busy, total, irq+softirq) CPU seconds of the whole machine from /proc/stat.

        Interrupt time is not charged to any process; on one host it is mostly loopback TCP between
        the processes and the servers, so it is reported on its own line.
        """
        try:
            values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:9]]
        except (OSError, ValueError, IndexError):
            return (0.0, 0.0, 0.0)
        user, nice, system, idle, iowait, irq, softirq, steal = values
        tick = os.sysconf("SC_CLK_TCK")
        busy = user + nice + system + irq + softirq + steal
        return busy / tick, (busy + idle + iowait) / tick, (irq + softirq) / tick

    def _sample(self) -> dict[str, dict[int, float]]:
        out: dict[str, dict[int, float]] = {}
        for name, pids in self.groups().items():
            out[name] = {pid: cpu for pid in pids if (cpu := _cpu_seconds(pid)) is not None}
        return out

    def start(self) -> None:
        self.before = self._sample()
        self.machine_before = self._machine()

    def stop(self) -> dict[str, float]:
        """CPU seconds per group, plus "other processes": machine busy time nobody in a group accounts for."""
        after = self._sample()
        busy, total, irq = self._machine()
        used = {name: sum(cpu - self.before.get(name, {}).get(pid, 0.0) for pid, cpu in samples.items())
                for name, samples in after.items()}
        d_busy, d_total = busy - self.machine_before[0], total - self.machine_before[1]
        if d_total > 0:
            used["kernel irq/softirq"] = irq - self.machine_before[2]
            used["other processes"] = max(0.0, d_busy - sum(used.values()))
            self.utilisation = d_busy / d_total
        return used


def stat_commits(engine: Engine) -> int | None:
    """pg_stat_database.xact_commit of this database; the read itself ends in ROLLBACK, so it is not counted."""
    if engine.dialect.name != "postgresql":
        return None
    with engine.connect() as conn:
        conn.exec_driver_sql("SELECT pg_stat_clear_snapshot()")
        return int(conn.exec_driver_sql(
            "SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()").scalar_one())


def settled_commits(engine: Engine, timeout: float = 8.0) -> int | None:
    """xact_commit once every backend has flushed its pending stats (PG 15 flushes idle backends after ~1 s)."""
    prev = stat_commits(engine)
    if prev is None:
        return None
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        time.sleep(1.2)
        cur = stat_commits(engine)
        if cur == prev:
            return cur
        prev = cur
    return prev


def wait_until(predicate: Callable[[], Any], timeout: float, interval: float = 0.05, what: str = "condition") -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(interval)


def fmt(value: Any, digits: int = 1, unit: str = "") -> str:
    """A number for the table ("n/a" for None), with thousands separators and an optional unit."""
    if value is None:
        return "n/a"
    if isinstance(value, float):
        text = f"{value:,.{digits}f}"
    elif isinstance(value, int):
        text = f"{value:,}"
    else:
        text = str(value)
    return f"{text} {unit}".rstrip()


def print_table(title: str, rows: list[tuple[str, ...]]) -> None:
    """Rows of (label, value[, value...]) as aligned columns; a 1-tuple row is a section header."""
    print(f"\n{title}")
    print("=" * len(title))
    widths: list[int] = []
    for row in rows:
        for i, cell in enumerate(row):
            if len(row) == 1:
                continue
            if i >= len(widths):
                widths.append(0)
            widths[i] = max(widths[i], len(cell))
    for row in rows:
        if len(row) == 1:
            print(f"\n{row[0]}")
            continue
        cells = [row[0].ljust(widths[0])] + [c.rjust(widths[i + 1]) for i, c in enumerate(row[1:])]
        print("  " + "  ".join(cells))


def run_benchmark(args: Any, run: Callable[[Any], dict], print_report: Callable[[dict], None]) -> int:
    """The common main(): run, then print JSON (--json) or the readable table; Ctrl-C still cleans up."""
    import json

    try:
        report = run(args)
    except KeyboardInterrupt:
        print("interrupted; workers stopped and the benchmark database dropped", file=sys.stderr)
        return 130
    if args.json:
        print(json.dumps(report, indent=2, default=str))
    else:
        print_report(report)
    return 0


REDIS_HELP = "use this Redis (not flushed) instead of db 14 on 127.0.0.1:6379"


def cost_parser(doc: str | None, measured: str, default: int, warmup: int, warmed: str) -> argparse.ArgumentParser:
    """The arguments every in-process cost benchmark takes (how many `measured` to measure, how many before
    that warm `warmed`, the checkout, JSON); each adds its own."""
    p = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument(f"--{measured}", type=int, default=default, help=f"measured {measured}")
    p.add_argument("--warmup", type=int, default=warmup, help=f"{measured} before measuring ({warmed})")
    p.add_argument("--tree", help="the checkout to measure (default: this one)")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    return p


def add_backend_arguments(p: Any, redis_help: str = REDIS_HELP) -> None:
    """The options every service benchmark shares: output format and which database and Redis to use."""
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.add_argument("--database-url", help="use this database (migrated, not dropped) instead of a fresh one")
    p.add_argument("--redis-url", help=redis_help)
    p.add_argument("--embedded", action="store_true", help="SQLite + embedded Redis in a temp data dir")


def check_backend_arguments(p: Any, args: Any) -> None:
    if args.embedded and (args.database_url or args.redis_url):
        p.error("--embedded excludes --database-url/--redis-url")
