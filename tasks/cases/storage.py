"""Files kept under the data dir: uploads and generated PDFs, addressed by a key we choose.

Keys never come from user input (a file's own name is only stored as metadata), so a path can
not escape the storage root.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path


class FileStore:
    def __init__(self, root: Path) -> None:
        self.root = root

    def put(self, data: bytes, prefix: str, suffix: str = "") -> str:
        key = f"{prefix}/{uuid.uuid4().hex}{suffix}"
        path = self.path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(path.suffix + ".tmp")
        with open(tmp, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        tmp.replace(path)  # readers never see half a file
        return key

    def path(self, key: str) -> Path:
        path = (self.root / key).resolve()
        if self.root.resolve() not in path.parents:
            raise ValueError(f"storage key {key!r} escapes the storage root")
        return path

    def read(self, key: str) -> bytes:
        return self.path(key).read_bytes()
