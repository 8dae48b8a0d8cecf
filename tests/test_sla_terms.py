"""Every term the product states comes from the SLA catalogue: change it and the text changes with the timers.

The wording itself (Russian numerals after «в течение») is checked on the function; the product is run
with `BACKOFFICE_SLA` overrides and the pages, the refusal decision and the actions' refusal messages
must state the overridden terms.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from engine.calendar import business_days_deadline
from engine.clock import parse_iso
from engine.sla import SlaRegistry
from tasks.cases.terms import sla_term
from tasks.config import business_calendar
from tests.support.accounts import bearer, login, unique_email
from tests.support.backend import wait_for
from tests.support.pdf import pdf_text
from tests.support.product import Product

TERMS = {"1BD": "1 рабочего дня", "2BD": "2 рабочих дней", "5BD": "5 рабочих дней", "11BD": "11 рабочих дней",
         "21BD": "21 рабочего дня", "P30D": "30 дней", "P3D": "3 дней", "P31D": "31 дня", "PT24H": "24 часов",
         "P1D": "24 часов", "PT1H": "1 часа", "PT21H": "21 часа", "PT30M": "30 минут", "PT1M": "1 минуты",
         "PT45S": "45 секунд", "PT1S": "1 секунды"}


@pytest.mark.parametrize(("value", "text"), TERMS.items(), ids=list(TERMS))
def test_a_term_reads_as_after_within(tmp_path: Path, value: str, text: str) -> None:
    toml = tmp_path / "sla.toml"
    toml.write_text('[sla]\nterm = "P30D"\n', encoding="utf-8")
    assert sla_term("term", SlaRegistry.from_sources(toml, f"term={value}")) == text


def _post(product: Product, token: str, path: str, body: dict) -> object:
    return product.client().post(f"/api/v1/applications/{path}", json=body, headers=bearer(token))


def test_changed_terms_change_the_pages_the_decision_and_the_refusals(product_with) -> None:
    product = product_with(BACKOFFICE_SLA="info_wait=P7D;appeal_review=3BD;resubmission=PT2H")
    email = unique_email("terms")
    token = product.citizen_token(email)
    client = product.client()
    assert login(client, email).status_code == 302

    ready = product.apply(token, "valid")["number"]
    product.wait_status(token, ready, "ready")
    refused = _post(product, token, f"{ready}/resubmit", {"comment": "Ещё раз"})
    assert refused.status_code == 409
    assert refused.get_json()["error"]["message"] == \
        "Повторно подать заявление можно только после отказа или запроса уточнения, в течение 7 дней."
    refused = _post(product, token, f"{ready}/appeal", {"grounds": "Не согласен"})
    assert refused.get_json()["error"]["message"] == "Обжаловать можно только отказ, в течение 7 дней после решения."
    page = client.get(f"/applications/{ready}/resubmit")
    assert page.status_code == 409 and "в течение 7 дней." in page.get_data(as_text=True)

    number = product.apply(token, "no_policy")["number"]
    product.wait_status(token, number, "rejected")
    wait_for(lambda: "appeal" in product.case(token, number)["actions"], timeout=60, message="appeal offered")
    appeal_page = client.get(f"/applications/{number}/appeal").get_data(as_text=True)
    assert "Жалоба рассматривается в течение 3 рабочих дней со дня регистрации." in appeal_page
    resubmit_page = client.get(f"/applications/{number}/resubmit").get_data(as_text=True)
    assert "результат — в течение 2 часов." in resubmit_page
    decision = client.get(f"/api/v1/applications/{number}/decision.pdf", headers=bearer(token))
    text = " ".join(pdf_text(decision.data).split())
    assert "в течение 3 рабочих дней" in text and "в течение 2 часов;" in text
    assert "10 рабочих дней" not in text and "24 часов" not in text

    before = datetime.now(UTC)
    filed = _post(product, token, f"{number}/appeal", {"grounds": "Полис действует."})
    assert filed.status_code == 201, filed.get_json()
    due = parse_iso(filed.get_json()["due_at"])
    assert business_days_deadline(3, before, calendar=business_calendar()) <= due
    assert due <= business_days_deadline(3, datetime.now(UTC), calendar=business_calendar())
    task = product.wait_task(product.staff_token("appeals"), number, "appeal_review")
    assert parse_iso(task["due_at"]) == due  # the one due date: the answer, the timer and the inbox agree
