"""The FAQ's answers: Markdown files read from web/faq/answers, rendered and sanitised, and searched.

Each file is one answer: its name (without .md) is the address (/faq/<name>), its first line «# …» the
question, the rest the answer. Writers edit only these files. The HTML comes from markdown-it-py with
raw HTML off, and then goes through nh3 (an allow-list sanitiser) as well: a file is text by people
who are not developers, and a page must not carry a script or an inline style whatever it contains.
A file named `refusal-<reason code>.md` adds its text to the page of that refusal reason.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import nh3
from markdown_it import MarkdownIt

ANSWERS_DIR = Path(__file__).resolve().parent / "answers"
REFUSAL_PREFIX = "refusal-"
ALLOWED_TAGS = {"p", "h2", "h3", "h4", "ul", "ol", "li", "strong", "em", "a", "code", "pre", "blockquote", "br", "hr",
                "table", "thead", "tbody", "tr", "th", "td"}
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}, "th": {"align"}, "td": {"align"}}
_SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{0,80}$")
_markdown = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False}).enable("table")


@dataclass(frozen=True)
class Answer:
    slug: str
    question: str
    html: str  # sanitised
    text: str  # plain text of the answer, for search and snippets

    @property
    def refusal_code(self) -> str | None:
        return self.slug[len(REFUSAL_PREFIX):].replace("-", "_") if self.slug.startswith(REFUSAL_PREFIX) else None


def render_markdown(source: str) -> str:
    """Markdown -> HTML that may be put on a page as it is (sanitised by an allow-list)."""
    return nh3.clean(_markdown.render(source), tags=ALLOWED_TAGS, attributes=ALLOWED_ATTRIBUTES,
                     url_schemes={"http", "https", "mailto", "tel"}, link_rel="noopener noreferrer")


def parse_answer(slug: str, source: str) -> Answer:
    lines = source.strip().splitlines()
    question = lines[0].lstrip("#").strip() if lines and lines[0].startswith("#") else slug
    body = "\n".join(lines[1:] if lines and lines[0].startswith("#") else lines).strip()
    html = render_markdown(body)
    text = " ".join(re.sub(r"<[^>]+>", " ", html).split())
    return Answer(slug, question, html, text)


@cache
def _answers(directory: Path) -> tuple[Answer, ...]:
    found = [parse_answer(p.stem, p.read_text(encoding="utf-8")) for p in sorted(directory.glob("*.md"))
             if _SLUG.match(p.stem)]
    return tuple(sorted(found, key=lambda a: a.question))


def answers(directory: Path = ANSWERS_DIR) -> tuple[Answer, ...]:
    """Every answer, by question; read once per process (a changed file shows after a restart)."""
    return _answers(directory)


def answer(slug: str, directory: Path = ANSWERS_DIR) -> Answer | None:
    return next((a for a in answers(directory) if a.slug == slug), None)


def fold(text: str) -> str:
    """Text as search compares it: lower case, «ё» read as «е», spaces collapsed."""
    return " ".join(text.lower().replace("ё", "е").split())


def search(query: str, directory: Path = ANSWERS_DIR) -> list[Answer]:
    """Answers containing every word of `query` (ё = е, any case); questions that match come first."""
    words = fold(query).split()
    if not words:
        return []
    hits = [a for a in answers(directory) if all(w in fold(a.question + " " + a.text) for w in words)]
    return sorted(hits, key=lambda a: not all(w in fold(a.question) for w in words))


def snippet(item: Answer, query: str, width: int = 160) -> str:
    """A piece of the answer around the first word of the query found in it."""
    folded, words = fold(item.text), fold(query).split()
    at = min((i for w in words if (i := folded.find(w)) >= 0), default=0)
    start = max(at - width // 3, 0)
    piece = " ".join(item.text.split())[start:start + width]
    return ("…" if start else "") + piece + ("…" if start + width < len(item.text) else "")
