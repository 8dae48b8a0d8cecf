"""Issuing a case's document (certificate, refusal decision) exactly once, whatever job runs it.

An operator's job may run twice (a retry, a SIGKILL, a Redis flush), and two runs may overlap. So
the document's own number is its identity: a run first looks for a stored row with that number,
renders outside any transaction (on SQLite a transaction holds the database's write lock, and a
render takes tens of milliseconds), then stores the file and inserts the row; when a concurrent run
inserted the same number first, its row wins and this run's file is removed.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from hashlib import sha256
from typing import Any, TypeVar

from sqlalchemy import bindparam, select
from sqlalchemy.exc import IntegrityError

from engine.db import Database
from engine.errors import NotFound
from tasks.config import AppConfig

from .models.cases import Application
from .numbering import case_number_of
from .storage import FileStore

T = TypeVar("T")


def application_and_issued(db: Database, model: Any, case_number: str,
                           document_number: Callable[[Application], str]) -> tuple[Application, Any | None]:
    """The case (detached, to read while rendering) and its already stored document, if any: one read of
    committed rows, with no transaction around it. The case comes with its documents of `model` (one row per
    attempt at most); a document stored under the number but for another case would still stop this run at
    the INSERT (the number is unique), as it stopped it here before."""
    with db.read_session() as s:
        rows = s.execute(_with_documents(model), {"number": case_number_of(case_number)}).all()
    if not rows:
        raise NotFound(f"case {case_number} does not exist")
    app, number = rows[0][0], document_number(rows[0][0])
    return app, next((doc for _, doc in rows if doc is not None and doc.number == number), None)


@lru_cache(maxsize=8)
def _with_documents(model: Any) -> Any:
    """The case by its number with its documents of `model`: built once per model."""
    return (select(Application, model).outerjoin(model, model.application_id == Application.id)
            .where(Application.number == bindparam("number")))


def store_issued(db: Database, config: AppConfig, model: Any, number: str, folder: str, pdf: bytes,
                 row: Callable[[str, str], T]) -> T:
    """Store `pdf` and the row `row(storage_key, sha256)`; a row stored first by a concurrent run wins."""
    store = FileStore(config.documents_dir)
    key = store.put(pdf, folder, ".pdf")
    issued = row(key, sha256(pdf).hexdigest())
    try:
        with db.session() as s:
            s.add(issued)
    except IntegrityError:
        store.path(key).unlink(missing_ok=True)
        with db.session() as s:
            return s.scalar(select(model).where(model.number == number))
    return issued
