"""One WeasyPrint renderer for every document the service issues (certificate, receipt, ...).

A document is a Jinja2 template in ``templates/`` plus its stylesheets: ``document.css`` (fonts,
page, typography shared by all documents) and ``<template stem>.css`` when it exists. Adding a
document kind means adding a template, a stylesheet and a small module that builds the context.

Why the renderer is cached: building a FontConfiguration, registering the bundled fonts with it
and parsing the stylesheets costs ~15-20 ms, which a fresh renderer per document would add to
every render (a certificate takes ~30 ms warm). Kept per process, those are paid once, with the
first render (~0.1 s, most of it WeasyPrint's own one-off start-up). The fonts come from files via
@font-face, so the PDF embeds the same glyphs on every machine, whatever fonts the system has.
Template choices that keep a render fast are noted in templates/document.css.

Pango font maps are not thread-safe, so renders of one renderer are serialised with a lock; a
process renders one document at a time anyway (the work is CPU-bound under the GIL).
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import jinja2
from weasyprint import CSS, HTML
from weasyprint.text.fonts import FontConfiguration
from weasyprint.urls import URLFetcher

from engine.clock import aware, utcnow
from forms.typography import NumberSignExtension

from .formatting import format_date, format_datetime, format_period, format_size, keep_abbreviations_together

PACKAGE_DIR = Path(__file__).resolve().parent
TEMPLATES_DIR = PACKAGE_DIR / "templates"
COMMON_STYLESHEET = "document.css"
GENERATOR = "OMS back office"


@dataclass(frozen=True)
class DocumentMetadata:
    """What a PDF reader shows in "Document properties" and what archives index."""

    title: str
    author: str
    subject: str = ""
    keywords: tuple[str, ...] = ()
    created: datetime = field(default_factory=utcnow)
    lang: str = "ru"


class DocumentRenderer:
    """Renders templates to PDF, keeping fonts, stylesheets and compiled templates between calls."""

    def __init__(self, templates_dir: Path = TEMPLATES_DIR) -> None:
        self.templates_dir = templates_dir
        self._env = _jinja_environment(templates_dir)
        self._font_config = FontConfiguration()
        # Templates are ours and user data is autoescaped; still, a document never needs the
        # network, so a stray URL must not make a render hang on a remote server.
        self._url_fetcher = URLFetcher(allowed_protocols={"file", "data"})
        self._css: dict[str, CSS] = {}
        self._lock = threading.Lock()

    def render(self, template_name: str, context: Mapping[str, Any], metadata: DocumentMetadata) -> bytes:
        """The PDF of ``template_name`` rendered with ``context``, carrying ``metadata``."""
        html_text = self._env.get_template(template_name).render(**context, title=metadata.title, lang=metadata.lang)
        with self._lock:
            stylesheets = self._stylesheets_for(template_name)
            html = HTML(string=html_text, base_url=str(self.templates_dir) + "/", url_fetcher=self._url_fetcher)
            document = html.render(stylesheets=stylesheets, font_config=self._font_config)
            _apply_metadata(document.metadata, metadata)
            return document.write_pdf()

    def _stylesheets_for(self, template_name: str) -> list[CSS]:
        """document.css + <stem>.css; each file is parsed once, which also registers its @font-face fonts."""
        names = [COMMON_STYLESHEET, f"{Path(template_name).stem}.css"]
        return [self._stylesheet(name) for name in names if (self.templates_dir / name).is_file()]

    def _stylesheet(self, name: str) -> CSS:
        sheet = self._css.get(name)
        if sheet is None:
            sheet = CSS(filename=self.templates_dir / name, font_config=self._font_config,
                        url_fetcher=self._url_fetcher)
            self._css[name] = sheet
        return sheet


def _jinja_environment(templates_dir: Path) -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(templates_dir),
        autoescape=True,
        undefined=jinja2.StrictUndefined,  # a typo in a template fails the render, not the document
        auto_reload=False,
        trim_blocks=True,
        lstrip_blocks=True,
        extensions=[NumberSignExtension],  # «№» and its number on one line
    )
    env.filters.update(date=format_date, datetime=format_datetime, period=format_period, filesize=format_size,
                       nbsp=keep_abbreviations_together)
    return env


def _apply_metadata(target: Any, metadata: DocumentMetadata) -> None:
    target.title = metadata.title
    target.authors = [metadata.author]
    target.description = metadata.subject or None
    target.keywords = list(metadata.keywords)
    target.generator = GENERATOR
    target.created = aware(metadata.created).isoformat(timespec="seconds")
    target.modified = target.created
    target.lang = metadata.lang


_default_renderer: DocumentRenderer | None = None
_default_lock = threading.Lock()


def default_renderer() -> DocumentRenderer:
    """The process-wide renderer, created on first use: processes that never render pay nothing for it."""
    global _default_renderer
    if _default_renderer is None:
        with _default_lock:
            if _default_renderer is None:
                _default_renderer = DocumentRenderer()
    return _default_renderer


def render_pdf(
    template_name: str,
    context: Mapping[str, Any],
    *,
    title: str,
    author: str,
    subject: str = "",
    keywords: Iterable[str] = (),
    created: datetime | None = None,
    lang: str = "ru",
) -> bytes:
    """Render ``templates/<template_name>`` to PDF bytes with the process-wide renderer."""
    metadata = DocumentMetadata(
        title=title, author=author, subject=subject, keywords=tuple(keywords),
        created=created or utcnow(), lang=lang,
    )
    return default_renderer().render(template_name, context, metadata)
