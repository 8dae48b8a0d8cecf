"""The organisation application's draft data: a fresh form and what of a posted form is kept.

The organisation's page is one form; its draft (the wizard's `application_draft`, applicant
"organization", through tasks.cases.wizard's draft functions) keeps the last posted data, so that a scan
uploaded with a form that had an error need not be chosen again, and the page comes back filled in
after a closed browser.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from forms.flat import initial_data
from tasks.cases import wizard
from tasks.cases.representatives import without_unused_authority

APPLICANT = "organization"
STEP = wizard.REVIEW_STEP  # one page: a saved draft is always ready for review


def schema() -> dict[str, Any]:
    return wizard.schema(APPLICANT)


def new_data(full_name: str) -> dict[str, Any]:
    """A fresh application: the schema's initial values and the representative's ФИО from the account."""
    data = initial_data(schema())
    data.setdefault("representative", {})["full_name"] = full_name
    return data


def tidy(data: Mapping[str, Any]) -> dict[str, Any]:
    """Only the inputs of the chosen options: no power of attorney for the head, no stray period dates."""
    return wizard.trim_period(dict(without_unused_authority(dict(data))))
