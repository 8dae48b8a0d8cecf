"""The medical organisations directory on both backends: the copy of the registry's list in our table, its
search (typos, ё = е, ИНН, ОГРН) and filters over the API and the public pages, the page per organisation
with an expired licence marked, and the refresh by a real scheduler process that keeps the last copy
through a registry outage.

The registry is the real HTTP service; the outage is its own fault injection (`mo:down`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import func, select
from stdnum.ru import inn as ru_inn
from stdnum.ru import ogrn as ru_ogrn

from forms.dates import today_moscow
from tasks.directory.models import DirectoryRefresh, MedicalOrganization
from tasks.directory.refresh import refresh_directory
from tasks.registries.client import ClientSettings, RegistryClient
from tests.support.accounts import client_from
from tests.support.backend import Backend, Cluster, wait_for
from tests.support.registry import RegistryService, demo_dataset

MOSCOW_POLYCLINIC = "1117763179401"  # ГБУЗ «ГП № 12 ДЗМ», hand-written in the demo dataset
MOSCOW_POLYCLINIC_INN = "7754918684"
EXPIRED = "1095400243003"  # ООО «МЦ «Здоровье»», licence until 30.06.2021


def _client(url: str) -> RegistryClient:
    return RegistryClient(url, ClientSettings(read_timeout=5, attempts=1, breaker_failures=1000))


def _refresh(backend: Backend, url: str) -> DirectoryRefresh:
    client = _client(url)
    try:
        with backend.services.database.session() as session:
            return refresh_directory(session, client)
    finally:
        client.close()


@pytest.fixture
def directory(backend: Backend, registry_service: RegistryService, make_app) -> Iterator[Flask]:
    """The app, with the directory refreshed from the bundled registry (the demo dataset)."""
    assert _refresh(backend, registry_service.url).succeeded
    yield make_app(REGISTRY_URL=registry_service.url)


def _search(client, **params: str) -> dict:
    r = client.get("/api/v1/medical-organizations", query_string=params)
    assert r.status_code == 200, r.get_json()
    return r.get_json()


def _names(body: dict) -> list[str]:
    return [o["short_name"] for o in body["items"]]


def test_the_demo_dataset_has_sixty_realistic_organisations_with_valid_numbers():
    orgs = demo_dataset()["medical_organizations"]
    assert len(orgs) >= 60
    assert len({o["region"] for o in orgs}) >= 6
    assert len({o["ogrn"] for o in orgs}) == len(orgs) and len({o["inn"] for o in orgs}) == len(orgs)
    for org in orgs:
        assert ru_ogrn.is_valid(org["ogrn"]) and len(org["ogrn"]) == 13, org
        assert ru_inn.is_valid(org["inn"]) and len(org["inn"]) == 10, org
        assert org["ogrn"][3:5] == org["inn"][:2], org  # both carry the region's code
        assert org["programs"] and org["specialties"] and org["legal_address"], org
    expired = [o for o in orgs if o["license_valid_to"] and o["license_valid_to"] < today_moscow().isoformat()]
    assert 3 <= len(expired) < len(orgs) // 4


def test_the_table_holds_every_organisation_the_registry_lists(directory: Flask, backend: Backend):
    wanted = {o["ogrn"]: o for o in demo_dataset()["medical_organizations"]}
    with backend.services.database.session() as session:
        rows = {o.ogrn: o for o in session.scalars(select(MedicalOrganization))}
    assert set(rows) == set(wanted)
    row, record = rows[MOSCOW_POLYCLINIC], wanted[MOSCOW_POLYCLINIC]
    assert (row.name, row.short_name, row.inn, row.address, row.legal_address, row.phone, row.email, row.region) == (
        record["name"], record["short_name"], record["inn"], record["address"], record["legal_address"],
        record["phone"], record["email"], record["region"])
    assert row.programs == record["programs"] and row.specialties == record["specialties"]
    assert row.record == record and row.accredited is True and row.license_valid_to is None


def test_search_forgives_typos_and_reads_yo_as_ye(directory: Flask):
    client = client_from(directory)
    assert "ООО «МЦ «Здоровье»»" in _names(_search(client, q="здаровье"))  # a typo
    assert "ООО «МЦ «Семейный доктор»»" in _names(_search(client, q="семейный доктр"))
    for spelling in ("Ёлочка", "елочка", "ЕЛОЧКА"):
        assert _names(_search(client, q=spelling)) == ["ООО «МЦ «Клиника Ёлочка»»"], spelling
    polyclinics = _search(client, q="поликлинника")
    assert polyclinics["total"] >= 20 and all("поликлиника" in o["name"].lower() for o in polyclinics["items"])
    assert _search(client, q="qwerty zzzz")["total"] == 0


def test_search_by_inn_and_ogrn(directory: Flask):
    client = client_from(directory)
    for key in (MOSCOW_POLYCLINIC, MOSCOW_POLYCLINIC_INN, "775-491-8684"[:7]):
        body = _search(client, q=key)
        assert [o["ogrn"] for o in body["items"]] == [MOSCOW_POLYCLINIC], key
    assert _search(client, q="9999999999")["total"] == 0


def test_filters_by_region_programme_and_specialty(directory: Flask):
    client = client_from(directory)
    demo = demo_dataset()["medical_organizations"]
    body = _search(client, region="Республика Татарстан")
    assert body["total"] == sum(o["region"] == "Республика Татарстан" for o in demo) >= 5
    assert {o["region"] for o in body["items"]} == {"Республика Татарстан"}
    emergency = _search(client, program="скорая медицинская помощь")
    assert emergency["total"] == sum("скорая медицинская помощь" in o["programs"] for o in demo) >= 1
    both = _search(client, region="г. Москва", specialty="кардиология")
    assert both["total"] == sum(o["region"] == "г. Москва" and "кардиология" in o["specialties"] for o in demo)
    assert all("кардиология" in o["specialties"] for o in both["items"])
    combined = _search(client, q="поликлиника", region="г. Санкт-Петербург", program="первичная медико-санитарная "
                                                                                      "помощь")
    assert combined["total"] >= 1 and {o["region"] for o in combined["items"]} == {"г. Санкт-Петербург"}
    pages = _search(client, page="2")
    assert pages["page"] == 2 and pages["pages"] == -(-len(demo) // 20) and len(pages["items"]) == 20
    first = {o["ogrn"] for o in _search(client)["items"]}
    assert first.isdisjoint(o["ogrn"] for o in pages["items"])


def test_bad_parameters_are_refused_with_the_field_named(directory: Flask):
    client = client_from(directory)
    for params, field in (({"page": "0"}, "page"), ({"page": "abc"}, "page"), ({"page": "²"}, "page"),
                          ({"q": "а" * 201}, "q")):
        r = client.get("/api/v1/medical-organizations", query_string=params)
        assert r.status_code == 422, params
        assert [f["field"] for f in r.get_json()["error"]["fields"]] == [field]
    r = client.get("/api/v1/medical-organizations/12345")
    assert r.status_code == 422 and r.get_json()["error"]["fields"][0]["field"] == "ogrn"
    r = client.get("/api/v1/medical-organizations/1027700000000")
    assert r.status_code == 404 and r.get_json()["error"]["code"] == "not_found"
    page = client.get("/medical-organizations?page=abc")
    assert page.status_code == 422
    html = page.get_data(as_text=True)
    assert 'id="err-page"' in html and "Номер страницы" in html


def test_one_organisation_over_the_api_with_every_field(directory: Flask):
    client = client_from(directory)
    r = client.get(f"/api/v1/medical-organizations/{MOSCOW_POLYCLINIC}")
    assert r.status_code == 200
    body = r.get_json()
    assert set(body) >= {"ogrn", "inn", "name", "short_name", "address", "legal_address", "phone", "email",
                         "programs", "specialties", "region", "accredited", "license_valid_to", "license_expired",
                         "refreshed_at"}
    assert body["license_expired"] is False and body["refreshed_at"]
    expired = client.get(f"/api/v1/medical-organizations/{EXPIRED}").get_json()
    assert expired["license_expired"] is True and expired["license_valid_to"] == "2021-06-30"


def test_the_public_pages_search_and_show_an_organisation(directory: Flask):
    client = client_from(directory)
    page = client.get("/medical-organizations", query_string={"q": "елочка"})
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    for label in ('for="dir-q"', 'for="dir-region"', 'for="dir-program"', 'for="dir-specialty"'):
        assert label in html
    assert "Найдено: 1" in html and "Клиника Ёлочка" in html
    link = re.search(r'href="(/medical-organizations/\d{13})"', html)
    assert link
    org = client.get(link.group(1)).get_data(as_text=True)
    for text in ("ОГРН", "ИНН", "Фактический адрес", "Юридический адрес", "Программы ОМС", "Специальности",
                 "Аккредитация", "Сведения реестра медицинских организаций на"):
        assert text in org, text

    expired = client.get(f"/medical-organizations/{EXPIRED}").get_data(as_text=True)
    assert "Лицензия истекла 30.06.2021" in expired
    listed = client.get("/medical-organizations", query_string={"q": EXPIRED}).get_data(as_text=True)
    assert "Лицензия истекла 30.06.2021" in listed
    fine = client.get(f"/medical-organizations/{MOSCOW_POLYCLINIC}").get_data(as_text=True)
    assert "Лицензия истекла" not in fine and "бессрочная" in fine
    assert client.get("/medical-organizations/1027700000000").status_code == 404
    assert client.get("/medical-organizations/abc").status_code == 404


def _changed_dataset(tmp_path: Path) -> tuple[Path, str, str]:
    """The demo dataset with one organisation gone and another renamed: a registry that moved on."""
    data = json.loads(json.dumps(demo_dataset()))
    orgs = data["medical_organizations"]
    gone = orgs.pop(10)["ogrn"]
    orgs[5]["short_name"] = "ГБУЗ «Переименованная поликлиника»"
    path = tmp_path / "registry.json"
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    return path, gone, orgs[5]["ogrn"]


def _refreshes(backend: Backend, since_id: int) -> list[DirectoryRefresh]:
    with backend.services.database.session() as session:
        return list(session.scalars(select(DirectoryRefresh).where(DirectoryRefresh.id > since_id)
                                    .order_by(DirectoryRefresh.id)))


def test_the_scheduler_refreshes_and_an_outage_keeps_the_last_copy(backend: Backend, registry_service, make_app,
                                                                    tmp_path: Path):
    path, gone, renamed = _changed_dataset(tmp_path)
    with backend.services.database.session() as session:
        before = session.scalar(select(func.max(DirectoryRefresh.id))) or 0
    cluster = Cluster(backend)
    try:
        with RegistryService(data=path) as registry:
            cluster.scheduler(REGISTRY_URL=registry.url, DIRECTORY_REFRESH_INTERVAL="1", REGISTRY_BREAKER_RESET="1")
            ok = wait_for(lambda: [r for r in _refreshes(backend, before) if r.succeeded], timeout=60,
                          message="a successful scheduled refresh")[-1]
            app = make_app(REGISTRY_URL=registry.url)
            client = client_from(app)
            assert client.get(f"/api/v1/medical-organizations/{gone}").status_code == 404
            renamed_row = client.get(f"/api/v1/medical-organizations/{renamed}").get_json()
            assert renamed_row["short_name"] == "ГБУЗ «Переименованная поликлиника»"

            registry.set_faults("mo:down")
            wait_for(lambda: any(not r.succeeded for r in _refreshes(backend, ok.id)), timeout=60,
                     message="a refresh that met the outage")
            failed = next(r for r in _refreshes(backend, ok.id) if not r.succeeded)
            assert "unavailable" in (failed.error or "") or "503" in (failed.error or ""), failed.error
            body = _search(client)
            assert body["total"] == len(demo_dataset()["medical_organizations"]) - 1  # the last copy, whole
            page = client.get("/medical-organizations").get_data(as_text=True)
            assert "Сведения реестра медицинских организаций на" in page
            with backend.services.database.session() as session:
                last_ok = session.scalar(select(func.max(DirectoryRefresh.finished_at))
                                         .where(DirectoryRefresh.succeeded))
            assert last_ok is not None and body["refreshed_at"] is not None
            assert body["refreshed_at"][:19] == last_ok.isoformat()[:19]
            assert client.get(f"/medical-organizations/{renamed}").status_code == 200

            registry.clear_faults()
            wait_for(lambda: any(r.succeeded for r in _refreshes(backend, failed.id)), timeout=60,
                     message="a successful refresh after the outage")
    finally:
        cluster.stop_all()
        assert _refresh(backend, registry_service.url).succeeded  # the demo list again, for later tests
