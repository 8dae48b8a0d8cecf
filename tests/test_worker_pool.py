"""`backoffice worker --processes N`: one parent that imported everything forks N RQ workers and replaces a
dead one at once (engine/prefork.py, tasks/worker.py). A real pool process, real PostgreSQL and Redis."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

from rq import Worker

from engine.prefork import ForkedPool
from engine.worker_liveness import dead_workers
from tests.support.backend import children_of, wait_for
from tests.support.queries import calls, events, open_task
from tests.test_resilience import _start_demo


def _registered(backend, pids: list[int]) -> bool:
    """Whether every one of `pids` runs an RQ worker registered in Redis (named `<host>.<pid>`)."""
    names = {w.name for w in Worker.all(connection=backend.services.redis)}
    return bool(pids) and all(any(name.endswith(f".{pid}") for name in names) for pid in pids)


def _gone(pid: int) -> bool:
    return not Path(f"/proc/{pid}").exists()


def test_a_child_killed_mid_job_is_replaced_and_the_replacement_does_the_job(backend, cluster, tmp_path):
    """A pool of one: the only worker is SIGKILLed while its operator runs; the pool forks a new one, which
    is the only worker there is, so the call completing proves it took work. Once, and nothing lost."""
    marker = tmp_path / "slow-started"
    pool = cluster.worker_pool(1, TEST_SLOW_MARKER=str(marker), TEST_SLOW_SECONDS="120")
    wait_for(lambda: _registered(backend, children_of(pool.pid)), timeout=60, message="the pool's worker to register")
    [first] = children_of(pool.pid)
    info = _start_demo(backend.services.runtime, "slow")
    wait_for(marker.exists, timeout=60, message="the operator to start in the pool's worker")
    assert int(marker.read_text()) == first  # the operator runs in the child, not in the parent
    os.kill(first, signal.SIGKILL)
    replaced = wait_for(lambda: [pid for pid in children_of(pool.pid) if pid != first], timeout=30,
                        message="the pool to fork a new worker")
    assert pool.poll() is None and _gone(first)
    cluster.scheduler()  # its reconciler sees the dead worker's job (no heartbeat) and re-enqueues the call
    wait_for(lambda: open_task(backend.services, info.id, "review"), timeout=90,
             message="the call to be re-run by the new worker")
    lookup = [c for c in calls(backend.services, info.id) if c.operator == "demo.lookup"]
    assert len(lookup) == 1 and lookup[0].status == "done"
    assert events(backend.services, info.id).count("service_completed") == 1
    assert children_of(pool.pid) == replaced
    names = [w.name for w in Worker.all(connection=backend.services.redis)]
    assert dead_workers(backend.services.redis, [n for n in names if n.endswith(f".{replaced[0]}")]) == set()


def test_sigterm_to_the_parent_ends_every_child_after_its_job_and_exits_0(backend, cluster, tmp_path):
    """The stop docker sends: each child gets one SIGTERM (RQ's warm shutdown), the one running a job finishes
    it, and the parent exits 0 when all have ended; nothing is left running."""
    marker = tmp_path / "slow-started"
    pool = cluster.worker_pool(2, TEST_SLOW_MARKER=str(marker), TEST_SLOW_SECONDS="3")
    wait_for(lambda: len(children_of(pool.pid)) == 2 and _registered(backend, children_of(pool.pid)), timeout=60,
             message="the pool's two workers to register")
    children = children_of(pool.pid)
    info = _start_demo(backend.services.runtime, "slow")
    wait_for(marker.exists, timeout=60, message="the operator to start in a worker")
    busy = int(marker.read_text())
    assert busy in children
    pool.send_signal(signal.SIGTERM)
    assert pool.wait(timeout=40) == 0
    assert all(_gone(pid) for pid in children)
    # The busy child finished its call before it exited: done, without the scheduler's help.
    lookup = [c for c in calls(backend.services, info.id) if c.operator == "demo.lookup"]
    assert len(lookup) == 1 and lookup[0].status == "done"
    assert events(backend.services, info.id).count("service_completed") == 1


def _attempt(log: Path) -> int:
    """How many children ran before this one (each appends a line)."""
    with log.open("a+") as f:
        f.seek(0)
        before = len(f.readlines())
        f.write("x\n")
    return before


def test_a_killed_child_is_replaced_at_once_and_a_failing_one_with_a_growing_pause(tmp_path):
    """The pool itself (engine/prefork.py), with a plain function for work: children SIGKILLed right after their
    start were working (a drill kills whoever takes a job) and count as no crash; children that fail by
    themselves at start (exit 1: a broken configuration) do, and their replacements wait longer each time."""
    killed_log, failing_log = tmp_path / "killed", tmp_path / "failing"

    def killed_thrice(_slot: int) -> int:
        if _attempt(killed_log) < 3:
            os.kill(os.getpid(), signal.SIGKILL)
        return 0

    def failing_twice(_slot: int) -> int:
        return 1 if _attempt(failing_log) < 2 else 0

    killed = ForkedPool(killed_thrice, 1, replace_finished=False)
    assert killed.run() == 0
    assert len(killed_log.read_text().splitlines()) == 4 and killed.slots[0].quick_deaths == 0
    failing = ForkedPool(failing_twice, 1, replace_finished=False)
    assert failing.run() == 0
    assert len(failing_log.read_text().splitlines()) == 3 and failing.slots[0].quick_deaths == 2


def test_a_child_that_returns_at_once_is_replaced_with_a_growing_pause_not_in_a_loop(tmp_path):
    """Work that ends by itself at once with 0 (a worker told to shut down by the queue, say) is not a reason to
    fork again in a tight loop: the pool backs off as for a failing start, so in 3 s a few children start,
    not thousands. The pool runs in a child process of the test, whose SIGTERM ends it."""
    log = tmp_path / "starts"
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            code = ForkedPool(lambda _slot: _attempt(log) * 0, 1).run()
        finally:
            os._exit(code)
    time.sleep(3)
    os.kill(pid, signal.SIGTERM)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    starts = len(log.read_text().splitlines())
    assert 2 <= starts <= 5, starts  # 0.5 + 1 + 2 s of pauses fit in 3 s: three or four starts
