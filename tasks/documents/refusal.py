"""The «Решение об отказе в выдаче справки» as a PDF.

Rendered once when an attempt is refused, stored and served as it is: like the certificate, the data
passed here is what the decision states forever. Besides the reasons it tells the applicant what they
can do next - submit corrected data again or appeal - and by when, so the document stands on its own
when it is printed or forwarded to a lawyer.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from .formatting import format_date
from .render import render_pdf

if TYPE_CHECKING:
    from tasks.config import AppConfig

TEMPLATE = "refusal.html"


@dataclass(frozen=True)
class RefusalReason:
    """One reason as printed: its official wording and the employee's (or the registry's) explanation."""

    code: str
    label: str
    note: str | None = None
    found: str | None = None  # what the registry check found (tasks/cases/refusal_advice.py)
    advice: str | None = None  # the next step that can help


@dataclass(frozen=True)
class RefusalData:
    """Everything the decision states; ``reasons`` accepts any iterable."""

    number: str  # 2026-000123/1: the case number and the refused attempt
    case_number: str
    issued_at: datetime
    applicant_name: str  # ФИО
    submitted_at: datetime
    reasons: tuple[RefusalReason, ...]
    explanation: str | None
    reply_until: datetime  # the last moment to resubmit or appeal
    appeal_term: str  # «10 рабочих дней»: how long an appeal is considered, from the SLA catalogue
    resubmission_term: str  # «24 часов»: how soon a resubmitted application is decided
    organisation: str
    official_name: str
    official_position: str
    # What is refused, as the service words it (tasks/cases/catalogue.py): the title and the statement use it.
    refused: str = "в выдаче справки"
    refused_what: str = "в выдаче справки о наличии полиса ОМС"
    goal: str = "получить справку"  # «чтобы {goal}, нужно будет подать новое заявление»

    def __post_init__(self) -> None:
        if not self.number.strip():
            raise ValueError("a refusal decision needs a number")
        object.__setattr__(self, "reasons", tuple(self.reasons))
        if not self.reasons:
            raise ValueError("a refusal decision needs at least one reason")


def render_refusal(data: RefusalData, config: AppConfig) -> bytes:
    """The decision's PDF; it points the applicant to their case page at ``PUBLIC_BASE_URL``."""
    context = {"d": data, "organisation": data.organisation,
               "case_url": f"{config.public_base_url}/applications/{data.case_number}"}
    return render_pdf(
        TEMPLATE, context,
        title=f"Решение об отказе {data.refused_what} № {data.number}",
        author=data.organisation,
        subject=f"Решение об отказе № {data.number} от {format_date(data.issued_at)} по заявлению № {data.case_number}",
        keywords=("ОМС", "отказ", data.case_number),
        created=data.issued_at,
    )
