"""The API as its document says: every /api/v1 route is described (and nothing else), and schemathesis,
driving the running product over real HTTP as the role each operation is for, finds no 500 and no answer
the document does not describe (status, content type or body)."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode

from tests.support.accounts import bearer
from tests.support.browser import served
from tests.support.product import Product
from web.api_docs.document import PREFIX, api_operations, openapi_path

EXAMPLES = 6  # per operation: 69 operations, bounded for CI
CHECKS = [schemathesis.checks.not_a_server_error, schemathesis.checks.status_code_conformance,
          schemathesis.checks.content_type_conformance, schemathesis.checks.response_schema_conformance]
# The identifier formats of forms/formats.py, as strings of the right shape (their checksums are the
# validators' business: a wrong one must come back as 422, which the document allows).
FORMATS = {"snils": r"\d{11}", "enp": r"\d{16}", "inn": r"\d{10}|\d{12}", "ogrn": r"\d{13}|\d{15}",
           "kpp": r"\d{4}[0-9A-Z]{2}\d{3}", "bik": r"\d{9}", "account": r"\d{20}", "corr-account": r"\d{20}",
           "passport-series": r"\d{4}", "passport-number": r"\d{6}", "division-code": r"\d{3}-\d{3}",
           "phone": r"\+7\d{10}", "month": r"20\d\d-(0[1-9]|1[0-2])"}
# The operations that store an uploaded file on the service's disk (tasks/cases/storage.py).
STORING_UPLOADS = {"cases_api.upload_document", "organizations_api.upload_document", "employees_api.upload",
                   "support_api.create", "support_api.message"}
for _name, _pattern in FORMATS.items():
    schemathesis.openapi.format(_name, st.from_regex(_pattern, fullmatch=True))


def test_the_document_describes_every_api_route_and_nothing_else(product: Product) -> None:
    routes = {(openapi_path(rule), method.lower()) for rule, method in api_operations(product.app)}
    assert len(routes) > 60
    doc = product.client().get(f"{PREFIX}/openapi.json").get_json()
    described = {(path, method) for path, methods in doc["paths"].items() for method in methods}
    assert described == routes
    schemas = doc["components"]["schemas"]
    assert "passport_copy" in schemas["DocumentKind"]["enum"]
    assert {"submitted", "ready", "rejected", "closed"} <= set(schemas["CaseStatus"]["enum"])
    assert "no_insurance_record" in schemas["ReasonCode"]["enum"]
    staff_only = doc["paths"]["/tasks"]["get"]
    assert "citizen" not in staff_only["x-roles"] and staff_only["security"]
    assert doc["paths"]["/policies/check"]["post"]["security"] == []
    # A full upload disk is a 507 storage_full (tests/test_drills.py): described where a file is stored.
    stored = {(openapi_path(rule), method.lower()) for rule, method in api_operations(product.app)
              if rule.endpoint in STORING_UPLOADS}
    assert len(stored) == len(STORING_UPLOADS)
    assert {(path, method) for path, method in described if "507" in doc["paths"][path][method]["responses"]} == stored
    assert "storage_full" in doc["paths"]["/support-requests"]["post"]["description"]
    assert doc["components"]["responses"]["E507"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/Error"}


def test_the_docs_page_lists_operations_roles_and_codes(product: Product) -> None:
    page = product.client().get("/api/docs")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    for text in ("POST /applications/{number}/documents", "passport_copy", "Копия паспорта",
                 "no_insurance_record", "Готово к скачиванию", "validation_failed", "<code>operator</code>"):
        assert text in html, text
    assert not re.search(r'<(?:script|link)[^>]+(?:src|href)="(?!/)', html)  # nothing from a CDN


def _token_source(product: Product, citizen: str) -> Callable[[dict], dict[str, str]]:
    """Headers for an operation: no login for public ones, else a token of the first role allowed
    (`citizen`'s where citizens may call it); revoking a token uses a throwaway one."""
    tokens: dict[str, str] = {"citizen": citizen}

    def headers(definition: dict) -> dict[str, str]:
        roles = definition.get("x-roles")
        if not roles:
            return {}
        role = "citizen" if "citizen" in roles else roles[0]
        if definition["operationId"] == "auth_api.revoke_token.delete":
            return bearer(product.citizen_token())
        if role not in tokens:
            tokens[role] = product.citizen_token() if role == "citizen" else product.staff_token(role)
        return bearer(tokens[role])

    return headers


def _explore(operation, base_url: str, session: requests.Session, headers: dict[str, str],
             known: dict[str, str]) -> None:
    """EXAMPLES generated requests of one operation, valid and invalid ones, each checked against the document;
    where the path names a case or a process, some requests name a real one (`known`), to reach past the 404."""
    params = {p["name"] for p in operation.definition.raw.get("parameters", []) if p["in"] == "path"}
    strategies = [operation.as_strategy(), operation.as_strategy(GenerationMode.NEGATIVE)]
    if params and params <= set(known):
        real = {name: known[name] for name in params}
        strategies += [operation.as_strategy(path_parameters=real),
                       operation.as_strategy(GenerationMode.NEGATIVE, path_parameters=real)]

    @settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
              phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
    @given(case=st.one_of(*strategies))
    def call(case) -> None:
        # A generous timeout: the first analytics call rolls up the days before it, on a loaded CI machine.
        case.call_and_validate(base_url=base_url, session=session, headers=headers, checks=CHECKS, timeout=120)

    call()


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_schemathesis_finds_no_server_error_and_nothing_undocumented(product_with) -> None:
    product = product_with(RATE_LIMITS="0")
    citizen = product.citizen_token()
    known = {"number": product.apply(citizen, "valid")["number"], "process_id": "certificate_individual",
             "kind": "pdf"}
    headers_for = _token_source(product, citizen)
    failures: list[str] = []
    with served(product) as base:
        schema = schemathesis.openapi.from_url(f"{base}{PREFIX}/openapi.json")
        session = requests.Session()
        operations = [result.ok() for result in schema.get_all_operations()]
        assert len(operations) > 60
        for operation in operations:
            try:
                _explore(operation, f"{base}{PREFIX}", session, headers_for(operation.definition.raw), known)
            except (Exception, BaseExceptionGroup) as exc:  # collect every operation's failures, then report
                failures.append(f"{operation.label}: {exc}"[:1500])
    assert not failures, "\n\n".join(failures)


def test_numbers_too_large_for_the_database_are_bad_input_not_server_errors(product: Product) -> None:
    client = product.client()
    token = product.staff_token("admin")
    r = client.get("/api/v1/applications", query_string={"offset": str(10**20)}, headers=bearer(token))
    assert r.status_code == 400 and r.get_json()["error"]["code"] == "invalid_parameter"
    assert client.get("/api/v1/applications", query_string={"offset": "0"}, headers=bearer(token)).status_code == 200
    for url in ("/api/v1/incidents", "/api/v1/timers"):  # a page number as large (found once `page` was documented)
        r = client.get(url, query_string={"page": str(10**20)}, headers=bearer(token))
        assert r.status_code == 400 and r.get_json()["error"]["code"] == "invalid_parameter", url
        assert client.get(url, query_string={"page": "2"}, headers=bearer(token)).status_code == 200
    r = client.get(f"/api/v1/processes/certificate_individual/versions/{2**40}", headers=bearer(token))
    assert r.status_code == 404 and r.get_json()["error"]["code"] == "not_found"
    r = client.post("/api/v1/tasks/bulk", json={"action": "claim", "ids": [1, -10**30]}, headers=bearer(token))
    assert r.status_code == 400 and r.get_json()["error"]["code"] == "invalid_json"
    assert "слишком большое число" in r.get_json()["error"]["message"]
    r = client.post("/api/v1/tasks/bulk", json={"action": "claim", "ids": [2**31 - 1]}, headers=bearer(token))
    assert r.status_code == 200  # the largest number that fits is an ordinary (unknown) task id
