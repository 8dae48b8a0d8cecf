"""The registry service over real HTTP: every endpoint, not found vs errors, faults, dataset validation."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import httpx
import pytest
from stdnum import luhn
from stdnum.ru import inn as ru_inn
from stdnum.ru import ogrn as ru_ogrn

from backoffice.registry import DatasetError, FaultSpecError, create_registry_app, parse_faults
from backoffice.registry.dataset import build_dataset
from backoffice.registry.faults import Fault, format_faults
from tests.support import forkserver
from tests.support.registry import DEMO_DATA, ROOT, RegistryService, demo_dataset, demo_records


def get(service: RegistryService, path: str, **params: str) -> httpx.Response:
    return httpx.get(f"{service.url}{path}", params=params or None, timeout=10)


def post(service: RegistryService, path: str, **body: str) -> httpx.Response:
    return httpx.post(f"{service.url}{path}", json=body, timeout=10)


def snils_is_valid(snils: str) -> bool:
    """The СФР check-digit algorithm, written out independently of any code under test."""
    total = sum(int(d) * w for d, w in zip(snils[:9], range(9, 0, -1), strict=True))
    check = total if total < 100 else 0 if total in (100, 101) else total % 101 % 100
    return len(snils) == 11 and int(snils[:9]) > 1001998 and int(snils[9:]) == check


# --- the bundled dataset -------------------------------------------------------------------------

def test_demo_dataset_covers_every_scenario_with_valid_check_digits():
    data = demo_dataset()
    build_dataset(data)  # the service would accept it
    scenarios = Counter(p["scenario"] for p in data["persons"])
    assert len(data["persons"]) >= 40
    assert scenarios["valid"] >= 25 and scenarios["policy_ends_2026"] == 2
    assert set(scenarios) >= {"valid", "policy_expired", "policy_annulled", "no_policy", "passport_lost",
                              "passport_replaced", "passport_expired", "snils_other_person", "yo_spelling",
                              "registry_disagrees", "policy_ends_2026"}
    assert set(scenarios) == set(data["scenarios"])
    for person in data["persons"]:
        assert snils_is_valid(person["snils"]), person
        assert ru_inn.is_valid(person["inn"]) and len(person["inn"]) == 12, person
    for policy in data["policies"]:
        assert len(policy["enp"]) == 16 and luhn.is_valid(policy["enp"]), policy
    for org in data["organizations"] + data["medical_organizations"]:
        assert len(org["inn"]) == 10 and ru_inn.is_valid(org["inn"]) and ru_ogrn.is_valid(org["ogrn"]), org
    valid_policies = [p for r in demo_records("valid") for p in data["policies"]
                      if p["snils"] == r["snils"] and p["status"] == "active"]
    assert len({p["region"] for p in valid_policies}) >= 6
    assert len({p["insurer"]["name"] for p in valid_policies}) == 5
    assert any(p["valid_to"] is None for p in valid_policies)
    assert all(p["valid_to"] is None or p["valid_to"] >= "2030-01-01" for p in valid_policies)


def test_demo_scenarios_are_built_the_way_their_names_say():
    data = demo_dataset()
    snils_owners = {p["snils"]: p for p in data["persons"]}
    (other,) = demo_records("snils_other_person")
    assert snils_owners[other["applicant_overrides"]["snils"]]["last_name"] != other["last_name"]
    for person in demo_records("yo_spelling"):
        typed = person["applicant_overrides"]
        assert "ё" in (person["last_name"] + person["first_name"]).casefold()
        assert "ё" not in "".join(typed.values()).casefold()
    (disagrees,) = demo_records("registry_disagrees")
    assert disagrees["sfr_record"]["middle_name"] != disagrees["middle_name"]
    (unknown,) = demo_records("policy_number_unknown")
    assert unknown["applicant_overrides"]["policy_number"] not in {p["enp"] for p in data["policies"]}
    assert luhn.is_valid(unknown["applicant_overrides"]["policy_number"])
    enps = {p["snils"] for p in data["policies"]}
    assert all(p["snils"] not in enps for p in demo_records("no_policy"))


# --- lookups -----------------------------------------------------------------------------------

def test_health_reports_every_registry_and_the_dataset(registry_service):
    body = get(registry_service, "/health").json()
    assert body["status"] == "ok"
    assert body["registries"] == dict.fromkeys(("mvd", "sfr", "erzl", "egrul", "mo", "clinic"), "ok")
    assert body["records"]["persons"] == len(demo_dataset()["persons"])


@pytest.mark.parametrize("scenario,status", [("valid", "valid"), ("passport_lost", "lost"),
                                             ("passport_replaced", "replaced"), ("passport_expired", "expired")])
def test_mvd_passport_with_status_and_holder(registry_service, scenario, status):
    person = demo_records(scenario)[0]
    doc = person["passport"]
    resp = post(registry_service, "/mvd/passport", series=doc["series"], number=doc["number"])
    assert resp.status_code == 200
    body = resp.json()
    assert body["status"] == status
    assert body["issued_on"] == doc["issued_on"] and body["division_code"] == doc["division_code"]
    assert body["holder"] == {k: person[k] for k in ("last_name", "first_name", "middle_name", "birth_date")}
    assert "scenario" not in json.dumps(body)


def test_mvd_knows_the_passport_that_replaced_an_old_one(registry_service):
    (person,) = demo_records("passport_replaced")
    new = person["other_passports"][0]
    body = post(registry_service, "/mvd/passport", series=new["series"], number=new["number"]).json()
    assert body["status"] == "valid" and body["holder"]["last_name"] == person["last_name"]


def test_not_found_is_distinguishable_from_a_wrong_request_and_a_wrong_address(registry_service):
    missing = post(registry_service, "/mvd/passport", series="0000", number="000000")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"
    assert "не найден" in missing.json()["error"]["message"]
    malformed = post(registry_service, "/mvd/passport", series="45", number="1")
    assert malformed.status_code == 400 and malformed.json()["error"]["code"] == "bad_request"
    no_body = httpx.post(f"{registry_service.url}/mvd/passport", content=b"series=4505", timeout=10)
    assert no_body.status_code == 400 and no_body.json()["error"]["code"] == "bad_request"
    nowhere = post(registry_service, "/mvd/passports", series="4505", number="146692")
    assert nowhere.status_code == 404 and nowhere.json()["error"]["code"] == "no_such_endpoint"
    wrong_method = get(registry_service, "/mvd/passport")
    assert wrong_method.status_code == 405 and wrong_method.json()["error"]["code"] == "method_not_allowed"
    assert post(registry_service, "/sfr/person", snils="11223344595").json()["error"]["code"] == "not_found"
    assert post(registry_service, "/erzl/policy", enp="1234567890123452").json()["error"]["code"] == "not_found"
    for path in ("/egrul/organizations/7700000000", "/egrul/organizations/1027700000000",
                 "/mo/organizations/1027700000000"):
        assert get(registry_service, path).json()["error"]["code"] == "not_found", path


def test_sfr_holder_by_snils_in_any_spelling(registry_service):
    person = demo_records("valid")[0]
    s = person["snils"]
    for typed in (s, f"{s[:3]}-{s[3:6]}-{s[6:9]} {s[9:]}"):
        body = post(registry_service, "/sfr/person", snils=typed).json()
        assert body["snils"] == s and body["holder"]["last_name"] == person["last_name"]
    assert post(registry_service, "/sfr/person", snils="123").status_code == 400


def test_sfr_may_disagree_with_mvd(registry_service):
    (person,) = demo_records("registry_disagrees")
    sfr = post(registry_service, "/sfr/person", snils=person["snils"]).json()["holder"]
    doc = person["passport"]
    mvd = post(registry_service, "/mvd/passport", series=doc["series"], number=doc["number"]).json()["holder"]
    assert mvd["middle_name"] == "Евгеньевна" and sfr["middle_name"] == "Евгениевна"
    assert {k: v for k, v in sfr.items() if k != "middle_name"} == {k: v for k, v in mvd.items() if k != "middle_name"}


def _policy_of(person: dict) -> dict:
    return next(p for p in demo_dataset()["policies"] if p["snils"] == person["snils"])


def test_erzl_policy_by_enp(registry_service):
    person = demo_records("valid")[0]
    policy = _policy_of(person)
    body = post(registry_service, "/erzl/policy", enp=policy["enp"]).json()
    assert body["insurer"] == policy["insurer"] and body["insurer"]["name"] == "АО «СОГАЗ-Мед»"
    assert (body["region"], body["valid_from"], body["valid_to"]) == ("г. Москва", policy["valid_from"], None)
    assert body["status"] == "active" and body["reason"] is None
    assert body["holder"]["last_name"] == person["last_name"]
    assert post(registry_service, "/erzl/policy", enp="12345").status_code == 400


def test_erzl_policies_by_snils_and_birth_date(registry_service):
    switched = next(p for p in demo_records("valid") if p["last_name"] == "Васильев")
    found = post(registry_service, "/erzl/policies", snils=switched["snils"], birth_date=switched["birth_date"])
    statuses = sorted(p["status"] for p in found.json()["policies"])
    assert statuses == ["active", "expired"]  # he changed insurer: the old policy is kept as history
    wrong_date = post(registry_service, "/erzl/policies", snils=switched["snils"], birth_date="1900-01-01")
    assert wrong_date.status_code == 200 and wrong_date.json() == {"policies": []}
    nobody = demo_records("no_policy")[0]
    assert post(registry_service, "/erzl/policies", snils=nobody["snils"],
                birth_date=nobody["birth_date"]).json() == {"policies": []}
    assert post(registry_service, "/erzl/policies", snils=switched["snils"]).status_code == 400


def test_erzl_explains_in_russian_why_a_policy_is_not_active(registry_service):
    expired = _policy_of(demo_records("policy_expired")[0])
    body = post(registry_service, "/erzl/policy", enp=expired["enp"]).json()
    assert body["status"] == "expired" and body["reason"] == "Срок действия полиса истёк 31.03.2025."
    annulled = _policy_of(demo_records("policy_annulled")[0])
    body = post(registry_service, "/erzl/policy", enp=annulled["enp"]).json()
    assert body["status"] == "annulled" and body["reason"].startswith("Полис аннулирован")


def test_egrul_by_inn_or_ogrn(registry_service):
    orgs = {o["short_name"]: o for o in demo_dataset()["organizations"]}
    romashka = orgs["ООО «Ромашка»"]
    by_inn = get(registry_service, f"/egrul/organizations/{romashka['inn']}").json()
    by_ogrn = get(registry_service, f"/egrul/organizations/{romashka['ogrn']}").json()
    assert by_inn == by_ogrn
    assert by_inn["name"] == "Общество с ограниченной ответственностью «Ромашка»"
    assert (by_inn["status"], by_inn["contributions_paid"], by_inn["kpp"]) == ("active", True, romashka["kpp"])
    start = get(registry_service, f"/egrul/organizations/{orgs['ООО «Старт»']['inn']}").json()
    assert start["status"] == "liquidated" and start["liquidated_on"] == "2023-08-15"
    assert get(registry_service, "/egrul/organizations/12345").status_code == 400


def test_medical_organizations_list_filter_and_lookup(registry_service):
    every = get(registry_service, "/mo/organizations").json()["organizations"]
    assert len(every) == len(demo_dataset()["medical_organizations"]) >= 4
    emergency = get(registry_service, "/mo/organizations", program="Скорая медицинская помощь").json()
    wanted = [o["short_name"] for o in demo_dataset()["medical_organizations"]
              if "скорая медицинская помощь" in o["programs"]]
    assert [o["short_name"] for o in emergency["organizations"]] == wanted and "ГАУЗ «РКБ МЗ РТ»" in wanted
    assert len(wanted) < len(every)
    one = get(registry_service, f"/mo/organizations/{every[0]['ogrn']}").json()
    assert one == every[0] and {"programs", "license_valid_to", "accredited", "phone", "email"} <= set(one)


# --- faults ------------------------------------------------------------------------------------

def test_faults_from_the_environment_and_the_admin_token():
    with RegistryService(faults="erzl:down;mvd:error_rate=1;sfr:latency_ms=1500", admin_token="drill") as svc:
        down = post(svc, "/erzl/policy", enp="1234567890123452")
        assert down.status_code == 503 and down.json()["error"]["code"] == "unavailable"
        failing = post(svc, "/mvd/passport", series="0000", number="000000")
        assert failing.status_code == 500 and failing.json()["error"]["code"] == "internal_error"
        with pytest.raises(httpx.ReadTimeout):
            httpx.post(f"{svc.url}/sfr/person", json={"snils": "11223344595"}, timeout=0.3)
        slow = httpx.post(f"{svc.url}/sfr/person", json={"snils": "11223344595"}, timeout=10)
        assert slow.status_code == 404  # slow, not broken
        assert get(svc, "/egrul/organizations/7700000000").status_code == 404  # untouched registry
        health = get(svc, "/health").json()
        assert health["status"] == "degraded"
        assert health["registries"] == {"mvd": "degraded", "sfr": "degraded", "erzl": "down", "egrul": "ok",
                                        "mo": "ok", "clinic": "ok"}
        assert httpx.get(f"{svc.url}/admin/faults", timeout=5).status_code == 401
        wrong = httpx.get(f"{svc.url}/admin/faults", headers={"Authorization": "Bearer nope"}, timeout=5)
        assert wrong.status_code == 401
        assert svc.faults()["spec"] == "mvd:error_rate=1;sfr:latency_ms=1500;erzl:down"
        svc.clear_faults()
        assert post(svc, "/erzl/policy", enp="1234567890123452").json()["error"]["code"] == "not_found"


def test_faults_at_runtime_through_the_admin_endpoint(registry_service):
    org = demo_dataset()["organizations"][0]
    with registry_service.faults_set("egrul:down;*:latency_ms=10") as svc:
        assert get(svc, f"/egrul/organizations/{org['inn']}").status_code == 503
        state = svc.faults()
        assert state["faults"]["egrul"] == {"down": True, "latency_ms": 10, "error_rate": 0.0}
        assert state["faults"]["mo"] == {"down": False, "latency_ms": 10, "error_rate": 0.0}
        bad = httpx.put(f"{svc.url}/admin/faults", json={"spec": "fns:down"}, timeout=5)
        assert bad.status_code == 400 and bad.json()["error"]["code"] == "bad_spec"
        assert "fns" in bad.json()["error"]["detail"]
        assert svc.faults() == state  # a wrong spec changes nothing
        assert httpx.put(f"{svc.url}/admin/faults", json={"nope": 1}, timeout=5).status_code == 400
    assert registry_service.faults() == {"spec": "", "faults": {}}
    assert get(registry_service, f"/egrul/organizations/{org['inn']}").status_code == 200


def test_error_rate_fails_about_that_share_of_requests():
    app = create_registry_app(DEMO_DATA, "mo:error_rate=0.5;egrul:error_rate=1")
    client = app.test_client()
    outcomes = Counter(client.get("/mo/organizations").status_code for _ in range(200))
    assert set(outcomes) == {200, 500} and 50 < outcomes[500] < 150
    assert client.get("/egrul/organizations/7700000000").status_code == 500
    assert client.post("/sfr/person", json={"snils": "11223344595"}).status_code == 404


def test_admin_endpoint_refuses_other_hosts_without_a_token():
    client = create_registry_app(DEMO_DATA).test_client()
    assert client.get("/admin/faults", environ_base={"REMOTE_ADDR": "10.1.2.3"}).status_code == 403
    assert client.delete("/admin/faults", environ_base={"REMOTE_ADDR": "10.1.2.3"}).status_code == 403
    assert client.get("/admin/faults", environ_base={"REMOTE_ADDR": "::1"}).status_code == 200
    with_token = create_registry_app(DEMO_DATA, admin_token="t0ken").test_client()
    remote = {"REMOTE_ADDR": "10.1.2.3"}
    assert with_token.get("/admin/faults", environ_base=remote).status_code == 401
    ok = with_token.put("/admin/faults", json={"spec": "mo:down"}, environ_base=remote,
                        headers={"Authorization": "Bearer t0ken"})
    assert ok.status_code == 200 and ok.json["spec"] == "mo:down"


def test_fault_spec_parsing():
    faults = parse_faults(" erzl:latency_ms=1500,error_rate=0.3 ; egrul:down;*:latency_ms=5;mo:down ")
    assert faults["erzl"] == Fault(down=False, latency_ms=5, error_rate=0.3)  # later entries win per option
    assert faults["egrul"] == Fault(down=True, latency_ms=5) and faults["mvd"] == Fault(latency_ms=5)
    assert parse_faults(format_faults(faults)) == faults
    assert parse_faults("") == {} and parse_faults("erzl:error_rate=0") == {}
    for bad in ("erzl", "erzl:", "fns:down", "erzl:slow", "erzl:error_rate=1.5", "erzl:latency_ms=-1",
                "erzl:latency_ms=fast", "erzl:down=1"):
        with pytest.raises(FaultSpecError):
            parse_faults(bad)


# --- dataset validation ------------------------------------------------------------------------

def _tiny_dataset() -> dict:
    data = demo_dataset()
    person = {**data["persons"][0], "favourite_colour": "синий"}  # extra fields are kept, not refused
    return {"persons": [person], "policies": [_policy_of(person)], "organizations": data["organizations"][:1],
            "medical_organizations": data["medical_organizations"][:1], "version": 2}


def test_dataset_validation_lists_every_problem():
    good = _tiny_dataset()
    assert build_dataset(good).counts() == {"persons": 1, "policies": 1, "organizations": 1,
                                            "medical_organizations": 1}
    bad = json.loads(json.dumps(good))
    del bad["persons"][0]["last_name"]
    bad["persons"][0]["snils"] = "123"
    bad["persons"][0]["passport"]["status"] = "stolen"
    bad["policies"][0]["valid_from"] = "2020-13-01"
    bad["organizations"][0]["kpp"] = "77abc1001"
    del bad["medical_organizations"]
    with pytest.raises(DatasetError) as err:
        build_dataset(bad, "bad.json")
    problems = "\n".join(err.value.problems)
    for expected in ("$.persons[0]: 'last_name' is a required property", "$.persons[0].snils",
                     "$.persons[0].passport.status", "$.policies[0].valid_from", "$.organizations[0].kpp",
                     "'medical_organizations' is a required property"):
        assert expected in problems
    assert len(err.value.problems) == 6


def test_dataset_keys_must_be_unique_and_periods_ordered():
    data = _tiny_dataset()
    data["persons"].append({**data["persons"][0]})
    data["policies"].append({**data["policies"][0], "valid_from": "2020-01-01", "valid_to": "2019-01-01"})
    with pytest.raises(DatasetError) as err:
        build_dataset(data)
    assert any("persons[1].snils: duplicate" in p for p in err.value.problems)
    assert any("persons[1].passport: duplicate" in p for p in err.value.problems)
    assert any("policies[1].enp: duplicate" in p for p in err.value.problems)
    assert any("policies[1]: valid_to is before valid_from" in p for p in err.value.problems)


def test_registry_data_from_the_environment(tmp_path: Path):
    data = _tiny_dataset()
    person = data["persons"][0]
    s = person["snils"]
    person["snils"] = f"{s[:3]}-{s[3:6]}-{s[6:9]} {s[9:]}"  # separators in the file are fine
    path = tmp_path / "registry.json"
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    with RegistryService(data=path) as svc:
        assert get(svc, "/health").json()["records"]["persons"] == 1
        assert post(svc, "/sfr/person", snils=s).json()["holder"]["last_name"] == person["last_name"]
        other = demo_dataset()["persons"][1]
        assert post(svc, "/sfr/person", snils=other["snils"]).status_code == 404


def test_registry_command_refuses_a_wrong_dataset_or_fault_spec(tmp_path: Path):
    broken = tmp_path / "broken.json"
    broken.write_text('{"persons": [{}]', encoding="utf-8")
    base = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT), "BACKOFFICE_DATA_DIR": str(tmp_path / "var")}
    for extra, expected in (({"REGISTRY_DATA": str(broken)}, "cannot read"),
                            ({"REGISTRY_FAULTS": "erzl:sometimes"}, "unknown option")):
        out = forkserver.run(["registry", "--port", "1"], env={**base, **extra}, cwd=ROOT, check=False, timeout=60)
        assert out.returncode == 2 and expected in out.stderr, out.stderr
