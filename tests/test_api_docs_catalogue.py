"""The API document describes the services of the deployment's own catalogue (its workflows folder's
services.toml), not the bundled one: the catalogue is read when the document is built, after the app
installed its configuration."""

from __future__ import annotations

import re
import shutil
from collections.abc import Callable
from pathlib import Path

from flask import Flask

from tasks.process import install_config, installed_config
from tests.support.product import PRODUCT_WORKFLOWS
from web.api_docs.document import PREFIX


def _without_service(workflows: Path, service_id: str) -> None:
    """Drop one `[services.<id>]` table from the folder's services.toml."""
    toml = workflows / "services.toml"
    text = toml.read_text(encoding="utf-8")
    trimmed = re.sub(rf"\[services\.{service_id}\]\n.*?(?=^\[services\.|\Z)", "", text, flags=re.S | re.M)
    assert trimmed != text
    toml.write_text(trimmed, encoding="utf-8")


def _document(app: Flask) -> dict:
    return app.test_client().get(f"{PREFIX}/openapi.json").get_json()


def test_the_document_lists_the_installed_catalogues_services(make_app: Callable[..., Flask], tmp_path: Path) -> None:
    workflows = tmp_path / "workflows"
    shutil.copytree(PRODUCT_WORKFLOWS, workflows)
    _without_service(workflows, "personal_data_change")
    before = installed_config()
    try:
        schemas = _document(make_app(BACKOFFICE_WORKFLOWS_DIR=str(workflows)))["components"]["schemas"]
        assert schemas["Application"]["properties"]["service"]["enum"] == [
            "certificate_individual", "certificate_organization"]
        assert schemas["ApplicationRequest"]["oneOf"] == [
            {"$ref": "#/components/schemas/IndividualApplication"},
            {"$ref": "#/components/schemas/OrganizationApplication"}]
        assert "PersonalDataChange" not in schemas

        bundled = _document(make_app(BACKOFFICE_WORKFLOWS_DIR=str(PRODUCT_WORKFLOWS)))["components"]["schemas"]
        assert "personal_data_change" in bundled["Application"]["properties"]["service"]["enum"]
        assert {"$ref": "#/components/schemas/PersonalDataChange"} in bundled["ApplicationRequest"]["oneOf"]
        assert bundled["PersonalDataChange"]["properties"]["service"]
    finally:
        if before is not None:
            install_config(before)
