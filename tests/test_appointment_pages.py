"""«Запись к врачу» pages over HTTP without a browser (no JavaScript at all): a citizen without a certificate is
told to get one first; a slot taken meanwhile by another citizen is refused on the page with the reason and
the next free times to choose from, and choosing one of them books it; someone else's booking is a 404.
"""

from __future__ import annotations

import re

from tests.support.accounts import bearer, csrf_token, login, unique_email
from tests.support.appointments import SPB_HOSPITAL, free_slots, ready_certificate, soon
from tests.support.product import Product

SPECIALTY = "кардиология"


def test_taken_slot_offers_the_next_free_times_on_the_page(product: Product) -> None:
    email = unique_email("booking-page")
    token = product.citizen_token(email)
    client = product.client()
    assert login(client, email).status_code == 302
    page = client.get("/appointments/new").get_data(as_text=True)
    assert "Для записи нужна готовая справка" in page and '<label for="f-ogrn">' in page

    certificate = ready_certificate(product, token)
    day = soon().strftime("%d.%m.%Y")
    query = {"ogrn": SPB_HOSPITAL, "specialty": SPECIALTY, "date": day, "show": "1"}
    page = client.get("/appointments/new", query_string=query).get_data(as_text=True)
    assert "Для записи нужна готовая справка" not in page and f'value="{certificate}"' in page
    slot_ids = re.findall(r'name="slot_id" value="([^"]+)"', page)
    assert slot_ids

    rival = product.citizen_token()
    rival_certificate = ready_certificate(product, rival)
    r = product.client().post("/api/v1/appointments", json={"slot_id": slot_ids[0],
                                                            "certificate_number": rival_certificate},
                              headers=bearer(rival))
    assert r.status_code == 201, r.get_json()

    form = {"csrf_token": csrf_token(page), "ogrn": SPB_HOSPITAL, "specialty": SPECIALTY, "date": day,
            "slot_id": slot_ids[0], "certificate_number": certificate}
    refused = client.post("/appointments/new", data=form)
    assert refused.status_code == 409
    html = refused.get_data(as_text=True)
    assert "Это время уже занято. Выберите другое время." in html and "Ближайшее свободное время" in html
    offered = re.findall(r'name="slot_id" value="([^"]+)"', html)
    assert offered and slot_ids[0] not in offered

    booked = client.post("/appointments/new", data={**form, "csrf_token": csrf_token(html), "slot_id": offered[0]})
    assert booked.status_code == 302 and "/appointments/Z-" in booked.location
    detail = client.get(booked.location).get_data(as_text=True)
    assert certificate in detail and ("Ожидает подтверждения клиники" in detail or "Подтверждена" in detail)
    assert offered[0] not in [s["id"] for s in free_slots(product, token, SPB_HOSPITAL, SPECIALTY, soon())]

    number = booked.location.rsplit("/", 1)[-1]
    other = product.client()
    other_email = unique_email("other")
    product.citizen_token(other_email)
    login(other, other_email)
    assert other.get(f"/appointments/{number}").status_code == 404
    other_page = other.get("/appointments").get_data(as_text=True)
    r = other.post(f"/appointments/{number}/cancel", data={"csrf_token": csrf_token(other_page)})
    assert r.status_code == 404
