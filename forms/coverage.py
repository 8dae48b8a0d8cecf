"""Does a policy cover a certificate's period: one answer for the registry check, the staff forms and
the certificate generator.

A certificate states that the person was insured over a period and prints the policy it relies on. It is
true only when that policy was in force on every day of the period: it started on or before the first day
and ended (if it ends at all) on or after the last, and ЕРЗЛ does not say it is annulled or expired. The
same test decides whether the registry's answer is enough (the DMN's «covers the period»), whether a
staff member approving a case must type the policy facts from the fund's answer, and - as the last guard -
whether a certificate may be rendered at all.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from .dates import format_ru_date, parse_iso_date

POLICY_STATUS_WORDS = {"active": "действует", "expired": "истёк", "annulled": "аннулирован"}


@dataclass(frozen=True)
class PolicyTerm:
    """A policy's validity as printed on a certificate: from, to (None: no end date), ЕРЗЛ status."""

    valid_from: date | None
    valid_to: date | None
    status: str | None = None  # None: typed by staff from the fund's answer, no registry status

    @classmethod
    def of(cls, policy: Mapping[str, Any] | None) -> PolicyTerm:
        """From a policy dict (the registry's answer or a staff form's block) with ISO dates."""
        policy = policy or {}
        return cls(_day(policy.get("valid_from")), _day(policy.get("valid_to")), policy.get("status") or None)

    def describe(self) -> str:
        """«полис истёк (действовал с 01.01.2012 по 31.03.2025)»: what a registry record says, for staff."""
        since = "без даты начала" if self.valid_from is None else f"с {format_ru_date(self.valid_from)}"
        until = f"по {format_ru_date(self.valid_to)}" if self.valid_to else "бессрочно"
        if self.status and self.status != "active":
            return f"полис {POLICY_STATUS_WORDS.get(self.status, self.status)} (срок: {since} {until})"
        return f"полис действует {since} {until}"


def _day(value: Any) -> date | None:
    if isinstance(value, date):
        return value
    return parse_iso_date(value) if isinstance(value, str) else None


def coverage_gap(term: PolicyTerm, start: date, end: date) -> str | None:
    """What keeps the policy from covering [start, end], in Russian, or None when it covers every day."""
    if term.status and term.status != "active":
        return f"полис {POLICY_STATUS_WORDS.get(term.status, term.status)}"
    if term.valid_from is None:
        return "не указана дата начала действия полиса"
    if term.valid_from > start:
        return f"полис действует только с {format_ru_date(term.valid_from)}"
    if term.valid_to is not None and term.valid_to < end:
        return f"полис действует только по {format_ru_date(term.valid_to)}"
    return None


def policy_covers(term: PolicyTerm, start: date, end: date) -> bool:
    return coverage_gap(term, start, end) is None


def period_text(start: date, end: date) -> str:
    return f"с {format_ru_date(start)} по {format_ru_date(end)}"
