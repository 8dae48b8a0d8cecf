"""Append-only rows collected on a session and written just before it commits, in as few statements as
the database allows.

Rows nobody needs the ids of (journal entries, the steps of a case, an application's attempt) skip the
ORM's unit of work and its RETURNING. All of a transaction's rows go out together: on PostgreSQL in one
statement whatever the number of tables (one data-modifying CTE per table), elsewhere one INSERT per
table. A transaction's cost in round trips is what limits a web process on the application path.

SQLAlchemy cannot cache a multi-row VALUES statement (it has no cache key), so building and compiling
that one statement cost more CPU than its round trips saved; it is therefore written as text once per
shape (tables, columns, row counts: a few dozen in a process) with typed parameters, whose compiled
form SQLAlchemy's cache keeps.

A row collected inside a savepoint (`Session.begin_nested`) belongs to it: rolling the savepoint
back forgets that savepoint's rows and keeps the rest of the transaction's; a released savepoint's
rows commit with the transaction - as if each row had been inserted at once.
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import lru_cache
from typing import Any

from sqlalchemy import Table, TextClause, bindparam, event, insert, literal, select, text
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import Session, SessionTransaction, scoped_session

# (table, savepoint the row was recorded in or None for the outermost transaction, the row's values)
_PENDING = "backoffice_pending_rows"
# Bind parameters above which the rows go out one INSERT per table (PostgreSQL allows 65535 per statement).
_MAX_PARAMS = 30000


def add(session: Session, table: Table, values: dict[str, Any]) -> None:
    """Insert `values` into `table` when the session's transaction commits."""
    current = session() if isinstance(session, scoped_session) else session  # Flask-SQLAlchemy's db.session
    session.info.setdefault(_PENDING, []).append((table, current.get_nested_transaction(), values))


def rows_of(session: Session, table: Table) -> Iterator[dict[str, Any]]:
    """The rows of `table` this transaction has yet to write, in the order they were added."""
    return (values for owner_table, _, values in session.info.get(_PENDING, ()) if owner_table is table)


def has_pending(session: Session) -> bool:
    return bool(session.info.get(_PENDING))


def write_pending(session: Session) -> None:
    rows = session.info.pop(_PENDING, None)
    if not rows:
        return
    by_table: dict[Table, list[dict[str, Any]]] = {}
    for table, _, values in rows:
        by_table.setdefault(table, []).append(values)
    params = sum(len(values) for group in by_table.values() for values in group)
    if len(by_table) == 1 or session.get_bind().dialect.name != "postgresql" or params > _MAX_PARAMS:
        for table, group in by_table.items():
            session.execute(insert(table), group)
        return
    # One statement: each table's rows in a CTE of their own; PostgreSQL runs every data-modifying CTE
    # once, whether the main query reads it or not. Column lists differ between rows of one table when
    # callers leave optional columns out, so each table's rows are completed with None first.
    groups = [(table, _uniform(group)) for table, group in by_table.items()]
    shape = tuple((table, tuple(group[0]), len(group)) for table, group in groups)
    if not all(_plain_columns(table, keys) for table, keys, _ in shape):
        ctes = [insert(table).values(group).cte(f"pending_{i}") for i, (table, group) in enumerate(groups)]
        session.execute(select(literal(1)).add_cte(*ctes))
        return
    values = {_name(i, r, j): value for i, (_, group) in enumerate(groups)
              for r, row in enumerate(group) for j, value in enumerate(row.values())}
    session.execute(_statement(shape, session.get_bind().dialect), values)


def _plain_columns(table: Table, keys: tuple[str, ...]) -> bool:
    """Whether `keys` are columns of `table` and no column left out has a default computed in Python (a
    Core INSERT would fill it in; the text statement cannot)."""
    return all(key in table.c for key in keys) and not any(
        column.default is not None for column in table.c if column.key not in keys)


def _name(table: int, row: int, column: int) -> str:
    return f"p{table}_{row}_{column}"


@lru_cache(maxsize=256)
def _statement(shape: tuple[tuple[Table, tuple[str, ...], int], ...], dialect: Dialect) -> TextClause:
    """The multi-table INSERT of rows of this shape, as text with a typed parameter per value."""
    quote, ctes, binds = dialect.identifier_preparer, [], []
    for i, (table, keys, count) in enumerate(shape):
        columns = [table.c[key] for key in keys]
        rows = []
        for r in range(count):
            names = [_name(i, r, j) for j in range(len(columns))]
            binds += [bindparam(name, type_=column.type) for name, column in zip(names, columns, strict=True)]
            rows.append("(" + ", ".join(f":{name}" for name in names) + ")")
        # Only the metadata's quoted names go into the text; every value is a bound parameter.
        ctes.append(f"pending_{i} AS (INSERT INTO {quote.format_table(table)} "  # noqa: S608
                    f"({', '.join(quote.quote(c.name) for c in columns)}) VALUES {', '.join(rows)})")
    return text(f"WITH {', '.join(ctes)} SELECT 1").bindparams(*binds)


def _uniform(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    keys = list(dict.fromkeys(key for row in rows for key in row))
    return [{key: row.get(key) for key in keys} for row in rows]


@event.listens_for(Session, "before_commit")
def _before_commit(session: Session) -> None:
    # Also fired when a savepoint is released: rows written then would go with the savepoint if its
    # release failed. They wait for the outermost commit instead; their tags keep them apart till then.
    if not session.in_nested_transaction():
        write_pending(session)


@event.listens_for(Session, "after_soft_rollback")
def _after_rollback(session: Session, previous: SessionTransaction) -> None:
    """A savepoint's rollback forgets the rows recorded in it and in savepoints within it (released
    or not); a rollback of the whole transaction forgets all of them."""
    rows = session.info.get(_PENDING)
    if not rows:
        return
    # A failed flush rolls back its own internal subtransaction first: what is lost is the savepoint
    # (or the whole transaction) around it.
    while not previous.nested and previous.parent is not None:
        previous = previous.parent
    if previous.nested:
        session.info[_PENDING] = [(table, owner, values) for table, owner, values in rows
                                  if not _within(owner, previous)]
    else:
        session.info.pop(_PENDING, None)


@event.listens_for(Session, "after_transaction_end")
def _after_transaction_end(session: Session, transaction: SessionTransaction) -> None:
    """Rows still pending when the whole transaction ends (a session closed without commit) are gone."""
    if transaction.parent is None:
        session.info.pop(_PENDING, None)


def _within(owner: SessionTransaction | None, savepoint: SessionTransaction) -> bool:
    while owner is not None:
        if owner is savepoint:
            return True
        owner = owner.parent
    return False
