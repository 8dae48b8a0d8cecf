"""ЕРЗЛ checks of many people at once (an employer's list): ЕНП + birth date -> insured or not, and why.

A list of 10,000 employees must not mean 10,000 sequential round trips: the lookups go to ЕРЗЛ's
batch endpoint, 1,000 per request (RegistryClient.post_batch). Identifiers travel in the body.
Whether the person is insured over the requested period is read here, with the same rule as a
citizen's own policy check (tasks/registries/checks.py: active, and valid over the whole period);
what the organisation's case does with the answers is the process's business.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from forms.dates import today_moscow
from tasks.documents.formatting import format_period

from .client import RegistryClient

BATCH_PATH = "/erzl/policies/batch"
NOT_FOUND = "Полис с указанными ЕНП и датой рождения не найден в едином регистре застрахованных лиц"
NOT_VALID = "Полис ОМС недействителен"


@dataclass(frozen=True)
class PolicyLookupItem:
    enp: str
    birth_date: str  # ISO date


@dataclass(frozen=True)
class EmployeePolicy:
    """One person's answer: insured over the whole period, or not and the reason in Russian."""

    enp: str
    insured: bool
    reason: str | None = None
    insurer_name: str | None = None
    insurer_code: str | None = None


def check_policies(client: RegistryClient, items: Sequence[PolicyLookupItem],
                   period: Mapping[str, Any] | None) -> list[EmployeePolicy]:
    """The answers for `items`, in their order; RegistryUnavailable / RegistryProtocolError pass through."""
    if not items:
        return []
    start, end = requested_period(period)
    answers = client.post_batch("erzl", BATCH_PATH, [{"enp": i.enp, "birth_date": i.birth_date} for i in items])
    return [read_answer(item.enp, answer, start, end) for item, answer in zip(items, answers, strict=True)]


def requested_period(period: Mapping[str, Any] | None) -> tuple[date, date]:
    """The application's period as dates; no period means "today"."""
    if not period:
        today = today_moscow()
        return today, today
    return date.fromisoformat(str(period["from"])), date.fromisoformat(str(period["to"]))


def read_answer(enp: str, answer: Mapping[str, Any], start: date, end: date) -> EmployeePolicy:
    """One batch result -> insured or not over [start, end], with ЕРЗЛ's own reason when it gives one."""
    policy = answer.get("policy") if answer.get("found") else None
    if not policy:
        return EmployeePolicy(enp, False, NOT_FOUND)
    insurer = policy.get("insurer") or {}
    name, code = insurer.get("name"), insurer.get("code")
    if policy.get("status") != "active":
        reason = (policy.get("reason") or NOT_VALID).rstrip(".")
        return EmployeePolicy(enp, False, reason, name, code)
    valid_from = date.fromisoformat(policy["valid_from"])
    valid_to = date.fromisoformat(policy["valid_to"]) if policy.get("valid_to") else None
    if valid_from > start or (valid_to is not None and valid_to < end):
        return EmployeePolicy(enp, False, _partial_cover(valid_from, valid_to), name, code)
    return EmployeePolicy(enp, True, None, name, code)


def _partial_cover(valid_from: date, valid_to: date | None) -> str:
    return f"Полис действует {format_period(valid_from, valid_to)} и не охватывает весь запрошенный период"
