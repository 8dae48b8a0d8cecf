"""The public FAQ: answers from the Markdown files, sanitised; search with ё = е; a page per refusal reason
that carries the refusal table's own advice; and the links to it from refusal and error pages."""

from __future__ import annotations

from pathlib import Path

from tasks.cases.refusal_advice import REASON_STEPS, UNKNOWN_INSURER
from tests.support.accounts import client_from
from web.faq.content import answers, parse_answer, search


def test_markdown_is_rendered_and_sanitised() -> None:
    item = parse_answer("sample", "# Вопрос?\n\nТекст **жирный**.\n\n<script>alert(1)</script>\n\n"
                                  "[ссылка](javascript:alert(1)) и [сайт](https://example.ru)\n\n"
                                  '<img src=x onerror="alert(1)">')
    assert item.question == "Вопрос?"
    assert "<strong>жирный</strong>" in item.html
    assert "<script" not in item.html and "<img" not in item.html  # raw HTML shows as text, never as markup
    assert "&lt;script&gt;" in item.html
    assert 'href="javascript' not in item.html
    assert '<a href="https://example.ru" rel="noopener noreferrer">сайт</a>' in item.html


def test_the_sanitiser_removes_what_markdown_would_let_through() -> None:
    from web.faq.content import ALLOWED_TAGS, render_markdown

    assert "img" not in ALLOWED_TAGS and "script" not in ALLOWED_TAGS
    html = render_markdown('[x](https://example.ru "t") ![картинка](https://example.ru/a.png)')
    assert "<img" not in html and 'href="https://example.ru"' in html


def test_every_answer_file_has_a_question_and_text() -> None:
    files = sorted(p.stem for p in (Path(__file__).parent.parent / "web" / "faq" / "answers").glob("*.md"))
    assert sorted(a.slug for a in answers()) == files
    for item in answers():
        assert item.question != item.slug and item.text, item.slug


def test_search_reads_yo_as_e_in_both_directions() -> None:
    typed_e = [a.slug for a in search("еще")]  # the files write «ещё»
    assert "find-enp" in typed_e and "too-many-attempts" in typed_e
    assert [a.slug for a in search("ЕЩЁ")] == typed_e
    assert search("полис енп")[0].slug == "find-enp"  # a question that matches comes first
    assert search("квазар") == [] and search("  ") == []


def test_faq_pages_refusal_reasons_and_error_links(backend, make_app) -> None:
    client = client_from(make_app())
    index = client.get("/faq").get_data(as_text=True)
    assert "Где найти номер полиса ОМС (ЕНП)" in index
    for code in REASON_STEPS:
        assert f'href="/faq/refusal/{code}"' in index
        page = client.get(f"/faq/refusal/{code}")
        assert page.status_code == 200
        advice = REASON_STEPS[code].advice.format(insurer=UNKNOWN_INSURER)
        assert advice in page.get_data(as_text=True)  # the table's own advice, not a copy in the FAQ files
    expired = client.get("/faq/refusal/policy_expired").get_data(as_text=True)
    assert "переезда в другой регион" in expired  # the file refusal-policy-expired.md adds its explanation
    assert client.get("/faq/refusal-policy-expired").get_data(as_text=True) == expired
    found = client.get("/faq?q=Еще").get_data(as_text=True)
    assert 'href="/faq/find-enp"' in found and "Найдено:" in found
    assert client.get("/faq/refusal/unknown_reason").status_code == 404
    missing = client.get("/faq/no-such-answer")
    assert missing.status_code == 404
    assert 'href="/faq/page-not-found"' in missing.get_data(as_text=True)  # the error page links to its answer
    assert client.get("/faq/page-not-found").status_code == 200
