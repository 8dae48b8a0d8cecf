"""The change-of-data service in tests: its application body, the registry it changes, a product of its own.

Each product test of the service runs against a registry service of its own (`change_product`): the
service's whole point is to write to ЕРЗЛ, and the session's shared registry must keep the bundled
dataset for every other test.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.support.accounts import bearer
from tests.support.backend import Backend
from tests.support.product import Product, pause_module_product, start_product
from tests.support.registry import RegistryService, demo_person
from tests.support.smtp import SmtpServer

SERVICE = "personal_data_change"
TITLE = "Изменение данных в полисе ОМС"
ENP = "7705152938460179"  # the policy of the demo dataset's «name_changed» person
OLD_PASSPORT = ("4514", "771203")
NEW_PASSPORT = ("4525", "804417")


def change_body(**person: Any) -> dict[str, Any]:
    """The application of the «name_changed» person: the new surname and the new passport, as МВД has them."""
    applicant = demo_person("name_changed")
    current = {k: v for k, v in applicant["person"].items() if k != "inn"}  # the form asks for no ИНН
    return {"service": SERVICE, "change_reason": "marriage", "policy_number": applicant["policy_number"],
            "person": {**current, **person}}


@pytest.fixture
def own_registry() -> Iterator[RegistryService]:
    service = RegistryService().start()
    try:
        yield service
    finally:
        service.stop()


@pytest.fixture
def change_product(backend: Backend, own_registry: RegistryService, smtp_server: SmtpServer) -> Iterator[Product]:
    """The product on a registry of its own (the writes of one test must not reach another's); the module's
    shared product is paused meanwhile, or its worker would take these jobs to the shared registry."""
    pause_module_product(backend)
    product = start_product(backend, own_registry, smtp_server)
    try:
        yield product
    finally:
        product.stop()


def apply_change(product: Product, token: str, **person: Any) -> dict[str, Any]:
    r = product.client().post("/api/v1/applications", json=change_body(**person), headers=bearer(token))
    assert r.status_code == 201, r.get_json()
    return r.get_json()


def erzl_policy(registry: RegistryService) -> dict[str, Any]:
    """The service's policy as ЕРЗЛ now answers for it (its holder is the record's ФИО)."""
    return httpx.post(f"{registry.url}/erzl/policy", json={"enp": ENP}).json()


def mvd_passport(registry: RegistryService, passport: tuple[str, str]) -> dict[str, Any]:
    return httpx.post(f"{registry.url}/mvd/passport", json={"series": passport[0], "number": passport[1]}).json()
