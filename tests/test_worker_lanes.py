"""Lanes: one worker process runs `BACKOFFICE_WORKER_THREADS` RQ workers, the first in its main thread and the
others in threads (tasks/worker.py), so a job waiting for a registry does not keep the process from the next.
A real worker process, real PostgreSQL and Redis; the operator waits at a gate the test opens."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest
from rq import Worker

from engine.settings import positive_int_env
from engine.worker_liveness import dead_workers
from tests.support.backend import wait_for
from tests.support.queries import calls, events, open_task
from tests.test_resilience import _start_demo


def _names(backend, pid: int) -> set[str]:
    """The RQ workers registered by the process `pid` (named `<host>.<pid>` and `<host>.<pid>/<n>`)."""
    names = {w.name for w in Worker.all(connection=backend.services.redis)}
    return {n for n in names if n.split("/")[0].endswith(f".{pid}")}


def _lanes(names: set[str]) -> set[str]:
    """The lane part of each name: "" for the main thread's lane, "/<n>" for the others."""
    return {name[len(name.split("/")[0]):] for name in names}


def _started(gate: Path, keys: list[str]) -> dict[str, tuple[int, str]]:
    """Who runs each gated operator: (pid, thread name), once all of them have started."""
    files = [gate / f"{key}.started" for key in keys]
    wait_for(lambda: all(f.exists() and f.read_text() for f in files), timeout=60,
             message=f"the operators {keys} to start")
    return {key: (int(f.read_text().split()[0]), f.read_text().split()[1]) for key, f in zip(keys, files, strict=True)}


def _done_once(backend, info) -> bool:
    lookup = [c for c in calls(backend.services, info.id) if c.operator == "demo.lookup"]
    return (len(lookup) == 1 and lookup[0].status == "done"
            and events(backend.services, info.id).count("service_completed") == 1)


def test_one_process_runs_two_jobs_at_once_and_a_sigterm_lets_both_finish(backend, cluster, tmp_path):
    """Two cases whose operators both wait at the gate: with two lanes, one process has both running at the
    same time, in two threads. SIGTERM while both are busy: each finishes its job, then the process exits 0."""
    gate = tmp_path / "gate"
    gate.mkdir()
    worker = cluster.worker(TEST_GATE_DIR=str(gate), BACKOFFICE_WORKER_THREADS="2")
    wait_for(lambda: len(_names(backend, worker.pid)) == 2, timeout=60, message="the worker's two lanes to register")
    assert _lanes(_names(backend, worker.pid)) == {"", "/1"}
    cases = [_start_demo(backend.services.runtime, key) for key in ("gate-a", "gate-b")]
    started = _started(gate, ["gate-a", "gate-b"])
    assert {pid for pid, _ in started.values()} == {worker.pid}
    assert len({thread for _, thread in started.values()}) == 2  # at once, in two threads of one process
    worker.send_signal(signal.SIGTERM)
    (gate / "open").touch()
    assert worker.wait(timeout=40) == 0
    for info in cases:  # finished by the stopping worker itself: no scheduler runs in this test
        assert _done_once(backend, info)
        assert open_task(backend.services, info.id, "review")
    assert _names(backend, worker.pid) == set()  # both lanes unregistered on the way out


def test_a_killed_process_loses_neither_lane_s_job(backend, cluster, tmp_path):
    """SIGKILL while both lanes hold a job: both lanes' heartbeats stop, so the reconciler re-enqueues both
    calls at once (not after the operator's timeout), and a new worker runs each exactly once."""
    gate = tmp_path / "gate"
    gate.mkdir()
    victim = cluster.worker(TEST_GATE_DIR=str(gate), BACKOFFICE_WORKER_THREADS="2")
    wait_for(lambda: len(_names(backend, victim.pid)) == 2, timeout=60, message="the worker's two lanes to register")
    lanes = _names(backend, victim.pid)
    cases = [_start_demo(backend.services.runtime, key) for key in ("gate-c", "gate-d")]
    _started(gate, ["gate-c", "gate-d"])
    os.kill(victim.pid, signal.SIGKILL)
    victim.wait(timeout=10)
    wait_for(lambda: dead_workers(backend.services.redis, sorted(lanes)) == lanes, timeout=30,
             message="both lanes' heartbeats to expire")
    (gate / "open").touch()
    cluster.worker(BACKOFFICE_WORKER_THREADS="1")
    cluster.scheduler()
    for info in cases:
        wait_for(lambda info=info: open_task(backend.services, info.id, "review"), timeout=90,
                 message="the killed lane's call to be re-run")
        assert _done_once(backend, info)


@pytest.mark.parametrize("raw", ["0", "-1", "two", "1.5"])
def test_a_lane_count_that_is_not_a_positive_whole_number_is_refused_by_name(raw):
    with pytest.raises(ValueError, match="BACKOFFICE_WORKER_THREADS must be a positive whole number"):
        positive_int_env({"BACKOFFICE_WORKER_THREADS": raw}, "BACKOFFICE_WORKER_THREADS", 2)
    assert positive_int_env({}, "BACKOFFICE_WORKER_THREADS", 2) == 2
    assert positive_int_env({"BACKOFFICE_WORKER_THREADS": " 3 "}, "BACKOFFICE_WORKER_THREADS", 2) == 3


def test_the_threads_option_overrides_the_configuration(backend, cluster):
    single = cluster.worker(BACKOFFICE_WORKER_THREADS="1")
    wait_for(lambda: len(_names(backend, single.pid)) == 1, timeout=60, message="the single lane to register")
    worker = cluster.worker("--threads", "3", BACKOFFICE_WORKER_THREADS="1")
    wait_for(lambda: len(_names(backend, worker.pid)) == 3, timeout=60, message="the worker's three lanes to register")
    assert _lanes(_names(backend, worker.pid)) == {"", "/1", "/2"}
    assert len(_names(backend, single.pid)) == 1
