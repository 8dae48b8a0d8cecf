"""Portal benchmark: concurrent applicants over the JSON API, registries answering in 50 ms, the PDF at the end.

    python benchmarks/portal.py                      # fresh PostgreSQL db + Redis db 14, 2 workers
    python benchmarks/portal.py --workers 3 --rate 20 --latency-seconds 30
    python benchmarks/portal.py --json

The product runs as deployed: `backoffice.cli web` (gunicorn) serving the API, `--workers` `backoffice.cli worker`
processes, `backoffice.cli scheduler`, and the registry service (`backoffice.cli registry`) with
REGISTRY_FAULTS="*:latency_ms=50", so each of a case's three checks (МВД, СФР, ЕРЗЛ) waits 50 ms
for its answer, like a real gateway would make it wait. Mail goes over SMTP to an aiosmtpd sink
inside this process (tests/support/smtp.py), so smtplib's connection and handshake per notice are
part of the cost, as in production. The workflows are the product's own (workflows/), deployed and
migrated through the CLI.

Applicants are `--accounts` citizen accounts registered through the API (register -> code by mail
-> activate -> token; not timed). Every application is a valid demo person (tests/support/registry.py):
the whole path runs automatically from the POST to the stored certificate.

When is an application ready? When its `status_changed` -> "ready" journal row exists: the
certificate is rendered and stored in the same transaction that changes the status, so "ready"
includes the PDF. A watcher reads these rows every 100 ms for the cases still pending; "submit" is
the moment the client began its POST. Each PDF is then downloaded once over the API (200,
application/pdf, starts with %PDF), and submit -> PDF in hand is reported as well (it adds up to one
watch interval and the download).

Phases: warm-up (not measured); throughput: `--applications` POSTs as fast as `--threads` client
threads allow, applications/s = N / (first POST -> last ready); latency: open loop at `--rate`/s for
`--latency-seconds`. Targets: p95 submit -> ready < 3 s at 20/s; certificate render median < 40 ms
(measured by benchmarks/certificate.py, in-process, before the services start).
"""

from __future__ import annotations

import sys
from pathlib import Path

_HERE = Path(__file__).resolve().parent
if sys.path and Path(sys.path[0] or ".").resolve() == _HERE:
    sys.path[0] = str(_HERE.parent)  # benchmarks/engine.py would shadow the product's `engine` package

import argparse  # noqa: E402
import os  # noqa: E402
import platform  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402
import uuid  # noqa: E402
from collections.abc import Callable  # noqa: E402
from concurrent.futures import ThreadPoolExecutor  # noqa: E402
from dataclasses import dataclass  # noqa: E402
from datetime import date  # noqa: E402
from typing import Any  # noqa: E402

import httpx  # noqa: E402
from redis import Redis  # noqa: E402
from sqlalchemy import DateTime, Engine, Integer, String, bindparam, column, text  # noqa: E402

from benchmarks import certificate as certificate_bench  # noqa: E402
from benchmarks._support import (  # noqa: E402
    ROOT,
    Backend,
    CpuMeter,
    add_backend_arguments,
    backend_from_args,
    check_backend_arguments,
    fmt,
    install_signal_cleanup,
    median,
    percentile,
    print_table,
    run_benchmark,
    settled_commits,
    stat_commits,
    wait_until,
)

TARGET_RATE = 20.0  # applications/s offered in the latency phase
TARGET_P95_MS = 3000.0  # submit -> ready at TARGET_RATE
PASSWORD = "Нагрузочный-тест-2026"  # noqa: S105 - throw-away accounts of a throw-away database
WATCH_INTERVAL = 0.1  # s between journal polls for ready cases
READY_TIMEOUT_S = 180.0


# ------------------------------------------------------------------------------- the product
@dataclass
class Portal:
    """The running product and the handles the measurement needs."""

    backend: Backend
    registry: Any  # tests.support.registry.RegistryService
    smtp: Any  # tests.support.smtp.SmtpServer
    web: Any  # subprocess.Popen of `backoffice.cli web`
    url: str
    engine: Engine
    redis: Redis


def product_env(registry_url: str, smtp_url: str, web_url: str, root: Path = ROOT) -> dict[str, str]:
    """What the product's processes get on top of the backend's env (database, Redis, queue, data dir)."""
    return {
        "BACKOFFICE_WORKFLOWS_DIR": str(root / "workflows"), "BACKOFFICE_OPERATOR_MODULES": "",
        "REGISTRY_URL": registry_url, "SMTP_URL": smtp_url, "PUBLIC_BASE_URL": web_url,
        "SECRET_KEY": "portal-benchmark-" * 4, "RATE_LIMITS": "off",
    }


def start_portal(args: argparse.Namespace, backend: Backend, workers: int | None = None) -> Portal:
    """Registry + SMTP sink, migrate and deploy through the CLI, then web, workers and scheduler.

    The product runs the code under `backend.root` (its workflows too): an A/B's base is another checkout.
    """
    from engine.context import redis_url
    from engine.db import make_engine
    from tests.support.registry import RegistryService, free_port
    from tests.support.smtp import SmtpServer

    registry = RegistryService(faults=f"*:latency_ms={args.registry_latency_ms}").start()
    backend.on_close(registry.stop)
    smtp = SmtpServer().start()
    backend.on_close(smtp.stop)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = product_env(registry.url, smtp.url, url, backend.root)
    backend.cli("db", "upgrade", **env)
    backend.cli("workflows", "deploy", str(backend.root / "workflows"), **env)
    cli = backend.cli_module
    web = backend.spawn("web", ["-m", cli, "web", "--port", str(port), "--threads", str(args.web_threads),
                                "--processes", str(args.web_processes)], **env)
    workers = args.workers if workers is None else workers
    for i in range(workers):
        backend.spawn(f"worker-{i}", ["-m", cli, "worker", "--name", f"{backend.queue}-{i}"], **env)
    backend.spawn("scheduler", ["-m", cli, "scheduler"], **env)
    settings = backend.settings()
    engine = make_engine(_named(settings.database_url))
    backend.on_close(engine.dispose)
    portal = Portal(backend, registry, smtp, web, url, engine, Redis.from_url(redis_url(settings)))
    wait_until(lambda: _healthy(portal, workers), 90, interval=0.3, what="web, workers and scheduler")
    return portal


def _healthy(portal: Portal, workers: int) -> bool:
    """Everything but the registry check, which reports the injected latency as a fault."""
    from rq import Queue, Worker

    if portal.web.poll() is not None:
        raise RuntimeError(f"the web server exited:\n{portal.backend.log_tail()}")
    try:
        health = httpx.get(f"{portal.url}/api/v1/health", timeout=5).json()
    except (httpx.HTTPError, ValueError):
        return False
    parts_ok = all(health.get(part) == "ok" for part in ("db", "redis", "workers", "scheduler"))
    queue = Queue(portal.backend.queue, connection=portal.redis)
    return parts_ok and Worker.count(queue=queue) >= workers


def _session_pids(sid: int) -> list[int]:
    """Processes of one session (a child started with start_new_session and whatever it forked)."""
    pids = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[3]) == sid:
            pids.append(int(stat.parent.name))
    return pids


BENCHMARK_APPLICATION = "portal-benchmark"  # application_name of the benchmark's own connections


def _named(database_url: str) -> str:
    """The URL with our application_name on PostgreSQL, so our backends can be told from the product's."""
    from sqlalchemy.engine import make_url

    url = make_url(database_url)
    if not url.drivername.startswith("postgresql"):
        return database_url
    return url.update_query_dict({"application_name": BENCHMARK_APPLICATION}).render_as_string(hide_password=False)


def _database_backends(portal: Portal) -> list[int]:
    """PostgreSQL backends serving the product on this database: the server is shared with other work.

    The server's own background processes (WAL writer, checkpointer) are left out: they serve every
    database; so are the benchmark's own connections (the ready watch polls every 100 ms).
    """
    if not portal.backend.is_postgres:
        return []
    with portal.engine.connect() as conn:
        return [int(pid) for pid in conn.exec_driver_sql(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND application_name <> %s",
            (BENCHMARK_APPLICATION,)).scalars()]


def process_groups(portal: Portal) -> dict[str, list[int]]:
    """The processes sharing the machine, by role; gunicorn's master and its workers count as "web"."""
    procs = {p.pid: p for p in portal.backend.procs}
    try:
        redis_pid = [int(portal.redis.info("server")["process_id"])]
    except Exception:
        redis_pid = []
    groups = {
        "web (gunicorn)": _session_pids(portal.web.pid),
        "workers": [pid for pid, p in procs.items() if "worker" in p.args],
        "scheduler": [pid for pid, p in procs.items() if "scheduler" in p.args],
        "registry service": _session_pids(portal.registry.proc.pid) if portal.registry.proc else [],
        "postgres (this database's backends)": _database_backends(portal),
        "redis": redis_pid,
        "benchmark (clients, SMTP sink)": [os.getpid()],
    }
    return {name: pids for name, pids in groups.items() if pids}


# ------------------------------------------------------------------------------- applicants
def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def application_body(index: int) -> dict[str, Any]:
    from tests.support.registry import demo_person, demo_records

    person = demo_person("valid", index % len(demo_records("valid")))
    year = date.today().year
    return {"applicant": "individual", **person, "period": {"from": f"{year}-01-01", "to": f"{year}-12-31"}}


def register_accounts(portal: Portal, client: httpx.Client, count: int) -> list[str]:
    """`count` citizens through the API, as a person would: register, code from the mail, activate, token."""
    from tests.support.smtp import activation_code

    def one(i: int) -> str:
        email = f"applicant-{i}-{uuid.uuid4().hex[:8]}@example.ru"
        person = application_body(i)["person"]
        body = {"email": email, "password": PASSWORD, "phone": "+79161234567", "last_name": person["last_name"],
                "first_name": person["first_name"], "middle_name": person.get("middle_name"),
                "birth_date": person["birth_date"]}
        _expect(client.post("/api/v1/auth/register", json=body), 201)
        code = activation_code(portal.smtp.wait_for_mail(email))
        _expect(client.post("/api/v1/auth/activate", json={"email": email, "code": code}), 200)
        return _expect(client.post("/api/v1/auth/token", json={"email": email, "password": PASSWORD}), 200)["token"]

    with ThreadPoolExecutor(4) as pool:
        return list(pool.map(one, range(count)))


def _expect(resp: httpx.Response, status: int) -> dict[str, Any]:
    if resp.status_code != status:
        raise RuntimeError(f"{resp.request.method} {resp.request.url.path}: HTTP {resp.status_code} {resp.text[:300]}")
    return resp.json()


@dataclass
class Submission:
    """One application as the client saw it; times are epoch seconds on this machine's clock."""

    index: int
    token: str
    scheduled: float | None = None  # open loop: when the schedule wanted the POST to begin
    started: float = 0.0  # the POST began
    answered: float = 0.0  # the 201 (or error) arrived
    number: str | None = None
    error: str | None = None
    ready_at: float | None = None  # the journal's "ready" row
    pdf_at: float | None = None  # the certificate was downloaded and looked like a PDF
    pdf_error: str | None = None

    @property
    def settled(self) -> bool:
        return self.error is not None or self.pdf_at is not None or self.pdf_error is not None


class Tracker:
    """Pairs POST answers with "ready" journal rows, then downloads each certificate once."""

    def __init__(self, client: httpx.Client, download_threads: int) -> None:
        self.client = client
        self.changed = threading.Condition()
        self.pending: dict[str, Submission] = {}
        self.pool = ThreadPoolExecutor(download_threads, thread_name_prefix="pdf")

    def submit(self, sub: Submission, body: dict[str, Any]) -> None:
        sub.started = time.time()
        try:
            resp = self.client.post("/api/v1/applications", json=body, headers=bearer(sub.token))
            sub.answered = time.time()
            if resp.status_code == 201:
                sub.number = resp.json()["number"]
            else:
                sub.error = f"HTTP {resp.status_code}: {resp.text[:200]}"
        except httpx.HTTPError as exc:
            sub.answered, sub.error = time.time(), f"{exc.__class__.__name__}: {exc}"
        with self.changed:
            if sub.number:
                self.pending[sub.number] = sub
            self.changed.notify_all()

    def pending_numbers(self) -> list[str]:
        with self.changed:
            return [n for n, s in self.pending.items() if s.ready_at is None]

    def ready(self, number: str, at: float) -> None:
        with self.changed:
            sub = self.pending.get(number)
            if sub is None or sub.ready_at is not None:
                return
            sub.ready_at = at
        self.pool.submit(self._download, sub)

    def _download(self, sub: Submission) -> None:
        error = None
        try:
            resp = self.client.get(f"/api/v1/applications/{sub.number}/certificate.pdf", headers=bearer(sub.token))
            if resp.status_code != 200 or resp.headers.get("content-type") != "application/pdf" \
                    or not resp.content.startswith(b"%PDF-"):
                error = f"HTTP {resp.status_code} {resp.headers.get('content-type')}: {resp.content[:80]!r}"
        except httpx.HTTPError as exc:
            error = f"{exc.__class__.__name__}: {exc}"
        with self.changed:
            sub.pdf_at, sub.pdf_error = (time.time(), None) if error is None else (None, error)
            self.pending.pop(sub.number or "", None)
            self.changed.notify_all()

    def wait(self, subs: list[Submission], timeout: float, failure: Callable[[], str | None]) -> bool:
        """True when every submission got its PDF or failed; False on timeout; raises if `failure()` says why."""
        deadline = time.monotonic() + timeout
        with self.changed:
            while not all(s.settled for s in subs):
                left = deadline - time.monotonic()
                if reason := failure():
                    raise RuntimeError(reason)
                if left <= 0:
                    return False
                self.changed.wait(min(left, 1.0))
        return True

    def wake(self) -> None:
        with self.changed:
            self.changed.notify_all()

    def close(self) -> None:
        self.pool.shutdown(wait=True, cancel_futures=True)


_TIME = DateTime(timezone=True)  # typed result columns: SQLite hands textual SQL's timestamps back as str
READY_ROWS = text(
    "SELECT a.number, j.at FROM application a JOIN journal j ON j.instance_id = a.instance_id "
    "WHERE a.number IN :numbers AND j.event = 'status_changed' AND j.message = 'ready'"
).bindparams(bindparam("numbers", expanding=True)).columns(column("number", String), column("at", _TIME))


class ReadyWatch(threading.Thread):
    """Reads "ready" journal rows of the pending cases every 100 ms; samples the RQ queue depth.

    Asking by case number (not "rows after the last id seen") matters: journal ids are handed out
    at insert and committed out of order by concurrent workers, so an id cursor would skip rows.
    """

    def __init__(self, portal: Portal, tracker: Tracker) -> None:
        super().__init__(name="ready-watch", daemon=True)
        from rq import Queue

        self.portal, self.tracker = portal, tracker
        self.queue_key = Queue(portal.backend.queue, connection=portal.redis).key
        self.depth: list[tuple[float, int]] = []
        self.stopped = threading.Event()
        self.failure: str | None = None  # why the watch stopped early; the phase then fails at once

    def run(self) -> None:
        try:
            while not self.stopped.wait(WATCH_INTERVAL):
                self._poll()
        except Exception as exc:
            self.failure = f"the ready watch failed: {exc.__class__.__name__}: {exc}"
            self.tracker.wake()

    def _poll(self) -> None:
        from engine.clock import aware

        numbers = self.tracker.pending_numbers()
        if numbers:
            with self.portal.engine.connect() as conn:
                rows = conn.execute(READY_ROWS, {"numbers": numbers}).all()
            for number, at in rows:
                self.tracker.ready(number, aware(at).timestamp())
        self.depth.append((time.time(), int(self.portal.redis.llen(self.queue_key))))

    def depth_between(self, start: float, end: float) -> list[int]:
        return [d for at, d in list(self.depth) if start <= at <= end]


# ------------------------------------------------------------------------------- phases
class Clients:
    """Submits applications: closed loop (as fast as `threads` allow) or open loop at a rate."""

    def __init__(self, tracker: Tracker, tokens: list[str]) -> None:
        self.tracker, self.tokens = tracker, tokens
        self.count = 0

    def batch(self, n: int) -> list[Submission]:
        subs = [Submission(self.count + i, self.tokens[(self.count + i) % len(self.tokens)]) for i in range(n)]
        self.count += n
        return subs

    def closed_loop(self, subs: list[Submission], threads: int) -> None:
        with ThreadPoolExecutor(threads, thread_name_prefix="applicant") as pool:
            for sub in subs:
                pool.submit(self.tracker.submit, sub, application_body(sub.index))

    def open_loop(self, subs: list[Submission], rate: float, threads: int) -> None:
        """Scheduled starts; a pool wider than the in-flight POSTs keeps a slow answer from delaying the next."""
        t0 = time.time() + 0.05
        with ThreadPoolExecutor(threads, thread_name_prefix="applicant") as pool:
            for i, sub in enumerate(subs):
                sub.scheduled = t0 + i / rate
                body = application_body(sub.index)
                delay = sub.scheduled - time.time()
                if delay > 0:
                    time.sleep(delay)
                pool.submit(self.tracker.submit, sub, body)


def summary(values: list[float]) -> dict[str, float | None]:
    return {"n": len(values), "p50": median(values), "p95": percentile(values, 95), "p99": percentile(values, 99),
            "max": max(values) if values else None}


def run_phase(portal: Portal, clients: Clients, watch: ReadyWatch, name: str, n: int,
              drive: Callable[[list[Submission]], None], *, settle: bool = True,
              drain: Callable[[], None] | None = None) -> dict[str, Any]:
    """One phase, measured; `settle=False` reads the commit counter without waiting for the stats to settle
    (a few seconds saved per phase, the count then off by up to a second's commits); `drain` waits, after
    the last case is ready, for what the phase left behind (the notices' jobs), inside the measurement."""
    commits = settled_commits if settle else stat_commits
    subs = clients.batch(n)
    commits_before = commits(portal.engine)
    meter = CpuMeter(lambda: process_groups(portal))
    meter.start()
    began = time.time()
    drive(subs)
    settled = clients.tracker.wait(subs, READY_TIMEOUT_S + n / 5, lambda: watch.failure)
    if drain is not None:
        drain()
    cpu = meter.stop()
    ended = time.time()
    commits_after = commits(portal.engine)
    problems = _problems(portal, subs, settled)
    if problems:
        raise RuntimeError(f"{name}: " + "; ".join(problems))
    result = _phase_figures(subs, began, ended)
    result.update(name=name, stages=_stages(portal.engine, [s.number for s in subs if s.number], subs),
                  queue_depth=summary([float(d) for d in watch.depth_between(began, ended)]),
                  cpu_ms_per_application={k: v * 1000 / n for k, v in cpu.items()},
                  commits_per_application=(commits_after - commits_before) / n
                  if commits_before is not None and commits_after is not None else None,
                  cpu_utilisation=meter.utilisation, loadavg_end=os.getloadavg()[0])
    return result


def _problems(portal: Portal, subs: list[Submission], settled: bool) -> list[str]:
    out = [f"application {s.index}: {s.error}" for s in subs if s.error][:5]
    out += [f"{s.number}: certificate download: {s.pdf_error}" for s in subs if s.pdf_error][:5]
    if not settled:
        stuck = [s.number for s in subs if not s.settled and s.number]
        with portal.engine.connect() as conn:
            statuses = conn.execute(text(
                "SELECT p.status, count(*) FROM application a JOIN process_instance p ON p.id = a.instance_id "
                "WHERE a.number IN :numbers GROUP BY p.status").bindparams(bindparam("numbers", expanding=True)),
                {"numbers": stuck or [""]}).all()
        out.append(f"{len(stuck)} application(s) not ready in time; their statuses: {dict(statuses)}")
    return out


def backlog_growth(scheduled: list[Submission]) -> float | None:
    """How much longer the last third of an open loop's cases waited than the first third (medians, ms).

    Near 0 while the product keeps up; it grows with the phase's length once the offered rate is
    above what the product can do, before the p95 says so in a short phase.
    """
    ordered = sorted((s for s in scheduled if s.ready_at and s.scheduled is not None), key=lambda s: s.scheduled)
    third = len(ordered) // 3
    if third < 2:
        return None
    first = median([(s.ready_at - s.scheduled) * 1000 for s in ordered[:third]])  # type: ignore[operator]
    last = median([(s.ready_at - s.scheduled) * 1000 for s in ordered[-third:]])  # type: ignore[operator]
    return last - first if first is not None and last is not None else None


def _phase_figures(subs: list[Submission], began: float, ended: float) -> dict[str, Any]:
    first = min(s.started for s in subs)
    last_ready = max(s.ready_at for s in subs if s.ready_at)
    wall = last_ready - first
    posts_s = max(s.answered for s in subs) - first
    figures: dict[str, Any] = {
        "applications": len(subs), "wall_s": wall, "applications_per_s": len(subs) / wall,
        "submit_rate_per_s": len(subs) / posts_s if posts_s > 0 else None,
        "api_submit_ms": summary([(s.answered - s.started) * 1000 for s in subs]),
        "submit_to_ready_ms": summary([(s.ready_at - s.started) * 1000 for s in subs if s.ready_at]),
        "submit_to_pdf_ms": summary([(s.pdf_at - s.started) * 1000 for s in subs if s.pdf_at]),
        "phase_s": ended - began,
    }
    scheduled = [s for s in subs if s.scheduled is not None]
    if scheduled:
        span = max(s.scheduled for s in scheduled) - min(s.scheduled for s in scheduled)
        figures["offered_rate"] = (len(scheduled) - 1) / span if span > 0 else None
        figures["start_lag_ms"] = summary([max(0.0, s.started - s.scheduled) * 1000 for s in scheduled])
        figures["scheduled_to_ready_ms"] = summary([(s.ready_at - s.scheduled) * 1000 for s in scheduled
                                                    if s.ready_at])
        figures["backlog_growth_ms"] = backlog_growth(scheduled)
    return figures


STAGE_ROWS = text(
    "SELECT a.number, a.submitted_at, "
    "max(CASE WHEN c.operator LIKE 'registry.%' THEN c.finished_at END), "
    "max(CASE WHEN c.operator = 'certificates.issue' THEN c.finished_at END), "
    "count(DISTINCT c.job_id), count(c.id), sum(CASE WHEN c.attempts > 1 THEN 1 ELSE 0 END) "
    "FROM application a JOIN service_call c ON c.instance_id = a.instance_id "
    "WHERE a.number IN :numbers GROUP BY a.number, a.submitted_at"
).bindparams(bindparam("numbers", expanding=True)).columns(
    column("number", String), column("submitted_at", _TIME), column("checked", _TIME), column("issued", _TIME),
    column("jobs", Integer), column("calls", Integer), column("retried", Integer))


def _stages(engine: Engine, numbers: list[str], subs: list[Submission]) -> dict[str, Any]:
    """Where a case's time goes, from the outbox rows (finished_at = when the result was applied).

    submitted -> checks applied: RQ queue wait + the three registry calls in parallel (and the
    "submitted" mail, in the same job) + applying their results under the instance lock;
    checks -> certificate applied: the decision table, rendering and storing the PDF, applying it
    (the "ready" status is set in that same transaction).
    """
    from engine.clock import aware

    with engine.connect() as conn:
        rows = conn.execute(STAGE_ROWS, {"numbers": numbers}).all()
    by_number = {s.number: s for s in subs}
    post, checks, cert, jobs, calls, retried = [], [], [], [], [], 0
    for number, submitted, checked, issued, n_jobs, n_calls, n_retried in rows:
        submitted, checked, issued = aware(submitted), aware(checked), aware(issued)
        sub = by_number[number]
        post.append((submitted.timestamp() - sub.started) * 1000)
        if checked:
            checks.append((checked - submitted).total_seconds() * 1000)
        if checked and issued:
            cert.append((issued - checked).total_seconds() * 1000)
        jobs.append(float(n_jobs))
        calls.append(float(n_calls))
        retried += int(n_retried or 0)
    return {"post_began_to_submitted_at_ms": summary(post), "submitted_to_checks_applied_ms": summary(checks),
            "checks_to_certificate_applied_ms": summary(cert), "rq_jobs_per_application": median(jobs),
            "service_calls_per_application": median(calls), "retried_calls": retried}


# ------------------------------------------------------------------------------- the run
def run(args: argparse.Namespace) -> dict[str, Any]:
    install_signal_cleanup()
    report: dict[str, Any] = {
        "benchmark": "portal",
        "config": {"applications": args.applications, "threads": args.threads, "rate": args.rate,
                   "latency_seconds": args.latency_seconds, "workers": args.workers, "accounts": args.accounts,
                   "web_threads": args.web_threads, "web_processes": args.web_processes,
                   "registry_latency_ms": args.registry_latency_ms, "warmup": args.warmup,
                   "mail": "SMTP to an aiosmtpd sink in the benchmark process"},
        "host": {"cpus": os.cpu_count(), "python": platform.python_version(), "loadavg_start": os.getloadavg()[0]},
    }
    # The render median first, on a machine where nothing of ours runs yet.
    report["certificate"] = certificate_bench.run(argparse.Namespace(n=args.renders, warmup=args.render_warmup,
                                                                     base=None))
    with backend_from_args(args, "portal") as backend:
        report["backend"] = backend.describe()
        try:
            report.update(_measure(args, start_portal(args, backend)))
        except Exception:
            tail = backend.log_tail()
            if tail:
                print(tail, file=sys.stderr)
            raise
    report["targets"] = _targets(args, report)
    return report


def _measure(args: argparse.Namespace, portal: Portal) -> dict[str, Any]:
    # gunicorn closes a keep-alive connection idle for 2 s; reusing one it is closing resets the request.
    limits = httpx.Limits(max_connections=args.open_loop_threads + args.threads + 16, keepalive_expiry=1.0)
    client = httpx.Client(base_url=portal.url, timeout=60, limits=limits)
    tracker = Tracker(client, download_threads=4)
    watch = ReadyWatch(portal, tracker)
    watch.start()
    try:
        started = time.perf_counter()
        tokens = register_accounts(portal, client, args.accounts)
        setup_s = time.perf_counter() - started
        clients = Clients(tracker, tokens)
        run_phase(portal, clients, watch, "warmup", args.warmup, lambda subs: clients.closed_loop(subs, 4))
        throughput = run_phase(portal, clients, watch, "throughput", args.applications,
                               lambda subs: clients.closed_loop(subs, args.threads))
        n_latency = max(1, round(args.rate * args.latency_seconds))
        latency = run_phase(portal, clients, watch, "latency", n_latency,
                            lambda subs: clients.open_loop(subs, args.rate, args.open_loop_threads))
    finally:
        watch.stopped.set()
        watch.join(5)
        tracker.close()
        client.close()
    return {"accounts_setup_s": setup_s, "throughput": throughput, "latency": latency,
            "mails_received": len(portal.smtp.messages)}


def _targets(args: argparse.Namespace, r: dict[str, Any]) -> dict[str, Any]:
    p95 = r["latency"]["submit_to_ready_ms"]["p95"]
    cert_median = r["certificate"]["certificate"]["median_ms"]
    # A lower offered rate says nothing about the target: "met" is None (not measured) then.
    met = (p95 is not None and p95 < TARGET_P95_MS) if args.rate >= TARGET_RATE else None
    return {
        "latency_p95": {"target": f"p95 submit->ready < {TARGET_P95_MS / 1000:g} s at {TARGET_RATE:g}/s",
                        "value": p95, "met": met},
        "certificate_median": {"target": f"certificate render median < {certificate_bench.TARGET_MEDIAN_MS:g} ms",
                               "value": cert_median, "met": cert_median < certificate_bench.TARGET_MEDIAN_MS},
    }


# ------------------------------------------------------------------------------- output
def _pct(s: dict[str, Any], *keys: str, digits: int = 0) -> str:
    return " / ".join(fmt(s.get(k), digits) for k in keys) + " ms"


def print_report(r: dict[str, Any]) -> None:
    c, b, tp, lat, cert = r["config"], r["backend"], r["throughput"], r["latency"], r["certificate"]
    title = (f"Portal benchmark: {c['workers']} worker(s), registries +{c['registry_latency_ms']} ms, "
             f"{b['kind']} ({r['host']['cpus']} CPUs, load avg {r['host']['loadavg_start']:.2f} at start)")
    both = "p50 / p95 / max"
    print_table(title, [
        (f"database {b['database']}; redis {b['redis']}",),
        (f"web: gunicorn {c['web_processes']} process x {c['web_threads']} threads; {c['accounts']} accounts "
         f"(set up in {r['accounts_setup_s']:.1f} s); mail: {c['mail']}; {r['mails_received']} mails received",),
        (f"Certificate render (benchmarks/certificate.py, in-process, {cert['certificate']['renders']} renders)",),
        ("median / p95", f"{fmt(cert['certificate']['median_ms'], 1)} / {fmt(cert['certificate']['p95_ms'], 1)} ms"),
        *[(f"  {step}", fmt(ms, 1, "ms")) for step, ms in cert["certificate_steps_median_ms"].items()],
        (f"Throughput: {tp['applications']} applications, {c['threads']} client threads as fast as they can",),
        ("applications/s (first POST -> last ready)", fmt(tp["applications_per_s"], 1)),
        ("POST rate alone", fmt(tp["submit_rate_per_s"], 1, "/s")),
        (f"API submit (POST) {both}", _pct(tp["api_submit_ms"], "p50", "p95", "max")),
        (f"submit->ready {both}", _pct(tp["submit_to_ready_ms"], "p50", "p95", "max")),
        (f"submit->PDF downloaded {both}", _pct(tp["submit_to_pdf_ms"], "p50", "p95", "max")),
        (f"Latency: open loop at {c['rate']:g}/s offered for {c['latency_seconds']:g} s ({lat['applications']} "
         "applications)",),
        ("achieved POST start rate", fmt(lat["offered_rate"], 1, "/s")),
        ("client lag behind schedule p95", fmt(lat["start_lag_ms"]["p95"], 1, "ms")),
        (f"API submit (POST) {both}", _pct(lat["api_submit_ms"], "p50", "p95", "max")),
        ("submit->ready p50 / p95 / p99 / max", _pct(lat["submit_to_ready_ms"], "p50", "p95", "p99", "max")),
        (f"submit->PDF downloaded {both}", _pct(lat["submit_to_pdf_ms"], "p50", "p95", "max")),
        ("Where a case's time goes (p50 / p95)", "throughput", "latency"),
        *_stage_rows(tp["stages"], lat["stages"]),
        ("RQ queue depth (p50 / max of 100 ms samples)", f"{fmt(tp['queue_depth']['p50'], 0)} / "
         f"{fmt(tp['queue_depth']['max'], 0)}", f"{fmt(lat['queue_depth']['p50'], 0)} / "
         f"{fmt(lat['queue_depth']['max'], 0)}"),
        ("DB commits per application (pg_stat_database, every process)", fmt(tp["commits_per_application"], 1),
         fmt(lat["commits_per_application"], 1)),
        ("CPU ms per application, by process group", "throughput", "latency"),
        *[(name, fmt(ms, 1), fmt(lat["cpu_ms_per_application"].get(name), 1))
          for name, ms in tp["cpu_ms_per_application"].items()],
        ("total", fmt(sum(tp["cpu_ms_per_application"].values()), 1),
         fmt(sum(lat["cpu_ms_per_application"].values()), 1)),
        ("machine busy (all CPUs, anyone's)", f"{(tp['cpu_utilisation'] or 0) * 100:.0f} %",
         f"{(lat['cpu_utilisation'] or 0) * 100:.0f} %"),
        ("Targets",),
        *[(t["target"], fmt(t["value"], 1, "ms"), _verdict(t["met"])) for t in r["targets"].values()],
    ])


def _verdict(met: bool | None) -> str:
    return "not measured (lower --rate)" if met is None else "MET" if met else "MISSED"


def _stage_rows(tp: dict[str, Any], lat: dict[str, Any]) -> list[tuple[str, ...]]:
    rows = []
    for key, label in (("post_began_to_submitted_at_ms", "POST began -> submitted_at (web)"),
                       ("submitted_to_checks_applied_ms", "submitted -> registry checks applied"),
                       ("checks_to_certificate_applied_ms", "checks -> certificate applied (ready)")):
        rows.append((label, _pct(tp[key], "p50", "p95"), _pct(lat[key], "p50", "p95")))
    rows.append(("RQ jobs / service calls per application",
                 f"{fmt(tp['rq_jobs_per_application'], 0)} / {fmt(tp['service_calls_per_application'], 0)}",
                 f"{fmt(lat['rq_jobs_per_application'], 0)} / {fmt(lat['service_calls_per_application'], 0)}"))
    rows.append(("service calls retried", fmt(tp["retried_calls"]), fmt(lat["retried_calls"])))
    return rows


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--applications", type=int, default=300, help="applications in the throughput phase (300)")
    p.add_argument("--threads", type=int, default=16, help="client threads in the throughput phase (16)")
    p.add_argument("--rate", type=float, default=TARGET_RATE, help="offered applications/s, latency phase (20)")
    p.add_argument("--latency-seconds", type=float, default=30.0, help="length of the latency phase (30)")
    p.add_argument("--open-loop-threads", type=int, default=64, help="client threads of the latency phase (64)")
    p.add_argument("--workers", type=int, default=2, help="`backoffice.cli worker` processes (2)")
    p.add_argument("--web-threads", type=int, default=8, help="gunicorn threads of `backoffice.cli web` (8)")
    p.add_argument("--web-processes", type=int, default=1, help="gunicorn processes of `backoffice.cli web` (1)")
    p.add_argument("--accounts", type=int, default=20, help="citizen accounts the applications come from (20)")
    p.add_argument("--registry-latency-ms", type=int, default=50, help="REGISTRY_FAULTS latency of every registry")
    p.add_argument("--warmup", type=int, default=20, help="applications before measuring (20)")
    p.add_argument("--renders", type=int, default=100, help="certificate renders for the render median (100)")
    p.add_argument("--render-warmup", type=int, default=10, help="renders before measuring those (10)")
    from benchmarks import portal_capacity  # it builds on this module

    add_backend_arguments(p)
    portal_capacity.add_arguments(p)
    args = p.parse_args(argv)
    check_backend_arguments(p, args)
    if (args.base or args.workers_scaling) and (args.embedded or args.database_url or args.redis_url):
        p.error("--base and --workers-scaling start their own PostgreSQL databases and redis-servers")
    if min(args.applications, args.threads, args.workers, args.accounts, args.renders, args.warmup) < 1 \
            or args.rate <= 0 or args.latency_seconds <= 0:
        p.error("counts, --rate and --latency-seconds must be positive")
    return args


def main(argv: list[str] | None = None) -> int:
    from benchmarks import portal_capacity

    args = parse_args(argv)
    if args.base and args.workers_scaling:
        sys.exit("--base and --workers-scaling are two runs: give one of them")
    if args.base:
        return run_benchmark(args, portal_capacity.run_ab, portal_capacity.print_report)
    if args.workers_scaling:
        return run_benchmark(args, portal_capacity.run_scaling, portal_capacity.print_report)
    return run_benchmark(args, run, print_report)


if __name__ == "__main__":
    sys.exit(main())
