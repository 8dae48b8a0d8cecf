"""One sample certificate for the document tests: each test changes only the fields it is about."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime

from tasks.documents import CertificateData

SAMPLE = CertificateData(
    number="2026-000123",
    issued_at=datetime(2026, 2, 1, 9, 30, tzinfo=UTC),
    last_name="Иванов", first_name="Пётр", middle_name="Сергеевич",
    birth_date=date(1985, 3, 14),
    enp="7700000000000007",
    insurer_name="АО «Страховая компания «СОГАЗ-Мед»", insurer_code="77008",
    region="г. Москва",
    period_from=date(2026, 1, 1), period_to=date(2026, 12, 31),
    policy_valid_from=date(2019, 5, 1), policy_valid_to=None,
    official_name="И. П. Петрова",
    official_position="Начальник отдела организации обязательного медицинского страхования",
    organisation="Территориальный фонд обязательного медицинского страхования города Москвы",
)


def sample_certificate(**changes) -> CertificateData:
    return replace(SAMPLE, **changes)
