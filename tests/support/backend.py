"""Running the real parts for tests: migrations, deploy, worker and scheduler processes."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from engine.context import Services, build_services
from engine.settings import Settings
from tasks.config import AppConfig, engine_settings
from tests.support import forkserver
from tests.support.clock import OFFSET_FILE

ROOT = Path(__file__).resolve().parent.parent.parent
TEST_WORKFLOWS = ROOT / "tests" / "workflows"


@dataclass
class Backend:
    kind: str
    database_url: str | None  # None: SQLite in the data dir
    redis_url: str | None  # None: embedded Redis in the data dir
    data_dir: Path
    services: Services | None = None
    extra_env: dict[str, str] = field(default_factory=dict)

    def env(self, **overrides: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
        env.update({
            "BACKOFFICE_DATA_DIR": str(self.data_dir),
            "BACKOFFICE_WORKFLOWS_DIR": str(TEST_WORKFLOWS),
            "BACKOFFICE_OPERATOR_MODULES": "tests.support.operators",
            "BACKOFFICE_SCHEDULER_INTERVAL": "0.2",
            "BACKOFFICE_RECONCILE_INTERVAL": "1",
            "BACKOFFICE_RECONCILE_GRACE": "1",
            # argon2-cffi's profile for test suites: hundreds of accounts, each hash ~0.2 s of CPU at the real cost
            # (tests/test_passwords.py signs in with a hash of the production profile).
            "PASSWORD_HASH_PROFILE": "CHEAPEST",
            "BACKOFFICE_QUEUE": f"test-{self.kind}",
            "PYTHONPATH": str(ROOT),
            "CLOCK_OFFSET_FILE": str(OFFSET_FILE),  # one clock for all the processes (tests/support/clock.py)
        })
        if self.database_url:
            env["DATABASE_URL"] = self.database_url
        if self.redis_url:
            env["REDIS_URL"] = self.redis_url
        env.update(self.extra_env)
        env.update(overrides)
        return env

    @property
    def database_url_or_dir(self) -> str:
        """What tells two backends of one kind apart (a drill's own cluster, a second session's database)."""
        return self.database_url or str(self.data_dir)

    def backoffice(self, *args: str, check: bool = True, **env: str) -> subprocess.CompletedProcess:
        return forkserver.run(args, env=self.env(**env), cwd=ROOT, check=check, timeout=300)

    def settings(self) -> Settings:
        return engine_settings(self.env())

    def config(self, **overrides: str) -> AppConfig:
        env = self.env(**overrides)
        return AppConfig.from_env(env)

    def prepare(self) -> None:
        """Run the real migration chain and deploy the test diagrams, as an operator would."""
        self.backoffice("db", "upgrade")
        self.backoffice("workflows", "deploy", str(TEST_WORKFLOWS))
        self.services = build_services(self.settings())

    def close(self) -> None:
        if self.services is not None:
            self.services.database.engine.dispose()


@dataclass
class Cluster:
    """Worker and scheduler processes started by one test and stopped after it."""

    backend: Backend
    procs: list[subprocess.Popen] = field(default_factory=list)

    def _spawn(self, *args: str, **env: str) -> subprocess.Popen:
        proc = forkserver.popen(args, env=self.backend.env(**env), cwd=ROOT, new_session=True)
        self.procs.append(proc)
        return proc

    def spawn_logged(self, log: Path, *args: str, **env: str) -> subprocess.Popen:
        """A `backoffice` part with its stdout and stderr appended to `log`; stopped after the test."""
        with log.open("ab") as out:
            proc = forkserver.popen(args, env=self.backend.env(**env), cwd=ROOT, stdout=out.fileno(),
                                    stderr=out.fileno(), new_session=True)
        self.procs.append(proc)
        return proc

    def worker(self, *args: str, **env: str) -> subprocess.Popen:
        """`backoffice worker [args]`, e.g. `--threads 3`."""
        return self._spawn("worker", *args, **env)

    def worker_pool(self, processes: int, **env: str) -> subprocess.Popen:
        """`backoffice worker --processes N`: the parent's pid; its workers are `children_of` it."""
        return self._spawn("worker", "--processes", str(processes), **env)

    def scheduler(self, **env: str) -> subprocess.Popen:
        return self._spawn("scheduler", **env)

    def stop(self, proc: subprocess.Popen, sig: int = signal.SIGTERM) -> None:
        if proc.poll() is None:
            proc.send_signal(sig)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()

    def stop_all(self) -> None:
        """SIGTERM to every process first, then wait: a worker finishing its job and a scheduler ending its
        round stop side by side instead of one after the other."""
        running = [proc for proc in self.procs if proc.poll() is None]
        for proc in running:
            proc.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 20
        for proc in running:
            try:
                proc.wait(timeout=max(deadline - time.monotonic(), 0.1))
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        self.procs.clear()


def children_of(pid: int) -> list[int]:
    """The pids of a process's live children (a worker pool's workers), from /proc; [] once it is gone."""
    try:
        return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except (FileNotFoundError, ProcessLookupError):
        return []


def wait_for(predicate: Callable[[], object], timeout: float = 60.0, interval: float = 0.2,
             message: str = "condition") -> object:
    """Poll until predicate() is truthy; fail the test with `message` on timeout."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {message}")
        time.sleep(interval)
