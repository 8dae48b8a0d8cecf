"""The receipt («Подтверждение о приёме заявления») a citizen downloads right after submitting.

It records what the service received and when - the number to quote, the period asked for and
the documents attached - so the applicant has proof of submission before any decision is made.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING

from .formatting import format_datetime
from .render import render_pdf

if TYPE_CHECKING:
    from tasks.config import AppConfig

TEMPLATE = "receipt.html"
TITLE = "Подтверждение о приёме заявления"
SERVICE_NAME = "Выдача справки о наличии полиса обязательного медицинского страхования"
DEFAULT_ORGANISATION = "Территориальный фонд обязательного медицинского страхования"


@dataclass(frozen=True)
class AttachedDocument:
    """One uploaded file as the receipt lists it: «Паспорт гражданина РФ — passport.pdf (245 КБ)»."""

    title: str
    filename: str = ""
    size_bytes: int | None = None


@dataclass(frozen=True)
class ReceiptData:
    """What the service received, as recorded at submission; ``documents`` accepts any iterable."""

    number: str
    submitted_at: datetime
    applicant_name: str  # ФИО of a person, or the name of an organisation
    period_from: date | None  # None for a service that asks for no period
    period_to: date | None
    documents: tuple[AttachedDocument, ...] = ()
    service_name: str = SERVICE_NAME
    organisation: str = DEFAULT_ORGANISATION  # the body that received the application
    expected_by: date | None = None  # the deadline for a decision, when known

    def __post_init__(self) -> None:
        if not self.number.strip():
            raise ValueError("a receipt needs the application number")
        if self.period_from and self.period_to and self.period_from > self.period_to:
            raise ValueError(f"requested period starts after it ends: {self.period_from} > {self.period_to}")
        object.__setattr__(self, "documents", tuple(self.documents))


def render_receipt(data: ReceiptData, config: AppConfig) -> bytes:
    """The receipt's PDF; it points the applicant to the portal at ``PUBLIC_BASE_URL`` and to support."""
    context = {"r": data, "organisation": data.organisation, "portal_url": config.public_base_url,
               "support_phone": config.support_phone, "support_email": config.support_email}
    return render_pdf(
        TEMPLATE, context,
        title=f"{TITLE} № {data.number}",
        author=data.organisation,
        subject=f"{data.service_name}: заявление № {data.number} от {format_datetime(data.submitted_at)}",
        keywords=("ОМС", "заявление", data.number),
        created=data.submitted_at,
    )
