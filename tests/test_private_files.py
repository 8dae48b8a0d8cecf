"""Data at rest is private to the service's user: folders 0700, files 0600, whatever the caller's umask.

A fresh data folder is filled by the real commands and parts - the migration creates the SQLite file, an
upload is stored, a mail goes to a file, the embedded Redis starts and saves - and nothing in it may be
readable, writable or enterable by the group or others.
"""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import redis

from engine.embedded_redis import start_embedded_redis, stop_embedded_redis
from tasks.cases.storage import FileStore
from tasks.config import AppConfig
from tasks.mail import send_mail
from tests.support.backend import ROOT


def _open_to_others(root: Path) -> list[str]:
    found = []
    for path in [root, *root.rglob("*")]:
        if path.is_socket():
            continue  # the Redis socket: unixsocketperm 700 in its 0700 folder
        mode = stat.S_IMODE(path.lstat().st_mode)
        if mode & 0o077:
            found.append(f"{path.relative_to(root.parent)}: {oct(mode)}")
    return found


def test_a_data_folder_filled_by_the_parts_is_private(tmp_path: Path) -> None:
    data_dir = tmp_path / "var"
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL", "SECRET_KEY")}
    env.update(BACKOFFICE_DATA_DIR=str(data_dir), PYTHONPATH=str(ROOT))
    previous = os.umask(0o022)  # the usual umask: the product must not depend on the caller's
    try:
        subprocess.run([sys.executable, "-m", "backoffice.cli", "db", "upgrade"], env=env, cwd=ROOT, check=True,
                       capture_output=True, timeout=300)
        config = AppConfig.from_env(env)
        FileStore(config.uploads_dir).put(b"%PDF-1.4 scan", "documents", ".pdf")
        send_mail(config, "someone@example.ru", "Проверка", "Текст письма")
        server = start_embedded_redis(data_dir)
        try:
            redis.Redis.from_url(server.url).save()
        finally:
            stop_embedded_redis(data_dir)
    finally:
        os.umask(previous)
    assert (data_dir / "backoffice.sqlite3").exists()
    assert list((data_dir / "mail").glob("*.eml")) and list((data_dir / "uploads" / "documents").iterdir())
    assert (data_dir / "redis" / "dump.rdb").exists()
    assert _open_to_others(data_dir) == []


def test_an_existing_data_folder_is_narrowed(tmp_path: Path) -> None:
    """A folder made world-readable by an older version is closed when the product starts on it."""
    from tasks.config import engine_settings

    data_dir = tmp_path / "old"
    data_dir.mkdir(mode=0o755)
    os.chmod(data_dir, 0o755)  # noqa: S103 - the open folder an older version left behind
    engine_settings({"BACKOFFICE_DATA_DIR": str(data_dir)}).ensure_dirs()
    assert stat.S_IMODE(data_dir.stat().st_mode) == 0o700
