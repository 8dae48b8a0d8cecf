"""The «Справка о наличии полиса обязательного медицинского страхования» as a PDF.

Rendered once when a case is approved, stored and then served as it is: the data passed here is
what the certificate states forever, so it is a frozen snapshot rather than live database rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING

from forms.coverage import PolicyTerm, coverage_gap, period_text
from tasks.verification import verification_url

from .formatting import format_date, full_name
from .qr import qr_png_data_uri
from .render import render_pdf

if TYPE_CHECKING:
    from tasks.config import AppConfig

TEMPLATE = "certificate.html"


class InconsistentCertificate(ValueError):
    """The period the certificate would state is not covered by the policy facts printed on it."""

TITLE = "Справка о наличии полиса обязательного медицинского страхования"


@dataclass(frozen=True)
class CertificateData:
    """Everything the certificate states, as confirmed by the registries and the official."""

    number: str
    issued_at: datetime
    last_name: str
    first_name: str
    middle_name: str | None
    birth_date: date
    enp: str
    insurer_name: str
    insurer_code: str
    region: str
    period_from: date
    period_to: date
    policy_valid_from: date | None
    policy_valid_to: date | None  # None: the policy has no expiry date
    official_name: str
    official_position: str
    organisation: str  # the issuing body, printed at the top and recorded as the PDF's author
    policy_status: str | None = None  # ЕРЗЛ's status when the registry's answer is printed

    def __post_init__(self) -> None:
        """The last guard of an official document: data that would make it false is never rendered."""
        if not self.number.strip():
            raise ValueError("a certificate needs a number")
        if self.period_from > self.period_to:
            raise ValueError(f"coverage period starts after it ends: {self.period_from} > {self.period_to}")
        term = PolicyTerm(self.policy_valid_from, self.policy_valid_to, self.policy_status)
        gap = coverage_gap(term, self.period_from, self.period_to)
        if gap is not None:
            raise InconsistentCertificate(
                f"Справка № {self.number} не выпущена: она подтверждала бы страхование "
                f"{period_text(self.period_from, self.period_to)}, а по сведениям в справке "
                f"{term.describe()} ({gap}). ЕНП {self.enp}. Внесите верные сведения о полисе.")

    @property
    def full_name(self) -> str:
        return full_name(self.last_name, self.first_name, self.middle_name)


def render_certificate(data: CertificateData, config: AppConfig) -> bytes:
    """The certificate's PDF; its QR code links to ``PUBLIC_BASE_URL/verify/<number>?code=...``."""
    url = verification_url(config, data.number)
    context = {"c": data, "organisation": data.organisation, "verification_url": url,
               "qr_uri": qr_png_data_uri(url)}
    return render_pdf(
        TEMPLATE, context,
        title=f"{TITLE} № {data.number}",
        author=data.organisation,
        subject=f"Подтверждение страхования в системе ОМС, справка № {data.number} от {format_date(data.issued_at)}",
        keywords=("ОМС", "полис", "справка", data.number),
        created=data.issued_at,
    )
