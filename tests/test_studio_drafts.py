"""Drafts, the four-eyes deploy and rollback, over JSON and on the studio's pages.

Against the whole product: the drafts start from the product's own workflows/certificate_individual.bpmn
(with its decision table), edited as text. A draft is checked by the deploy validation, proposed by one
analyst, approved (deployed) by another; new applications then start on the new version while a case
already running stays on its own; a rollback makes the earlier version current again.
"""

from __future__ import annotations

from io import BytesIO
from typing import Any

from sqlalchemy import select

from backoffice.provision import deploy_workflows
from engine.models import JournalEntry, ProcessInstance, ProcessVersion
from tasks.config import engine_settings
from tests.support.accounts import PASSWORD, add_user, bearer, client_from, csrf_token, fresh_otp, login
from tests.support.product import PRODUCT_WORKFLOWS, Product
from web.extensions import db

PID = "certificate_individual"
BPMN = "certificate_individual.bpmn"
DMN = "certificate_decision.dmn"
CHAIN = "refusal_chain.bpmn"  # the process the individual one calls after a refusal
TYPO = 'sla("registry_wiat")'


def _files(**edits: str) -> dict[str, str]:
    """The product's individual process, the process it calls and its decisions, with ``old=new`` text edits
    applied to the individual process's BPMN."""
    bpmn = (PRODUCT_WORKFLOWS / BPMN).read_text(encoding="utf-8")
    for old, new in edits.values():
        assert old in bpmn
        bpmn = bpmn.replace(old, new)
    return {BPMN: bpmn, CHAIN: (PRODUCT_WORKFLOWS / CHAIN).read_text(encoding="utf-8"),
            DMN: (PRODUCT_WORKFLOWS / DMN).read_text(encoding="utf-8")}


def _broken() -> dict[str, str]:
    return _files(sla=('sla("registry_wait")', TYPO))


def _fixed(mark: str) -> dict[str, str]:
    """A valid change: a new version of the process (the comment changes its files' digest only)."""
    return _files(mark=("</bpmn:definitions>", f"<!-- {mark} -->\n</bpmn:definitions>"))


def _api(product: Product, token: str | None, method: str, path: str, **kwargs: Any):
    headers = bearer(token) if token else {}
    return product.client().open(f"/api/v1/processes{path}", method=method, headers=headers, **kwargs)


def _staff(product: Product, role: str) -> tuple[str, str]:
    """(email, Bearer token) of a new staff member."""
    email = add_user(product.app, role)
    r = product.client().post("/api/v1/auth/token",
                              json={"email": email, "password": PASSWORD, "otp": fresh_otp(product.app, email)})
    assert r.status_code == 200, r.get_json()
    return email, r.get_json()["token"]


def _versions(entry: dict[str, Any]) -> tuple[int, list[int]]:
    return entry["current_version"], [v["version"] for v in entry["versions"]]


def _catalogue(product: Product, token: str) -> dict[str, Any]:
    listed = _api(product, token, "GET", "")
    assert listed.status_code == 200
    return next(p for p in listed.get_json() if p["id"] == PID)


def _version_of(product: Product, number: str) -> int:
    with product.app.app_context():
        version = db.session.scalar(
            select(ProcessVersion.version).join(ProcessInstance, ProcessInstance.version_id == ProcessVersion.id)
            .where(ProcessInstance.business_key == number))
        db.session.commit()
    return version


def _journal(product: Product, event: str) -> list[tuple[str, dict]]:
    """(actor, details) of the journal's rows of ``event``, oldest first."""
    with product.app.app_context():
        rows = [(r.actor, r.details) for r in db.session.scalars(
            select(JournalEntry).where(JournalEntry.event == event).order_by(JournalEntry.id))]
        db.session.commit()
    return rows


def test_a_draft_is_checked_proposed_approved_by_another_and_rolled_back(product: Product) -> None:
    (first_email, first), (second_email, second) = _staff(product, "analyst"), _staff(product, "analyst")
    before = _catalogue(product, first)
    old = before["current_version"]
    citizen = product.citizen_token()
    running = product.apply(citizen)["number"]
    assert _version_of(product, running) == old

    # The typo is refused by the check and by propose, at its element; nothing changes.
    created = _api(product, first, "POST", "/drafts", json={"files": _broken()})
    assert created.status_code == 201, created.get_json()
    bad = created.get_json()["draft_id"]
    checked = _api(product, first, "POST", f"/drafts/{bad}/validate")
    assert checked.status_code == 200
    problems = checked.get_json()["problems"]
    sla = [p for p in problems if p["code"] == "unknown_sla"]
    assert [(p["file"], p["element_id"], p["element_name"]) for p in sla] == \
        [(BPMN, "checks_timeout", "Реестры не ответили")], problems
    assert "registry_wiat" in sla[0]["message"]
    refused = _api(product, first, "POST", f"/drafts/{bad}/propose", json={"comment": "опечатка"})
    assert refused.status_code == 422
    assert refused.get_json()["error"]["code"] == "draft_invalid"
    assert any(p["code"] == "unknown_sla" and p["element_id"] == "checks_timeout"
               for p in refused.get_json()["problems"])
    assert _api(product, first, "GET", f"/drafts/{bad}").get_json()["status"] == "draft"
    assert _versions(_catalogue(product, first)) == _versions(before)

    # The fixed draft: proposed by the first analyst, who may not approve it; the second one deploys it.
    good = _api(product, first, "POST", "/drafts", json={"files": _fixed(f"draft of {running}")}).get_json()["draft_id"]
    assert _api(product, first, "POST", f"/drafts/{good}/validate").get_json() == {"problems": []}
    assert _api(product, second, "POST", f"/drafts/{good}/approve").status_code == 409  # not proposed yet
    proposed = _api(product, first, "POST", f"/drafts/{good}/propose", json={"comment": "Проверка черновика"})
    assert proposed.status_code == 200 and proposed.get_json()["status"] == "proposed"
    own = _api(product, first, "POST", f"/drafts/{good}/approve")
    assert own.status_code == 409 and "другой" in own.get_json()["error"]["message"]
    assert _catalogue(product, first)["current_version"] == old
    approved = _api(product, second, "POST", f"/drafts/{good}/approve")
    assert approved.status_code == 200, approved.get_json()
    new = {d["process_id"]: d for d in approved.get_json()["versions"]}  # the file's called processes too
    assert new[PID]["created"] is True and new[PID]["version"] > old
    new_version = new[PID]["version"]
    assert _api(product, second, "POST", f"/drafts/{good}/approve").status_code == 409  # once only

    entry = _catalogue(product, first)
    assert entry["current_version"] == new_version
    assert entry["versions"][0]["comment"] == "Проверка черновика"
    fresh = product.apply(citizen, index=1)["number"]
    assert _version_of(product, fresh) == new_version
    assert _version_of(product, running) == old

    # Rollback: the earlier version is current again, the next case starts on it, the others keep theirs.
    back = _api(product, first, "POST", f"/{PID}/current", json={"version": old})
    assert back.status_code == 200 and back.get_json()["current_version"] == old
    assert _catalogue(product, first)["current_version"] == old
    after = product.apply(citizen, index=2)["number"]
    assert _version_of(product, after) == old
    assert _version_of(product, fresh) == new_version
    assert _api(product, first, "POST", f"/{PID}/current", json={"version": 999}).status_code == 404

    emails = {first: first_email, second: second_email}
    assert [a for a, d in _journal(product, "draft_proposed") if d["draft_id"] == good] == [emails[first]]
    assert [a for a, d in _journal(product, "draft_approved") if d["draft_id"] == good] == [emails[second]]
    assert [a for a, d in _journal(product, "deployed")
            if d.get("process_id") == PID and d.get("version") == new_version] == [emails[second]]
    assert _journal(product, "current_version_set")[-1] == (emails[first], {
        "process_id": PID, "version": old, "previous_version": new_version, "reason": "rollback"})


def test_drafts_refuse_bad_uploads_and_change_nothing(product: Product) -> None:
    token = product.staff_token("analyst")
    for files, expected in [({}, "хотя бы один"), ({"../x.bpmn": "<a/>"}, ".bpmn или .dmn"),
                            ({"notes.txt": "x"}, ".bpmn или .dmn"), ({"x.bpmn": "  "}, "пуст")]:
        r = _api(product, token, "POST", "/drafts", json={"files": files})
        assert r.status_code == 422 and expected in r.get_json()["error"]["message"], (files, r.get_json())
    big = _api(product, token, "POST", "/drafts",
               data={"files": (BytesIO(b"<a>" + b" " * (2 * 1024 * 1024) + b"</a>"), "big.bpmn")})
    assert big.status_code == 422 and "больше 2" in big.get_json()["error"]["message"]
    doctype = '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e "boom">]><x>&e;</x>'
    draft = _api(product, token, "POST", "/drafts",
                 data={"files": [(BytesIO(doctype.encode()), "evil.bpmn")]}).get_json()["draft_id"]
    problems = _api(product, token, "POST", f"/drafts/{draft}/validate").get_json()["problems"]
    assert problems and problems[0]["file"] == "evil.bpmn", problems
    assert _api(product, token, "POST", f"/drafts/{draft}/propose", json={"comment": "x"}).status_code == 422
    empty = _api(product, token, "POST", "/drafts", json={"files": _fixed("no comment")}).get_json()["draft_id"]
    r = _api(product, token, "POST", f"/drafts/{empty}/propose", json={"comment": "  "})
    assert r.status_code == 422 and r.get_json()["error"]["fields"][0]["field"] == "comment"


def test_only_analysts_and_admins_reach_drafts_and_rollback(product: Product) -> None:
    analyst = product.staff_token("analyst")
    draft = _api(product, analyst, "POST", "/drafts", json={"files": _fixed("roles")}).get_json()["draft_id"]
    calls = [("POST", "/drafts", {"json": {"files": _fixed("x")}}), ("GET", f"/drafts/{draft}", {}),
             ("POST", f"/drafts/{draft}/validate", {}),
             ("POST", f"/drafts/{draft}/propose", {"json": {"comment": "x"}}),
             ("POST", f"/drafts/{draft}/approve", {}), ("POST", f"/drafts/{draft}/reject", {}),
             ("POST", f"/{PID}/current", {"json": {"version": 1}})]
    for token, status in [(product.citizen_token(), 403), (product.staff_token("operator"), 403), (None, 401)]:
        for method, path, kwargs in calls:
            r = _api(product, token, method, path, **kwargs)
            assert r.status_code == status, (method, path, status, r.status_code)
            assert r.get_json()["error"]["code"] in ("forbidden", "unauthorized")
    assert _api(product, analyst, "GET", f"/drafts/{draft}").get_json()["status"] == "draft"
    admin = product.staff_token("admin")
    assert _api(product, admin, "POST", f"/drafts/{draft}/validate").get_json() == {"problems": []}


def _page_client(product: Product, role: str):
    client = client_from(product.app)
    email = add_user(product.app, role)
    assert login(client, email).status_code == 302
    return client, email


def _form_token(client, url: str) -> str:
    return csrf_token(client.get(url).get_data(as_text=True))


def test_pages_upload_show_problems_propose_and_approve_by_another(product: Product) -> None:
    first, _ = _page_client(product, "analyst")
    second, _ = _page_client(product, "admin")
    index = first.get("/processes").get_data(as_text=True)
    assert "Загрузить черновик" in index
    assert f"Вызывает: {CHAIN}" in index and f'processes__id">{CHAIN.removesuffix(".bpmn")}<' not in index
    current = next(p for p in first.get("/api/v1/processes").get_json() if p["id"] == PID)["current_version"]

    # An element name with markup is shown as text.
    named = _broken()
    named[BPMN] = named[BPMN].replace('name="Реестры не ответили"', 'name="&lt;b&gt;Реестры&lt;/b&gt; не ответили"')
    upload = {"csrf_token": _form_token(first, "/processes"),
              "files": [(BytesIO(text.encode()), name) for name, text in named.items()]}
    r = first.post("/processes/drafts", data=upload, content_type="multipart/form-data")
    assert r.status_code == 302
    page = first.get(r.location).get_data(as_text=True)
    assert "<code>checks_timeout</code>" in page and "&lt;b&gt;Реестры&lt;/b&gt; не ответили" in page
    assert "<b>Реестры" not in page and "registry_wiat" in page
    r = first.post(f"{r.location}/propose", data={"csrf_token": csrf_token(page), "comment": "опечатка"})
    assert r.status_code == 422 and "Исправьте проблемы" in r.get_data(as_text=True)

    empty = first.post("/processes/drafts", data={"csrf_token": _form_token(first, "/processes")},
                       content_type="multipart/form-data")
    assert empty.status_code == 422 and "Выберите хотя бы один файл" in empty.get_data(as_text=True)

    upload = {"csrf_token": _form_token(first, "/processes"),
              "files": [(BytesIO(text.encode()), name) for name, text in _fixed("page draft").items()]}
    url = first.post("/processes/drafts", data=upload, content_type="multipart/form-data").location
    page = first.get(url).get_data(as_text=True)
    assert "проверка пройдена" in page
    assert '<script type="application/json" id="draft-source-1">' in page and "bpmn-viewer-" in page  # drawn
    r = first.post(f"{url}/propose", data={"csrf_token": csrf_token(page), "comment": "Через страницу"})
    assert r.status_code == 302
    page = first.get(url).get_data(as_text=True)
    assert "Через страницу" in page and "предложен к развёртыванию" in page
    assert '<button type="submit" class="btn" disabled aria-describedby="approve-reason">Одобрить и развернуть' \
        in page and "Вы предложили этот черновик" in page
    assert first.post(f"{url}/approve", data={"csrf_token": csrf_token(page)}).status_code == 409

    review = second.get(url).get_data(as_text=True)
    assert '<button type="submit" class="btn">Одобрить и развернуть</button>' in review
    r = second.post(f"{url}/approve", data={"csrf_token": csrf_token(review)})
    assert r.status_code == 302
    done = second.get(url).get_data(as_text=True)
    new = next(p for p in second.get("/api/v1/processes").get_json() if p["id"] == PID)["current_version"]
    assert new > current and "одобрен и развёрнут" in done and f"{PID}, версия {new}" in done
    assert f"Новые заявления получают версию {new}" in second.get("/processes").get_data(as_text=True)

    # Rollback from the earlier version's page, with its confirmation.
    version_url = f"/processes/{PID}/versions/{current}"
    page = first.get(version_url).get_data(as_text=True)
    assert "Сделать текущей" in page
    unconfirmed = first.post(f"/processes/{PID}/current", data={"csrf_token": csrf_token(page), "version": current})
    assert unconfirmed.status_code == 422 and "Подтвердите" in unconfirmed.get_data(as_text=True)
    r = first.post(f"/processes/{PID}/current",
                   data={"csrf_token": csrf_token(page), "version": current, "confirm": "yes"})
    assert r.status_code == 302
    assert f"Новые заявления получают версию {current}" in first.get("/processes").get_data(as_text=True)
    assert "действует" in first.get(version_url).get_data(as_text=True)


def test_a_cli_deploy_makes_new_files_current_and_leaves_a_rollback_in_place(product: Product, tmp_path) -> None:
    settings = engine_settings(product.env)
    token = _staff(product, "analyst")[1]
    old = _catalogue(product, token)["current_version"]
    (tmp_path / "lanes.toml").write_bytes((PRODUCT_WORKFLOWS / "lanes.toml").read_bytes())

    def deploy(mark: str) -> int:
        for name, text in _fixed(mark).items():
            (tmp_path / name).write_text(text, encoding="utf-8")
        return next(d.version for d in deploy_workflows([tmp_path], actor="os:ci", settings=settings)
                    if d.process_id == PID)

    new = deploy(f"cli {tmp_path.name}")
    assert new > old and _catalogue(product, token)["current_version"] == new
    assert _api(product, token, "POST", f"/{PID}/current", json={"version": old}).status_code == 200
    assert deploy(f"cli {tmp_path.name}") == new  # the same files again: unchanged, the rollback stays
    assert _catalogue(product, token)["current_version"] == old
    newer = deploy(f"cli again {tmp_path.name}")
    assert newer > new and _catalogue(product, token)["current_version"] == newer
    assert _api(product, token, "POST", f"/{PID}/current", json={"version": old}).get_json()["changed"] is True


def test_a_draft_of_one_file_takes_the_rest_from_the_current_versions(product: Product) -> None:
    """Only the changed caller is uploaded: the process it calls and its decision table come from what runs
    now, at check and at approval; uploading only the shared chain makes new versions of both callers."""
    (_, first), (_, second) = _staff(product, "analyst"), _staff(product, "analyst")
    caller = {BPMN: _fixed("one file")[BPMN]}
    draft = _api(product, first, "POST", "/drafts", json={"files": caller}).get_json()["draft_id"]
    assert _api(product, first, "POST", f"/drafts/{draft}/validate").get_json() == {"problems": []}
    assert _api(product, first, "GET", f"/drafts/{draft}").get_json()["files"] == [BPMN]  # nothing copied in
    before = {p["id"]: p["current_version"] for p in _api(product, first, "GET", "").get_json()}
    assert _api(product, first, "POST", f"/drafts/{draft}/propose", json={"comment": "один файл"}).status_code == 200
    approved = _api(product, second, "POST", f"/drafts/{draft}/approve")
    assert approved.status_code == 200, approved.get_json()
    [created] = [d for d in approved.get_json()["versions"] if d["created"]]
    assert created["process_id"] == PID and created["version"] > before[PID]
    with product.app.app_context():
        sources = db.session.scalar(select(ProcessVersion.sources).where(
            ProcessVersion.process_id == PID, ProcessVersion.version == created["version"]))
        db.session.commit()
    assert sources[BPMN] == caller[BPMN]
    assert sources[CHAIN] == (PRODUCT_WORKFLOWS / CHAIN).read_text(encoding="utf-8")
    assert sources[DMN] == (PRODUCT_WORKFLOWS / DMN).read_text(encoding="utf-8")

    chain = (PRODUCT_WORKFLOWS / CHAIN).read_text(encoding="utf-8").replace(
        "</bpmn:definitions>", "<!-- shared change -->\n</bpmn:definitions>")
    draft = _api(product, first, "POST", "/drafts", json={"files": {CHAIN: chain}}).get_json()["draft_id"]
    assert _api(product, first, "POST", f"/drafts/{draft}/validate").get_json() == {"problems": []}
    proposed = _api(product, first, "POST", f"/drafts/{draft}/propose", json={"comment": "общая цепочка"})
    assert proposed.status_code == 200
    approved = _api(product, second, "POST", f"/drafts/{draft}/approve")
    assert approved.status_code == 200, approved.get_json()
    created = {d["process_id"] for d in approved.get_json()["versions"] if d["created"]}
    assert created == {PID, "certificate_organization", "personal_data_change"}  # every caller of the chain


def test_the_draft_page_names_the_files_taken_from_the_current_versions(product: Product) -> None:
    _, token = _staff(product, "analyst")
    draft = _api(product, token, "POST", "/drafts", json={"files": {BPMN: _fixed("page")[BPMN]}}).get_json()["draft_id"]
    client, _ = _page_client(product, "analyst")
    page = client.get(f"/processes/drafts/{draft}").get_data(as_text=True)
    assert "Из действующих версий</dt><dd>" + ", ".join(sorted([CHAIN, DMN])) in page
