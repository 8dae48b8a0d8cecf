"""The page frame of the employee register: fonts, paragraph styles, A4 landscape pages with a footer
(«Реестр № … от ДД.ММ.ГГГГ» on the left, «Страница N из M» on the right) and the PDF's metadata.

Why ReportLab here when every other document is WeasyPrint (render.py): a register lists up to
10,000 employees, and WeasyPrint lays a table out at ~1 ms per cell on this machine (measured with
WeasyPrint 70: 1,000 rows × 7 columns 9.3 s, 2,000 rows 23 s - a 10,000-row register would take
well over a minute and a half, beyond the issue's 60-second budget for the whole case). Even one
text line per row cost 2.3 s per 1,000 rows. With ReportLab the whole 10,000-row register takes
3.6 s (and its XLSX 1.7 s more; benchmarks/register_render.py, which also re-measures WeasyPrint with
--compare-weasyprint), because its table is laid out by our own small flowable (register_table.py)
in one linear pass. The look follows the WeasyPrint documents: the same bundled
DejaVu Serif Condensed faces (regular and bold only), the issuer line, the centred title, ДД.ММ.ГГГГ
dates, the signature block and the QR code of tasks/documents/qr.py.
"""

from __future__ import annotations

import io
import threading
from collections.abc import Callable, Sequence
from datetime import UTC
from typing import Any

from reportlab.lib.colors import Color
from reportlab.lib.enums import TA_CENTER, TA_LEFT, TA_RIGHT
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.pdfmetrics import registerFontFamily
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import BaseDocTemplate, Flowable, Frame, PageTemplate

from engine.clock import aware

from .render import GENERATOR, PACKAGE_DIR, DocumentMetadata

REGULAR, BOLD = "Document Serif", "Document Serif Bold"
PAGE_SIZE = landscape(A4)
LEFT, RIGHT, TOP, BOTTOM = 20 * mm, 12 * mm, 15 * mm, 16 * mm  # ГОСТ Р 7.0.97 left margin, as the other documents
FOOTER_Y = 9 * mm
GREY, BLACK = Color(0.6, 0.6, 0.6), Color(0, 0, 0)
FOOTER_SIZE = 8
_ALIGN = {"left": TA_LEFT, "center": TA_CENTER, "right": TA_RIGHT}

_fonts_lock = threading.Lock()
_fonts_ready = False


def register_fonts() -> None:
    """Register the bundled faces with ReportLab once per process (the registry is global).

    Called before any paragraph is made: a Paragraph resolves its face when it is constructed."""
    global _fonts_ready
    with _fonts_lock:
        if not _fonts_ready:
            fonts = PACKAGE_DIR / "fonts"
            pdfmetrics.registerFont(TTFont(REGULAR, str(fonts / "DejaVuSerifCondensed.ttf")))
            pdfmetrics.registerFont(TTFont(BOLD, str(fonts / "DejaVuSerifCondensed-Bold.ttf")))
            # Paragraphs resolve <b> and their style's face through the family (no italic face: as in document.css).
            registerFontFamily(REGULAR, normal=REGULAR, bold=BOLD, italic=REGULAR, boldItalic=BOLD)
            _fonts_ready = True


def style(name: str, *, size: float = 10, leading: float | None = None, bold: bool = False, align: str = "left",
          space_after: float = 0, **extra: Any) -> ParagraphStyle:
    """A paragraph style in the document faces; leading 1.3 × size unless given; align left, center or right."""
    return ParagraphStyle(name, fontName=BOLD if bold else REGULAR, fontSize=size, leading=leading or size * 1.3,
                          alignment=_ALIGN[align], spaceAfter=space_after, **extra)


def numbered_canvas(footer_left: str, created: str) -> Callable[..., Canvas]:
    """A canvas class that writes «Страница N из M» (and `footer_left`) once the page count is known.

    Pages are kept as their drawing state until `save()`, then each gets its footer: the usual
    ReportLab way to print the total without laying the document out twice. `created` is the
    PDF date string («D:20260201093000+00'00'») used for CreationDate and ModDate.
    """

    class NumberedCanvas(Canvas):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            kwargs["initialFontName"] = REGULAR  # else every page would reference Helvetica
            super().__init__(*args, **kwargs)
            self.setDateFormatter(lambda *_: created)
            self._saved_pages: list[dict[str, Any]] = []

        def showPage(self) -> None:  # ReportLab's name
            self._saved_pages.append(dict(self.__dict__))
            self._startPage()

        def save(self) -> None:
            total = len(self._saved_pages)
            for state in self._saved_pages:
                self.__dict__.update(state)
                self._footer(total)
                super().showPage()
            super().save()

        def _footer(self, total: int) -> None:
            self.setFont(REGULAR, FOOTER_SIZE)
            self.setFillColor(BLACK)
            self.drawString(LEFT, FOOTER_Y, footer_left)
            self.drawRightString(PAGE_SIZE[0] - RIGHT, FOOTER_Y, f"Страница {self._pageNumber} из {total}")

    return NumberedCanvas


def pdf_date(metadata: DocumentMetadata) -> str:
    """The PDF date syntax of `metadata.created` in UTC, as WeasyPrint documents carry it."""
    return aware(metadata.created).astimezone(UTC).strftime("D:%Y%m%d%H%M%S+00'00'")


def build_pdf(story: Sequence[Flowable], metadata: DocumentMetadata, footer_left: str) -> bytes:
    """Lay `story` out on A4 landscape pages with the footer and metadata; the PDF's bytes."""
    register_fonts()
    buffer = io.BytesIO()
    doc = BaseDocTemplate(
        buffer, pagesize=PAGE_SIZE, leftMargin=LEFT, rightMargin=RIGHT, topMargin=TOP, bottomMargin=BOTTOM,
        title=metadata.title, author=metadata.author, subject=metadata.subject, keywords=list(metadata.keywords),
        creator=GENERATOR, producer=GENERATOR, lang=metadata.lang, displayDocTitle=True,
        initialFontName=REGULAR,
    )
    # No frame padding: the margins above are the page's, as in the WeasyPrint documents.
    frame = Frame(LEFT, BOTTOM, PAGE_SIZE[0] - LEFT - RIGHT, PAGE_SIZE[1] - TOP - BOTTOM,
                  leftPadding=0, rightPadding=0, topPadding=0, bottomPadding=0, id="body")
    doc.addPageTemplates([PageTemplate(id="page", frames=[frame])])
    doc.build(list(story), canvasmaker=numbered_canvas(footer_left, pdf_date(metadata)))
    return buffer.getvalue()
