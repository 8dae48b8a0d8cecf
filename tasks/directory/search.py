"""Finding medical organisations: by name (typos forgiven, ё read as е), by ИНН or ОГРН, within filters.

Names are compared in one normalised form (`normalize`: case, ё as е, quotes, «№» and dashes as spaces),
stored in `search_text` when a row is written. A query found as typed (a substring of some names) is
answered with those names alone. Otherwise, on PostgreSQL, it is pg_trgm's word similarity
(`search_text %> query`, best first) with the GiST trigram index of migration 0024: «поликлинника» finds
«поликлиника» among ten thousand names. Counting a name search's matches stops at
COUNT_LIMIT («более 1000»). SQLite has no trigram index: there the rows that pass the filters are scored
here, with the same idea (trigrams of each query word against the text's words), which is fast enough for
the embedded set-up's few hundred organisations.

A query of five or more digits is an identifier: a whole ИНН or ОГРН, or the start of one.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from sqlalchemy import ColumnElement, Select, func, literal, or_, select, type_coerce
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Session

from .models import MedicalOrganization

PAGE_SIZE = 20
MAX_QUERY = 200
COUNT_LIMIT = 1000  # a name search counts its matches up to this many
# How similar (0..1) a query must be to a name to match: pg_trgm's word_similarity_threshold on PostgreSQL
# (its default 0.6 loses «здаровье» for «здоровье»), the share of common trigrams here on SQLite.
WORD_SIMILARITY = 0.5
_NOT_WORD = re.compile(r"[^\w]+")
_QUOTED = re.compile(r"«(.+)»")
_IDENTIFIER = re.compile(r"^[0-9]{5,13}$")


def normalize(text: str | None) -> str:
    """Lower case, ё as е, anything but letters and digits as one space: «ГБУЗ «ГП № 12»» -> `гбуз гп 12`."""
    folded = unicodedata.normalize("NFC", text or "").casefold().replace("ё", "е")
    return _NOT_WORD.sub(" ", folded).replace("_", " ").strip()


def search_text(name: str, short_name: str) -> str:
    """What `search_text` holds for an organisation: its short name and the proper name inside the full one's
    quotes («Городская поликлиника № 12»), normalised. The legal form spelled out («Государственное
    бюджетное учреждение здравоохранения города Москвы») is left out: every state clinic shares it, so it
    finds nothing in particular, and it would triple the text every similarity is computed over."""
    quoted = _QUOTED.search(name)
    return normalize(f"{short_name} {quoted.group(1) if quoted else name}")


@dataclass(frozen=True)
class Filters:
    q: str = ""
    region: str | None = None
    program: str | None = None
    specialty: str | None = None

    @property
    def identifier(self) -> str | None:
        """The digits of the query when it is an ИНН or ОГРН (or the start of one)."""
        compact = re.sub(r"[\s-]", "", self.q)
        return compact if _IDENTIFIER.match(compact) else None


@dataclass(frozen=True)
class Page:
    items: list[MedicalOrganization]
    total: int
    page: int
    pages: int
    total_exact: bool = True  # False: at least `total` (a name search counted up to COUNT_LIMIT)


def search(session: Session, filters: Filters, page: int = 1, per_page: int = PAGE_SIZE) -> Page:
    """One page of the organisations matching `filters`, best matches first (then by short name)."""
    base = select(MedicalOrganization.id).where(*_filter_conditions(session, filters))
    words = normalize(filters.q)
    by_name = (MedicalOrganization.short_name, MedicalOrganization.id)
    if filters.identifier:
        return _paged(session, base.where(_identifier(filters.identifier)).order_by(*by_name), page, per_page)
    if not words:
        return _paged(session, base.order_by(*by_name), page, per_page)
    # The name as typed, when some names contain it: no need to guess at typos (and on PostgreSQL the
    # trigram index finds a long substring among thousands of names in a few index pages).
    exact = _paged(session, base.where(MedicalOrganization.search_text.contains(words, autoescape=True))
                   .order_by(*by_name), page, per_page, count_limit=COUNT_LIMIT)
    if exact.total:
        return exact
    if session.get_bind().dialect.name == "postgresql":
        # The `%>` operator's threshold, for this transaction only (the default 0.6 loses one-letter typos).
        session.execute(select(func.set_config("pg_trgm.word_similarity_threshold", str(WORD_SIMILARITY), True)))
        # Similarity is computed for at most COUNT_LIMIT + 1 candidates: a query that vague («больнца») is
        # ranked within the first thousand found, which keeps its cost bounded at any directory size.
        text = MedicalOrganization.search_text
        candidates = (base.add_columns(text, MedicalOrganization.short_name).where(text.op("%>")(words))
                      .limit(COUNT_LIMIT + 1).subquery())
        ordered = select(candidates.c.id).order_by(func.word_similarity(words, candidates.c.search_text).desc(),
                                                   candidates.c.short_name, candidates.c.id)
        return _paged(session, ordered, page, per_page, count_limit=COUNT_LIMIT)
    return _scored_here(session, base, words, page, per_page)


def _filter_conditions(session: Session, filters: Filters) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = []
    if filters.region:
        conditions.append(MedicalOrganization.region == filters.region)
    for column, value in ((MedicalOrganization.programs, filters.program),
                          (MedicalOrganization.specialties, filters.specialty)):
        if value:
            conditions.append(_contains(session, column, value))
    return conditions


def _contains(session: Session, column, value: str) -> ColumnElement[bool]:
    """The JSON list in `column` has `value`: JSONB containment (GIN-indexed) on PostgreSQL, json_each on SQLite."""
    if session.get_bind().dialect.name == "postgresql":
        return type_coerce(column, JSONB).contains([value])
    items = func.json_each(column).table_valued("value")
    return select(literal(1)).select_from(items).where(items.c.value == value).exists()


def _identifier(digits: str) -> ColumnElement[bool]:
    """A whole ИНН (10 digits) or ОГРН (13) by equality, anything shorter as the start of either."""
    if len(digits) == 10:
        return MedicalOrganization.inn == digits
    if len(digits) == 13:
        return MedicalOrganization.ogrn == digits
    return or_(MedicalOrganization.inn.startswith(digits, autoescape=True),
               MedicalOrganization.ogrn.startswith(digits, autoescape=True))


def _paged(session: Session, ids_query: Select, page: int, per_page: int, count_limit: int | None = None) -> Page:
    """The page's rows and the number of matches (counted up to `count_limit` when one is given)."""
    counted = ids_query.order_by(None)
    if count_limit is not None:
        counted = counted.limit(count_limit + 1)
    total = session.scalar(select(func.count()).select_from(counted.subquery())) or 0
    exact = count_limit is None or total <= count_limit
    total = total if exact else count_limit or 0
    ids = list(session.scalars(ids_query.limit(per_page).offset((page - 1) * per_page)))
    return Page(_load(session, ids), total, page, max(1, -(-total // per_page)), exact)


def _load(session: Session, ids: list[int]) -> list[MedicalOrganization]:
    """The rows of `ids`, in that order."""
    if not ids:
        return []
    rows = {o.id: o for o in session.scalars(select(MedicalOrganization).where(MedicalOrganization.id.in_(ids)))}
    return [rows[i] for i in ids if i in rows]


def _scored_here(session: Session, base: Select, words: str, page: int, per_page: int) -> Page:
    """SQLite: score the filtered rows' names in Python by word similarity, best first."""
    query = base.add_columns(MedicalOrganization.search_text, MedicalOrganization.short_name)
    scored = []
    for row_id, text, short in session.execute(query):
        score = word_similarity(words, text)
        if score >= WORD_SIMILARITY:
            scored.append((-score, short, row_id))
    scored.sort()
    start = (page - 1) * per_page
    ids = [row_id for _, _, row_id in scored[start:start + per_page]]
    total = len(scored)
    return Page(_load(session, ids), total, page, max(1, -(-total // per_page)))


def _trigrams(word: str) -> set[str]:
    padded = f"  {word} "
    return {padded[i:i + 3] for i in range(len(padded) - 2)}


def word_similarity(query: str, text: str) -> float:
    """How well every word of `query` is found among the words of `text` (0..1): for each query word the
    best trigram similarity to a word of the text, averaged - one typo per word still scores high."""
    words = query.split()
    text_words = [_trigrams(w) for w in set(text.split())]
    if not words or not text_words:
        return 0.0
    total = 0.0
    for word in words:
        grams = _trigrams(word)
        total += max(len(grams & other) / len(grams | other) for other in text_words)
    return total / len(words)
