"""What one citizen's application costs the web process in SQL: few statements, one commit.

Counted on the app's own engine (the one the request session and the runtime share) with SQLAlchemy's
events, for the calling thread only, on a warmed app: the second application of the same citizen,
so one-time caches (process versions, lane roles, specs) do not count.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from sqlalchemy import Engine, event

from tests.support.accounts import bearer
from tests.support.product import Product
from web.extensions import db

MAX_STATEMENTS = 8


@dataclass
class SqlLog:
    statements: list[str] = field(default_factory=list)
    commits: int = 0

    def report(self) -> str:
        lines = [f"{len(self.statements)} statements, {self.commits} commits:"]
        return "\n".join(lines + [f"  {i + 1}. {' '.join(s.split())[:300]}" for i, s in enumerate(self.statements)])


@contextmanager
def sql_log(engine: Engine) -> Iterator[SqlLog]:
    """The statements and commits this thread sends through `engine` while the block runs."""
    log, thread = SqlLog(), threading.get_ident()

    def statement(_conn, _cursor, text, _params, _context, _many) -> None:
        if threading.get_ident() == thread:
            log.statements.append(text)

    def commit(_conn) -> None:
        if threading.get_ident() == thread:
            log.commits += 1

    event.listen(engine, "before_cursor_execute", statement)
    event.listen(engine, "commit", commit)
    try:
        yield log
    finally:
        event.remove(engine, "before_cursor_execute", statement)
        event.remove(engine, "commit", commit)


def test_an_application_takes_few_statements_and_one_commit(product: Product) -> None:
    token = product.citizen_token()
    product.apply(token, "valid", index=0)  # warms the process version, specs and lane roles of this app
    with product.app.app_context():
        engine = db.engine
    client = product.client()
    with sql_log(engine) as log:
        r = client.post("/api/v1/applications", json=product.application_body("valid", 1), headers=bearer(token))
    assert r.status_code == 201, r.get_json()
    assert r.get_json()["status"] in ("submitted", "in_progress")
    assert log.commits == 1, log.report()
    assert len(log.statements) <= MAX_STATEMENTS, log.report()

