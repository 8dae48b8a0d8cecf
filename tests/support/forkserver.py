"""`backoffice` processes for the tests, forked from one interpreter that has already imported the product.

A test run starts a few hundred `backoffice` processes (workers, schedulers, the registry service, CLI
commands such as `db upgrade`), and a fresh interpreter spends about two seconds of CPU importing
SpiffWorkflow, SQLAlchemy, RQ and the product before it does anything: on a 2-core machine that was
the largest single cost of the suite. So each test process keeps one *fork server*: a child interpreter
that imports what every `backoffice` command imports, then forks a copy of itself per command. The copy
sets the command's environment, working directory, session and standard streams, and runs
`backoffice.cli` exactly as `python -m backoffice.cli ...` would, so the product code under test is
the same; only the interpreter's start-up is shared.

The fork server stays the parent of what it forks (the test process cannot `waitpid` a grandchild), so
`ForkedProcess` asks it for the exit status; signals go straight to the pid. Standard streams travel
as file descriptors over a Unix socket (SCM_RIGHTS), so a command writes where a `subprocess.Popen`
with the same arguments would. When the test process goes away the fork server kills what it started.

`BACKOFFICE_TEST_FORKSERVER=0` turns it off (every command then starts a fresh interpreter).

No library does this for an arbitrary command line: multiprocessing's forkserver start method runs
Python callables with pickled arguments and owns the children's lifetime, not a CLI with its own
environment, session and signals.
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import json
import os
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent
# What every `backoffice` command the tests run imports anyway; a fresh process would import the same.
PRELOAD = ("backoffice.cli", "backoffice.registry", "tasks.worker", "tasks.scheduler", "tasks.process")


def _send(sock: socket.socket, message: dict, fds: Sequence[int] = ()) -> None:
    data = json.dumps(message).encode()
    payload = struct.pack("!I", len(data)) + data
    if fds:
        socket.send_fds(sock, [payload], list(fds))
    else:
        sock.sendall(payload)


def _recv_exact(sock: socket.socket, size: int, fds: list[int]) -> bytes:
    chunks: list[bytes] = []
    while size:
        data, received, _flags, _addr = socket.recv_fds(sock, size, 3)
        if not data:
            raise EOFError
        fds.extend(received)
        chunks.append(data)
        size -= len(data)
    return b"".join(chunks)


def _recv(sock: socket.socket) -> tuple[dict, list[int]]:
    fds: list[int] = []
    (length,) = struct.unpack("!I", _recv_exact(sock, 4, fds))
    return json.loads(_recv_exact(sock, length, fds)), fds


class ForkServer:
    """The test process's side: one fork server, started on first use."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._sock: socket.socket | None = None
        self._proc: subprocess.Popen | None = None

    def _connection(self) -> socket.socket:
        if self._sock is None or self._proc is None or self._proc.poll() is not None:
            ours, theirs = socket.socketpair()
            self._proc = subprocess.Popen([sys.executable, "-m", "tests.support.forkserver", str(theirs.fileno())],
                                          cwd=ROOT, pass_fds=[theirs.fileno()], stdin=subprocess.DEVNULL,
                                          start_new_session=True)
            theirs.close()
            self._sock = ours
            atexit.register(self.close)
            reply, _ = _recv(ours)
            if reply.get("ready") is not True:
                raise RuntimeError(f"fork server did not start: {reply}")
        return self._sock

    def request(self, message: dict, fds: Sequence[int] = ()) -> dict:
        with self._lock:
            sock = self._connection()
            _send(sock, message, fds)
            reply, _ = _recv(sock)
        if "error" in reply:
            raise RuntimeError(f"fork server: {reply['error']}")
        return reply

    def spawn(self, args: Sequence[str], *, env: Mapping[str, str], cwd: Path | str = ROOT,
              stdout: int | None = None, stderr: int | None = None, new_session: bool = False) -> ForkedProcess:
        """`python -m backoffice.cli *args`, forked; stdout/stderr are file descriptors (default: ours)."""
        with open(os.devnull, "rb") as devnull:
            fds = [devnull.fileno(), 1 if stdout is None else stdout, 2 if stderr is None else stderr]
            reply = self.request({"op": "spawn", "args": list(args), "env": dict(env), "cwd": str(cwd),
                                  "new_session": new_session}, fds)
        return ForkedProcess(self, reply["pid"], ["backoffice", *args])

    def close(self) -> None:
        if self._sock is not None:
            self._sock.close()
            self._sock = None
        if self._proc is not None:
            self._proc.wait(timeout=30)
            self._proc = None


class ForkedProcess:
    """What the tests use of `subprocess.Popen`, for a process the fork server started."""

    def __init__(self, server: ForkServer, pid: int, args: list[str]) -> None:
        self._server = server
        self.pid = pid
        self.args = args
        self.returncode: int | None = None

    def poll(self) -> int | None:
        if self.returncode is None:
            self.returncode = self._server.request({"op": "poll", "pid": self.pid})["returncode"]
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        deadline = None if timeout is None else time.monotonic() + timeout
        pause = 0.005
        while self.poll() is None:
            if deadline is not None and time.monotonic() >= deadline:
                raise subprocess.TimeoutExpired(self.args, timeout)
            time.sleep(pause)
            pause = min(pause * 2, 0.05)
        return self.returncode

    def send_signal(self, sig: int) -> None:
        if self.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, sig)

    def terminate(self) -> None:
        self.send_signal(signal.SIGTERM)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)


_server = ForkServer()


def enabled() -> bool:
    return os.environ.get("BACKOFFICE_TEST_FORKSERVER", "1") != "0"


def popen(args: Sequence[str], *, env: Mapping[str, str], cwd: Path | str = ROOT, stdout: int | None = None,
          stderr: int | None = None, new_session: bool = False) -> ForkedProcess | subprocess.Popen:
    """`[python, -m, backoffice.cli, *args]` as a running process (forked when the fork server is on)."""
    if enabled():
        return _server.spawn(args, env=env, cwd=cwd, stdout=stdout, stderr=stderr, new_session=new_session)
    return subprocess.Popen([sys.executable, "-m", "backoffice.cli", *args], env=dict(env), cwd=cwd,
                            stdout=stdout, stderr=stderr, start_new_session=new_session)


def run(args: Sequence[str], *, env: Mapping[str, str], cwd: Path | str = ROOT, check: bool = True,
        timeout: float = 300) -> subprocess.CompletedProcess:
    """`subprocess.run([python, -m, backoffice.cli, *args], capture_output=True, text=True)`, forked."""
    if not enabled():
        return subprocess.run([sys.executable, "-m", "backoffice.cli", *args], env=dict(env), cwd=cwd,
                              capture_output=True, text=True, check=check, timeout=timeout)
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        proc = _server.spawn(args, env=env, cwd=cwd, stdout=out.fileno(), stderr=err.fileno())
        try:
            code = proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            raise
        out.seek(0)
        err.seek(0)
        result = subprocess.CompletedProcess(proc.args, code, out.read().decode(errors="replace"),
                                             err.read().decode(errors="replace"))
    if check:
        result.check_returncode()
    return result


# ----------------------------------------------------------------------------------- the fork server


def _run_command(args: list[str]) -> int:
    """In the forked copy: what `python -m backoffice.cli *args` does, then the interpreter's exit."""
    import traceback

    code = 0
    try:
        from backoffice.cli import main

        main(args=args, prog_name="backoffice")
    except SystemExit as stop:
        if stop.code is None or isinstance(stop.code, int):
            code = stop.code or 0
        else:
            print(stop.code, file=sys.stderr)
            code = 1
    except BaseException:
        traceback.print_exc()
        code = 1
    finally:
        atexit._run_exitfuncs()
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(OSError, ValueError):
                stream.flush()
    return code


def _child(sock: socket.socket, message: dict, fds: list[int]) -> None:
    sock.close()
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    if message["new_session"]:
        os.setsid()
    for target, fd in enumerate(fds):
        os.dup2(fd, target)
    for fd in fds:
        if fd > 2:
            os.close(fd)
    os.chdir(message["cwd"])
    os.environ.clear()
    os.environ.update(message["env"])
    sys.argv = ["backoffice", *message["args"]]
    _name_process(message["args"])
    os._exit(_run_command(message["args"]))


def _name_process(args: list[str]) -> None:
    """Name the copy after its command (`bo-worker`, `bo-scheduler`, ...) in `ps`, `top` and /proc/PID/comm:
    every copy shares the fork server's command line, so without it a profile of the run cannot tell a
    worker's CPU from a scheduler's."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None).prctl(15, f"bo-{args[0] if args else ''}"[:15].encode(), 0, 0, 0)  # PR_SET_NAME


def _end_children(children: dict[int, int | None]) -> None:
    """The test process is gone: what it started ends too (SIGKILL), and is reaped."""
    for pid, status in children.items():
        if status is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
    for pid, status in children.items():
        if status is None:
            with contextlib.suppress(ChildProcessError):
                os.waitpid(pid, 0)


def _serve(sock: socket.socket) -> None:
    children: dict[int, int | None] = {}
    while True:
        try:
            message, fds = _recv(sock)
        except (EOFError, ConnectionError, OSError):
            _end_children(children)
            return
        if message["op"] == "spawn":
            pid = os.fork()
            if pid == 0:
                _child(sock, message, fds)
            for fd in fds:
                os.close(fd)
            children[pid] = None
            _send(sock, {"pid": pid})
        elif message["op"] == "poll":
            pid = message["pid"]
            if children.get(pid) is None:
                done, status = os.waitpid(pid, os.WNOHANG)
                if done:
                    children[pid] = os.waitstatus_to_exitcode(status)
            _send(sock, {"returncode": children.get(pid)})
        else:
            _send(sock, {"error": f"unknown op {message['op']!r}"})


def main() -> None:
    import importlib

    sock = socket.socket(fileno=int(sys.argv[1]))
    for name in PRELOAD:
        importlib.import_module(name)
    _send(sock, {"ready": True})
    _serve(sock)


if __name__ == "__main__":
    main()
