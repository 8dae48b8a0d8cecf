"""The shared refusal chain's staff forms speak each service's words (forms.wording, the service catalogue).

The appeal review forms are one pair of schemas for every service's appeals: what approving does and
which fields apply come from workflows/services.toml, so the change-of-data service's specialist never
reads «выдать справку» nor gets the certificate's policy block.
"""

from __future__ import annotations

import json
import re

import pytest

from forms.validation import load_schema
from forms.wording import fill, worded
from tasks.cases.catalogue import BUNDLED, service, services

WORKFLOWS = BUNDLED.parent
# The forms of the chain every service's process calls on a refusal.
SHARED_FORMS = sorted(set(re.findall(r'name="formJsonSchemaFilename" value="([^"]+)"',
                                     (WORKFLOWS / "refusal_chain.bpmn").read_text(encoding="utf-8"))))


def shown_text(schema: dict) -> str:
    """Everything a page shows of a schema (titles, descriptions, choice labels) as one string."""
    out: list[str] = []

    def walk(node: object) -> None:
        if isinstance(node, list):
            for item in node:
                walk(item)
        elif isinstance(node, dict):
            for key, value in node.items():
                if key in ("title", "description", "x-placeholder") and isinstance(value, str):
                    out.append(value)
                elif key == "x-enum-labels":
                    out.extend(value.values())
                else:
                    walk(value)

    walk(schema)
    return "\n".join(out)


def test_the_chain_has_shared_review_forms() -> None:
    assert SHARED_FORMS == ["appeal_review.schema.json", "higher_appeal_review.schema.json"]


@pytest.mark.parametrize("form", SHARED_FORMS)
def test_change_of_data_reviews_never_speak_of_a_certificate(form: str) -> None:
    change = service("personal_data_change")
    assert change is not None
    text = shown_text(worded(load_schema(form), change.id, change.words()))
    assert "Удовлетворить жалобу: отменить отказ и внести новые данные в единый регистр застрахованных лиц" in text
    assert "справк" not in text.lower() and "{" not in text
    assert "policy" not in worded(load_schema(form), change.id, change.words())["properties"]


@pytest.mark.parametrize("form", SHARED_FORMS)
def test_certificate_reviews_keep_the_policy_block_and_their_words(form: str) -> None:
    certificate = service("certificate_individual")
    assert certificate is not None
    schema = worded(load_schema(form), certificate.id, certificate.words())
    assert schema["properties"]["appeal_decision"]["x-enum-labels"]["overturn"] == (
        "Удовлетворить жалобу: отменить отказ и выдать справку")
    assert schema["properties"]["policy"]["title"] == "Сведения о полисе ОМС"
    assert "{" not in shown_text(schema)


@pytest.mark.parametrize("form", SHARED_FORMS)
def test_every_catalogued_service_fills_every_placeholder(form: str) -> None:
    for svc in services():
        assert not re.search(r"\{\w+\}", shown_text(worded(load_schema(form), svc.id, svc.words()))), svc.id


def test_the_deployed_copy_is_left_as_it_is() -> None:
    """The engine validates against the schema as deployed: wording a copy never touches the cached one."""
    before = json.dumps(load_schema("appeal_review"), sort_keys=True)
    worded(load_schema("appeal_review"), "personal_data_change", {"grant": "x"})
    assert json.dumps(load_schema("appeal_review"), sort_keys=True) == before
    assert "x-services" in load_schema("appeal_review")["properties"]["policy"]


def test_placeholders_only_in_shown_text() -> None:
    schema = {"type": "object", "title": "Решение: {grant}", "required": ["a", "b"],
              "properties": {
                  "a": {"type": "string", "pattern": "^[0-9]{5}$", "x-messages": {"required": "Код {grant}"},
                        "x-enum-labels": {"yes": "Да, {grant}", "no": "{unknown}"}},
                  "b": {"type": "string", "x-services": ["other"], "title": "Только для другой услуги"}}}
    result = worded(schema, "mine", {"grant": "выдать"})
    assert result["title"] == "Решение: выдать"
    assert result["properties"]["a"]["pattern"] == "^[0-9]{5}$"
    assert result["properties"]["a"]["x-messages"] == {"required": "Код {grant}"}  # the engine's own messages
    assert result["properties"]["a"]["x-enum-labels"] == {"yes": "Да, выдать", "no": "{unknown}"}
    assert set(result["properties"]) == {"a"} and result["required"] == ["a"]
    assert fill("{grant} и {grant}", {"grant": "да"}) == "да и да"

