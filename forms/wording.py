"""One service's words in a form schema that several services share.

The staff's appeal review forms belong to the shared refusal/resubmission/appeal chain, which every
service's process calls, so they cannot name what approving does for one service. Such a schema writes
a placeholder instead (`"Удовлетворить жалобу: отменить отказ и {grant}"`), and a field that makes sense
for some services only says which (`"x-services": ["certificate_individual"]`: the policy block printed
on a certificate). `worded` gives the copy a page shows for one case; the words come from the service
catalogue, so this module knows no service.

Placeholders go only into what a page shows (titles, descriptions, choice labels): the engine validates
a task's data against the schema as deployed, so its error messages (`x-messages`) carry no placeholder.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from .schema_walk import Schema

PLACEHOLDER = re.compile(r"\{(\w+)\}")
TEXT_KEYS = frozenset({"title", "description", "x-placeholder"})
LABEL_MAPS = frozenset({"x-enum-labels"})


def worded(schema: Schema, service_id: str, words: Mapping[str, str]) -> Schema:
    """A copy of `schema` with `{word}` placeholders filled and the fields of other services left out.

    A placeholder not in `words` stays as written, so a typo shows on the page instead of vanishing.
    """
    return _walk(schema, service_id, words)


def fill(text: str, words: Mapping[str, str]) -> str:
    """`text` with each `{word}` known to `words` replaced."""
    return PLACEHOLDER.sub(lambda m: words.get(m.group(1), m.group(0)), text)


def _walk(node: Any, service_id: str, words: Mapping[str, str]) -> Any:
    if isinstance(node, list):
        return [_walk(item, service_id, words) for item in node]
    if not isinstance(node, dict):
        return node
    dropped = {name for name, child in (node.get("properties") or {}).items()
               if isinstance(child, dict) and "x-services" in child and service_id not in child["x-services"]}
    result: dict[str, Any] = {}
    for key, value in node.items():
        if key in TEXT_KEYS and isinstance(value, str):
            result[key] = fill(value, words)
        elif key in LABEL_MAPS and isinstance(value, dict):
            result[key] = {k: fill(v, words) if isinstance(v, str) else v for k, v in value.items()}
        elif key == "properties" and isinstance(value, dict):
            result[key] = {k: _walk(v, service_id, words) for k, v in value.items() if k not in dropped}
        elif key == "required" and isinstance(value, list):
            result[key] = [name for name in value if name not in dropped]
        else:
            result[key] = _walk(value, service_id, words)
    return result
