"""Calls to the clinics' appointment systems (the registry service's `clinic` endpoints or the real gateway).

One place for the paths and for reading the answers, used by the portal (free slots, a slot's details)
and by the booking process's operators (book, cancel). Slot times are turned into Moscow time here,
so the process's reminder arithmetic («10:00 the day before») works on the clinic's local clock.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from tasks.registries.client import RegistryClient, RegistryConflict

REGISTRY = "clinic"
MOSCOW = ZoneInfo("Europe/Moscow")


@dataclass(frozen=True)
class Booked:
    booking_id: str
    slot: dict[str, Any]


class SlotTaken(Exception):
    """The clinic refused the booking: the slot is taken or has passed; `next_slots` are offered instead."""

    def __init__(self, code: str, next_slots: list[dict[str, Any]]) -> None:
        super().__init__(code)
        self.code = code
        self.next_slots = next_slots


def moscow(slot: dict[str, Any]) -> dict[str, Any]:
    """The slot with its times in Moscow time (ISO with +03:00)."""
    out = dict(slot)
    for key in ("starts_at", "ends_at"):
        if isinstance(out.get(key), str):
            out[key] = datetime.fromisoformat(out[key]).astimezone(MOSCOW).isoformat()
    return out


def free_slots(client: RegistryClient, ogrn: str, specialty: str, day: date, days: int = 1) -> list[dict[str, Any]]:
    """Free slots of the organisation's doctors of `specialty` from `day` on (empty for an unknown organisation).

    Raises RegistryUnavailable when the clinic cannot answer now."""
    answer = client.get(REGISTRY, "/clinic/slots", {"ogrn": ogrn, "specialty": specialty, "date": day.isoformat(),
                                                    "days": str(days)})
    return [moscow(s) for s in (answer or {}).get("slots", [])]


def slot(client: RegistryClient, slot_id: str) -> dict[str, Any] | None:
    """The slot with `free`, or None when the clinic's schedule has no such slot."""
    found = client.get(REGISTRY, f"/clinic/slots/{slot_id}")
    return moscow(found) if found else None


def book(client: RegistryClient, slot_id: str, reference: str) -> Booked:
    """Book the slot under our `reference` (the same reference again gets the same booking: retries book once).

    Raises SlotTaken (someone else was faster at the clinic), RegistryUnavailable (retry later)."""
    try:
        answer = client.post(REGISTRY, "/clinic/bookings", {"slot_id": slot_id, "reference": reference})
    except RegistryConflict as exc:
        raise SlotTaken(exc.code, [moscow(s) for s in exc.body.get("next_slots") or []]) from exc
    if answer is None:
        raise SlotTaken("slot_unknown", [])
    return Booked(answer["booking_id"], moscow(answer["slot"]))


def cancel(client: RegistryClient, booking_id: str) -> bool:
    """Cancel the clinic's booking; False when the clinic no longer has it (cancelled before: nothing to do)."""
    return client.request("DELETE", REGISTRY, f"/clinic/bookings/{booking_id}") is not None
