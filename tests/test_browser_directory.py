"""The medical organisations directory in Chromium on a phone: search with a typo and a filter, open an
organisation from the results, and read its page - nothing wider than the screen, no script needed."""

from __future__ import annotations

from playwright.sync_api import expect

from tasks.directory.refresh import refresh_directory
from tasks.registries.client import RegistryClient
from tests.support.browser import PHONE, chromium, open_page, served_app


def test_search_then_an_organisation_page_on_a_phone(backend, make_app, registry_service, screenshots):
    client = RegistryClient(registry_service.url)
    with backend.services.database.session() as session:
        assert refresh_directory(session, client).succeeded
    client.close()
    app = make_app(REGISTRY_URL=registry_service.url)
    with served_app(app) as base, chromium() as browser:
        page = open_page(browser, base)
        page.goto(f"{base}/medical-organizations")
        page.get_by_label("Название, ИНН или ОГРН").fill("поликлинника")  # a typo
        page.get_by_label("Регион").select_option("г. Москва")
        page.get_by_role("button", name="Найти").click()
        results = page.locator(".directory-list > li")
        expect(page.get_by_role("heading", name="Найдено:", exact=False)).to_be_visible()
        expect(results.first).to_be_visible()
        assert all("г. Москва" in text for text in results.all_inner_texts())
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
        screenshots.take(page, "results")

        first = results.first.get_by_role("link")
        name = first.inner_text()
        first.click()
        expect(page.get_by_role("heading", level=1)).to_have_text(name)
        for term in ("ОГРН", "ИНН", "Фактический адрес", "Программы ОМС", "Специальности", "Лицензия"):
            expect(page.locator("dt", has_text=term).first).to_be_visible()
        expect(page.get_by_text("Сведения реестра медицинских организаций на")).to_be_visible()
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
        screenshots.take(page, "organisation")
