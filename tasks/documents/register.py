"""The «Реестр застрахованных работников» of an organisation as a PDF.

One document per organisation case: the employer's requisites, the period, one table row per
employee (ФИО, дата рождения, должность, ЕНП, insurer, insured or not and why) with the header row
repeated on every page, totals, «Страница N из M» on every page, the signature block and the same
QR verification code as a person's certificate. Like the certificate it is rendered once when issued
and then served as stored, so the data passed here is a frozen snapshot.

Laid out with ReportLab, not WeasyPrint: see register_frame.py for the measurements behind that.
"""

from __future__ import annotations

import base64
import io
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import TYPE_CHECKING
from xml.sax.saxutils import escape

from reportlab.lib.colors import Color
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.platypus import Flowable, HRFlowable, Image, KeepTogether, Paragraph, Spacer, Table, TableStyle

from forms.typography import NUMBER_SIGN
from tasks.verification import verification_url

from .formatting import format_date, format_period, full_name, keep_abbreviations_together
from .qr import qr_png_data_uri
from .register_frame import BLACK, GREY, LEFT, PAGE_SIZE, REGULAR, RIGHT, build_pdf, register_fonts, style
from .register_table import RegisterTable, layout_table
from .render import DocumentMetadata

if TYPE_CHECKING:
    from tasks.config import AppConfig

TITLE = "Реестр застрахованных работников"
INSURED, NOT_INSURED = "insured", "not_insured"
STATUS_LABELS = {INSURED: "Застрахован", NOT_INSURED: "Не застрахован"}


@dataclass(frozen=True)
class RegisterRow:
    """One employee as the register states them: who, and whether ЕРЗЛ confirmed a policy for the period."""

    last_name: str
    first_name: str
    middle_name: str | None
    birth_date: date
    position: str
    enp: str
    insurer_name: str | None
    insurer_code: str | None
    status: str  # "insured" | "not_insured"
    reason: str | None  # Russian text when not insured («Полис не найден», «Срок действия полиса истёк», ...)

    def __post_init__(self) -> None:
        if self.status not in STATUS_LABELS:
            raise ValueError(f"register row status must be one of {sorted(STATUS_LABELS)}, got {self.status!r}")

    @property
    def full_name(self) -> str:
        return full_name(self.last_name, self.first_name, self.middle_name)

    @property
    def status_text(self) -> str:
        """«Застрахован», or «Не застрахован: <reason>» - the reason is what the employer must act on."""
        label = STATUS_LABELS[self.status]
        return f"{label}: {self.reason}" if self.status == NOT_INSURED and self.reason else label

    @property
    def insurer_text(self) -> str:
        """The insurer as printed: «name (код СМО code)», empty when ЕРЗЛ knows no insurer."""
        if not self.insurer_name:
            return ""
        return f"{self.insurer_name} (код СМО {self.insurer_code})" if self.insurer_code else self.insurer_name


@dataclass(frozen=True)
class RegisterTotals:
    total: int
    insured: int
    not_insured: int


@dataclass(frozen=True)
class RegisterData:
    """Everything the register states. `organization` is the application's organization dict."""

    number: str
    issued_at: datetime
    organization: dict
    period_from: date
    period_to: date
    rows: list[RegisterRow]
    verify_url: str
    # Who issues and signs it (tasks/cases/registers.py passes the fund's, as for a certificate).
    issuer: str = field(kw_only=True)
    official_name: str = field(kw_only=True)
    official_position: str = field(kw_only=True)

    def __post_init__(self) -> None:
        if not self.number.strip():
            raise ValueError("a register needs a number")
        if self.period_from > self.period_to:
            raise ValueError(f"period starts after it ends: {self.period_from} > {self.period_to}")
        object.__setattr__(self, "rows", list(self.rows))

    @property
    def totals(self) -> RegisterTotals:
        insured = sum(1 for row in self.rows if row.status == INSURED)
        return RegisterTotals(total=len(self.rows), insured=insured, not_insured=len(self.rows) - insured)




# Column widths (mm) of the 265 mm between the margins of an A4 landscape page: ЕНП fits its 16
# digits on one line, names and insurers wrap.
COLUMNS = (("№", 11), ("ФИО", 52), ("Дата рождения", 19), ("Должность", 40), ("ЕНП", 31),
           ("Страховая медицинская организация", 60), ("Статус", 52))

DARK_GREY = Color(0.2, 0.2, 0.2)
ISSUER = style("issuer", size=10, bold=True, align="center")
HEADING = style("heading", size=15, leading=18, bold=True, align="center")
SUBTITLE = style("subtitle", size=11.5, bold=True, align="center", space_after=2)
REFERENCE = style("reference", align="center", space_after=10)
LABEL, VALUE = style("label", textColor=DARK_GREY), style("value", bold=True)
BODY = style("body", space_after=6)
SMALL = style("small", size=9, space_after=3)
STAMP = style("stamp", size=8.5, align="center")


def register_verify_url(config: AppConfig, number: str) -> str:
    """The register's QR address: the same HMAC-coded /verify/<number> page as a certificate's."""
    return verification_url(config, number)


def render_register_pdf(data: RegisterData, config: AppConfig) -> bytes:
    """The register's PDF (A4 landscape). `config` for the same signature as the other documents;
    the QR code carries `data.verify_url`, fixed when the register was issued (register_verify_url)."""
    register_fonts()
    metadata = DocumentMetadata(
        title=f"{TITLE} № {data.number}", author=data.issuer,
        subject=(f"Реестр застрахованных работников № {data.number} от {format_date(data.issued_at)}: "
                 f"{data.organization.get('name', '')}"),
        keywords=("ОМС", "реестр", "работники", data.number), created=data.issued_at)
    story = [*_title(data), _requisites(data), _statement(data), _table(data), _totals(data), _closing(data)]
    return build_pdf(story, metadata, footer_left=f"Реестр {NUMBER_SIGN}{data.number} от {format_date(data.issued_at)}")


def _p(text: object, paragraph_style: ParagraphStyle) -> Paragraph:
    """A paragraph of plain text: escaped, so a name like «<b>» or «&» prints as typed."""
    return Paragraph(escape(str(text)), paragraph_style)


def _title(data: RegisterData) -> list[Flowable]:
    return [_p(data.issuer.upper(), ISSUER), HRFlowable(width="100%", thickness=0.6, color=BLACK,
                                                         spaceBefore=2, spaceAfter=14),
            _p("РЕЕСТР", HEADING),
            _p("застрахованных работников в системе обязательного медицинского страхования", SUBTITLE),
            _p(f"{NUMBER_SIGN}{data.number} от {format_date(data.issued_at)}", REFERENCE)]


def _requisites(data: RegisterData) -> Flowable:
    org = data.organization
    rows = [("Организация", org.get("name", "")),
            ("ИНН / КПП", f"{org.get('inn', '')} / {org.get('kpp', '')}"),
            ("ОГРН", org.get("ogrn", "")),
            ("Юридический адрес", keep_abbreviations_together(org.get("legal_address", ""))),
            ("Период", f"{format_date(data.period_from)}–{format_date(data.period_to)}")]
    width = PAGE_SIZE[0] - LEFT - RIGHT
    table = Table([[_p(label, LABEL), _p(value, VALUE)] for label, value in rows],
                  colWidths=[0.22 * width, 0.78 * width], hAlign="LEFT")
    table.setStyle(_table_style(("VALIGN", (0, 0), (-1, -1), "TOP"), ("LINEBELOW", (0, 0), (-1, -1), 0.4, GREY),
                                ("TOPPADDING", (0, 0), (-1, -1), 2), ("BOTTOMPADDING", (0, 0), (-1, -1), 3)))
    return table


def _statement(data: RegisterData) -> Flowable:
    return _p("Сведения о страховании работников организации в системе обязательного медицинского страхования "
              f"Российской Федерации в период {format_period(data.period_from, data.period_to)} по данным "
              "единого регистра застрахованных лиц.", style("statement", spaceBefore=8, space_after=6))


def _table(data: RegisterData) -> Flowable:
    rows = [((str(i), False), (row.full_name, False), (format_date(row.birth_date), False),
             (row.position or "", False), (row.enp, False), (row.insurer_text, False),
             (row.status_text, row.status == NOT_INSURED))
            for i, row in enumerate(data.rows, start=1)]
    return RegisterTable(layout_table([w * mm for _, w in COLUMNS], [name for name, _ in COLUMNS], rows))


def _totals(data: RegisterData) -> Flowable:
    totals = data.totals
    return KeepTogether([Spacer(1, 8),
                         _p(f"Всего работников: {totals.total}", VALUE),
                         _p(f"Застрахованы: {totals.insured}", VALUE),
                         _p(f"Не застрахованы: {totals.not_insured}", VALUE)])


def _closing(data: RegisterData) -> Flowable:
    """Signature block, then the QR code with the address and the issue date: kept on one page."""
    signature = Table([[_p(data.official_position, BODY), _p("Документ сформирован в электронном виде", STAMP),
                        _p(data.official_name, style("official", bold=True, align="right"))]],
                      colWidths=[95 * mm, 75 * mm, 95 * mm])
    signature.setStyle(_table_style(("VALIGN", (0, 0), (-1, -1), "MIDDLE"), ("BOX", (1, 0), (1, 0), 0.8, BLACK),
                                    ("LEFTPADDING", (0, 0), (0, 0), 0), ("RIGHTPADDING", (2, 0), (2, 0), 0)))
    qr = Image(io.BytesIO(_png(qr_png_data_uri(data.verify_url))), width=30 * mm, height=30 * mm)
    hints = [_p(f"Дата выдачи: {format_date(data.issued_at)}.", SMALL),
             _p("Проверить подлинность: отсканируйте QR-код или откройте", SMALL), _p(data.verify_url, SMALL)]
    verification = Table([[qr, hints]], colWidths=[34 * mm, 150 * mm], hAlign="LEFT")
    verification.setStyle(_table_style(("VALIGN", (0, 0), (-1, -1), "MIDDLE"), ("LEFTPADDING", (0, 0), (0, 0), 0),
                                       ("ALIGN", (0, 0), (0, 0), "LEFT")))
    return KeepTogether([Spacer(1, 14), signature, Spacer(1, 10), verification])


def _table_style(*commands: tuple) -> TableStyle:
    """A layout table's style in the document face: a Table's default font (Helvetica) would otherwise
    be referenced by the PDF, unembedded."""
    return TableStyle([("FONT", (0, 0), (-1, -1), REGULAR, 10), *commands])


def _png(data_uri: str) -> bytes:
    """The PNG inside a ``data:image/png;base64,...`` URI (tasks/documents/qr.py makes them for templates)."""
    return base64.b64decode(data_uri.partition(",")[2])
