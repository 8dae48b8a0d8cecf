"""The decision table workflows/certificate_decision.dmn: complete and unique over its whole input domain,
and the outcome the service description asks for in each situation.

The table is evaluated by SpiffWorkflow's own DMN engine with the product's script engine, exactly as
the business rule task does; only the task it reads its data from is a plain object.
"""

from __future__ import annotations

import itertools
from pathlib import Path
from types import SimpleNamespace

import pytest
from SpiffWorkflow.dmn.engine.DMNEngine import DMNEngine

from engine.context import build_script_env
from engine.specs import RuntimeBpmnParser
from tasks.config import engine_settings

DMN = Path(__file__).resolve().parent.parent / "workflows" / "certificate_decision.dmn"
MATCH = ("exact", "fuzzy", "partial", "mismatch")


@pytest.fixture(scope="module")
def decide(tmp_path_factory):
    parser = RuntimeBpmnParser()
    parser.add_dmn_file(str(DMN))
    engine = parser.get_engine("certificate_decision", None)
    script_env, _ = build_script_env(engine_settings({"BACKOFFICE_DATA_DIR": str(tmp_path_factory.mktemp("dmn"))}))
    workflow = SimpleNamespace(script_engine=script_env.script_engine())

    def run(passport: dict, snils: dict, policy: dict) -> tuple[int, dict]:
        task = SimpleNamespace(data={"passport_check": passport, "snils_check": snils, "policy_check": policy},
                               workflow=workflow)
        matched = DMNEngine.decide(engine, task)
        return len(matched), (matched[0].output_as_dict(task)["verdict"] if matched else {})

    return run


def domain():
    """Every combination the registry adapters can produce (a field is absent when its record is)."""
    passports = [{"found": False}] + [{"found": True, "status": s, "holder_match": m, "document_match": d}
                                      for s in ("valid", "expired", "replaced", "lost") for m in MATCH
                                      for d in ("exact", "mismatch")]
    snils = [{"found": False}] + [{"found": True, "holder_match": m} for m in MATCH]
    policies = [{"found": False, "lookup": lk} for lk in ("enp", "snils")] + [
        {"found": True, "lookup": lk, "status": st, "covers_period": cov, "holder_match": m}
        for lk in ("enp", "snils") for st in ("active", "expired", "annulled") for cov in (True, False)
        for m in MATCH]
    return itertools.product(passports, snils, policies)


def test_exactly_one_rule_matches_every_possible_input(decide) -> None:
    counts = {}
    for passport, snils, policy in domain():
        count, verdict = decide(passport, snils, policy)
        assert count == 1, (passport, snils, policy, count)
        counts[verdict["outcome"]] = counts.get(verdict["outcome"], 0) + 1
    assert set(counts) == {"issue", "reject", "review"}


VALID = {"found": True, "status": "valid", "holder_match": "exact", "document_match": "exact"}
SNILS = {"found": True, "holder_match": "exact"}
POLICY = {"found": True, "lookup": "enp", "status": "active", "covers_period": True, "holder_match": "exact"}


@pytest.mark.parametrize(("passport", "snils", "policy", "outcome", "reason"), [
    (VALID, SNILS, POLICY, "issue", None),
    ({**VALID, "status": "lost"}, SNILS, POLICY, "reject", "personal_data_mismatch"),
    ({**VALID, "status": "replaced"}, SNILS, POLICY, "reject", "personal_data_mismatch"),
    ({"found": False}, SNILS, POLICY, "reject", "personal_data_mismatch"),
    (VALID, {**SNILS, "holder_match": "mismatch"}, POLICY, "reject", "personal_data_mismatch"),
    (VALID, SNILS, {"found": False, "lookup": "enp"}, "reject", "policy_not_found"),
    (VALID, SNILS, {"found": False, "lookup": "snils"}, "reject", "no_insurance_record"),
    (VALID, SNILS, {**POLICY, "status": "expired"}, "reject", "policy_expired"),
    (VALID, SNILS, {**POLICY, "status": "annulled"}, "reject", "policy_expired"),
    (VALID, SNILS, {**POLICY, "covers_period": False}, "reject", "policy_expired"),
    (VALID, SNILS, {**POLICY, "holder_match": "mismatch"}, "reject", "personal_data_mismatch"),
    ({**VALID, "holder_match": "fuzzy"}, {**SNILS, "holder_match": "fuzzy"}, {**POLICY, "holder_match": "fuzzy"},
     "review", None),
    (VALID, {**SNILS, "holder_match": "partial"}, POLICY, "review", None),
    # The right series and number with another issue date or division code: an operator looks.
    ({**VALID, "document_match": "mismatch"}, SNILS, POLICY, "review", None),
    # A patronymic spelled differently in two registries is for an operator, a different person is not.
    (VALID, {**SNILS, "holder_match": "mismatch"}, {**POLICY, "holder_match": "partial"}, "reject",
     "personal_data_mismatch"),
])
def test_outcomes(decide, passport, snils, policy, outcome, reason) -> None:
    count, verdict = decide(passport, snils, policy)
    assert count == 1
    assert verdict["outcome"] == outcome
    assert verdict["reason"] == reason
    assert (verdict["note"] is None) == (outcome == "issue")
