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

A document issued in numbers (the certificate) can also be rendered through a stencil
(``render_stenciled``, stencil.py): the page laid out once per set of values that shape it, only
the case's short values drawn per case, about a fifth of the time. The renderer keeps the last
``STENCILS_KEPT`` stencils; a template or case the stencil cannot reproduce exactly returns None,
and the caller renders it the full way.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import jinja2
from PIL import Image
from weasyprint import CSS, HTML, VERSION, Document
from weasyprint.pdf import _w3c_date_to_pdf
from weasyprint.text.fonts import FontConfiguration
from weasyprint.urls import URLFetcher

from engine.clock import aware, utcnow
from forms.typography import NumberSignExtension

from .formatting import format_date, format_datetime, format_period, format_size, keep_abbreviations_together
from .stencil import NotStencilable, Stencil

PACKAGE_DIR = Path(__file__).resolve().parent
TEMPLATES_DIR = PACKAGE_DIR / "templates"
COMMON_STYLESHEET = "document.css"
GENERATOR = "OMS back office"
STENCILS_KEPT = 32
log = logging.getLogger(__name__)


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
        self._stencils: OrderedDict[tuple[str, Hashable], Stencil | None] = OrderedDict()

    def render(self, template_name: str, context: Mapping[str, Any], metadata: DocumentMetadata) -> bytes:
        """The PDF of ``template_name`` rendered with ``context``, carrying ``metadata``."""
        html_text = self._env.get_template(template_name).render(**context, title=metadata.title, lang=metadata.lang)
        with self._lock:
            document = self._layout(template_name, html_text)
            _apply_metadata(document.metadata, metadata)
            return document.write_pdf()

    def render_stenciled(self, template_name: str, key: Hashable, stand_ins: Callable[[], Sequence[StandIn]],
                         values: Sequence[str], image: Image.Image | None, metadata: DocumentMetadata) -> bytes | None:
        """The PDF through the stencil of (``template_name``, ``key``), or None: render it in full then.

        ``key`` holds every value that shapes the page; ``values`` are the strings the template
        prints for the case's slots, in the order of the stand-ins' ``values``; ``image`` is the
        case's per-page image (the QR code), drawn where the stand-ins' one is. ``stand_ins`` makes
        the two stand-in cases a new stencil is built from (only called on a cache miss).
        """
        with self._lock:
            cache_key = (template_name, key)
            if cache_key in self._stencils:
                self._stencils.move_to_end(cache_key)
                stencil = self._stencils[cache_key]
            else:
                stencil = self._build_stencil(template_name, stand_ins, metadata)
                self._stencils[cache_key] = stencil
                if len(self._stencils) > STENCILS_KEPT:
                    self._stencils.popitem(last=False)
            if stencil is None:
                return None
            try:
                return stencil.render(values, image, pdf_info(metadata))
            except Exception:  # the fast path must never stop a certificate: the full render takes over
                log.exception("%s: the stencil failed on a case; it is rendered in full", template_name)
                return None

    def _build_stencil(self, template_name: str, stand_ins: Callable[[], Sequence[StandIn]],
                       metadata: DocumentMetadata) -> Stencil | None:
        try:
            first, second = stand_ins()
            template = self._env.get_template(template_name)
            documents = [self._layout(template_name, template.render(**s.context, title=metadata.title,
                                                                     lang=metadata.lang))
                         for s in (first, second)]
            for document in documents:
                _apply_metadata(document.metadata, metadata)
            return Stencil(documents[0], documents[1], first.values, second.values, first.has_image)
        except (NotStencilable, ValueError) as exc:
            log.warning("%s is rendered in full, without a stencil: %s", template_name, exc)
            return None
        except Exception:  # e.g. WeasyPrint internals changed: never worse than the full render
            log.exception("%s: no stencil could be built; it is rendered in full", template_name)
            return None

    def _layout(self, template_name: str, html_text: str) -> Document:
        stylesheets = self._stylesheets_for(template_name)
        html = HTML(string=html_text, base_url=str(self.templates_dir) + "/", url_fetcher=self._url_fetcher)
        return html.render(stylesheets=stylesheets, font_config=self._font_config)

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


@dataclass(frozen=True)
class StandIn:
    """A made-up case a stencil is laid out with: its template context and the strings of its slots."""

    context: Mapping[str, Any]
    values: tuple[str, ...]
    has_image: bool = True


def pdf_info(metadata: DocumentMetadata) -> dict[str, str]:
    """The PDF's Info dictionary, entry for entry as WeasyPrint writes it from ``_apply_metadata``."""
    created = _w3c_date_to_pdf(aware(metadata.created).isoformat(timespec="seconds"), "created")
    info = {"Producer": f"WeasyPrint {VERSION}", "Title": metadata.title, "Author": metadata.author}
    if metadata.subject:
        info["Subject"] = metadata.subject
    if metadata.keywords:
        info["Keywords"] = ", ".join(metadata.keywords)
    info.update({"Creator": GENERATOR, "CreationDate": created, "ModDate": created})
    return info


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
