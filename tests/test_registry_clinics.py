"""The clinics' appointment systems in the registry service, over HTTP: doctors and schedules generated
from the dataset's medical organisations, booking (once per reference, 409 with the next free slots for
anyone else), cancelling, and the `clinic` fault that takes them down.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import httpx

from tests.support.registry import RegistryService, demo_dataset

MOSCOW = ZoneInfo("Europe/Moscow")
CLINIC = "1021643205660"  # ГАУЗ «РКБ МЗ РТ»: кардиология, эндокринология, хирургия
EXPIRED = "1095400243003"  # ООО «МЦ «Здоровье»»: licence expired, not accredited


def slots(svc: RegistryService, ogrn: str, specialty: str, days: int = 10) -> httpx.Response:
    day = (datetime.now(MOSCOW) + timedelta(days=1)).date().isoformat()
    return httpx.get(f"{svc.url}/clinic/slots", params={"ogrn": ogrn, "specialty": specialty, "date": day,
                                                        "days": str(days)}, timeout=10)


def test_doctors_and_schedules_come_from_the_dataset(registry_service: RegistryService) -> None:
    org = next(o for o in demo_dataset()["medical_organizations"] if o["ogrn"] == CLINIC)
    doctors = httpx.get(f"{registry_service.url}/clinic/doctors", params={"ogrn": CLINIC}, timeout=10).json()["doctors"]
    assert sorted({d["specialty"] for d in doctors}) == sorted(org["specialties"])
    assert len(doctors) == 2 * len(org["specialties"]) and len({d["name"] for d in doctors}) > 1
    again = httpx.get(f"{registry_service.url}/clinic/doctors", params={"ogrn": CLINIC}, timeout=10).json()
    assert again["doctors"] == doctors  # deterministic
    found = slots(registry_service, CLINIC, "кардиология").json()["slots"]
    assert found and all(s["specialty"] == "кардиология" for s in found)
    starts = [datetime.fromisoformat(s["starts_at"]) for s in found]
    assert all(t.utcoffset() == timedelta(hours=3) and t.weekday() < 5 and 9 <= t.hour < 18 for t in starts)
    assert starts == sorted(starts)
    assert slots(registry_service, EXPIRED, "терапия").json()["slots"] == []  # licence expired: no bookings
    assert slots(registry_service, "1027700000000", "терапия").status_code == 404


def test_booking_once_per_reference_taken_for_others_and_cancelled(registry_service: RegistryService) -> None:
    url = registry_service.url
    slot = slots(registry_service, CLINIC, "эндокринология").json()["slots"][-1]
    first = httpx.post(f"{url}/clinic/bookings", json={"slot_id": slot["id"], "reference": "T-1"}, timeout=10)
    assert first.status_code == 200 and first.json()["slot"] == slot
    repeated = httpx.post(f"{url}/clinic/bookings", json={"slot_id": slot["id"], "reference": "T-1"}, timeout=10)
    assert repeated.json()["booking_id"] == first.json()["booking_id"]  # a retried call books once
    other = httpx.post(f"{url}/clinic/bookings", json={"slot_id": slot["id"], "reference": "T-2"}, timeout=10)
    assert other.status_code == 409 and other.json()["error"]["code"] == "slot_taken"
    offered = other.json()["next_slots"]
    assert offered and slot["id"] not in [s["id"] for s in offered]
    assert httpx.get(f"{url}/clinic/slots/{slot['id']}", timeout=10).json()["free"] is False
    booking_id = first.json()["booking_id"]
    assert httpx.delete(f"{url}/clinic/bookings/{booking_id}", timeout=10).json() == {"booking_id": booking_id,
                                                                                        "cancelled": True}
    assert httpx.delete(f"{url}/clinic/bookings/{booking_id}", timeout=10).status_code == 404
    assert httpx.get(f"{url}/clinic/slots/{slot['id']}", timeout=10).json()["free"] is True
    bad = httpx.post(f"{url}/clinic/bookings", json={"slot_id": f"{CLINIC}-990-202601011000", "reference": "x"},
                     timeout=10)
    assert bad.status_code == 404


def test_clinic_fault_takes_the_clinics_down(registry_service: RegistryService) -> None:
    with registry_service.faults_set("clinic:down") as svc:
        r = slots(svc, CLINIC, "хирургия")
        assert r.status_code == 503 and r.json()["error"]["code"] == "unavailable"
        assert httpx.get(f"{svc.url}/health", timeout=10).json()["registries"]["clinic"] == "down"
        assert httpx.get(f"{svc.url}/mo/organizations/{CLINIC}", timeout=10).status_code == 200
    assert slots(registry_service, CLINIC, "хирургия").status_code == 200
