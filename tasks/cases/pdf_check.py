"""Uploaded PDFs parsed for real, and refused when they carry active content.

A magic number and a trailing ``%%EOF`` are easy to forge (an HTML page with both passes), so the whole
file goes through a PDF parser: it must have a readable page tree. A scanned document has no business
running code or opening other things, so any of these is refused: JavaScript anywhere, an open or
additional action (OpenAction/AA) that runs JavaScript or launches something, Launch actions, embedded
files (attachments a viewer would offer to open), and XFA forms. The check walks every object the file's
trailer reaches, so nothing hides behind an indirection.
"""

from __future__ import annotations

import io
import logging

from pypdf import PdfReader
from pypdf.errors import PdfReadError
from pypdf.generic import ArrayObject, DictionaryObject, IndirectObject, NameObject

log = logging.getLogger(__name__)

# Names whose presence as a key, or as an action type (/S), means active content.
_ACTIVE_KEYS = frozenset({"/JS", "/JavaScript", "/EmbeddedFiles", "/EmbeddedFile", "/XFA", "/RichMedia"})
_ACTIVE_ACTIONS = frozenset({"/JavaScript", "/Launch", "/ImportData", "/SubmitForm", "/GoToE", "/RichMediaExecute"})
MAX_OBJECTS = 200_000  # a 5 MB file has far fewer; a loop of references must not spin forever


class PdfRefused(Exception):
    """Why a PDF is refused, in words for the person uploading it."""


def check_pdf(data: bytes) -> None:
    """Raise PdfRefused unless `data` is a PDF with pages and no active content."""
    try:
        reader = PdfReader(io.BytesIO(data), strict=False)
        if len(reader.pages) == 0:
            raise PdfRefused("В файле PDF нет ни одной страницы.")
        if reader.is_encrypted:
            raise PdfRefused("Файл PDF защищён паролем. Загрузите файл без пароля.")
        active = _active_content(reader.trailer)
    except PdfRefused:
        raise
    except (PdfReadError, ValueError, KeyError, TypeError, AttributeError, RecursionError, OSError) as exc:
        log.info("PDF upload refused: unreadable (%s)", exc.__class__.__name__)
        raise PdfRefused("Файл не является корректным документом PDF.") from exc
    if active is not None:
        log.info("PDF upload refused: active content %s", active)
        raise PdfRefused("Файл PDF содержит исполняемое содержимое (сценарии, вложенные файлы или запуск "
                         "программ). Загрузите скан или PDF без такого содержимого.")


def _active_content(root: object) -> str | None:
    """The first active-content marker reachable from `root`, or None."""
    seen: set[tuple[int, int]] = set()
    stack = [root]
    visited = 0
    while stack:
        node = stack.pop()
        visited += 1
        if visited > MAX_OBJECTS:
            return "too many objects"
        if isinstance(node, IndirectObject):
            ref = (node.idnum, node.generation)
            if ref in seen:
                continue
            seen.add(ref)
            node = node.get_object()
        if isinstance(node, DictionaryObject):
            for key, value in node.items():
                if key in _ACTIVE_KEYS:
                    return str(key)
                if key == "/S" and isinstance(value, NameObject) and value in _ACTIVE_ACTIONS:
                    return str(value)
                stack.append(value)
        elif isinstance(node, ArrayObject):
            stack.extend(node)
    return None
