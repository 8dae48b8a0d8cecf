"""Rows collected on a session and written just before it commits, in as few statements as the database
allows.

Rows nobody needs the ids of (journal entries, the steps of a case, an application's attempt) skip the
ORM's unit of work and its RETURNING. All of a transaction's rows go out together: on PostgreSQL in one
statement whatever the number of tables (one data-modifying CTE per table), elsewhere one INSERT per
table. A transaction's cost in round trips is what limits a web process on the application path.

Two more kinds of row go out in the same statement, because every save of an instance writes them and the
ORM's flush cost a worker more CPU than the rest of the statement (engine/runtime.py):

* rows whose ids are wanted (`add(..., on_id=...)`: new outbox rows, whose ids the RQ job carries): the
  INSERT returns them, and each row's callback receives its own before the commit. PostgreSQL inserts a
  VALUES list row by row in its order, each row taking the next id of the table's sequence as it goes, so
  the returned ids sorted ascending are the rows' in the order they were added (elsewhere SQLAlchemy's
  INSERT ... RETURNING sorted by parameter order does it);
* columns of one loaded object to update (`update`: the instance's state and projection): the object
  holds the new values at once, as if they were stored, and its row is updated with the rest.

A transaction may also be gated (`gate`, PostgreSQL): statements of its own that must run before anything it
writes and decide whether it may go on at all (a lock taken only if the row is still the version the caller
holds). They ride in the same statement as the rows, ahead of them, and refuse by raising an error from within
it (`engine_gate_refused`, a function of the schema), which undoes the whole statement: GateRefused. A gated
transaction whose one statement is that one runs it on its own, in autocommit - atomic as any statement, and
without the round trips of a BEGIN and a COMMIT. An update whose row version is wanted (`update(...,
on_version=...)`) returns PostgreSQL's `xmin`, which any later change of the row replaces: what such a gate
compares.

All of these are written earlier when a statement of the session runs before the commit, so the transaction's own
reads see them as they would have seen the ORM's flush (not inside a savepoint: there they wait for the
savepoint's end, as a savepoint's rollback must not take them along).

SQLAlchemy cannot cache a multi-row VALUES statement (it has no cache key), so building and compiling
that one statement cost more CPU than its round trips saved; it is therefore written as text once per
shape (tables, columns, row counts: a few dozen in a process) with typed parameters, whose compiled
form SQLAlchemy's cache keeps.

A row collected inside a savepoint (`Session.begin_nested`) belongs to it: rolling the savepoint
back forgets that savepoint's rows and keeps the rest of the transaction's; a released savepoint's
rows commit with the transaction - as if each row had been inserted at once.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import lru_cache
from typing import Any, NamedTuple

from psycopg.pq import TransactionStatus
from sqlalchemy import BindParameter, Table, TextClause, bindparam, event, insert, inspect, literal, select, text
from sqlalchemy import update as sql_update
from sqlalchemy.engine import Connection, Dialect
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import ORMExecuteState, Session, SessionTransaction, scoped_session
from sqlalchemy.orm.attributes import set_committed_value

_PENDING = "backoffice_pending_rows"
_GATE = "backoffice_pending_gate"
# Set while rows other statements of the transaction may look for (updates, rows with wanted ids) wait.
_AWAITED = "backoffice_pending_awaited"
# Bind parameters above which the rows go out one INSERT per table (PostgreSQL allows 65535 per statement).
_MAX_PARAMS = 30000


class _Entry(NamedTuple):
    table: Table
    owner: SessionTransaction | None  # the savepoint the row was recorded in, None for the outermost transaction
    values: dict[str, Any]  # an INSERT's row; for an update, the columns (values are read when written)
    # An INSERT whose generated id is wanted; for an update, whose row version (PostgreSQL's xmin) is wanted.
    on_id: Callable[[int], None] | None = None
    target: Any = None  # the mapped object whose row an update writes

    @property
    def awaited(self) -> bool:
        return self.on_id is not None or self.target is not None


def add(session: Session, table: Table, values: dict[str, Any], *,
        on_id: Callable[[int], None] | None = None) -> None:
    """Insert `values` into `table` when the session's transaction commits; `on_id` receives the row's
    generated `id` once it is written (before the commit, or before a statement of the session that runs
    first)."""
    entries = session.info.setdefault(_PENDING, [])
    entries.append(_Entry(table, _savepoint(session), values, on_id))
    if on_id is not None:
        session.info[_AWAITED] = True


def update(session: Session, obj: Any, values: dict[str, Any], *,
           on_version: Callable[[int], None] | None = None) -> None:
    """Give the loaded object `obj` these column values and write them to its row with the transaction's
    other pending rows (one UPDATE by primary key, the values the object holds then), not in the ORM's flush.
    `on_version` receives the row's new version once written, on PostgreSQL only (elsewhere it is not called).

    Inside a savepoint they are set as usual and flushed by the ORM: SQLAlchemy then restores the object
    itself if the savepoint rolls back."""
    if _savepoint(session) is not None:
        for key, value in values.items():
            setattr(obj, key, value)
        return
    for key, value in values.items():
        set_committed_value(obj, key, value)
    session.info.setdefault(_PENDING, []).append(
        _Entry(inspect(obj).mapper.local_table, None, values, on_version, obj))
    session.info[_AWAITED] = True


# The SQLSTATE of engine_gate_refused(reason) (created by the migration 0027_gate_refusal).
GATE_REFUSED = "BOG01"


class GateRefused(Exception):
    """A gate refused its transaction: nothing of it was written."""


class GateSql(NamedTuple):
    """A gate's statements (PostgreSQL): CTE definitions (names not starting with "pending_") and a scalar
    SELECT over them that calls engine_gate_refused(reason) when the transaction must not go on, with the
    typed parameters they use. Built once per call site."""

    ctes: str
    value: str
    binds: tuple[BindParameter, ...]


class _Gate(NamedTuple):
    sql: GateSql
    params: dict[str, Any]


def gate(session: Session, sql: GateSql, params: dict[str, Any]) -> None:
    """Run `sql` before anything else this transaction writes (PostgreSQL only): at the commit within the
    statement of its rows, or alone before the transaction's first other statement; its refusal raises
    GateRefused there, and the transaction is to be rolled back."""
    if session.get_bind().dialect.name != "postgresql":
        raise RuntimeError("a gate is written in PostgreSQL's SQL")
    session.info[_GATE] = _Gate(sql, params)
    session.info[_AWAITED] = True


def _savepoint(session: Session) -> SessionTransaction | None:
    current = session() if isinstance(session, scoped_session) else session  # Flask-SQLAlchemy's db.session
    return current.get_nested_transaction()


def rows_of(session: Session, table: Table) -> Iterator[dict[str, Any]]:
    """The rows of `table` this transaction has yet to insert, in the order they were added."""
    return (entry.values for entry in session.info.get(_PENDING, ())
            if entry.table is table and entry.target is None)


def has_pending(session: Session) -> bool:
    return bool(session.info.get(_PENDING))


def write_pending(session: Session, *, awaited_only: bool = False) -> None:
    """Write what the transaction collected (`awaited_only`: only the gate, the updates and the rows whose
    ids are wanted, which the transaction's next statement may read)."""
    entries = _take(session, awaited_only)
    pending_gate: _Gate | None = session.info.pop(_GATE, None)
    if not entries:
        if pending_gate is not None:
            _pass_alone(session, pending_gate)
        return
    groups = _groups(entries)
    dialect = session.get_bind().dialect
    params = sum(len(group.rows) * len(group.keys) for group in groups)
    single = len(groups) == 1 and groups[0].kind == "update" and not groups[0].on_id and pending_gate is None
    # One statement: each table's rows in a CTE of their own; PostgreSQL runs every data-modifying CTE
    # once, whether the main query reads it or not. One table's rows alone are a plain INSERT, its text
    # cached like the rest (a Core INSERT of a list of rows is built and compiled again every time).
    statement = None if single or dialect.name != "postgresql" or params > _MAX_PARAMS else _statement(
        tuple((group.table, group.keys, len(group.rows), group.kind, bool(group.on_id)) for group in groups),
        dialect, pending_gate.sql if pending_gate is not None else None)
    if statement is None:
        if pending_gate is not None:
            _pass_alone(session, pending_gate)
        if len(groups) == 1 or dialect.name != "postgresql" or params > _MAX_PARAMS:
            for group in groups:
                _write_alone(session, group)
        else:
            _write_with_core_ctes(session, groups)
        return
    values = dict(zip(statement.names, [value for group in groups for row in group.rows for value in row],
                      strict=True))
    if pending_gate is not None:
        values.update(pending_gate.params)
    if awaited_only:  # through the session: it notes that its transaction wrote (engine/db.py)
        with _refusal():
            result = session.execute(statement.text, values)
    else:  # the commit's: past the ORM's handling of a statement (events, execution state), which it needs not
        session.flush()
        connection = session.connection()
        with _refusal(), _on_its_own(connection, pending_gate is not None):
            result = connection.execute(statement.text, values)
    if statement.returning:
        _hand_out_ids(groups, result.all())


@contextmanager
def _refusal() -> Iterator[None]:
    try:
        yield
    except DBAPIError as exc:
        if getattr(exc.orig, "sqlstate", None) == GATE_REFUSED:
            raise GateRefused(str(exc.orig)) from exc
        raise


@contextmanager
def _on_its_own(connection: Connection, gated: bool) -> Iterator[None]:
    """A gated statement that is its transaction's first runs in autocommit: it refuses from within (see the
    module's docstring), so it needs no transaction around it, and PostgreSQL sees no BEGIN and no COMMIT."""
    driver = connection.connection.driver_connection
    status = getattr(getattr(driver, "info", None), "transaction_status", None)
    if not gated or status != TransactionStatus.IDLE:
        yield
        return
    driver.autocommit = True
    try:
        yield
    finally:
        driver.autocommit = False


def _take(session: Session, awaited_only: bool) -> list[_Entry]:
    """The entries to write now, no longer pending."""
    entries = session.info.get(_PENDING)
    session.info.pop(_AWAITED, None)
    if not entries:
        return []
    if not awaited_only:
        return session.info.pop(_PENDING)
    session.info[_PENDING] = [entry for entry in entries if not entry.awaited]
    return [entry for entry in entries if entry.awaited]


@lru_cache(maxsize=16)
def _gate_alone(sql: GateSql) -> TextClause:
    return text(f"WITH {sql.ctes} SELECT ({sql.value})").bindparams(*sql.binds)


def _pass_alone(session: Session, pending_gate: _Gate) -> None:
    with _refusal():
        session.execute(_gate_alone(pending_gate.sql), pending_gate.params)


class _Group(NamedTuple):
    """Rows of one table written by one INSERT (plain or returning ids), or one row's UPDATE."""

    table: Table
    kind: str  # "insert" | "returning" | "update"
    keys: tuple[str, ...]  # the columns, the primary key last for an update
    rows: list[tuple[Any, ...]]
    on_id: list[Callable[[int], None]]  # ids wanted (an INSERT), or the row version (an update)


def _groups(entries: list[_Entry]) -> list[_Group]:
    inserts: dict[tuple[Table, bool], list[_Entry]] = {}
    updates: dict[int, tuple[_Entry, dict[str, None]]] = {}  # id(object) -> (an entry, its columns in order)
    for entry in entries:
        if entry.target is not None:
            columns = updates.setdefault(id(entry.target), (entry, {}))[1]
            columns.update(dict.fromkeys(entry.values))
        else:
            inserts.setdefault((entry.table, entry.on_id is not None), []).append(entry)
    groups = []
    for (table, returning), group in inserts.items():
        keys = tuple(group[0].values)
        if all(tuple(entry.values) == keys for entry in group):
            rows = [tuple(entry.values.values()) for entry in group]
        else:  # callers left optional columns out: each row is completed with None
            keys = tuple(dict.fromkeys(key for entry in group for key in entry.values))
            rows = [tuple(entry.values.get(key) for key in keys) for entry in group]
        groups.append(_Group(table, "returning" if returning else "insert", keys, rows,
                             [entry.on_id for entry in group if entry.on_id is not None]))
    for entry, columns in updates.values():
        keys = (*columns, _primary_key(entry.table))
        wanted = [e.on_id for e in entries if e.target is entry.target and e.on_id is not None]
        groups.append(_Group(entry.table, "update", keys, [tuple(getattr(entry.target, k) for k in keys)], wanted))
    return groups


@lru_cache(maxsize=64)
def _primary_key(table: Table) -> str:
    (column,) = table.primary_key.columns
    return column.key


def _write_alone(session: Session, group: _Group) -> None:
    if group.kind == "update":
        session.execute(_update_statement(group.table, group.keys), dict(zip(
            [f"u_{key}" for key in group.keys], group.rows[0], strict=True)))
        return
    rows = [dict(zip(group.keys, row, strict=True)) for row in group.rows]
    if group.kind == "insert":
        session.execute(insert(group.table), rows)
    else:
        ids = session.execute(_insert_returning(group.table), rows).scalars().all()
        _hand_out(group, ids)


@lru_cache(maxsize=64)
def _insert_returning(table: Table) -> Any:
    column = table.c[_primary_key(table)]
    return insert(table).returning(column, sort_by_parameter_order=True)


@lru_cache(maxsize=64)
def _update_statement(table: Table, keys: tuple[str, ...]) -> Any:
    *columns, key = keys  # parameters named u_<column>: SQLAlchemy keeps the columns' own names for itself
    return (sql_update(table).where(table.c[key] == bindparam(f"u_{key}"))
            .values({column: bindparam(f"u_{column}") for column in columns}))


def _write_with_core_ctes(session: Session, groups: list[_Group]) -> None:
    """The one statement built by SQLAlchemy: for rows whose left-out columns have defaults computed in
    Python, which the text statement cannot fill in (only plain INSERTs take this path)."""
    if any(group.kind != "insert" for group in groups):
        for group in groups:
            _write_alone(session, group)
        return
    ctes = [insert(group.table).values([dict(zip(group.keys, row, strict=True)) for row in group.rows])
            .cte(f"pending_{i}") for i, group in enumerate(groups)]
    session.execute(select(literal(1)).add_cte(*ctes))


def _hand_out_ids(groups: list[_Group], rows: list[Any]) -> None:
    ids: dict[int, list[int]] = {}
    for part, row_id in rows:
        ids.setdefault(part, []).append(row_id)
    for i, group in enumerate(groups):
        if group.kind == "returning":
            _hand_out(group, sorted(ids.get(i, [])))
        elif group.on_id and i in ids:  # an update's new row version
            for on_version in group.on_id:
                on_version(ids[i][0])


def _hand_out(group: _Group, ids: list[int]) -> None:
    if len(ids) != len(group.on_id):
        raise RuntimeError(f"INSERT into {group.table.name} returned {len(ids)} ids for {len(group.on_id)} rows")
    for on_id, row_id in zip(group.on_id, ids, strict=True):
        on_id(row_id)


def _plain_columns(table: Table, keys: tuple[str, ...], kind: str) -> bool:
    """Whether `keys` are columns of `table` and no column left out of an INSERT has a default computed in
    Python (a Core INSERT would fill it in; the text statement cannot)."""
    return all(key in table.c for key in keys) and (kind == "update" or not any(
        column.default is not None for column in table.c if column.key not in keys))


def _name(table: int, row: int, column: int) -> str:
    return f"p{table}_{row}_{column}"


class _Statement(NamedTuple):
    text: TextClause
    names: list[str]  # the parameters, in the order of the groups' rows and values
    returning: bool


_GATE_PART = -1  # the gate's value, as the first row of the statement's result (evaluated first, unused)


@lru_cache(maxsize=256)
def _statement(shape: tuple[tuple[Table, tuple[str, ...], int, str, bool], ...], dialect: Dialect,
               gate_sql: GateSql | None = None) -> _Statement | None:
    """The multi-table statement of rows of this shape, as text with a typed parameter per value (None when
    a column left out has a default the text cannot fill in). A gate's CTEs come first and its value is the
    first row the statement returns: PostgreSQL runs the parts of a UNION ALL in order, and the data-modifying
    CTEs the result does not read after it, so the gate runs before any row is written."""
    if not all(_plain_columns(table, keys, kind) for table, keys, _, kind, _ in shape):
        return None
    quote, ctes, binds, returned, names = dialect.identifier_preparer, [], [], [], []
    if gate_sql is not None:
        ctes.append(gate_sql.ctes)
        binds += gate_sql.binds
        returned.append(f"SELECT {_GATE_PART}, ({gate_sql.value})")
    for i, (table, keys, count, kind, versioned) in enumerate(shape):
        columns = [table.c[key] for key in keys]
        rows = []
        for r in range(count):
            row = [_name(i, r, j) for j in range(len(columns))]
            binds += [bindparam(name, type_=column.type) for name, column in zip(row, columns, strict=True)]
            rows.append(row)
            names += row
        # Only the metadata's quoted names go into the text; every value is a bound parameter.
        if kind == "update":
            *assigned, key = [quote.quote(c.name) for c in columns]
            *values, key_value = rows[0]
            sets = ", ".join(f"{c} = :{v}" for c, v in zip(assigned, values, strict=True))
            version = " RETURNING xmin::text::bigint AS version" if versioned else ""
            ctes.append(f"pending_{i} AS (UPDATE {quote.format_table(table)} "  # noqa: S608
                        f"SET {sets} WHERE {key} = :{key_value}{version})")
            if versioned:
                returned.append(f"SELECT {i}, version FROM pending_{i}")  # noqa: S608
            continue
        listed = ", ".join("(" + ", ".join(f":{name}" for name in row) + ")" for row in rows)
        returning = ""
        if kind == "returning":
            key = quote.quote(table.c[_primary_key(table)].name)
            returning = f" RETURNING {key}"
            returned.append(f"SELECT {i}, {key} FROM pending_{i}")  # noqa: S608
        inserted = (f"INSERT INTO {quote.format_table(table)} "  # noqa: S608
                    f"({', '.join(quote.quote(c.name) for c in columns)}) VALUES {listed}{returning}")
        if len(shape) == 1 and kind == "insert" and gate_sql is None:  # one table's rows (a notice's journal row)
            return _Statement(text(inserted).bindparams(*binds), names, False)
        ctes.append(f"pending_{i} AS ({inserted})")
    sql = f"WITH {', '.join(ctes)} {' UNION ALL '.join(returned) or 'SELECT 1'}"
    return _Statement(text(sql).bindparams(*binds), names, bool(returned))


@event.listens_for(Session, "before_commit")
def _before_commit(session: Session) -> None:
    # Also fired when a savepoint is released: rows written then would go with the savepoint if its
    # release failed. They wait for the outermost commit instead; their tags keep them apart till then.
    if not session.in_nested_transaction():
        write_pending(session)


@event.listens_for(Session, "do_orm_execute")
def _before_statement(state: ORMExecuteState) -> None:
    """A statement of the transaction sees its updates and new outbox rows, as it would have seen them
    flushed by the ORM (the append-only rows, which nothing reads back this way, still wait)."""
    session = state.session
    if session.info.get(_AWAITED) and not session.in_nested_transaction():
        write_pending(session, awaited_only=True)


@event.listens_for(Session, "after_soft_rollback")
def _after_rollback(session: Session, previous: SessionTransaction) -> None:
    """A savepoint's rollback forgets the rows recorded in it and in savepoints within it (released
    or not); a rollback of the whole transaction forgets all of them."""
    entries = session.info.get(_PENDING)
    if not entries:
        return
    # A failed flush rolls back its own internal subtransaction first: what is lost is the savepoint
    # (or the whole transaction) around it.
    while not previous.nested and previous.parent is not None:
        previous = previous.parent
    if previous.nested:
        session.info[_PENDING] = [entry for entry in entries if not _within(entry.owner, previous)]
    else:
        _forget(session)


@event.listens_for(Session, "after_transaction_end")
def _after_transaction_end(session: Session, transaction: SessionTransaction) -> None:
    """Rows still pending when the whole transaction ends (a session closed without commit) are gone."""
    if transaction.parent is None:
        _forget(session)


def _forget(session: Session) -> None:
    for key in (_PENDING, _AWAITED, _GATE):
        session.info.pop(key, None)


def _within(owner: SessionTransaction | None, savepoint: SessionTransaction) -> bool:
    while owner is not None:
        if owner is savepoint:
            return True
        owner = owner.parent
    return False
