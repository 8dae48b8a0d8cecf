"""A 10,000-employee list end to end: upload -> ЕГРЮЛ -> ЕРЗЛ in batches -> operator -> register, on real parts.

The registry service runs on a generated dataset (tests/support/employees.py) that insures all but a
few of 10,000 generated people; the product runs with real RQ worker processes. The list goes up over
the API, is checked in 20 batches by one multi-instance service task, an operator confirms the register
(three people are not insured), and the register lists every employee.
"""

from __future__ import annotations

import io

import openpyxl
import pytest
from sqlalchemy import select

from tasks.cases.models.cases import Application
from tests.support.accounts import bearer
from tests.support.employees import (
    complete,
    employees_csv,
    generated_people,
    head_token,
    registry_dataset,
    submit,
    upload,
)
from tests.support.pdf import pdf_text
from tests.support.product import extra_env, start_product
from tests.support.queries import calls
from tests.support.registry import RegistryService
from web.extensions import db

EMPLOYEES = 10_000
UNINSURED = {17, 5_000, 9_999}


@pytest.mark.slow
def test_ten_thousand_employees_end_to_end(backend, smtp_server, tmp_path) -> None:
    people = generated_people(EMPLOYEES)
    data = registry_dataset(tmp_path / "registry.json", people, uninsured=UNINSURED)
    with RegistryService(data=data) as registry:
        product = start_product(backend, registry, smtp_server)
        product.cluster.worker(**extra_env(product.env, backend))  # a second worker, as `backoffice run` has
        try:
            _run(product, people)
        finally:
            product.stop()


def _run(product, people) -> None:
    token = head_token(product)
    number = submit(product, token)
    r = upload(product, token, number, employees_csv(people), "работники.csv")
    assert r.status_code == 200, r.get_json()
    assert r.get_json()["status"] == "accepted" and r.get_json()["accepted"] == EMPLOYEES

    operator = product.staff_token("operator")
    task = product.wait_task(operator, number, "confirm_register", timeout=180)
    assert f"из {EMPLOYEES} работников не застрахованы {len(UNINSURED)}" in task["instructions"]
    services = product.app.extensions["backoffice"]
    batch_calls = [c for c in calls(services, _instance_of(product, number)) if c.operator == "employees.check_batch"]
    assert len(batch_calls) == EMPLOYEES // 500 and {c.status for c in batch_calls} == {"done"}
    assert product.case(token, number)["status"] == "in_progress"
    assert complete(product, operator, task, {"decision": "confirm"}).status_code == 200

    view = product.wait_status(token, number, "ready", timeout=240)
    assert view["status"] == "ready"
    listed = product.client().get(f"/api/v1/applications/{number}/employees", headers=bearer(token)).get_json()
    assert listed["results"] == {"insured": EMPLOYEES - len(UNINSURED), "not_insured": len(UNINSURED), "unchecked": 0}
    xlsx = product.client().get(f"/api/v1/applications/{number}/register.xlsx", headers=bearer(token))
    assert xlsx.status_code == 200
    sheet = openpyxl.load_workbook(io.BytesIO(xlsx.data), read_only=True).worksheets[0]
    enps = {str(v) for row in sheet.iter_rows(values_only=True) for v in row if isinstance(v, str) and len(v) == 16}
    assert {p["enp"] for p in people} <= enps
    pdf = product.client().get(f"/api/v1/applications/{number}/register.pdf", headers=bearer(token))
    assert pdf.status_code == 200
    text = pdf_text(pdf.data)
    for i in UNINSURED | {0, 4_321}:
        assert people[i]["enp"] in text


def _instance_of(product, number: str) -> int:
    with product.app.app_context():
        return db.session.scalar(select(Application.instance_id).where(Application.number == number))
