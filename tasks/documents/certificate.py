"""The «Справка о наличии полиса обязательного медицинского страхования» as a PDF.

Rendered once when a case is approved, stored and then served as it is: the data passed here is
what the certificate states forever, so it is a frozen snapshot rather than live database rows.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from datetime import date, datetime
from typing import TYPE_CHECKING

from forms.coverage import PolicyTerm, coverage_gap, period_text
from tasks.verification import verification_url

from .formatting import format_date, format_period, full_name
from .qr import qr_image, qr_png_data_uri
from .render import DocumentMetadata, DocumentRenderer, StandIn, default_renderer

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


# What changes from one certificate to the next: drawn per case onto a stencil of the page laid
# out with the other fields (issuer, official, insurer, region), which stay the same for thousands.
SLOT_FIELDS = ("number", "issued_at", "last_name", "first_name", "middle_name", "birth_date", "enp",
               "period_from", "period_to", "policy_valid_from", "policy_valid_to")
# Two made-up cases the stencil learns the slots from: distinct values of the usual shapes.
_STAND_INS = (
    {"number": "8001-234567", "issued_at": datetime(2009, 8, 7, 6, 5), "last_name": "Щукина",
     "first_name": "Ксения", "middle_name": "Юрьевна", "birth_date": date(1977, 6, 5), "enp": "1357913579135791",
     "period_from": date(2003, 4, 5), "period_to": date(2004, 6, 7), "policy_valid_from": date(2001, 2, 3),
     "policy_valid_to": date(2008, 9, 10)},
    {"number": "8009-876543", "issued_at": datetime(2008, 7, 6, 5, 4), "last_name": "Журавлёва",
     "first_name": "Майя", "middle_name": "Олеговна", "birth_date": date(1966, 5, 4), "enp": "2468024680246802",
     "period_from": date(2002, 3, 4), "period_to": date(2005, 5, 6), "policy_valid_from": date(2000, 1, 2),
     "policy_valid_to": None},
)


def render_certificate(data: CertificateData, config: AppConfig) -> bytes:
    """The certificate's PDF; its QR code links to ``PUBLIC_BASE_URL/verify/<number>?code=...``.

    Drawn onto the stencil of its issuer's page when the case's values fit it (nearly always);
    otherwise (a name too long for its line, a character outside the fonts' charset) in full.
    The two ways give the same document: tests/test_certificate_stencil.py compares them.
    """
    pdf = render_certificate_stenciled(data, config)
    return pdf if pdf is not None else render_certificate_in_full(data, config)


def render_certificate_stenciled(data: CertificateData, config: AppConfig,
                                 renderer: DocumentRenderer | None = None) -> bytes | None:
    """The certificate drawn onto the stencil of its page, or None when its values do not fit one."""
    url = verification_url(config, data.number)
    return (renderer or default_renderer()).render_stenciled(
        TEMPLATE, _layout_key(data), lambda: _stand_ins(data, config), _slot_values(data, url),
        qr_image(url), _metadata(data))


def render_certificate_in_full(data: CertificateData, config: AppConfig,
                               renderer: DocumentRenderer | None = None) -> bytes:
    """The certificate laid out and drawn by WeasyPrint from its template, every time (~5x slower)."""
    url = verification_url(config, data.number)
    return (renderer or default_renderer()).render(TEMPLATE, _context(data, url), _metadata(data))


def _context(data: CertificateData, url: str) -> dict[str, object]:
    return {"c": data, "organisation": data.organisation, "verification_url": url, "qr_uri": qr_png_data_uri(url)}


def _metadata(data: CertificateData) -> DocumentMetadata:
    return DocumentMetadata(
        title=f"{TITLE} № {data.number}",
        author=data.organisation,
        subject=f"Подтверждение страхования в системе ОМС, справка № {data.number} от {format_date(data.issued_at)}",
        keywords=("ОМС", "полис", "справка", data.number),
        created=data.issued_at,
    )


def _layout_key(data: CertificateData) -> tuple[object, ...]:
    """Every field but the slots: two certificates with the same key share a stencil."""
    return tuple(getattr(data, f.name) for f in fields(data) if f.name not in SLOT_FIELDS)


def _slot_values(data: CertificateData, url: str) -> tuple[str, ...]:
    """The strings certificate.html prints for the slot fields, as its filters format them."""
    return (data.number, format_date(data.issued_at), format_period(data.period_from, data.period_to),
            data.full_name, format_date(data.birth_date), data.enp,
            format_period(data.policy_valid_from, data.policy_valid_to), url)


def _stand_ins(data: CertificateData, config: AppConfig) -> list[StandIn]:
    """The stand-in cases with ``data``'s issuer, official and insurer (the stencil's layout)."""
    stand_ins = []
    for values in _STAND_INS:
        case = replace(data, **values)
        url = verification_url(config, case.number)
        stand_ins.append(StandIn(_context(case, url), _slot_values(case, url)))
    return stand_ins
