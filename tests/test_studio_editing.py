"""Editing a draft file by file (what the studio's modeler does): save on a revision, conflicts, download.

Against the whole product: a draft is started from the deployed certificate_individual process («Редактировать»),
two analysts save into it, the stale save is refused with who saved last; a proposed draft is no longer
editable; only analysts and administrators reach any of it.
"""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import select

from engine.models import JournalEntry
from tests.support.accounts import bearer, csrf_token
from tests.support.product import PRODUCT_WORKFLOWS, Product
from tests.test_studio_drafts import _page_client, _staff
from web.extensions import db

PID = "certificate_individual"
BPMN = "certificate_individual.bpmn"
DMN = "certificate_decision.dmn"


def _api(product: Product, token: str | None, method: str, path: str, **kwargs: Any):
    return product.client().open(f"/api/v1/processes{path}", method=method,
                                 headers=bearer(token) if token else {}, **kwargs)


def _start(product: Product, token: str) -> dict[str, Any]:
    created = _api(product, token, "POST", f"/{PID}/drafts")
    assert created.status_code == 201, created.get_json()
    return created.get_json()


def _saved(product: Product, token: str, draft: int, name: str) -> str:
    r = _api(product, token, "GET", f"/drafts/{draft}/files/{name}")
    assert r.status_code == 200
    return r.get_data(as_text=True)


def _saves(product: Product, draft_id: int) -> list[tuple[str, dict]]:
    with product.app.app_context():
        rows = [(r.actor, r.details) for r in db.session.scalars(
            select(JournalEntry).where(JournalEntry.event == "draft_file_saved").order_by(JournalEntry.id))
            if r.details["draft_id"] == draft_id]
        db.session.commit()
    return rows


def test_two_analysts_save_one_draft_and_the_stale_save_is_refused(product: Product) -> None:
    (first_email, first), (second_email, second) = _staff(product, "analyst"), _staff(product, "analyst")
    draft = _start(product, first)
    assert draft["revision"] == 1 and draft["status"] == "draft" and BPMN in draft["files"] and DMN in draft["files"]
    url = f"/drafts/{draft['draft_id']}/files/{BPMN}"
    original = (PRODUCT_WORKFLOWS / BPMN).read_text(encoding="utf-8")
    download = _api(product, first, "GET", url)
    assert download.get_data(as_text=True) == original
    assert download.headers["Content-Disposition"] == f'attachment; filename="{BPMN}"'

    mine = original.replace('sla("registry_wait")', 'sla("operator_review")')
    r = _api(product, first, "PUT", url, json={"xml": mine, "revision": 1})
    assert r.status_code == 200, r.get_json()
    assert r.get_json()["revision"] == 2 and r.get_json()["problems"] == []

    theirs = original.replace("</bpmn:definitions>", "<!-- second -->\n</bpmn:definitions>")
    stale = _api(product, second, "PUT", url, json={"xml": theirs, "revision": 1})
    assert stale.status_code == 409
    body = stale.get_json()
    assert body["error"]["code"] == "conflict" and body["revision"] == 2 and body["updated_by"] == first_email
    assert first_email in body["error"]["message"] and "не сохранены" in body["error"]["message"]
    assert body["updated_at"] == r.get_json()["updated_at"]
    assert _saved(product, second, draft["draft_id"], BPMN) == mine  # never overwritten

    # Reloaded, the second analyst saves on the new revision; an unchanged save changes nothing.
    assert _api(product, second, "PUT", url, json={"xml": theirs, "revision": 2}).get_json()["revision"] == 3
    assert _api(product, second, "PUT", url, json={"xml": theirs, "revision": 3}).get_json()["revision"] == 3
    shown = _api(product, first, "GET", f"/drafts/{draft['draft_id']}").get_json()
    assert (shown["revision"], shown["updated_by"], shown["sources"][BPMN]) == (3, second_email, theirs)

    # Broken XML is kept (nothing typed is lost) and answered with its problem; a new .dmn may be added.
    broken = theirs[:-40]
    r = _api(product, first, "PUT", url, json={"xml": broken, "revision": 3})
    assert r.status_code == 200 and [p["code"] for p in r.get_json()["problems"]] == ["xml_malformed"]
    assert _saved(product, first, draft["draft_id"], BPMN) == broken
    extra = (PRODUCT_WORKFLOWS / DMN).read_text(encoding="utf-8")
    r = _api(product, first, "PUT", f"/drafts/{draft['draft_id']}/files/extra.dmn", json={"xml": extra, "revision": 4})
    assert r.status_code == 200 and r.get_json()["revision"] == 5
    assert [(a, d["file"], d["revision"]) for a, d in _saves(product, draft["draft_id"])] == [
        (first_email, BPMN, 2), (second_email, BPMN, 3), (first_email, BPMN, 4), (first_email, "extra.dmn", 5)]


def test_bad_saves_are_refused_and_change_nothing(product: Product) -> None:
    token = _staff(product, "analyst")[1]
    draft = _start(product, token)["draft_id"]
    xml = (PRODUCT_WORKFLOWS / BPMN).read_text(encoding="utf-8")
    for name, body, status, field in [
            ("notes.txt", {"xml": xml, "revision": 1}, 422, "name"),
            (BPMN, {"xml": xml, "revision": "1"}, 422, "revision"),
            (BPMN, {"xml": 5, "revision": 1}, 422, "xml"),
            (BPMN, {"xml": "  ", "revision": 1}, 422, "files")]:
        r = _api(product, token, "PUT", f"/drafts/{draft}/files/{name}", json=body)
        assert r.status_code == status and r.get_json()["error"]["fields"][0]["field"] == field, (name, body)
    assert _api(product, token, "PUT", "/drafts/999999/files/x.bpmn", json={"xml": xml, "revision": 1}) \
        .status_code == 404
    assert _api(product, token, "GET", f"/drafts/{draft}/files/missing.bpmn").status_code == 404
    assert _api(product, token, "POST", "/no_such_process/drafts").status_code == 404
    assert _api(product, token, "GET", f"/drafts/{draft}").get_json()["revision"] == 1

    # Proposed (what the approver reviews) or rejected: no longer editable.
    proposed = _api(product, token, "POST", f"/drafts/{draft}/propose", json={"comment": "Без изменений"})
    assert proposed.status_code == 200, proposed.get_json()
    r = _api(product, token, "PUT", f"/drafts/{draft}/files/{BPMN}", json={"xml": xml + " ", "revision": 1})
    assert r.status_code == 409 and "предложен" in r.get_json()["error"]["message"]
    assert _api(product, token, "POST", f"/drafts/{draft}/reject").status_code == 200
    r = _api(product, token, "PUT", f"/drafts/{draft}/files/{BPMN}", json={"xml": xml + " ", "revision": 1})
    assert r.status_code == 409 and "отклон" in r.get_json()["error"]["message"]
    assert _saved(product, token, draft, BPMN) == xml


def test_only_analysts_and_admins_edit_drafts(product: Product) -> None:
    analyst = product.staff_token("analyst")
    draft = _start(product, analyst)["draft_id"]
    xml = (PRODUCT_WORKFLOWS / BPMN).read_text(encoding="utf-8")
    calls = [("POST", f"/{PID}/drafts", {}), ("GET", f"/drafts/{draft}/files/{BPMN}", {}),
             ("PUT", f"/drafts/{draft}/files/{BPMN}", {"json": {"xml": xml + " ", "revision": 1}})]
    for token, status in [(product.citizen_token(), 403), (product.staff_token("operator"), 403), (None, 401)]:
        for method, path, kwargs in calls:
            r = _api(product, token, method, path, **kwargs)
            assert r.status_code == status, (method, path, status, r.status_code)
    admin = product.staff_token("admin")
    assert _api(product, admin, "PUT", f"/drafts/{draft}/files/{BPMN}",
                json={"xml": xml + " ", "revision": 1}).get_json()["revision"] == 2


def test_edit_from_the_process_page_download_and_save_with_the_session(product: Product) -> None:
    client, email = _page_client(product, "analyst")
    current = next(p for p in client.get("/api/v1/processes").get_json() if p["id"] == PID)["current_version"]
    page = client.get(f"/processes/{PID}/versions/{current}").get_data(as_text=True)
    assert ">Редактировать</button>" in page
    r = client.post(f"/processes/{PID}/edit", data={"csrf_token": csrf_token(page)})
    assert r.status_code == 302
    draft_page = client.get(r.location).get_data(as_text=True)
    draft_id = int(re.search(r"/processes/drafts/(\d+)", r.location).group(1))
    link = f"/processes/drafts/{draft_id}/files/{BPMN}"
    assert f'href="{link}" download' in client.get(f"/processes/drafts/{draft_id}").get_data(as_text=True)
    download = client.get(link)
    assert download.status_code == 200 and download.get_data(as_text=True) == \
        (PRODUCT_WORKFLOWS / BPMN).read_text(encoding="utf-8")

    # The modeler saves through the API with the session: the CSRF token is required.
    api = f"/api/v1/processes/drafts/{draft_id}/files/{BPMN}"
    body = {"xml": download.get_data(as_text=True) + " ", "revision": 1}
    assert client.put(api, json=body).status_code == 403
    r = client.put(api, json=body, headers={"X-CSRFToken": csrf_token(draft_page)})
    assert r.status_code == 200 and r.get_json()["revision"] == 2
    assert client.get(f"/api/v1/processes/drafts/{draft_id}").get_json()["updated_by"] == email
    assert client.post(f"/processes/{PID}/edit").status_code == 400  # no CSRF token


def test_the_catalogue_lists_what_the_panel_picks_from(product: Product) -> None:
    token = product.staff_token("analyst")
    body = _api(product, token, "GET", "/catalogue").get_json()
    operators = {o["name"]: o["parameters"] for o in body["operators"]}
    assert operators["registry.check_passport"] == [{"name": "person", "required": True}]
    assert {"name": "registry_wait", "value": "PT4H"} in body["sla"]
    assert "operator_review.schema.json" in {f["file"] for f in body["forms"]}
    assert {"name": "Оператор", "role": "operator", "role_label": "Оператор"} in body["lanes"]
    assert {"id": "certificate_decision", "name": "Решение по заявлению о справке ОМС", "file": DMN} \
        in body["decisions"]

    # A draft's own decision table is offered in that draft's editor (and only there).
    dmn = (PRODUCT_WORKFLOWS / DMN).read_text(encoding="utf-8").replace(
        'decision id="certificate_decision"', 'decision id="draft_only_decision"')
    draft = _api(product, token, "POST", "/drafts", json={"files": {"draft_only.dmn": dmn}}).get_json()["draft_id"]
    ids = {d["id"] for d in _api(product, token, "GET", f"/catalogue?draft={draft}").get_json()["decisions"]}
    assert {"draft_only_decision", "certificate_decision"} <= ids
    assert "draft_only_decision" not in {d["id"] for d in body["decisions"]}
    assert _api(product, token, "GET", "/catalogue?draft=999999").status_code == 404
    assert _api(product, product.staff_token("operator"), "GET", "/catalogue").status_code == 403


def test_the_modeler_page_opens_only_an_editable_bpmn_file_for_analysts(product: Product) -> None:
    client, _ = _page_client(product, "analyst")
    token = product.staff_token("analyst")
    draft = _start(product, token)["draft_id"]
    page = client.get(f"/processes/drafts/{draft}/edit/{BPMN}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert 'id="editor-config"' in html and "bpmn-modeler-" in html and "<script>" not in html
    assert "'unsafe-inline'" not in page.headers["Content-Security-Policy"]
    assert "script-src 'self';" in page.headers["Content-Security-Policy"]
    dmn = client.get(f"/processes/drafts/{draft}/edit/{DMN}")  # a decision file opens the DMN editor instead
    assert dmn.status_code == 200 and "dmn-modeler-" in dmn.get_data(as_text=True)
    assert "bpmn-modeler-" not in dmn.get_data(as_text=True)
    assert client.get(f"/processes/drafts/{draft}/edit/missing.dmn").status_code == 404
    assert client.get(f"/processes/drafts/{draft}/edit/missing.bpmn").status_code == 404
    operator, _ = _page_client(product, "operator")
    assert operator.get(f"/processes/drafts/{draft}/edit/{BPMN}").status_code == 403

    assert _api(product, token, "POST", f"/drafts/{draft}/propose", json={"comment": "Готово"}).status_code == 200
    r = client.get(f"/processes/drafts/{draft}/edit/{BPMN}")
    assert r.status_code == 302 and r.location.endswith(f"/processes/drafts/{draft}")
    assert "изменять его нельзя" in client.get(r.location).get_data(as_text=True)
