"""In Chromium: a supervisor runs a dry run on a real changed diagram, migrates by a worker, then reverts.

The page works without scripts: the dry run is a GET form, the run's page refreshes itself while a real
worker process moves the cases, the revert is a confirmed POST.
"""

from __future__ import annotations

from types import SimpleNamespace

from playwright.sync_api import expect

from tests.support.accounts import add_user
from tests.support.browser import chromium, fits_the_screen, log_in, open_page, served
from tests.support.migration import PROCESS, case_outcomes, instance_row, two_versions, version_id


def test_a_supervisor_migrates_the_movable_cases_on_the_page_and_reverts(backend, cluster, make_app) -> None:
    services = backend.services
    app = make_app()
    versions, cases = two_versions(services)
    key = {name: instance_row(services, iid).business_key for name, iid in cases.items()}
    email = add_user(app, "supervisor")
    cluster.worker()
    with served(SimpleNamespace(app=app)) as base, chromium() as browser:
        page = open_page(browser, base)
        log_in(page, base, email, app=app)
        page.goto(f"{base}/migrations")
        page.get_by_label("Процесс").select_option(PROCESS)
        page.get_by_label("Исходная версия").fill(str(versions.old))
        page.get_by_label("Целевая версия").fill(str(versions.new))
        page.get_by_role("button", name="Проверить").click()

        rows = page.locator("#dry-run-table tbody tr")
        expect(rows).to_have_count(3)
        assert page.locator('#dry-run-table tr[data-movable="yes"]').evaluate_all(
            "rows => rows.map(r => r.dataset.case)") == [key["first_a"], key["first_b"]]
        blocked = page.locator(f'#dry-run-table tr[data-case="{key["second"]}"]')
        expect(blocked).to_contain_text("элемент «Вторая проверка», на котором стоит дело, изменён (название)")
        assert fits_the_screen(page)

        page.get_by_role("button", name="Перенести дела (2)").click()
        expect(page.locator('[data-figure="status"]')).to_have_text("завершён", timeout=90_000)
        expect(page.locator('[data-figure="migrated"]')).to_have_text("2")
        expect(page.locator('[data-figure="blocked"]')).to_have_text("1")
        # What the run stored, then the page showing it loaded afresh: a finished run's page stops refreshing,
        # and once (a loaded CI run) its first rendering had the figures but not yet the table of cases.
        assert case_outcomes(services, int(page.url.rsplit("/", 1)[1])) == {
            key["first_a"]: "migrated", key["first_b"]: "migrated", key["second"]: "blocked"}
        page.reload()
        expect(page.locator(f'#run-cases tr[data-case="{key["second"]}"]')).to_contain_text("не переносится")
        assert instance_row(services, cases["first_a"]).version_id == version_id(services, versions.new)

        page.get_by_label("Да, отменить перенос").check()
        page.get_by_role("button", name="Отменить перенос").click()
        expect(page.locator('[data-figure="status"]')).to_have_text("отменён", timeout=90_000)
        expect(page.locator('[data-figure="reverted"]')).to_have_text("2")
        expect(page.locator('[data-figure="kept"]')).to_have_text("0")
    assert [instance_row(services, cases[n]).version_id for n in ("first_a", "first_b", "second")] \
        == [version_id(services, versions.old)] * 3
