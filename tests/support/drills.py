"""Fault drills: the product on a PostgreSQL cluster and a Redis server of the drill's own, applications
flowing at a steady rate, and the count of what came out of it.

The machine's shared PostgreSQL and Redis serve every other test run, so a drill that restarts them
starts its own: `OwnPostgres` (initdb into a temp dir, `pg_ctl` on a free port; run as the `postgres`
user when we are root, as initdb refuses root) and `OwnRedis` (`redis-server` without persistence on a
free port, as the product's Redis is deployed: a restart comes back empty).

`Flow` submits valid applications over the API from a thread and watches the SMTP server: a case is
finished when its citizen got both notices («принято» and «справка готова»); a notice that arrived twice
is a duplicate. `Flow.outcome(fault_end, sla)` waits until every case finished or `sla` seconds passed
after the fault ended (or after its submission, for a later one), and reports submitted / finished /
lost / duplicate notices and the time to recover: from the fault's end until every case submitted
before it had finished and a case submitted after it finished too.

Used by tests/test_drills.py (short drills) and benchmarks/drills.py (the full ones, with figures).
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import shutil
import signal
import subprocess
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
import redis
from rq import Queue
from rq.job import Job
from rq.registry import StartedJobRegistry

from tests.support.accounts import bearer
from tests.support.backend import Backend, children_of
from tests.support.pdf import SCAN_PDF
from tests.support.product import Product, extra_env, start_product
from tests.support.registry import RegistryService, demo_records, free_port
from tests.support.smtp import SmtpServer

_PG_BIN = sorted(Path("/usr/lib/postgresql").glob("*/bin"))
_NUMBER = re.compile(r"Заявление № (\S+?):? (принято|справка готова)")


def _pg_tool(name: str) -> str:
    if not _PG_BIN:
        raise RuntimeError("no PostgreSQL binaries under /usr/lib/postgresql/*/bin")
    return str(_PG_BIN[-1] / name)


class OwnPostgres:
    """A throw-away PostgreSQL cluster on a free port: restart it at will, nobody else uses it."""

    def __init__(self) -> None:
        self.as_postgres = os.geteuid() == 0
        # As root the cluster belongs to `postgres`, which may not enter root's private temp dir.
        self.dir = Path(tempfile.mkdtemp(prefix="drill-pg-", dir="/var/tmp" if self.as_postgres else None))  # noqa: S108 - mkdtemp: unique, 0700
        self.port = free_port()
        if self.as_postgres:
            shutil.chown(self.dir, "postgres")

    def _run(self, *argv: str, check: bool = True) -> subprocess.CompletedProcess:
        prefix = ["runuser", "-u", "postgres", "--"] if self.as_postgres else []
        return subprocess.run([*prefix, *argv], capture_output=True, text=True, check=check, timeout=120)

    def init(self) -> OwnPostgres:
        self._run(_pg_tool("initdb"), "-D", str(self.dir / "data"), "-U", "postgres", "-A", "trust", "--no-sync",
                  "-E", "UTF8", "--locale=C.UTF-8")
        return self.start()

    def start(self) -> OwnPostgres:
        options = f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c max_connections=200"
        self._run(_pg_tool("pg_ctl"), "-D", str(self.dir / "data"), "-o", options, "-l", str(self.dir / "log"),
                  "-w", "start")
        return self

    def stop(self, mode: str = "immediate") -> None:
        """`immediate` is a crash as far as clients see (no goodbye, recovery on the next start)."""
        self._run(_pg_tool("pg_ctl"), "-D", str(self.dir / "data"), "-m", mode, "-w", "stop", check=False)

    def create_database(self, name: str) -> str:
        with psycopg.connect(f"postgresql://postgres@127.0.0.1:{self.port}/postgres", autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{name}"

    def close(self) -> None:
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


class OwnRedis:
    """A redis-server of our own without persistence: `restart()` brings it back empty."""

    def __init__(self) -> None:
        self.port = free_port()
        self.dir = Path(tempfile.mkdtemp(prefix="drill-redis-"))
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> OwnRedis:
        self.proc = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--dir", str(self.dir)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        client = redis.Redis.from_url(self.url)
        deadline = time.monotonic() + 30
        while True:
            try:
                client.ping()
                return self
            except redis.ConnectionError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()  # SIGKILL: whatever it held is gone, as on a crashed host
            self.proc.wait(timeout=20)
        self.proc = None

    def close(self) -> None:
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


@contextlib.contextmanager
def full_disk(folder: Path, size: str = "4m") -> Any:
    """`folder` on a tiny tmpfs filled to the last byte (root only); unmounted afterwards. Yields a function
    that frees the space again (the fault ends) without unmounting."""
    folder.mkdir(parents=True, exist_ok=True)
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size},mode=0700", "tmpfs", str(folder)], check=True)
    filler = folder / ".filler"
    try:
        with filler.open("wb", buffering=0) as out, contextlib.suppress(OSError):
            while True:  # page by page, so not even a partial page is left
                out.write(b"\0" * 4096)
        yield lambda: filler.unlink(missing_ok=True)
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=False)


# ------------------------------------------------------------------------------------------ processes
def worker_pool(product: Product) -> subprocess.Popen:
    """The product's worker pool (`backoffice worker --processes N`): its workers are the pool's children."""
    return next(p for p in product.cluster.procs if "--processes" in p.args and p.poll() is None)


def pool_workers(product: Product) -> list[int]:
    """The pids of the pool's live workers."""
    return children_of(worker_pool(product).pid)


def spawn_scheduler(product: Product) -> subprocess.Popen:
    return product.cluster.scheduler(**extra_env(product.env, product.backend))


def scheduler_of(product: Product) -> subprocess.Popen:
    """The live scheduler process of the product (started by start_product or by a drill)."""
    return next(p for p in reversed(product.cluster.procs) if p.args[-1] == "scheduler" and p.poll() is None)


def sigkill(target: subprocess.Popen | int) -> None:
    """SIGKILL a process we started (its whole session), or a pool's worker by pid (the pool reaps it)."""
    if isinstance(target, int):
        with contextlib.suppress(ProcessLookupError):
            os.kill(target, signal.SIGKILL)
        deadline = time.monotonic() + 20
        while Path(f"/proc/{target}").exists() and time.monotonic() < deadline:
            time.sleep(0.01)
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(target.pid, signal.SIGKILL)
    target.wait(timeout=20)


def busy_worker(product: Product, timeout: float = 30.0) -> int | None:
    """The pid of a worker of the product's pool that is running a job right now.

    Read from RQ's registry of started jobs, whose entries name the worker (`host.pid`, tasks/worker.py),
    not from RQ's list of workers: that list is written once at a worker's start, so after Redis came back
    empty it no longer holds the workers that survived."""
    connection = redis.Redis.from_url(product.env["REDIS_URL"])
    queue = Queue(product.env["BACKOFFICE_QUEUE"], connection=connection)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        pids = set(pool_workers(product))
        with contextlib.suppress(redis.RedisError):
            for job_id in StartedJobRegistry(queue=queue).get_job_ids():
                job = Job.fetch(job_id, connection=connection) if Job.exists(job_id, connection) else None
                # `host.pid`, or `host.pid.round` for a worker restarted after Redis was gone
                for part in reversed((job.worker_name or "").split(".") if job is not None else []):
                    if part.isdigit() and int(part) in pids:
                        return int(part)
        time.sleep(0.02)
    return None


# ------------------------------------------------------------------------------------------ the flow
@dataclass
class Outcome:
    submitted: int
    refused: int  # answered with an error: the citizen knows it was not taken (not lost)
    finished: int
    lost: list[str]
    duplicates: int
    resent: int  # copies under a Message-ID already received: shown once (see duplicate_notices)
    recovery_s: float | None
    extra: dict[str, Any] = field(default_factory=dict)

    def row(self) -> dict[str, Any]:
        return {"submitted": self.submitted, "refused": self.refused, "finished": self.finished,
                "lost": len(self.lost), "duplicates": self.duplicates, "resent": self.resent,
                "recovery_s": self.recovery_s, **self.extra}


class Flow:
    """Valid applications at `rate` per second from a thread, spread over `tokens` (citizen accounts)."""

    def __init__(self, product: Product, tokens: list[str], rate: float,
                 each_tick: Callable[[Product, str], None] | None = None) -> None:
        self.product, self.tokens, self.rate, self.each_tick = product, tokens, rate, each_tick
        self.submitted: dict[str, float] = {}
        self.refused = 0
        self.notices: dict[tuple[str, str], float] = {}  # (number, what) -> first seen
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._people = len(demo_records("valid"))
        self._seen = 0

    def start(self) -> Flow:
        self._threads = [threading.Thread(target=self._feed, daemon=True),
                         threading.Thread(target=self._watch, daemon=True)]
        for t in self._threads:
            t.start()
        return self

    def _feed(self) -> None:
        i = 0
        next_at = time.monotonic()
        while not self._stop.is_set():
            token = self.tokens[i % len(self.tokens)]
            body = self.product.application_body("valid", i % self._people)
            try:
                r = self.product.client().post("/api/v1/applications", json=body, headers=bearer(token))
                if r.status_code == 201:
                    self.submitted[r.get_json()["number"]] = time.monotonic()
                else:
                    self.refused += 1
            except Exception:  # an error the client sees is a refusal, never a lost case
                self.refused += 1
            if self.each_tick is not None:
                self.each_tick(self.product, token)
            i += 1
            next_at += 1.0 / self.rate
            self._stop.wait(max(0.0, next_at - time.monotonic()))

    def _watch(self) -> None:
        while not self._stop.is_set() or self._watching:
            self.scan()
            time.sleep(0.1)

    _watching = False

    def scan(self) -> None:
        messages = self.product.smtp.messages
        for mail in messages[self._seen:]:
            found = _NUMBER.search(mail.subject)
            if found:
                self.notices.setdefault((found.group(1), found.group(2)), time.monotonic())
        self._seen = len(messages)

    def stop_feeding(self) -> None:
        self._watching = True
        self._stop.set()
        self._threads[0].join(timeout=60)

    def finished_at(self, number: str) -> float | None:
        got = [self.notices.get((number, what)) for what in ("принято", "справка готова")]
        return None if None in got else max(got)  # type: ignore[type-var]

    def outcome(self, fault_end: float, sla: float, after: float = 5.0) -> Outcome:
        """Go on submitting for `after` seconds past the fault's end, then stop, wait for every case up to
        its deadline, and count (see the module's docstring)."""
        time.sleep(max(0.0, fault_end + after - time.monotonic()))
        self.stop_feeding()
        numbers = dict(self.submitted)
        deadline = {n: max(at, fault_end) + sla for n, at in numbers.items()}
        while any(self.finished_at(n) is None for n in numbers) and time.monotonic() < max(deadline.values(),
                                                                                            default=0):
            time.sleep(0.2)
        time.sleep(1.0)  # a duplicate sent right after the last notice still counts
        self.scan()
        self._watching = False
        lost = [n for n in numbers if (self.finished_at(n) or float("inf")) > deadline[n]]
        duplicates, resent = duplicate_notices(self.product.smtp, set(numbers))
        return Outcome(len(numbers), self.refused, len(numbers) - len(lost), lost, duplicates, resent,
                       recovery_time(numbers, self.finished_at, fault_end))


def duplicate_notices(smtp: SmtpServer, numbers: set[str]) -> tuple[int, int]:
    """(duplicates, re-sent copies) among the letters about these cases.

    A duplicate is a second letter with the same recipient and subject under another Message-ID: the
    citizen sees it twice. A re-sent copy has the Message-ID of one received before (a sender died after
    the server took the letter, tasks/cases/notice_delivery.py): mail clients show it once."""
    letters = [((tuple(m.rcpt_tos), m.subject), str(m.message["Message-ID"])) for m in smtp.messages
               if (found := _NUMBER.search(m.subject)) and found.group(1) in numbers]
    distinct = Counter(what for what, _ in set(letters))
    return sum(count - 1 for count in distinct.values()), len(letters) - len(set(letters))


def recovery_time(numbers: dict[str, float], finished_at: Callable[[str], float | None],
                  fault_end: float) -> float | None:
    """Seconds from the fault's end until the backlog drained and a case submitted afterwards finished."""
    before = [finished_at(n) for n, at in numbers.items() if at <= fault_end]
    after = [f for n, at in numbers.items() if at > fault_end and (f := finished_at(n)) is not None]
    if None in before or not after:
        return None
    return max(0.0, max([*before, min(after)]) - fault_end)  # type: ignore[type-var]


def support_with_screenshot(answers: Counter, filed: list[tuple[str, str]]) -> Callable[[Product, str], None]:
    """A Flow tick's extra: a support request with a screenshot (an upload); its status counted in `answers`,
    the (token, number) of each one filed in `filed`."""
    def file(product: Product, token: str) -> None:
        r = product.client().post("/api/v1/support-requests", headers=bearer(token),
                                  content_type="multipart/form-data",
                                  data={"type": "technical", "text": "Не загружается страница заявления.",
                                        "screenshots": [(io.BytesIO(SCAN_PDF), "скан.pdf")]})
        answers[r.status_code] += 1
        if r.status_code == 201:
            filed.append((token, r.get_json()["number"]))

    return file


# ------------------------------------------------------------------------------------------ the product
@contextlib.contextmanager
def drill_product(pg: OwnPostgres, own_redis: OwnRedis, workers: int = 2, **env: str) -> Iterator[Product]:
    """The whole product (a pool of `workers` workers, scheduler, registry service, SMTP) on a fresh database
    of `pg` and on `own_redis`; its own registry and SMTP server, so stopping them disturbs no other test."""
    token = uuid.uuid4().hex[:8]
    data_dir = Path(tempfile.mkdtemp(prefix="drill-data-"))
    registry = RegistryService().start()
    smtp = SmtpServer().start()
    # A kind of its own: the product is deployed once per kind (tests/support/product.py).
    backend = Backend(f"drill-{token}", pg.create_database(f"drill_{token}"), own_redis.url, data_dir)
    product = None
    try:
        backend.backoffice("db", "upgrade")
        product = start_product(backend, registry, smtp, worker_processes=workers, RATE_LIMITS="off", **env)
        yield product
    finally:
        if product is not None:
            product.stop()
        registry.stop()
        smtp.stop()
        shutil.rmtree(data_dir, ignore_errors=True)


def citizens(product: Product, count: int) -> list[str]:
    return [product.citizen_token() for _ in range(count)]
