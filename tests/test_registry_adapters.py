"""Registry operators and client against the real registry service subprocess."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from datetime import date
from typing import Any

import pytest

from engine.operators import OperatorError, get_operator
from tasks.config import AppConfig
from tasks.process import install_config, installed_config
from tasks.registries import checks
from tasks.registries.batch_policies import (
    BATCH_PATH,
    NOT_FOUND,
    NOT_VALID,
    PolicyLookupItem,
    check_policies,
    read_answer,
)
from tasks.registries.breaker import CircuitBreaker
from tasks.registries.client import ClientSettings, RegistryClient, RegistryProtocolError, RegistryUnavailable
from tasks.registries.matching import compare_holder, compare_org_name, compare_text, normalize_name
from tasks.registries.operators import reset_registry_client
from tasks.registries.recovery import last_answer, note_answer
from tests.support.backend import wait_for
from tests.support.registry import (
    ROOT,
    RegistryService,
    demo_dataset,
    demo_person,
    demo_policies,
    demo_records,
    free_port,
)

YEAR_2026 = {"from": "2026-01-01", "to": "2026-12-31"}


@pytest.fixture
def use_registry() -> Iterator[Callable[..., None]]:
    """Point the operators at a registry the way a worker is configured: a configuration read from its
    environment, installed for the process."""
    before = installed_config()

    def configure(url: str, **env: str) -> None:
        install_config(AppConfig.from_env({**os.environ, "REGISTRY_URL": url,
                                           "SECRET_KEY": "registry-adapter-tests", **env}))

    yield configure
    if before is not None:
        install_config(before)
    reset_registry_client()


@pytest.fixture
def registry(registry_service, use_registry) -> RegistryService:
    use_registry(registry_service.url)
    return registry_service


def call(operator_name: str, /, **params: Any) -> dict:
    """Run an operator the way the service worker does: looked up by its name, given the task's parameters."""
    return get_operator(operator_name).func(**params)


def applicant(scenario: str, index: int = 0) -> tuple[dict, str | None]:
    app = demo_person(scenario, index)
    return app["person"], app["policy_number"]


def fast_client(url: str, **settings: Any) -> RegistryClient:
    return RegistryClient(url, ClientSettings(**{"read_timeout": 2.0, "attempts": 1, **settings}))


# --- scenarios ---------------------------------------------------------------------------------

def test_every_valid_applicant_passes_every_check(registry):
    for index in range(len(demo_records("valid"))):
        person, enp = applicant("valid", index)
        assert call("registry.check_passport", person=person) == {
            "found": True, "status": "valid", "holder_match": "exact", "document_match": "exact", "mismatches": []}
        assert call("registry.check_snils", person=person) == {"found": True, "holder_match": "exact",
                                                               "mismatches": []}
        by_enp = call("registry.find_policy", person=person, policy_number=enp, period=YEAR_2026)
        assert by_enp["found"] and by_enp["status"] == "active" and by_enp["covers_period"], person
        assert by_enp["holder_match"] == "exact" and by_enp["reason"] is None and by_enp["lookup"] == "enp"
        by_snils = call("registry.find_policy", person=person, policy_number=None, period=YEAR_2026)
        assert by_snils["lookup"] == "snils" and {**by_snils, "lookup": "enp"} == by_enp


def test_policy_result_shape(registry):
    person, enp = applicant("valid")
    result = call("registry.find_policy", person=person, policy_number=enp, period=YEAR_2026)
    assert result == {
        "found": True, "lookup": "enp", "enp": enp, "insurer": {"name": "АО «СОГАЗ-Мед»", "code": "77011"},
        "region": "г. Москва", "valid_from": "2011-05-01", "valid_to": None, "status": "active", "reason": None,
        "covers_period": True, "holder_match": "exact", "mismatches": []}


def test_typed_identifiers_are_normalised(registry):
    person, enp = applicant("valid", 1)
    s = person["snils"]
    person = {**person, "snils": f"{s[:3]}-{s[3:6]}-{s[6:9]} {s[9:]}",
              "passport": {**person["passport"], "series": person["passport"]["series"][:2] + " "
                           + person["passport"]["series"][2:]}}
    assert call("registry.check_snils", person=person)["holder_match"] == "exact"
    assert call("registry.check_passport", person=person)["found"] is True
    spaced = f"{enp[:4]} {enp[4:8]} {enp[8:12]} {enp[12:]}"
    assert call("registry.find_policy", person=person, policy_number=spaced, period=YEAR_2026)["found"] is True


def test_policy_history_gives_the_current_policy(registry):
    index = next(i for i, p in enumerate(demo_records("valid")) if p["last_name"] == "Васильев")
    person, enp = applicant("valid", index)
    result = call("registry.find_policy", person=person, period=YEAR_2026)
    assert (result["enp"], result["status"], result["insurer"]["name"]) == (enp, "active", "ООО «РЕСО-Мед»")


def test_expired_and_annulled_policies(registry):
    for index in range(2):
        person, enp = applicant("policy_expired", index)
        result = call("registry.find_policy", person=person, policy_number=enp, period=YEAR_2026)
        assert result["found"] and result["status"] == "expired" and not result["covers_period"]
        assert result["reason"].startswith("Срок действия полиса истёк")
        person, enp = applicant("policy_annulled", index)
        result = call("registry.find_policy", person=person, policy_number=None, period=YEAR_2026)
        assert result["found"] and result["status"] == "annulled" and not result["covers_period"]
        assert result["reason"].startswith("Полис аннулирован") and result["holder_match"] == "exact"


def test_no_policy_and_unknown_policy_number(registry):
    person, enp = applicant("no_policy")
    assert enp is None
    assert call("registry.find_policy", person=person, policy_number=None, period=YEAR_2026) == {
        "found": False, "lookup": "snils", "enp": None, "insurer": None, "region": None, "valid_from": None,
        "valid_to": None, "status": None, "reason": None, "covers_period": False, "holder_match": None,
        "mismatches": []}
    person, enp = applicant("policy_number_unknown")
    result = call("registry.find_policy", person=person, policy_number=enp, period=YEAR_2026)
    assert (result["found"], result["lookup"], result["enp"]) == (False, "enp", enp)
    assert call("registry.find_policy", person=person, policy_number=None, period=YEAR_2026)["found"] is True
    assert call("registry.find_policy", person=person, policy_number="123", period=YEAR_2026)["found"] is False


@pytest.mark.parametrize("scenario,status", [("passport_lost", "lost"), ("passport_replaced", "replaced"),
                                             ("passport_expired", "expired")])
def test_passport_statuses(registry, scenario, status):
    person, _ = applicant(scenario)
    assert call("registry.check_passport", person=person) == {
        "found": True, "status": status, "holder_match": "exact", "document_match": "exact", "mismatches": []}


def test_unknown_passport_and_wrong_document_details(registry):
    person, _ = applicant("valid", 2)
    unknown = {**person, "passport": {**person["passport"], "number": "000001"}}
    assert call("registry.check_passport", person=unknown)["found"] is False
    wrong = {**person, "passport": {**person["passport"], "issued_on": "2001-01-01", "division_code": "999-999"}}
    result = call("registry.check_passport", person=wrong)
    assert result["holder_match"] == "exact" and result["document_match"] == "mismatch"
    assert result["mismatches"] == ["passport.issued_on", "passport.division_code"]


def test_snils_of_another_person(registry):
    person, enp = applicant("snils_other_person")
    snils = call("registry.check_snils", person=person)
    assert snils["found"] and snils["holder_match"] == "mismatch"
    assert {"last_name", "first_name", "middle_name", "birth_date"} <= set(snils["mismatches"])
    policy = call("registry.find_policy", person=person, policy_number=enp, period=YEAR_2026)
    assert policy["found"] and policy["holder_match"] == "mismatch" and policy["mismatches"] == ["snils"]
    assert call("registry.find_policy", person=person, policy_number=None, period=YEAR_2026)["found"] is False
    assert call("registry.check_passport", person=person)["holder_match"] == "exact"


def test_yo_spelling_is_a_fuzzy_match(registry):
    for index in range(2):
        person, enp = applicant("yo_spelling", index)
        assert "ё" not in person["last_name"] + person["first_name"] + person["middle_name"]
        for result in (call("registry.check_passport", person=person), call("registry.check_snils", person=person),
                       call("registry.find_policy", person=person, policy_number=enp, period=YEAR_2026)):
            assert result["holder_match"] == "fuzzy" and result["mismatches"] == [], result
            # The registry's own spelling of the parts that differ, for the operator to compare.
            spelling = result["holder_spelling"]
            assert spelling and "ё" in "".join(spelling.values()), result
            assert all(v.replace("ё", "е") == person[k] for k, v in spelling.items()), result


def test_registries_that_disagree(registry):
    person, _ = applicant("registry_disagrees")
    assert call("registry.check_passport", person=person)["holder_match"] == "exact"
    assert call("registry.check_snils", person=person) == {"found": True, "holder_match": "partial",
                                                          "mismatches": ["middle_name"]}


def test_policies_ending_in_2026_and_the_requested_period(registry):
    for index in range(2):
        person, enp = applicant("policy_ends_2026", index)
        inside = call("registry.find_policy", person=person, policy_number=enp, period=YEAR_2026)
        assert inside["valid_to"] == "2026-12-31" and inside["status"] == "active" and inside["covers_period"]
        across = call("registry.find_policy", person=person, policy_number=enp,
                      period={"from": "2026-12-01", "to": "2027-02-28"})
        assert across["found"] and not across["covers_period"]
    person, enp = applicant("policy_ends_2026")
    before = call("registry.find_policy", person=person, policy_number=enp,
                  period={"from": "2020-01-01", "to": "2020-12-31"})
    assert not before["covers_period"]  # the policy starts in 2021


def test_wrong_birth_date_and_names(registry):
    person, enp = applicant("valid", 3)
    other = {**person, "birth_date": "1969-01-31", "first_name": "Tатьяна"}  # a Latin T typed by mistake
    assert call("registry.check_passport", person=other)["mismatches"] == ["first_name", "birth_date"]
    policy = call("registry.find_policy", person=other, policy_number=enp, period=YEAR_2026)
    assert policy["holder_match"] == "mismatch" and policy["mismatches"] == ["birth_date", "first_name"]
    hyphen = next(i for i, p in enumerate(demo_records("valid")) if "-" in p["last_name"])
    person, _ = applicant("valid", hyphen)
    typed = {**person, "last_name": person["last_name"].replace("-", " ").upper()}
    assert call("registry.check_passport", person=typed)["holder_match"] == "fuzzy"
    no_middle = next(i for i, p in enumerate(demo_records("valid")) if not p["middle_name"])
    person, _ = applicant("valid", no_middle)
    assert "middle_name" not in person
    assert call("registry.check_snils", person=person)["holder_match"] == "exact"
    # A patronymic the registry does not have: same surname and birth date, one part differs -> an operator looks.
    assert call("registry.check_snils", person={**person, "middle_name": "Ивановна"})["holder_match"] == "partial"


def test_organizations(registry):
    """The ЕГРЮЛ lookup under `registries.check_organization` (tests/test_organization_requisites.py)."""
    client = fast_client(registry.url)

    def lookup(**params: Any) -> dict:
        return checks.find_organization(client, **params).to_dict()

    orgs = {o["short_name"]: o for o in demo_dataset()["organizations"]}
    romashka = orgs["ООО «Ромашка»"]
    result = lookup(inn=romashka["inn"], ogrn=romashka["ogrn"], kpp=romashka["kpp"], name="ООО «Ромашка»")
    assert result == {
        "found": True, "inn": romashka["inn"], "kpp": romashka["kpp"], "ogrn": romashka["ogrn"],
        "name": "Общество с ограниченной ответственностью «Ромашка»", "short_name": "ООО «Ромашка»",
        "legal_address": romashka["legal_address"], "status": "active", "liquidated_on": None,
        "contributions_paid": True, "ogrn_match": True, "kpp_match": True, "name_match": "exact"}
    for typed in ('ООО "Ромашка"', "общество с ограниченной ответственностью Ромашка", "Ромашка, ООО"):
        assert lookup(inn=romashka["inn"], name=typed)["name_match"] == "exact", typed
    assert lookup(inn=romashka["inn"], name="Ромашка")["name_match"] == "fuzzy"
    other = lookup(inn=romashka["inn"], ogrn=orgs["ООО «Старт»"]["ogrn"], name="АО «Ромашка»")
    assert (other["ogrn_match"], other["kpp_match"], other["name_match"]) == (False, None, "mismatch")
    start = lookup(inn=orgs["ООО «Старт»"]["inn"])
    assert (start["status"], start["liquidated_on"], start["contributions_paid"]) == ("liquidated", "2023-08-15",
                                                                                        False)
    assert lookup(inn=orgs["ООО «Вектор-Строй»"]["inn"])["contributions_paid"] is False
    assert lookup(inn="7700000000") == {
        "found": False, "inn": "7700000000", "kpp": None, "ogrn": None, "name": None, "short_name": None,
        "legal_address": None, "status": None, "liquidated_on": None, "contributions_paid": None,
        "ogrn_match": None, "kpp_match": None, "name_match": None}
    client.close()


def test_medical_organizations(registry_service):
    client = fast_client(registry_service.url)
    every = checks.medical_organizations(client)
    demo = demo_dataset()["medical_organizations"]
    assert len(every) == len(demo) >= 60 and all(o.programs and o.specialties and o.region for o in every)
    hightech = checks.medical_organizations(client, "высокотехнологичная медицинская помощь")
    assert {o.short_name for o in hightech} == {o["short_name"] for o in demo
                                                if "высокотехнологичная медицинская помощь" in o["programs"]}
    assert {"СПб ГБУЗ «ГБ № 40»", "ГАУЗ «РКБ МЗ РТ»"} <= {o.short_name for o in hightech} and len(hightech) < len(every)
    client.close()


# --- failures ----------------------------------------------------------------------------------

def _operator_error(operator_name: str, /, **params: Any) -> OperatorError:
    with pytest.raises(OperatorError) as err:
        call(operator_name, **params)
    return err.value


def test_registry_down_is_a_retryable_error(registry_service, use_registry):
    use_registry(registry_service.url, REGISTRY_BREAKER_FAILURES="100")
    person, enp = applicant("valid")
    with registry_service.faults_set("erzl:down;mvd:error_rate=1"):
        err = _operator_error("registry.find_policy", person=person, policy_number=enp, period=YEAR_2026)
        assert (err.code, err.retryable) == ("registry_error", True)
        assert "503" in str(err)
        err = _operator_error("registry.check_passport", person=person)
        assert (err.code, err.retryable) == ("registry_error", True)
        assert call("registry.check_snils", person=person)["found"] is True  # the other registries still work
    assert call("registry.find_policy", person=person, policy_number=enp, period=YEAR_2026)["found"] is True


def test_registry_unreachable_is_a_retryable_error(use_registry):
    use_registry(f"http://127.0.0.1:{free_port()}")
    err = _operator_error("registry.check_snils", person=applicant("valid")[0])
    assert (err.code, err.retryable) == ("registry_unreachable", True)


def test_slow_registry_times_out_retryably(registry_service, use_registry):
    use_registry(registry_service.url, REGISTRY_TIMEOUT="0.3")
    with registry_service.faults_set("sfr:latency_ms=3000"):
        err = _operator_error("registry.check_snils", person=applicant("valid")[0])
    assert (err.code, err.retryable) == ("registry_timeout", True)


def _operators_as_a_worker_has_them(**env: str) -> dict:
    """The registry operators after a worker-style start with `env`: in a fresh interpreter, because the
    configuration a process installs (this one's: the test products') tunes the operators process-wide."""
    code = ("import json, os; from engine.operators import get_operator; from tasks.config import AppConfig; "
            "from tasks.process import install_config; install_config(AppConfig.from_env(os.environ)); "
            "print(json.dumps({n: [get_operator(n).retry.max_attempts, get_operator(n).retry.max_delay, "
            "get_operator(n).on_exhausted, get_operator(n).error_code, get_operator(n).timeout] for n in "
            "('registry.check_passport', 'registry.check_snils', 'registry.find_policy', "
            "'registries.check_organization')}))")
    base = {k: v for k, v in os.environ.items() if not k.startswith("REGISTRY_")}
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=300,
                         env={**base, "PYTHONPATH": str(ROOT), "SECRET_KEY": "registry-adapter-tests", **env})
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def test_operators_are_registered_to_wait_out_an_outage():
    for attempts, max_delay, on_exhausted, error_code, timeout in _operators_as_a_worker_has_them().values():
        assert attempts >= 100_000 and max_delay == 60
        assert (on_exhausted, error_code) == ("error", "registry_unavailable")
        assert timeout > ClientSettings().worst_case()
    # A worker reads REGISTRY_RETRY_MAX_DELAY into its configuration, and its operators wait that long at most.
    shortened = _operators_as_a_worker_has_them(REGISTRY_RETRY_MAX_DELAY="5")
    assert {name: op[1] for name, op in shortened.items()} == dict.fromkeys(shortened, 5.0)


def test_wrong_answers_and_wrong_input_are_not_retried(registry_service, use_registry):
    use_registry(f"{registry_service.url}/no-such-gateway")  # every address is a 404 `no_such_endpoint`
    err = _operator_error("registry.check_snils", person=applicant("valid")[0])
    assert (err.code, err.retryable) == ("registry_protocol_error", False)
    use_registry(registry_service.url)
    person = {k: v for k, v in applicant("valid")[0].items() if k != "passport"}
    err = _operator_error("registry.check_passport", person=person)
    assert (err.code, err.retryable) == ("invalid_input", False)
    err = _operator_error("registry.find_policy", person=person, policy_number=None,
                          period={"from": "2026-12-31", "to": "2026-01-01"})
    assert (err.code, err.retryable) == ("invalid_input", False)


def test_quick_retries_inside_one_call(registry_service):
    client = fast_client(registry_service.url, attempts=3)
    ogrn = "1027700000017"
    with registry_service.faults_set("mo:error_rate=1"), pytest.raises(RegistryUnavailable):
        client.get("mo", f"/mo/organizations/{ogrn}")
    wait_for(lambda: registry_service.log().count(f"/mo/organizations/{ogrn}") >= 3, timeout=10,
             message="three attempts logged")
    assert registry_service.log().count(f"/mo/organizations/{ogrn}") == 3
    client.close()


def test_circuit_breaker_opens_fails_fast_and_closes_again(registry_service):
    client = fast_client(registry_service.url, breaker_failures=2, breaker_reset=1.0)
    enp = "1234567890123452"  # not in the register: a successful call answers None
    with registry_service.faults_set("erzl:down"):
        for _ in range(2):
            with pytest.raises(RegistryUnavailable) as err:
                client.post("erzl", "/erzl/policy", {"enp": enp})
            assert err.value.code == "registry_error"
        assert client.breaker("erzl").state == "open"
    # The registry is back, but the open breaker does not even ask it: it fails fast.
    with pytest.raises(RegistryUnavailable) as err:
        client.post("erzl", "/erzl/policy", {"enp": enp})
    assert err.value.code == "registry_circuit_open"
    assert client.post("sfr", "/sfr/person", {"snils": "11223344595"}) is None  # breakers are per registry
    wait_for(lambda: client.breaker("erzl").retry_in() == 0, timeout=10, message="reset timeout passed")
    assert client.post("erzl", "/erzl/policy", {"enp": enp}) is None
    assert client.breaker("erzl").state == "closed"
    # A failed trial call opens it again straight away.
    with registry_service.faults_set("erzl:down"):
        for _ in range(2):
            with pytest.raises(RegistryUnavailable):
                client.post("erzl", "/erzl/policy", {"enp": enp})
        wait_for(lambda: client.breaker("erzl").retry_in() == 0, timeout=10, message="reset timeout passed")
        with pytest.raises(RegistryUnavailable) as err:
            client.post("erzl", "/erzl/policy", {"enp": enp})
        assert err.value.code == "registry_error"
        assert client.breaker("erzl").state == "open"
    client.close()


def test_open_breaker_is_a_retryable_operator_error(registry_service, use_registry):
    use_registry(registry_service.url, REGISTRY_BREAKER_FAILURES="2", REGISTRY_BREAKER_RESET="600")
    person = applicant("valid")[0]
    with registry_service.faults_set("sfr:down"):
        codes = [_operator_error("registry.check_snils", person=person).code for _ in range(3)]
    assert codes == ["registry_error", "registry_error", "registry_circuit_open"]
    err = _operator_error("registry.check_snils", person=person)
    assert (err.code, err.retryable) == ("registry_circuit_open", True)


def test_an_open_breaker_is_not_asked_again_before_its_trial(registry_service, use_registry):
    """While a registry's breaker is open, its calls are not retried before the breaker would let a trial
    through (every earlier attempt is known to fail and only costs a job); the success of the trial then
    releases them all (test below)."""
    use_registry(registry_service.url, REGISTRY_BREAKER_FAILURES="2", REGISTRY_BREAKER_RESET="20")
    person = applicant("valid")[0]
    with registry_service.faults_set("sfr:down"):
        errors = [_operator_error("registry.check_snils", person=person) for _ in range(3)]
    assert errors[0].retry_after is None  # one failure: the ordinary backoff
    assert [e.code for e in errors[1:]] == ["registry_error", "registry_circuit_open"]
    assert all(0 < e.retry_after <= 20 for e in errors[1:])
    policy = get_operator("registry.check_snils").retry
    assert policy.delay(1) < 2 <= errors[2].retry_after <= policy.delay_for(1, errors[2].retry_after)
    assert policy.delay_for(50, errors[2].retry_after) <= policy.max_delay * (1 + policy.jitter)


def test_the_success_that_ends_an_outage_releases_the_waiting_calls(registry_service):
    """The client reports the first success after its breaker opened (the worker then makes the calls that
    wait for this registry due at once), and only that one."""
    recovered: list[str] = []
    client = RegistryClient(registry_service.url, ClientSettings(read_timeout=2.0, attempts=1, breaker_failures=1,
                                                                 breaker_reset=0.0), on_recovered=recovered.append)
    enp = "1234567890123452"
    assert client.post("erzl", "/erzl/policy", {"enp": enp}) is None
    assert recovered == []  # no outage, nothing to release
    with registry_service.faults_set("erzl:down"), pytest.raises(RegistryUnavailable):
        client.post("erzl", "/erzl/policy", {"enp": enp})
    assert client.breaker("erzl").state == "open"
    assert client.post("erzl", "/erzl/policy", {"enp": enp}) is None  # the trial (reset 0 s) succeeds
    assert client.post("erzl", "/erzl/policy", {"enp": enp}) is None
    assert recovered == ["erzl"]
    client.close()


def test_breaker_tells_when_a_retry_may_get_through():
    now = [100.0]
    breaker = CircuitBreaker("erzl", failure_threshold=1, reset_timeout=30, clock=lambda: now[0])
    assert breaker.next_trial_in() is None
    breaker.record_failure()
    now[0] += 10
    assert breaker.next_trial_in() == 20
    now[0] += 20
    assert breaker.allow() and breaker.state == "half_open"
    assert breaker.next_trial_in() == 30  # the trial's success releases the waiting calls, its failure reopens
    assert breaker.record_success() is True
    assert breaker.record_success() is False and breaker.next_trial_in() is None


def test_protocol_errors_do_not_open_the_breaker(registry_service):
    client = fast_client(registry_service.url, breaker_failures=1)
    with pytest.raises(RegistryProtocolError):
        client.post("mvd", "/mvd/passport", {"series": "12", "number": "34"})  # 400 bad_request
    assert client.breaker("mvd").state == "closed"
    client.close()


def test_half_open_breaker_lets_one_trial_call_through():
    now = [0.0]
    breaker = CircuitBreaker("erzl", failure_threshold=2, reset_timeout=10, clock=lambda: now[0])
    breaker.record_failure()
    assert breaker.allow() and breaker.state == "closed"
    breaker.record_failure()
    assert breaker.state == "open" and not breaker.allow() and breaker.retry_in() == 10
    now[0] = 10.0
    assert breaker.allow() and breaker.state == "half_open"
    assert not breaker.allow()  # the trial is in flight: everyone else still fails fast
    breaker.abandon()
    assert breaker.allow()
    breaker.record_success()
    assert breaker.state == "closed" and breaker.allow() and breaker.allow()


# --- matching ----------------------------------------------------------------------------------

def test_name_matching_levels():
    assert compare_text("Фёдоров", "Фёдоров") == "exact"
    assert compare_text("Федоров", "Фёдоров") == "fuzzy"
    assert compare_text("фЕдОрОв ", "Фёдоров") == "fuzzy"
    assert compare_text("Е\u0308лкин", "Ёлкин") == "exact"  # the same letter, composed differently
    assert compare_text("Римская – Корсакова", "Римская-Корсакова") == "fuzzy"
    assert compare_text("Иван\u00adов", "Иванов") == "fuzzy"
    assert compare_text(None, "") == "exact"
    assert compare_text("Федорова", "Фёдоров") == "mismatch"
    assert normalize_name("  Салтыков-\tЩедрин ") == "салтыков щедрин"
    holder = {"last_name": "Королёва", "first_name": "Алёна", "middle_name": "Артёмовна", "birth_date": "1998-11-29"}
    assert compare_holder({**holder, "last_name": "Королева"}, holder).level == "fuzzy"
    wrong = compare_holder({**holder, "last_name": "Королев", "birth_date": "1998-11-28"}, holder)
    assert (wrong.level, wrong.mismatches) == ("mismatch", ["last_name", "birth_date"])


def test_organization_name_matching():
    names = ("Публичное акционерное общество «Волжская энергосбытовая компания»", "ПАО «Волжская ЭСК»")
    assert compare_org_name("ПАО «Волжская ЭСК»", names) == "exact"
    assert compare_org_name('ПАО "Волжская энергосбытовая компания"', names) == "exact"
    assert compare_org_name("публичное акционерное общество волжская эск", names) == "exact"
    assert compare_org_name("Волжская ЭСК", names) == "fuzzy"  # the legal form left out
    assert compare_org_name("АО «Волжская ЭСК»", names) == "mismatch"
    assert compare_org_name("", names) == "mismatch"


def test_personal_data_stays_out_of_urls_and_access_logs(registry):
    person, enp = applicant("valid", 4)
    call("registry.check_passport", person=person)
    call("registry.check_snils", person=person)
    call("registry.find_policy", person=person, policy_number=enp, period=YEAR_2026)
    call("registry.find_policy", person=person, policy_number=None, period=YEAR_2026)
    wait_for(lambda: registry.log().count("POST /erzl/policies ") >= 1, timeout=10, message="requests logged")
    log = registry.log()
    for secret in (person["snils"], person["passport"]["number"], enp, person["last_name"]):
        assert secret not in log


# --- ЕРЗЛ batch checks of an employer's list -----------------------------------------------------

def test_batch_policy_checks_read_every_outcome(registry_service):
    """tasks/registries/batch_policies.py against the service: insured, not found, not active (ЕРЗЛ's
    reason, without its full stop), a wrong birth date, and a policy that ends inside the requested period."""
    client = fast_client(registry_service.url)

    def item(scenario: str, index: int = 0, birth_date: str | None = None) -> PolicyLookupItem:
        record = demo_records(scenario)[index]
        return PolicyLookupItem(demo_policies(record)[0]["enp"], birth_date or record["birth_date"])

    valid = item("valid")
    ends_2026 = item("policy_ends_2026")
    expired, annulled = item("policy_expired"), item("policy_annulled")
    wrong_birth = item("valid", 1, birth_date="1901-01-01")
    unknown = PolicyLookupItem("7414012927712067", "1974-07-27")
    items = [valid, ends_2026, expired, annulled, wrong_birth, unknown]

    this_year = check_policies(client, items, YEAR_2026)
    assert [r.enp for r in this_year] == [i.enp for i in items]
    assert [r.insured for r in this_year] == [True, True, False, False, False, False]
    assert this_year[0].insurer_name and this_year[0].insurer_code and this_year[0].reason is None
    assert this_year[2].reason == "Срок действия полиса истёк 31.03.2025" and this_year[2].insurer_name
    assert this_year[3].reason.startswith("Полис аннулирован") and not this_year[3].reason.endswith(".")
    assert this_year[4].reason == this_year[5].reason == NOT_FOUND  # a wrong birth date looks like no policy
    assert this_year[4].insurer_name is None

    into_2027 = check_policies(client, [valid, ends_2026], {"from": "2026-07-01", "to": "2027-06-30"})
    assert into_2027[0].insured
    assert not into_2027[1].insured
    assert into_2027[1].reason.endswith("не охватывает весь запрошенный период") and "31.12.2026" in into_2027[1].reason
    assert check_policies(client, [], YEAR_2026) == []


def test_a_long_list_goes_in_requests_the_registry_accepts(registry_service):
    """ЕРЗЛ answers at most 1,000 lookups a request; 2,500 go as three requests, answered in item order."""
    client = fast_client(registry_service.url)
    too_many = {"items": [{"enp": "7414012927712067", "birth_date": "1974-07-27"}] * 1001}
    with pytest.raises(RegistryProtocolError, match="400"):
        client.post("erzl", BATCH_PATH, too_many)
    record = demo_records("valid")[0]
    known = PolicyLookupItem(demo_policies(record)[0]["enp"], record["birth_date"])
    items = [known if i % 500 == 7 else PolicyLookupItem(f"{i:016d}", "1980-01-01") for i in range(2500)]
    results = check_policies(client, items, YEAR_2026)
    assert [r.enp for r in results] == [i.enp for i in items]
    assert [i for i, r in enumerate(results) if r.insured] == [7, 507, 1007, 1507, 2007]


def test_an_inactive_policy_without_a_reason_is_called_invalid():
    answer = {"found": True, "policy": {"status": "annulled", "insurer": {"name": "СМО", "code": "77001"}}}
    result = read_answer("7414012927712067", answer, date(2026, 1, 1), date(2026, 12, 31))
    assert (result.insured, result.reason, result.insurer_code) == (False, NOT_VALID, "77001")


def test_an_open_breaker_goes_half_open_once_another_process_saw_the_registry_answer():
    now, wall = [100.0], [1000.0]
    breaker = CircuitBreaker("erzl", failure_threshold=1, reset_timeout=30, clock=lambda: now[0], wall=lambda: wall[0])
    breaker.record_failure()  # opened at 1000 (wall clock)
    assert not breaker.heard_answer(999.0)  # an answer from before it opened: an earlier outage's
    assert breaker.state == "open" and not breaker.allow()
    assert breaker.heard_answer(1001.0) and breaker.state == "half_open"  # this caller is the trial
    assert not breaker.heard_answer(1001.0) and not breaker.allow()  # the trial is out: the others fail fast
    wall[0] = 1010.0
    breaker.record_failure()  # the trial failed: the registry is down again
    assert not breaker.heard_answer(1001.0) and breaker.state == "open"


def test_a_success_in_one_worker_process_closes_the_open_breakers_of_the_others(registry_service, backend):
    """Two clients as two worker processes wire them (operators.registry_client): the first success after an
    outage is noted in the Redis they share, and the other's breaker, open for another ten minutes, lets
    its next call through instead of failing it fast and sending it back to wait."""
    redis = backend.services.redis
    redis.delete("registry:erzl:answered_at")

    def worker_client(reset: float) -> RegistryClient:
        return RegistryClient(registry_service.url, ClientSettings(read_timeout=2.0, attempts=1, breaker_failures=1,
                                                                   breaker_reset=reset),
                              on_recovered=lambda registry: note_answer(redis, registry),
                              answered_at=lambda registry: last_answer(redis, registry))

    first, other = worker_client(0.0), worker_client(600.0)
    enp = "1234567890123452"
    with registry_service.faults_set("erzl:down"):
        for client in (first, other):
            with pytest.raises(RegistryUnavailable):
                client.post("erzl", "/erzl/policy", {"enp": enp})
            assert client.breaker("erzl").state == "open"
    with pytest.raises(RegistryUnavailable) as err:  # back, but nobody has seen it answer yet
        other.post("erzl", "/erzl/policy", {"enp": enp})
    assert err.value.code == "registry_circuit_open"
    assert first.post("erzl", "/erzl/policy", {"enp": enp}) is None  # its trial (reset 0 s) gets through
    assert last_answer(redis, "erzl") is not None
    assert other.post("erzl", "/erzl/policy", {"enp": enp}) is None
    assert other.breaker("erzl").state == "closed"
    for client in (first, other):
        client.close()
