"""Files kept under the data dir: uploads and generated PDFs, addressed by a key we choose.

Keys never come from user input (a file's own name is only stored as metadata), so a path can
not escape the storage root.
"""

from __future__ import annotations

import uuid
from pathlib import Path

from engine.private_files import private_dir, write_private


class FileStore:
    def __init__(self, root: Path) -> None:
        self.root = root

    def put(self, data: bytes, prefix: str, suffix: str = "") -> str:
        """Store `data` under a new key; the file is 0600 in 0700 folders (scans carry personal data)."""
        key = f"{prefix}/{uuid.uuid4().hex}{suffix}"
        private_dir(self.root)
        write_private(self.path(key), data, fsync=True)  # readers never see half a file
        return key

    def path(self, key: str) -> Path:
        path = (self.root / key).resolve()
        if self.root.resolve() not in path.parents:
            raise ValueError(f"storage key {key!r} escapes the storage root")
        return path

    def read(self, key: str) -> bytes:
        return self.path(key).read_bytes()
