"""Uploads checked by what they are: real crafted files, each attack as it reaches the product.

A "PDF" that is an HTML page, PDFs carrying JavaScript (open action, document script, additional action),
a launch action or an attached file, and a cut-off PNG are refused with a clear message; real scans,
photos and PDFs pass.
"""

from __future__ import annotations

import io
import random

import pytest
import weasyprint  # noqa: F401 - imported by the product's processes: it relaxes Pillow's decoding globally
from PIL import Image
from pypdf import PdfWriter
from pypdf.generic import ArrayObject, DictionaryObject, NameObject, TextStringObject

from tasks.cases.uploads import UploadRejected, check_upload
from tests.support.pdf import SCAN_PDF


def _pdf(change) -> bytes:
    writer = PdfWriter()
    writer.add_blank_page(width=595, height=842)
    change(writer)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def _js_action(code: str = "app.alert('x')") -> DictionaryObject:
    return DictionaryObject({NameObject("/S"): NameObject("/JavaScript"), NameObject("/JS"): TextStringObject(code)})


def _open_action_js(writer: PdfWriter) -> None:
    writer._root_object[NameObject("/OpenAction")] = _js_action()


def _document_js(writer: PdfWriter) -> None:
    """A document-level script in the catalogue's /Names tree, run when the file opens."""
    tree = DictionaryObject({NameObject("/Names"): ArrayObject([TextStringObject("init"), _js_action()])})
    writer._root_object[NameObject("/Names")] = DictionaryObject({NameObject("/JavaScript"): tree})


def _page_aa_js(writer: PdfWriter) -> None:
    writer.pages[0][NameObject("/AA")] = DictionaryObject({NameObject("/O"): _js_action()})


def _launch(writer: PdfWriter) -> None:
    writer._root_object[NameObject("/OpenAction")] = DictionaryObject({
        NameObject("/S"): NameObject("/Launch"), NameObject("/F"): TextStringObject("cmd.exe")})


def _attachment(writer: PdfWriter) -> None:
    writer.add_attachment("invoice.exe", b"MZ\x90\x00")


def _photo(kind: str, size=(640, 480)) -> bytes:
    rng = random.Random(7)
    image = Image.frombytes("RGB", size, bytes(rng.getrandbits(8) for _ in range(size[0] * size[1] * 3)))
    out = io.BytesIO()
    image.save(out, kind)
    return out.getvalue()


def _refused(data: bytes) -> UploadRejected:
    with pytest.raises(UploadRejected) as caught:
        check_upload(data)
    assert caught.value.status == 415 and caught.value.code == "invalid_format"
    return caught.value


def test_real_scans_pass() -> None:
    assert check_upload(SCAN_PDF).content_type == "application/pdf"
    assert check_upload(_photo("PNG")).content_type == "image/png"
    assert check_upload(_photo("JPEG")).content_type == "image/jpeg"


def test_an_html_page_dressed_as_a_pdf_is_refused() -> None:
    fake = b"%PDF-1.4\n<html><body><script>fetch('/api/v1/auth/me')</script></body></html>\n%%EOF\n"
    assert "не является корректным документом PDF" in _refused(fake).message


@pytest.mark.parametrize("craft", [_open_action_js, _document_js, _page_aa_js, _launch, _attachment],
                         ids=["open-action-javascript", "document-javascript", "page-action-javascript",
                              "launch", "embedded-file"])
def test_a_pdf_with_active_content_is_refused(craft) -> None:
    message = _refused(_pdf(craft)).message
    assert message.startswith("Недопустимый формат: Файл PDF содержит исполняемое содержимое")


def test_a_script_hidden_in_an_incremental_update_is_refused() -> None:
    """The original file is clean; an update appended after its %%EOF adds an open action."""
    base = SCAN_PDF
    start = base.rindex(b"startxref")
    prev = int(base[start:].split()[1])
    catalog = base.index(b"/Type /Catalog")
    root_num = int(base[:catalog].rsplit(b" 0 obj", 1)[0].rsplit(b"\n", 1)[1])
    pages = base.index(b"/Pages ", catalog)
    pages_ref = base[pages:pages + 20].split(b"R")[0] + b"R"
    size = int(base[base.rindex(b"/Size"):].split()[1].rstrip(b">"))
    update = (f"{root_num} 0 obj\n<< /Type /Catalog {pages_ref.decode()} "
              "/OpenAction << /S /JavaScript /JS (app.alert(1)) >> >>\nendobj\n").encode()
    offset = len(base) + 1
    xref = (f"xref\n0 1\n0000000000 65535 f \n{root_num} 1\n{offset:010d} 00000 n \n"
            f"trailer\n<< /Size {size} /Root {root_num} 0 R /Prev {prev} >>\n"
            f"startxref\n{offset + len(update)}\n%%EOF\n")
    crafted = base + b"\n" + update + xref.encode()
    assert "исполняемое содержимое" in _refused(crafted).message


def test_a_truncated_png_is_refused() -> None:
    whole = _photo("PNG")
    cut = whole[: len(whole) // 2]
    assert "изображение повреждено или обрезано" in _refused(cut).message


def test_a_truncated_jpeg_is_refused() -> None:
    whole = _photo("JPEG")
    _refused(whole[: len(whole) // 2])
