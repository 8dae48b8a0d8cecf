"""Refreshing the directory from the register of medical organisations.

The scheduler runs `refresh_directory` every DIRECTORY_REFRESH_INTERVAL seconds (and at its start). A
refresh reads the registry's whole list and makes the table equal to it in one transaction: new
organisations are added, changed ones updated, ones the registry no longer lists removed. When the
registry cannot answer (down, timing out, answering nonsense) nothing in the table changes: the pages go
on showing the last copy and say when it was refreshed. Every attempt is recorded either way.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from datetime import date, datetime
from typing import Any

from sqlalchemy import delete, insert, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from engine.clock import utcnow
from tasks.registries.checks import medical_organization_records
from tasks.registries.client import RegistryClient, RegistryProtocolError, RegistryUnavailable

from .models import DirectoryRefresh, MedicalOrganization
from .search import search_text

log = logging.getLogger(__name__)
_REQUIRED = ("ogrn", "inn", "name", "short_name", "address", "phone", "email")


def refresh_directory(session: Session, client: RegistryClient) -> DirectoryRefresh:
    """One refresh; returns its record (committed). Never raises for a registry failure: that is recorded."""
    started = utcnow()
    try:
        records = medical_organization_records(client)
    except (RegistryUnavailable, RegistryProtocolError) as exc:
        log.warning("directory refresh: the registry gave no list (%s); the last copy stays", exc)
        return _record(session, started, False, str(exc))
    rows, skipped = _rows(records)
    try:
        count = _replace_all(session, rows, started)
    except SQLAlchemyError as exc:  # e.g. another scheduler's refresh inserted the same ОГРН first
        session.rollback()
        log.warning("directory refresh failed to write: %s", exc)
        return _record(session, started, False, f"database: {exc.__class__.__name__}")
    note = f"{len(skipped)} record(s) without required fields skipped: {', '.join(skipped[:10])}" if skipped else None
    log.info("directory refreshed: %d organisation(s)", count)
    return _record(session, started, True, note, count)


def _rows(records: Iterable[Mapping[str, Any]]) -> tuple[dict[str, dict[str, Any]], list[str]]:
    """The table's values per ОГРН; records lacking what the table needs are skipped (and named)."""
    rows: dict[str, dict[str, Any]] = {}
    skipped: list[str] = []
    for record in records:
        if any(not isinstance(record.get(k), str) or not record.get(k) for k in _REQUIRED):
            skipped.append(str(record.get("ogrn") or "?"))
            continue
        rows[record["ogrn"]] = {
            "ogrn": record["ogrn"], "inn": record["inn"], "name": record["name"], "short_name": record["short_name"],
            "address": record["address"], "legal_address": record.get("legal_address") or None,
            "phone": record["phone"], "email": record["email"], "region": record.get("region") or None,
            "programs": _texts(record.get("programs")), "specialties": _texts(record.get("specialties")),
            "license_valid_to": _date(record.get("license_valid_to")), "accredited": bool(record.get("accredited")),
            "record": dict(record), "search_text": search_text(record["name"], record["short_name"]),
        }
    return rows, skipped


def _texts(value: Any) -> list[str]:
    return [v for v in value if isinstance(v, str) and v] if isinstance(value, list) else []


def _date(value: Any) -> date | None:
    try:
        return date.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        return None


def _replace_all(session: Session, rows: dict[str, dict[str, Any]], now: datetime) -> int:
    existing = {o.ogrn: o for o in session.scalars(select(MedicalOrganization))}
    new = [{**values, "refreshed_at": now} for ogrn, values in rows.items() if ogrn not in existing]
    if new:  # one multi-row INSERT: the first refresh of a large register adds thousands at once
        session.execute(insert(MedicalOrganization.__table__), new)
    for ogrn, org in existing.items():
        values = rows.get(ogrn)
        if values is None:
            continue
        for key, value in values.items():
            if getattr(org, key) != value:
                setattr(org, key, value)
        org.refreshed_at = now
    gone = [ogrn for ogrn in existing if ogrn not in rows]
    if gone:
        session.execute(delete(MedicalOrganization).where(MedicalOrganization.ogrn.in_(gone)))
    session.flush()
    return len(rows)


def _record(session: Session, started: datetime, succeeded: bool, error: str | None,
            count: int | None = None) -> DirectoryRefresh:
    if count is None:
        count = len(session.scalars(select(MedicalOrganization.id)).all())
    row = DirectoryRefresh(started_at=started, finished_at=utcnow(), succeeded=succeeded, organizations=count,
                           error=error)
    session.add(row)
    session.commit()
    return row
