"""The stencilled certificate is the certificate: same text, same look, same QR code as a full render.

Each case is rendered both ways - drawn onto the stencil of its page (``render_certificate``'s fast
path) and laid out in full by WeasyPrint (``render_certificate_in_full``) - and read back with
poppler and zbar: the text of `pdftotext -layout` and `-raw` (drawing order) must be identical, the pages rasterised by
pdftoppm must differ in under 0.5 % of their pixels, and both QR codes must decode to the same
verification URL. Cases the stencil cannot draw exactly (a name too long for its line, a letter
outside the embedded charset, a template printing a value some other way) must come back as None
from the stencil, and ``render_certificate`` then renders them in full.
"""

from __future__ import annotations

import shutil
import subprocess
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from PIL import Image, ImageChops

from tasks.config import AppConfig
from tasks.documents import CertificateData, DocumentRenderer, render_certificate
from tasks.documents.certificate import render_certificate_in_full, render_certificate_stenciled
from tasks.documents.render import TEMPLATES_DIR
from tasks.verification import verification_url
from tests.support.certificates import sample_certificate

MAX_DIFFERENT_PIXELS = 0.005  # of the page, at 100 dpi in greyscale
DPI = 100


@pytest.fixture(scope="module")
def config(tmp_path_factory) -> AppConfig:
    return AppConfig.from_env({"BACKOFFICE_DATA_DIR": str(tmp_path_factory.mktemp("stencil-data")),
                               "SECRET_KEY": "stencil-test-" * 4, "PUBLIC_BASE_URL": "https://oms.example.ru/"})


def certificate(**changes) -> CertificateData:
    """The sample with a resubmission's number and a shorter issuer, whose lines the stencil keeps as they are."""
    return sample_certificate(**{"number": "2026-000123-1", "official_name": "Иванова Мария Петровна",
                                 "official_position": "Начальник отдела организации ОМС",
                                 "organisation": "Территориальный фонд обязательного медицинского страхования",
                                 **changes})


# ------------------------------------------------------------------ poppler / zbar
def _save(pdf: bytes, path: Path) -> Path:
    assert pdf.startswith(b"%PDF-")
    path.write_bytes(pdf)
    return path


def text_of(path: Path, mode: str = "-layout") -> str:
    """`pdftotext -layout` (the page as laid out) or `-raw` (the order the page draws its text in,
    which is what screen readers and most extractors follow)."""
    return subprocess.run(["pdftotext", mode, "-enc", "UTF-8", str(path), "-"], check=True,
                          capture_output=True, text=True, timeout=60).stdout


def page_image(path: Path) -> Image.Image:
    prefix = path.with_suffix("")
    # PGM, not PNG: the same pixels without the compression that took nine tenths of pdftoppm's CPU
    subprocess.run(["pdftoppm", "-r", str(DPI), "-gray", "-singlefile", str(path), str(prefix)], check=True, timeout=60)
    with Image.open(prefix.with_suffix(".pgm")) as image:
        return image.convert("L")


def different_pixels(a: Image.Image, b: Image.Image) -> float:
    """The share of pixels that differ at all between two pages of the same size."""
    assert a.size == b.size
    histogram = ImageChops.difference(a, b).histogram()
    return sum(histogram[1:]) / (a.width * a.height)


def qr_payloads(path: Path) -> list[str]:
    prefix = path.with_name(path.stem + "-qr")
    subprocess.run(["pdftoppm", "-r", "200", "-singlefile", str(path), str(prefix)], check=True, timeout=60)  # PPM
    out = subprocess.run(["zbarimg", "--raw", "-q", str(prefix.with_suffix(".ppm"))], check=True,
                         capture_output=True, text=True, timeout=60).stdout
    return out.splitlines()


def assert_same_document(fast: bytes, full: bytes, tmp_path: Path, url: str) -> None:
    fast_path, full_path = _save(fast, tmp_path / "fast.pdf"), _save(full, tmp_path / "full.pdf")
    assert text_of(fast_path) == text_of(full_path)
    assert text_of(fast_path, "-raw") == text_of(full_path, "-raw")
    assert different_pixels(page_image(fast_path), page_image(full_path)) < MAX_DIFFERENT_PIXELS
    assert qr_payloads(fast_path) == qr_payloads(full_path) == [url]


# ------------------------------------------------------------------ the same document
CASES = {
    "typical": {},
    "yo and a hyphenated surname": {"last_name": "Ёлкина-Щёголева", "first_name": "Алёна", "middle_name": "Фёдоровна"},
    "no middle name": {"last_name": "Ким", "first_name": "Ён", "middle_name": None},
    "long name that fits": {"last_name": "Константинопольская", "first_name": "Александра",
                            "middle_name": "Вячеславовна"},
    "Latin letters and an apostrophe": {"last_name": "O'Brien", "first_name": "Jean-Luc", "middle_name": None},
    "policy with an end": {"policy_valid_from": date(2020, 1, 15), "policy_valid_to": date(2027, 1, 14)},
    "another number shape": {"number": "2026-004567-12", "issued_at": datetime(2026, 12, 31, 20, 59, tzinfo=UTC)},
    "another period": {"period_from": date(2025, 7, 1), "period_to": date(2026, 6, 30)},
}


@pytest.mark.parametrize("changes", CASES.values(), ids=CASES.keys())
def test_the_stencilled_certificate_is_the_full_one(config, tmp_path, changes):
    data = certificate(**changes)
    fast = render_certificate_stenciled(data, config)
    assert fast is not None, "the stencil should draw this case"
    assert_same_document(fast, render_certificate_in_full(data, config), tmp_path,
                         verification_url(config, data.number))
    assert render_certificate(data, config) == fast


ISSUERS = {
    # The values that shape the page get a stencil of their own.
    "no insurer code or region": {"insurer_code": "", "region": ""},
    "a long issuer that wraps": {
        "organisation": "Территориальный фонд обязательного медицинского страхования Ханты-Мансийского "
                        "автономного округа - Югры",
        "region": "Ханты-Мансийский автономный округ - Югра",
        "insurer_name": "Общество с ограниченной ответственностью «Страховая медицинская компания «Ингосстрах-М»"},
    "another official": {"official_name": "Петров-Водкин Кузьма Сергеевич",
                         "official_position": "Заместитель директора по организации обязательного "
                                              "медицинского страхования"},
}


@pytest.mark.parametrize("changes", ISSUERS.values(), ids=ISSUERS.keys())
def test_each_issuer_gets_its_own_stencil(config, tmp_path, changes):
    data = certificate(**changes)
    fast = render_certificate_stenciled(data, config)
    assert fast is not None
    assert_same_document(fast, render_certificate_in_full(data, config), tmp_path,
                         verification_url(config, data.number))


def test_cases_in_a_row_on_one_stencil_carry_only_their_own_values(config, tmp_path):
    first = certificate(number="2026-000201-1", last_name="Смирнова", first_name="Ольга", middle_name="Ивановна")
    second = certificate(number="2026-000202-1", last_name="Орлов", first_name="Ян", middle_name=None,
                         birth_date=date(2001, 11, 30), enp="5000000000000001")
    render_certificate_stenciled(first, config)
    fast = render_certificate_stenciled(second, config)
    assert fast is not None
    text = text_of(_save(fast, tmp_path / "second.pdf"))
    assert "2026-000202-1" in text and "Орлов Ян" in text and "30.11.2001" in text
    assert "2026-000201" not in text and "Смирнова" not in text
    assert_same_document(fast, render_certificate_in_full(second, config), tmp_path,
                         verification_url(config, second.number))


# ------------------------------------------------------------------ what the stencil refuses
REFUSED = {
    "a name too long for its line": {"last_name": "Римского-Корсакова-Константинопольская",
                                     "first_name": "Анна-Мария-Александра", "middle_name": "Вячеславовна"},
    "a letter outside the embedded charset": {"last_name": "Müller", "first_name": "Jürgen", "middle_name": None},
    "two spaces in a name": {"first_name": "Анна  Мария"},
}


@pytest.mark.parametrize("changes", REFUSED.values(), ids=REFUSED.keys())
def test_a_case_the_stencil_cannot_draw_exactly_is_rendered_in_full(config, tmp_path, changes):
    data = certificate(**changes)
    assert render_certificate_stenciled(data, config) is None
    full = render_certificate_in_full(data, config)
    assert_same_document(render_certificate(data, config), full, tmp_path, verification_url(config, data.number))


def test_a_template_printing_a_value_another_way_gets_no_stencil(config, tmp_path):
    templates = tmp_path / "templates"
    shutil.copytree(TEMPLATES_DIR, templates)
    html = (templates / "certificate.html").read_text(encoding="utf-8")
    # The birth year printed on its own: the stand-ins differ there, but not through a slot's string.
    html = html.replace("<p>Справка выдана", "<p>Год рождения: {{ c.birth_date.year }}</p>\n<p>Справка выдана")
    (templates / "certificate.html").write_text(html, encoding="utf-8")
    renderer = DocumentRenderer(templates)
    data = certificate()
    assert render_certificate_stenciled(data, config, renderer) is None
    assert "Год рождения: 1985" in text_of(_save(render_certificate_in_full(data, config, renderer),
                                                  tmp_path / "full.pdf"))


def test_a_designer_s_change_to_the_template_is_stencilled_too(config, tmp_path):
    templates = tmp_path / "templates"
    shutil.copytree(TEMPLATES_DIR, templates)
    html = (templates / "certificate.html").read_text(encoding="utf-8")
    note = '<p class="note">Сведения получены из ЕРЗЛ.</p>\n'
    html = html.replace("<p>Справка выдана для", note + "<p>Справка выдана для")
    (templates / "certificate.html").write_text(html, encoding="utf-8")
    renderer = DocumentRenderer(templates)
    data = certificate(last_name="Щербакова", first_name="Дарья")
    fast = render_certificate_stenciled(data, config, renderer)
    assert fast is not None
    assert_same_document(fast, render_certificate_in_full(data, config, renderer), tmp_path,
                         verification_url(config, data.number))
    assert "Сведения получены из ЕРЗЛ." in text_of(tmp_path / "fast.pdf")
