"""Test backends: PostgreSQL + Redis server, and SQLite + embedded Redis.

Every test that takes `backend` runs once per backend. Each run creates its own PostgreSQL
database and claims a free Redis database number, so concurrent runs never collide.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
import redis

from tests.support.accounts import make_app  # noqa: F401  (fixture)
from tests.support.backend import Backend, Cluster
from tests.support.data_change import change_product, own_registry  # noqa: F401  (fixtures)
from tests.support.product import product, product_with  # noqa: F401  (fixtures)
from tests.support.registry import registry_service  # noqa: F401  (fixture)
from tests.support.screenshots import screenshots, summary_lines  # noqa: F401  (fixture)
from tests.support.smtp import smtp_server  # noqa: F401  (fixture)

ROOT = Path(__file__).resolve().parent.parent
PG_ADMIN = os.environ.get("TEST_PG_ADMIN_DSN", "postgresql://postgres@127.0.0.1:5432/test")
REDIS_SERVER = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379")


def _claim_redis_db() -> tuple[int, redis.Redis]:
    admin = redis.Redis.from_url(f"{REDIS_SERVER}/0")
    for number in range(1, 16):
        if admin.set(f"backoffice-test:db:{number}", os.getpid(), nx=True, ex=3 * 3600):
            return number, admin
    raise RuntimeError("no free Redis database number for the tests")


@pytest.fixture(scope="session", params=["postgres", "embedded"])
def backend(request, tmp_path_factory) -> Iterator[Backend]:
    data_dir = tmp_path_factory.mktemp(f"data-{request.param}")
    if request.param == "postgres":
        name = f"bo_test_{uuid.uuid4().hex[:10]}"
        with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        number, admin = _claim_redis_db()
        redis_url = f"{REDIS_SERVER}/{number}"
        redis.Redis.from_url(redis_url).flushdb()
        b = Backend("postgres", f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}", redis_url, data_dir)
        try:
            b.prepare()
            yield b
        finally:
            b.close()
            redis.Redis.from_url(redis_url).flushdb()
            admin.delete(f"backoffice-test:db:{number}")
            with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    else:
        b = Backend("embedded", None, None, data_dir)
        try:
            b.prepare()
            yield b
        finally:
            b.close()
            from engine.embedded_redis import stop_embedded_redis

            stop_embedded_redis(data_dir)


@pytest.fixture
def cluster(backend: Backend) -> Iterator[Cluster]:
    c = Cluster(backend)
    try:
        yield c
    finally:
        c.stop_all()


def pytest_terminal_summary(terminalreporter) -> None:
    """List the screenshots the browser tests took (tests.support.screenshots), so they travel with the output."""
    lines = summary_lines()
    if lines:
        terminalreporter.section(f"screenshots ({len(lines)})")
        for line in lines:
            terminalreporter.write_line(line)
