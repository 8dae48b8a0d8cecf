"""The versions of the legal documents, read from HTML files that lawyers edit without touching code.

Each document is a folder (`terms`, `consent`) of one file per version. A file starts with a comment
giving its version and the day it takes effect, then the text as an HTML fragment:

    <!--
    version: 2
    effective: 2026-03-01
    -->
    <h2>1. Общие положения</h2> ...

The current version of a document is the latest one in effect today (Moscow); a version published
with a later date waits for it. Old versions stay, so the text a person accepted can always be shown.
The folder is re-read when a file in it changes: a new version is asked for at the next login
without a restart.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import date
from functools import cache
from pathlib import Path

from forms.dates import today_moscow

# Document id -> its title. The ids are part of the API (`terms_version`, `consent_version`).
TITLES: dict[str, str] = {
    "terms": "Пользовательское соглашение",
    "consent": "Согласие на обработку персональных данных",
}
DOCUMENT_IDS: tuple[str, ...] = tuple(TITLES)
_HEADER = re.compile(r"\A\s*<!--(.*?)-->", re.DOTALL)


def acceptance_field(document_id: str) -> str:
    """The name under which the API and the forms send the accepted version of a document."""
    return f"{document_id}_version"


class CatalogueError(ValueError):
    """A document file is malformed or a document has no version in effect (a deployment mistake)."""


@dataclass(frozen=True)
class LegalDocument:
    id: str
    title: str
    version: str
    effective: date
    html: str  # the text as shown and accepted (trusted: it comes from the repository or the operator)
    sha256: str

    @property
    def field(self) -> str:
        return acceptance_field(self.id)


@dataclass(frozen=True)
class Catalogue:
    versions: dict[str, tuple[LegalDocument, ...]]  # document id -> versions, oldest first
    today: date

    def current(self, document_id: str) -> LegalDocument:
        in_effect = [d for d in self.versions[document_id] if d.effective <= self.today]
        return in_effect[-1]

    def all_current(self) -> list[LegalDocument]:
        return [self.current(document_id) for document_id in DOCUMENT_IDS]

    def version(self, document_id: str, version: str) -> LegalDocument | None:
        return next((d for d in self.versions.get(document_id, ()) if d.version == version), None)

    @property
    def fingerprint(self) -> str:
        """Changes whenever any current version changes: a session that checked it need not check again."""
        return ";".join(f"{d.id}:{d.version}" for d in self.all_current())


def load_catalogue(folder: Path, today: date | None = None) -> Catalogue:
    """The catalogue in `folder` as of `today` (Moscow); re-read only when a file changed."""
    return _load(folder.resolve(), _signature(folder), today or today_moscow())


def _signature(folder: Path) -> tuple[tuple[str, int], ...]:
    return tuple(sorted((str(p), p.stat().st_mtime_ns) for p in folder.glob("*/*.html")))


@cache
def _load(folder: Path, signature: tuple[tuple[str, int], ...], today: date) -> Catalogue:
    versions: dict[str, tuple[LegalDocument, ...]] = {}
    for document_id, title in TITLES.items():
        found = [_read(document_id, title, path) for path in sorted((folder / document_id).glob("*.html"))]
        found.sort(key=lambda d: (d.effective, _version_key(d.version)))
        if not any(d.effective <= today for d in found):
            raise CatalogueError(f"{folder / document_id}: no version of {document_id!r} is in effect on {today}")
        if len({d.version for d in found}) != len(found):
            raise CatalogueError(f"{folder / document_id}: two files give the same version")
        versions[document_id] = tuple(found)
    return Catalogue(versions, today)


def _version_key(version: str) -> tuple[int, str]:
    return (int(version), "") if version.isdigit() else (0, version)


def _read(document_id: str, title: str, path: Path) -> LegalDocument:
    text = path.read_text(encoding="utf-8")
    header = _HEADER.match(text)
    if header is None:
        raise CatalogueError(f"{path}: the file must start with <!-- version: N / effective: YYYY-MM-DD -->")
    fields = dict(_pair(line) for line in header.group(1).splitlines() if line.strip())
    version, effective = fields.get("version", ""), fields.get("effective", "")
    if not re.fullmatch(r"[0-9A-Za-z.\-]{1,20}", version):
        raise CatalogueError(f"{path}: bad or missing version {version!r}")
    try:
        day = date.fromisoformat(effective)
    except ValueError as exc:
        raise CatalogueError(f"{path}: bad or missing effective date {effective!r}") from exc
    html = text[header.end():].strip()
    return LegalDocument(document_id, title, version, day, html, hashlib.sha256(html.encode()).hexdigest())


def _pair(line: str) -> tuple[str, str]:
    key, _, value = line.partition(":")
    return key.strip().lower(), value.strip()
