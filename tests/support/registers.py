"""Registers of employees without running the organisation's process: rows and a stored application."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import date

from sqlalchemy import select
from stdnum import luhn

from engine.clock import utcnow
from tasks.accounts.models import User
from tasks.cases.models.cases import Application
from tasks.documents.register import RegisterRow
from tests.support.backend import Backend

ORGANIZATION = {"name": "Общество с ограниченной ответственностью «Ромашка»", "inn": "7707083893",
                "kpp": "773601001", "ogrn": "1027700132195",
                "legal_address": "119021, г. Москва, ул. Льва Толстого, д. 16", "phone": "+74951234567",
                "email": "hr@romashka.example.ru"}


def enp(index: int) -> str:
    """A 16-digit ЕНП with its Luhn check digit, different for every index."""
    body = f"77{index:013d}"
    return body + luhn.calc_check_digit(body)


def employee(index: int, *, insured: bool = True, **changes) -> RegisterRow:
    row = RegisterRow(
        last_name=f"Иванова{chr(ord('а') + index % 30)}", first_name="Анна", middle_name="Сергеевна",
        birth_date=date(1980 + index % 20, 1 + index % 12, 1 + index % 28), position="Бухгалтер",
        enp=enp(index), insurer_name="АО «Страховая компания «СОГАЗ-Мед»" if insured else None,
        insurer_code="77008" if insured else None, status="insured" if insured else "not_insured",
        reason=None if insured else "Полис не найден",
    )
    return replace(row, **changes)


def org_application(backend: Backend, owner_email: str, org_email: str) -> str:
    """An organisation's application as submission stores it (the process is not needed to issue)."""
    number = f"R{uuid.uuid4().hex[:11]}"
    now = utcnow()
    with backend.services.database.session() as s:
        owner = s.scalar(select(User).where(User.email == owner_email))
        s.add(Application(number=number, attempt=1, applicant="organization", owner_id=owner.id,
                          process_id="certificate_organization", instance_id=None,
                          data={"applicant": "organization", "organization": dict(ORGANIZATION, email=org_email),
                                "period": {"from": "2026-01-01", "to": "2026-12-31"}},
                          search_name="ромашка 7707083893", submitted_at=now, updated_at=now))
    return number
