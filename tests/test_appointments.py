"""«Запись к врачу» over the API on the real product (workers, scheduler, SMTP, the registry service's clinics,
the appointment process): booking with one's certificate, the confirmation mail, the reminder timer at
10:00 Moscow the day before, moving and cancelling; a certificate that does not cover the date; two
citizens racing for one slot; a clinic outage the booking waits out; who may read a booking.
"""

from __future__ import annotations

import io
import json
import threading
import zipfile
from datetime import datetime, timedelta
from typing import Any

from flask.testing import FlaskClient

from tests.support.accounts import bearer, unique_email
from tests.support.appointments import (
    COVERED_DAYS,
    KAZAN_HOSPITAL,
    MOSCOW,
    MOSCOW_CLINIC,
    appointment,
    free_slots,
    moscow_today,
    ready_certificate,
    soon,
    wait_appointment,
)
from tests.support.product import Product


def book(client: FlaskClient, token: str, slot_id: str, certificate: str) -> Any:
    return client.post("/api/v1/appointments", json={"slot_id": slot_id, "certificate_number": certificate},
                       headers=bearer(token))


def test_book_with_certificate_mail_reminder_move_and_cancel(product: Product) -> None:
    email = unique_email("booking")
    token = product.citizen_token(email)
    certificate = ready_certificate(product, token)
    slots = free_slots(product, token, MOSCOW_CLINIC, "терапия", soon())
    assert slots and all(s["specialty"] == "терапия" and s["ogrn"] == MOSCOW_CLINIC for s in slots)
    first, later = slots[0], slots[3]
    assert first["starts_at"].endswith("+03:00") and first["doctor"]["name"]

    r = book(product.client(), token, first["id"], certificate)
    assert r.status_code == 201, r.get_json()
    body = r.get_json()
    number = body["number"]
    assert number.startswith("Z-") and body["certificate_number"] == certificate
    assert body["status"] in ("pending", "confirmed") and body["slot_id"] == first["id"]

    confirmed = wait_appointment(product, token, number, "confirmed")
    assert confirmed["actions"] == ["move", "cancel"] and confirmed["status_label"] == "Подтверждена"
    assert confirmed["organization"]["short_name"] == "ГБУЗ «ГП № 12 ДЗМ»"
    mail = product.smtp.wait_for_mail(email, subject=f"Запись к врачу № {number}: подтверждена")
    visit = datetime.fromisoformat(first["starts_at"])
    assert f"{visit:%d.%m.%Y} в {visit:%H:%M} МСК" in mail.text and first["doctor"]["name"] in mail.text
    assert certificate in mail.text and f"/appointments/{number}" in mail.text
    listed = product.client().get("/api/v1/appointments", headers=bearer(token)).get_json()["items"]
    assert [a["number"] for a in listed if a["number"] == number] == [number]
    # The slot is no longer offered to anybody.
    assert first["id"] not in [s["id"] for s in free_slots(product, token, MOSCOW_CLINIC, "терапия", soon())]

    supervisor = product.staff_token("supervisor")
    timers = product.client().get("/api/v1/timers", query_string={"case": number},
                                  headers=bearer(supervisor)).get_json()["items"]
    by_element = {t["element"]: t for t in timers}
    reminder_due = datetime.fromisoformat(by_element["reminder_timer"]["due_at"]).astimezone(MOSCOW)
    assert reminder_due.date() == visit.date() - timedelta(days=1)
    assert (reminder_due.hour, reminder_due.minute) == (10, 0)
    assert datetime.fromisoformat(by_element["visit_timer"]["due_at"]) == visit
    r = product.client().post(f"/api/v1/timers/{by_element['reminder_timer']['id']}/fire",
                              json={"reason": "проверка напоминания"}, headers=bearer(supervisor))
    assert r.status_code == 200, r.get_json()
    reminder = product.smtp.wait_for_mail(email, subject=f"Запись к врачу № {number}: напоминание о приёме")
    assert "завтра у вас приём" in reminder.text

    r = product.client().post(f"/api/v1/appointments/{number}/move", json={"slot_id": later["id"]},
                              headers=bearer(token))
    assert r.status_code == 200, r.get_json()
    moved = wait_appointment(product, token, number, "confirmed")
    assert moved["slot_id"] == later["id"] and moved["starts_at"] == later["starts_at"]
    mail = product.smtp.wait_for_mail(email, subject=f"Запись к врачу № {number}: перенесена")
    assert later["doctor"]["name"] in mail.text
    # The old time is free again, the new one is taken.
    offered = [s["id"] for s in free_slots(product, token, MOSCOW_CLINIC, "терапия", soon())]
    assert first["id"] in offered and later["id"] not in offered

    r = product.client().delete(f"/api/v1/appointments/{number}", headers=bearer(token))
    assert r.status_code == 200, r.get_json()
    cancelled = wait_appointment(product, token, number, "cancelled")
    assert cancelled["actions"] == [] and cancelled["status_label"] == "Отменена"
    product.smtp.wait_for_mail(email, subject=f"Запись к врачу № {number}: отменена")
    assert later["id"] in [s["id"] for s in free_slots(product, token, MOSCOW_CLINIC, "терапия", soon())]
    again = product.client().delete(f"/api/v1/appointments/{number}", headers=bearer(token))
    assert again.status_code == 409 and again.get_json()["error"]["code"] == "not_changeable"


def test_certificate_not_covering_the_date_is_refused(product: Product) -> None:
    token = product.citizen_token()
    certificate = ready_certificate(product, token)
    beyond = moscow_today() + timedelta(days=COVERED_DAYS + 3)
    slot = free_slots(product, token, MOSCOW_CLINIC, "педиатрия", beyond)[0]
    r = book(product.client(), token, slot["id"], certificate)
    assert r.status_code == 422, r.get_json()
    [problem] = r.get_json()["error"]["fields"]
    assert problem["field"] == "certificate_number" and problem["code"] == "period_not_covered"
    visit_day = datetime.fromisoformat(slot["starts_at"]).date()
    assert f"не покрывает дату приёма {visit_day:%d.%m.%Y}" in problem["message"]
    # Nothing was booked: the slot is still free.
    assert slot["id"] in [s["id"] for s in free_slots(product, token, MOSCOW_CLINIC, "педиатрия", beyond)]

    stranger = product.citizen_token()
    r = book(product.client(), stranger, slot["id"], certificate)  # someone else's certificate
    assert r.status_code == 422 and r.get_json()["error"]["fields"][0]["code"] == "not_found"
    r = book(product.client(), token, slot["id"], "")
    assert r.status_code == 422 and r.get_json()["error"]["fields"][0]["field"] == "certificate_number"


def test_two_citizens_booking_one_slot_at_once(product: Product) -> None:
    tokens = [product.citizen_token(), product.citizen_token()]
    certificates = [ready_certificate(product, t) for t in tokens]
    slot = free_slots(product, tokens[0], KAZAN_HOSPITAL, "хирургия", soon())[0]
    clients = [product.client(), product.client()]
    barrier = threading.Barrier(2)
    answers: list[Any] = [None, None]

    def race(i: int) -> None:
        barrier.wait()
        answers[i] = book(clients[i], tokens[i], slot["id"], certificates[i])

    threads = [threading.Thread(target=race, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    statuses = sorted(a.status_code for a in answers)
    assert statuses == [201, 409], [a.get_json() for a in answers]
    winner, loser = (0, 1) if answers[0].status_code == 201 else (1, 0)
    refused = answers[loser].get_json()
    assert refused["error"]["code"] == "slot_taken" and "Выберите другое время" in refused["error"]["message"]
    assert refused["next_slots"] and slot["id"] not in [s["id"] for s in refused["next_slots"]]
    assert all(s["specialty"] == "хирургия" for s in refused["next_slots"])
    wait_appointment(product, tokens[winner], answers[winner].get_json()["number"], "confirmed")
    # The loser books one of the offered slots instead.
    r = book(product.client(), tokens[loser], refused["next_slots"][0]["id"], certificates[loser])
    assert r.status_code == 201, r.get_json()


def test_booking_waits_for_the_clinic_and_completes_when_it_is_back(product_with) -> None:
    product: Product = product_with(REGISTRY_BREAKER_RESET="1")
    email = unique_email("outage")
    token = product.citizen_token(email)
    certificate = ready_certificate(product, token)
    slot = free_slots(product, token, MOSCOW_CLINIC, "офтальмология", soon())[0]
    with product.registry.faults_set("clinic:down"):
        r = book(product.client(), token, slot["id"], certificate)
        assert r.status_code == 201, r.get_json()
        number = r.get_json()["number"]
        assert r.get_json()["status"] == "pending"
        # The process retries the clinic call: the booking waits, it does not fail.
        view = appointment(product, token, number)
        assert view["status"] == "pending" and view["actions"] == []
        r = product.client().delete(f"/api/v1/appointments/{number}", headers=bearer(token))
        assert r.status_code == 409 and r.get_json()["error"]["code"] == "not_changeable"
        r = product.client().get("/api/v1/appointments/slots", headers=bearer(token), query_string={
            "ogrn": MOSCOW_CLINIC, "specialty": "офтальмология", "date": soon().isoformat()})
        assert r.status_code == 503 and r.get_json()["error"]["code"] == "clinic_unavailable"
    confirmed = wait_appointment(product, token, number, "confirmed", timeout=90)
    assert confirmed["slot_id"] == slot["id"]
    product.smtp.wait_for_mail(email, subject=f"Запись к врачу № {number}: подтверждена")


def test_only_the_owner_sees_a_booking(product: Product) -> None:
    token = product.citizen_token()
    certificate = ready_certificate(product, token)
    slot = free_slots(product, token, KAZAN_HOSPITAL, "эндокринология", soon())[0]
    number = book(product.client(), token, slot["id"], certificate).get_json()["number"]
    export = product.client().get("/api/v1/me/data-export", headers=bearer(token))
    with zipfile.ZipFile(io.BytesIO(export.data)) as archive:
        [held] = json.loads(archive.read("data.json"))["appointments"]
    assert held["number"] == number and held["certificate_number"] == certificate  # «Скачать все мои данные»
    stranger = product.citizen_token()
    client = product.client()
    assert client.get(f"/api/v1/appointments/{number}", headers=bearer(stranger)).status_code == 404
    assert client.delete(f"/api/v1/appointments/{number}", headers=bearer(stranger)).status_code == 404
    operator = product.staff_token("operator")
    assert client.get(f"/api/v1/appointments/{number}", headers=bearer(operator)).status_code == 403
    r = client.get("/api/v1/appointments/slots", headers=bearer(token),
                   query_string={"ogrn": "123", "specialty": "", "date": "вчера"})
    assert r.status_code == 422
    assert {f["field"] for f in r.get_json()["error"]["fields"]} == {"ogrn", "specialty", "date"}


def test_a_clinic_silent_until_the_visit_leaves_the_booking_unconfirmed(product: Product) -> None:
    email = unique_email("silent-clinic")
    token = product.citizen_token(email)
    certificate = ready_certificate(product, token)
    slot = free_slots(product, token, KAZAN_HOSPITAL, "кардиология", soon())[0]
    supervisor = product.staff_token("supervisor")
    with product.registry.faults_set("clinic:down"):
        r = book(product.client(), token, slot["id"], certificate)
        assert r.status_code == 201, r.get_json()
        number = r.get_json()["number"]
        timers = product.client().get("/api/v1/timers", query_string={"case": number},
                                      headers=bearer(supervisor)).get_json()["items"]
        [timeout] = [t for t in timers if t["element"] == "clinic_timeout"]
        assert datetime.fromisoformat(timeout["due_at"]) == datetime.fromisoformat(slot["starts_at"])
        r = product.client().post(f"/api/v1/timers/{timeout['id']}/fire", json={"reason": "проверка"},
                                  headers=bearer(supervisor))
        assert r.status_code == 200, r.get_json()
        expired = wait_appointment(product, token, number, "expired")
    assert expired["status_label"] == "Клиника не подтвердила" and expired["actions"] == []
    mail = product.smtp.wait_for_mail(email, subject=f"Запись к врачу № {number}: не подтверждена")
    assert "до времени приёма" in mail.text and "/appointments/new" in mail.text
