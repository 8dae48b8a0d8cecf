"""Tests for the shared embedded Redis server (engine/embedded_redis.py).

Every test that starts a server uses the ``data_dir`` fixture, whose finalizer stops
the server and kills anything still listening on the socket, so no redis-server
processes outlive the test session even when an assertion fails midway.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
import rq

from engine import embedded_redis
from engine.embedded_redis import (
    EmbeddedRedis,
    embedded_redis_url,
    socket_path_for,
    start_embedded_redis,
    stop_embedded_redis,
)

REPO_ROOT = Path(__file__).resolve().parents[1]
# Where socket_path_for() puts sockets whose in-data-dir path would be too long.
SOCKET_FALLBACK_DIR = Path("/tmp")  # noqa: S108 - asserting the module's documented fallback location

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="unix sockets and fcntl only")


def _server_pids(socket_path: Path) -> list[int]:
    """Pids of live redis-server processes serving ``socket_path`` (Linux /proc scan).

    redis-server rewrites its title to ``redis-server unixsocket:<path>``, which lets the
    tests count servers independently of the code under test.
    """
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            state = (entry / "stat").read_text().rpartition(")")[2].split()[0]
        except OSError:
            continue
        if "redis-server" in cmdline and str(socket_path) in cmdline and state != "Z":
            pids.append(int(entry.name))
    return pids


def _wait_dead(pid: int, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while embedded_redis._pid_alive(pid):
        assert time.monotonic() < deadline, f"pid {pid} still alive"
        time.sleep(0.05)


def _cleanup(directory: Path) -> None:
    socket_path = socket_path_for(directory)
    try:
        stop_embedded_redis(directory)
    finally:
        # Safety net: never leak a server, even if stop itself is what broke.
        for pid in _server_pids(socket_path):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        with contextlib.suppress(FileNotFoundError):
            socket_path.unlink()


@pytest.fixture
def data_dir(tmp_path: Path) -> Iterator[Path]:
    directory = tmp_path / "data"
    directory.mkdir()
    yield directory
    _cleanup(directory)


def _client(server: EmbeddedRedis) -> redis.Redis:
    return redis.Redis.from_url(server.url)


def test_start_ping_and_files(data_dir: Path) -> None:
    server = start_embedded_redis(data_dir)
    redis_dir = data_dir.resolve() / "redis"

    assert server.url == f"unix://{server.socket_path}?db=0"
    assert server.socket_path.is_socket()
    assert oct(server.socket_path.stat().st_mode & 0o777) == oct(0o700)
    with _client(server) as client:
        assert client.ping() is True
        assert client.info("server")["process_id"] == server.pid
        config = client.config_get("*")
        assert config["port"] == "0"
        assert config["appendonly"] == "yes"
        assert config["appendfsync"] == "everysec"
        assert config["save"] == "60 1"
        assert config["dbfilename"] == "dump.rdb"
        assert Path(config["dir"]) == redis_dir
    for name in ("redis.pid", "redis.log", "redis.conf", "start.lock"):
        assert (redis_dir / name).exists(), name
    assert int((redis_dir / "redis.pid").read_text()) == server.pid
    assert _server_pids(server.socket_path) == [server.pid]


def test_embedded_redis_url_starts_server(data_dir: Path) -> None:
    url = embedded_redis_url(data_dir)
    assert url.startswith("unix:///") and url.endswith("redis.sock?db=0")
    with redis.Redis.from_url(url) as client:
        assert client.ping() is True


def test_url_db_parameter_selects_database(data_dir: Path) -> None:
    server = start_embedded_redis(data_dir)
    db3_url = server.url.replace("?db=0", "?db=3")
    db3 = redis.Redis.from_url(db3_url)
    db0 = redis.Redis.from_url(server.url)
    try:
        assert db3.connection_pool.connection_kwargs["db"] == 3
        assert db3.connection_pool.connection_kwargs["path"] == str(server.socket_path)
        db3.set("only-in-3", "x")
        assert db3.client_info()["db"] == 3
        assert db0.get("only-in-3") is None
        assert db3.get("only-in-3") == b"x"
    finally:
        db3.close()
        db0.close()


def test_rq_round_trip(data_dir: Path) -> None:
    server = start_embedded_redis(data_dir)
    with redis.Redis.from_url(server.url) as connection:
        queue = rq.Queue("embedded-test", connection=connection)
        job = queue.enqueue("os.getpid")
        assert queue.count == 1
        assert job.id in queue.job_ids
        assert rq.job.Job.exists(job.id, connection=connection)
        fetched = rq.job.Job.fetch(job.id, connection=connection)
        assert fetched.func_name == "os.getpid"
        assert fetched.get_status() == rq.job.JobStatus.QUEUED


def test_start_is_idempotent(data_dir: Path) -> None:
    first = start_embedded_redis(data_dir)
    second = start_embedded_redis(data_dir)
    assert second == first
    assert embedded_redis_url(data_dir) == first.url
    assert _server_pids(first.socket_path) == [first.pid]


def test_server_survives_starting_process(data_dir: Path) -> None:
    """A worker that started the server and exited must not take the server with it."""
    result = _run_starter(data_dir, start_at=0.0)
    pid = int(result.strip())
    assert embedded_redis._pid_alive(pid)
    server = start_embedded_redis(data_dir)
    assert server.pid == pid


def _starter_process(data_dir: Path, start_at: float) -> subprocess.Popen[str]:
    code = textwrap.dedent(
        """
        import sys, time
        from pathlib import Path
        from engine.embedded_redis import start_embedded_redis
        start_at = float(sys.argv[2])
        time.sleep(max(0.0, start_at - time.time()))
        print(start_embedded_redis(Path(sys.argv[1]), timeout=20).pid)
        """
    )
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH")])),
    }
    return subprocess.Popen(
        [sys.executable, "-c", code, str(data_dir), str(start_at)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=REPO_ROOT,
    )


def _run_starter(data_dir: Path, start_at: float) -> str:
    proc = _starter_process(data_dir, start_at)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    return out


def test_concurrent_starts_share_one_server(data_dir: Path) -> None:
    # All processes sleep until the same wall-clock instant (after interpreter start-up)
    # so they really hit start_embedded_redis() together.
    start_at = time.time() + 2.0
    procs = [_starter_process(data_dir, start_at) for _ in range(5)]
    pids = set()
    for proc in procs:
        out, err = proc.communicate(timeout=60)
        assert proc.returncode == 0, err
        pids.add(int(out.strip()))
    assert len(pids) == 1
    (pid,) = pids
    socket_path = socket_path_for(data_dir)
    assert _server_pids(socket_path) == [pid]
    assert start_embedded_redis(data_dir).pid == pid


def test_recovers_from_killed_server(data_dir: Path) -> None:
    server = start_embedded_redis(data_dir)
    os.kill(server.pid, signal.SIGKILL)
    _wait_dead(server.pid)
    # A crash leaves both the socket file and the pid file behind.
    assert server.socket_path.exists()
    assert (data_dir / "redis" / "redis.pid").exists()

    restarted = start_embedded_redis(data_dir)
    assert restarted.pid != server.pid
    with _client(restarted) as client:
        assert client.ping() is True
    assert _server_pids(restarted.socket_path) == [restarted.pid]


def test_stale_pid_file_of_unrelated_process_is_not_signalled(data_dir: Path) -> None:
    """After a crash the recorded pid may be reused by another process: leave it alone."""
    server = start_embedded_redis(data_dir)
    os.kill(server.pid, signal.SIGKILL)
    _wait_dead(server.pid)
    # Point the pid file at a live process that is not redis-server.
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        (data_dir / "redis" / "redis.pid").write_text(f"{sleeper.pid}\n")
        restarted = start_embedded_redis(data_dir)
        with _client(restarted) as client:
            assert client.ping() is True
        assert sleeper.poll() is None, "unrelated process was signalled"
    finally:
        sleeper.kill()
        sleeper.wait()


def test_stale_socket_without_pid_file(data_dir: Path) -> None:
    socket_path = socket_path_for(data_dir)
    socket_path.parent.mkdir(parents=True, exist_ok=True)
    socket_path.write_text("not a socket")  # leftover junk at the socket path
    server = start_embedded_redis(data_dir)
    with _client(server) as client:
        assert client.ping() is True


def test_stop(data_dir: Path) -> None:
    server = start_embedded_redis(data_dir)
    stop_embedded_redis(data_dir)
    _wait_dead(server.pid)
    assert not server.socket_path.exists()
    assert not (data_dir / "redis" / "redis.pid").exists()
    assert _server_pids(server.socket_path) == []
    # Stopping again (nothing running) is a no-op.
    stop_embedded_redis(data_dir)


def test_stop_falls_back_to_sigterm_without_socket(data_dir: Path) -> None:
    server = start_embedded_redis(data_dir)
    server.socket_path.unlink()  # SHUTDOWN impossible: only the pid file is left
    stop_embedded_redis(data_dir)
    _wait_dead(server.pid)


def test_stop_without_data_dir_is_noop(tmp_path: Path) -> None:
    stop_embedded_redis(tmp_path / "never-created")
    assert not (tmp_path / "never-created").exists()


def test_data_survives_stop_and_start(data_dir: Path) -> None:
    server = start_embedded_redis(data_dir)
    with _client(server) as client:
        client.set("persisted", "yes")
        rq.Queue("kept", connection=client).enqueue("os.getpid")
    stop_embedded_redis(data_dir)
    _wait_dead(server.pid)
    assert (data_dir / "redis" / "dump.rdb").exists()

    restarted = start_embedded_redis(data_dir)
    assert restarted.pid != server.pid
    with _client(restarted) as client:
        assert client.get("persisted") == b"yes"
        assert rq.Queue("kept", connection=client).count == 1


def test_data_survives_crash_via_aof(data_dir: Path) -> None:
    server = start_embedded_redis(data_dir)
    with _client(server) as client:
        client.set("crash-safe", "yes")
    time.sleep(1.5)  # appendfsync everysec
    os.kill(server.pid, signal.SIGKILL)
    _wait_dead(server.pid)
    restarted = start_embedded_redis(data_dir)
    with _client(restarted) as client:
        assert client.get("crash-safe") == b"yes"


def test_socket_path_short_data_dir() -> None:
    data_dir = Path("/srv/backoffice/data")
    assert socket_path_for(data_dir) == Path("/srv/backoffice/data/redis/redis.sock")


def test_socket_path_long_data_dir_falls_back_to_tmp(tmp_path: Path) -> None:
    long_dir = tmp_path / ("d" * 120)
    path = socket_path_for(long_dir)
    assert path.parent == SOCKET_FALLBACK_DIR
    assert path.name.startswith("backoffice-redis-") and path.suffix == ".sock"
    assert len(os.fsencode(path)) <= embedded_redis.MAX_SOCKET_PATH_BYTES
    # Deterministic per data dir, so independent processes agree; distinct across dirs.
    assert socket_path_for(long_dir) == path
    assert socket_path_for(tmp_path / ("e" * 120)) != path


@pytest.fixture
def long_data_dir(tmp_path: Path) -> Iterator[Path]:
    directory = tmp_path / ("long-" * 25)
    directory.mkdir()
    yield directory
    _cleanup(directory)


def test_long_data_dir_server_works(long_data_dir: Path) -> None:
    server = start_embedded_redis(long_data_dir)
    assert server.socket_path.parent == SOCKET_FALLBACK_DIR
    with _client(server) as client:
        assert client.ping() is True
        # Everything except the socket still lives in the data directory.
        assert Path(client.config_get("dir")["dir"]) == long_data_dir.resolve() / "redis"
    assert (long_data_dir / "redis" / "redis.pid").exists()


def test_data_dir_with_space(tmp_path: Path) -> None:
    """Paths are quoted both in redis.conf and in the URL (redis-py unquotes it)."""
    directory = tmp_path / "a b"
    directory.mkdir()
    try:
        server = start_embedded_redis(directory)
        if " " in str(server.socket_path):
            assert "%20" in server.url and " " not in server.url
        with _client(server) as client:
            assert client.ping() is True
            assert Path(client.config_get("dir")["dir"]) == directory.resolve() / "redis"
    finally:
        _cleanup(directory)


def test_startup_failure_reports_log_tail(data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A server that dies during startup yields a RuntimeError carrying redis.log."""
    real_render = embedded_redis._render_conf

    def broken_conf(redis_dir: Path, socket_path: Path) -> str:
        # Valid syntax, but an unloadable module makes the daemon exit after logging.
        return real_render(redis_dir, socket_path) + f'loadmodule "{redis_dir}/missing-module.so"\n'

    monkeypatch.setattr(embedded_redis, "_render_conf", broken_conf)
    with pytest.raises(RuntimeError, match="redis") as excinfo:
        start_embedded_redis(data_dir, timeout=5)
    assert "missing-module" in str(excinfo.value)


def test_a_server_of_a_deleted_data_dir_is_stopped_by_the_next_start(tmp_path: Path, data_dir: Path) -> None:
    """Deleting a data folder leaves its daemon running; the next server started anywhere stops it."""
    import shutil

    gone = tmp_path / "deleted"
    gone.mkdir()
    orphan = start_embedded_redis(gone)
    shutil.rmtree(gone)
    assert embedded_redis._pid_alive(orphan.pid)
    start_embedded_redis(data_dir)
    _wait_dead(orphan.pid)
    with contextlib.suppress(FileNotFoundError):
        orphan.socket_path.unlink()


def test_an_attached_server_ends_with_the_process_that_started_it(data_dir: Path) -> None:
    """`backoffice run` starts Redis attached: killed with SIGKILL, the starter leaves no server behind."""
    script = textwrap.dedent(f"""
        import sys, time
        from pathlib import Path
        from engine.embedded_redis import start_embedded_redis
        print(start_embedded_redis(Path({str(data_dir)!r}), attached=True).pid, flush=True)
        time.sleep(600)
    """)
    starter = subprocess.Popen([sys.executable, "-c", script], cwd=REPO_ROOT, stdout=subprocess.PIPE, text=True)
    try:
        pid = int(starter.stdout.readline())
        assert redis.Redis(unix_socket_path=str(socket_path_for(data_dir))).ping()
        starter.kill()
        starter.wait(timeout=10)
        _wait_dead(pid)
    finally:
        if starter.poll() is None:
            starter.kill()
