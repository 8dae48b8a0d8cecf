"""Files only the service's own user may read: folders 0700, files 0600.

The data folder holds the database (password hashes, personal data), uploaded scans and stored mail, so
nothing in it may be readable by other users of the machine. Two layers: every process entry point sets
the umask 0077 (`restrict_umask`), so whatever a library creates - SQLite's WAL, Redis's AOF - is
private too; and the files this code writes itself are created with explicit modes, which holds even
when the code runs in a process that did not set the umask (an embedding application, a test).
"""

from __future__ import annotations

import os
from pathlib import Path

PRIVATE_UMASK = 0o077
DIR_MODE = 0o700
FILE_MODE = 0o600


def restrict_umask() -> None:
    """Make every file this process (and its children) creates private to its user."""
    os.umask(PRIVATE_UMASK)


def private_dir(path: Path) -> Path:
    """`path` as a folder with mode 0700 (created with its parents if missing)."""
    path.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
    if path.stat().st_mode & 0o777 != DIR_MODE:
        os.chmod(path, DIR_MODE)
    return path


def private_file(path: Path) -> Path:
    """Create `path` empty with mode 0600 if missing, else narrow its mode to 0600.

    An existing file is never opened here, only chmod-ed: for an SQLite database, closing any descriptor
    of the file drops every POSIX lock this process holds on it, and other connections would then write
    over each other.
    """
    private_dir(path.parent)
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE))
    except FileExistsError:
        os.chmod(path, FILE_MODE)
    return path


def write_private(path: Path, data: bytes, *, fsync: bool = False) -> Path:
    """Write `data` to `path` (mode 0600) atomically: readers see the old file or the whole new one."""
    private_dir(path.parent)
    tmp = path.with_name(f".{path.name}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, FILE_MODE)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            if fsync:
                fh.flush()
                os.fsync(fh.fileno())
        os.chmod(tmp, FILE_MODE)  # an older leftover tmp kept its own mode
        tmp.replace(path)
    except BaseException:
        tmp.unlink(missing_ok=True)  # a full disk must not also keep the half-written file
        raise
    return path
