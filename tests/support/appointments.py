"""Helpers of the appointment tests: a citizen's ready certificate, free slots, a booking's state."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from forms.dates import today_moscow
from tests.support.accounts import bearer
from tests.support.backend import wait_for
from tests.support.product import Product

MOSCOW = ZoneInfo("Europe/Moscow")
# The demo dataset's organisations that take bookings, with some of their specialties.
MOSCOW_CLINIC = "1117763179401"  # ГБУЗ «ГП № 12 ДЗМ»: терапия, педиатрия, офтальмология, хирургия
SPB_HOSPITAL = "1027868659301"  # СПб ГБУЗ «ГБ № 40»: терапия, кардиология, неврология
KAZAN_HOSPITAL = "1021643205660"  # ГАУЗ «РКБ МЗ РТ»: кардиология, эндокринология, хирургия
COVERED_DAYS = 20  # the test certificates cover today - 30 .. today + 20 days


def moscow_today() -> date:
    """«Today» as the product counts it: in Moscow, on the product's clock (tests/support/clock.py)."""
    return today_moscow()


def ready_certificate(product: Product, token: str) -> str:
    """Apply for a certificate covering the coming COVERED_DAYS days and wait until it is ready: its number."""
    today = moscow_today()
    period = {"from": (today - timedelta(days=30)).isoformat(),
              "to": (today + timedelta(days=COVERED_DAYS)).isoformat()}
    number = product.apply(token, period=period)["number"]
    return product.wait_status(token, number, "ready")["certificate"]["number"]


def free_slots(product: Product, token: str, ogrn: str, specialty: str, day: date,
               days: int = 14) -> list[dict[str, Any]]:
    r = product.client().get("/api/v1/appointments/slots", headers=bearer(token), query_string={
        "ogrn": ogrn, "specialty": specialty, "date": day.isoformat(), "days": days})
    assert r.status_code == 200, r.get_json()
    return r.get_json()["slots"]


def soon() -> date:
    """Two days from now: far enough for the cut-off before a visit, inside the certificate's period."""
    return moscow_today() + timedelta(days=2)


def appointment(product: Product, token: str, number: str) -> dict[str, Any]:
    r = product.client().get(f"/api/v1/appointments/{number}", headers=bearer(token))
    assert r.status_code == 200, r.get_json()
    return r.get_json()


def wait_appointment(product: Product, token: str, number: str, status: str, timeout: float = 60) -> dict[str, Any]:
    seen: list[str] = []

    def reached() -> dict[str, Any] | None:
        view = appointment(product, token, number)
        if not seen or seen[-1] != view["status"]:
            seen.append(view["status"])
        return view if view["status"] == status else None

    try:
        return wait_for(reached, timeout=timeout, interval=0.3, message=f"{number} to be {status}")
    except AssertionError as exc:
        raise AssertionError(f"{exc}; statuses seen: {seen}") from None
