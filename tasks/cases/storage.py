"""Files kept under the data dir: uploads and generated PDFs, addressed by a key we choose.

Keys never come from user input (a file's own name is only stored as metadata), so a path can
not escape the storage root.
"""

from __future__ import annotations

import errno
import uuid
from pathlib import Path

from engine.private_files import private_dir, write_private


class StorageFull(Exception):
    """The file system under the storage root has no room (or quota) left: nothing was stored.

    A web request answers 507 with a message the person can act on (try again later) instead of a 500;
    the request's database changes roll back with it, so a case never points at a file that is not there.
    """


class FileStore:
    def __init__(self, root: Path) -> None:
        self.root = root

    def put(self, data: bytes, prefix: str, suffix: str = "") -> str:
        """Store `data` under a new key; the file is 0600 in 0700 folders (scans carry personal data)."""
        key = f"{prefix}/{uuid.uuid4().hex}{suffix}"
        try:
            private_dir(self.root)
            write_private(self.path(key), data, fsync=True)  # readers never see half a file
        except OSError as exc:
            if exc.errno in (errno.ENOSPC, errno.EDQUOT):
                raise StorageFull(f"no space left under {self.root}") from exc
            raise
        return key

    def path(self, key: str) -> Path:
        path = (self.root / key).resolve()
        if self.root.resolve() not in path.parents:
            raise ValueError(f"storage key {key!r} escapes the storage root")
        return path

    def read(self, key: str) -> bytes:
        return self.path(key).read_bytes()
