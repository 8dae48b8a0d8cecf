"""What the directory's pages and API share: reading the search parameters and writing an organisation.

Both take the same parameters (`q`, `region`, `program`, `specialty`, `page`) and refuse the same bad
ones with the same words, next to the field on the page and in `fields` of the API's error.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date
from typing import Any

from engine.errors import FieldError
from forms.dates import today_moscow
from tasks.directory.models import MedicalOrganization
from tasks.directory.search import MAX_QUERY, Filters

MAX_PAGE = 10_000
MAX_FILTER = 200


def read_filters(args: Mapping[str, str]) -> tuple[Filters, int, list[FieldError]]:
    """The filters and the page number from query parameters, and every problem with them."""
    errors: list[FieldError] = []
    q = (args.get("q") or "").strip()
    if len(q) > MAX_QUERY:
        errors.append(FieldError("q", "too_long", f"Запрос длиннее {MAX_QUERY} символов: сократите его."))
    values = {}
    for name in ("region", "program", "specialty"):
        value = (args.get(name) or "").strip()
        if len(value) > MAX_FILTER:
            errors.append(FieldError(name, "too_long", f"Значение длиннее {MAX_FILTER} символов."))
        values[name] = value or None
    raw_page = (args.get("page") or "1").strip()
    page = int(raw_page) if re.fullmatch(r"[0-9]{1,6}", raw_page) else 0
    if not 1 <= page <= MAX_PAGE:
        errors.append(FieldError("page", "invalid", f"Номер страницы — целое число от 1 до {MAX_PAGE}."))
        page = 1
    return Filters(q=q, **values), page, errors


def organization_json(org: MedicalOrganization, today: date | None = None) -> dict[str, Any]:
    """An organisation as the API gives it: every field the register lists, and whether its licence expired."""
    today = today or today_moscow()
    return {
        "ogrn": org.ogrn, "inn": org.inn, "name": org.name, "short_name": org.short_name,
        "address": org.address, "legal_address": org.legal_address, "phone": org.phone, "email": org.email,
        "region": org.region, "programs": list(org.programs), "specialties": list(org.specialties),
        "accredited": org.accredited,
        "license_valid_to": org.license_valid_to.isoformat() if org.license_valid_to else None,
        "license_expired": org.license_expired(today),
    }
