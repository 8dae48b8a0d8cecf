"""Each kind of broken diagram is refused by the studio's draft page and its JSON API, and nothing changes.

The rows are the deploy tests' table (tests/support/broken_diagrams.py), so every check the validation has
is tried on every surface: the page shows the problem in the row of its element (a link that selects the
element on the drawing), `validate` lists it once, `propose` and `approve` answer 422 with it, and the
process keeps its one version as the current one.
"""

from __future__ import annotations

import html
import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from io import BytesIO

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import update

from engine.deploy import Source
from engine.deployment import build_deployer, read_lanes
from tasks.studio.models import PROPOSED, ProcessDraft
from tests.support.accounts import PASSWORD, add_user, bearer, client_from, csrf_token, fresh_otp, login
from tests.support.broken_diagrams import BROKEN, Row, diagram, drawn
from web.app import create_app
from web.extensions import db

FORM = b"operator_review.schema.json"  # drafts find forms in the configured form directories only
ROW = re.compile(r"<tr>.*?</tr>", re.S)


def _content(row: Row, pid: str) -> bytes:
    return row.content(pid).replace(b"review.schema.json", FORM)


@dataclass
class Studio:
    app: Flask
    pid: str
    page: FlaskClient  # an analyst signed in to the pages
    token: str  # the same analyst's Bearer token
    other: str  # another analyst's e-mail (the proposer of a draft waiting for approval)


@pytest.fixture(scope="module")
def studio(backend) -> Iterator[Studio]:
    """The app, and a process deployed once (version 1, current) that every broken row tries to replace."""
    app = create_app(backend.config())
    pid = f"surfaces_{uuid.uuid4().hex[:6]}"
    settings = backend.settings()
    build_deployer(settings).deploy([Source("base.bpmn", drawn(diagram(pid)).replace(b"review.schema.json", FORM))],
                                    read_lanes([settings.workflows_dir]), actor="test")
    email = add_user(app, "analyst")
    page = client_from(app)
    assert login(page, email).status_code == 302
    r = client_from(app).post("/api/v1/auth/token",
                              json={"email": email, "password": PASSWORD, "otp": fresh_otp(app, email)})
    assert r.status_code == 200, r.get_json()
    yield Studio(app, pid, page, r.get_json()["token"], add_user(app, "analyst"))
    with app.app_context():
        db.engine.dispose()


def _api(studio: Studio, method: str, path: str, **kwargs):
    return client_from(studio.app).open(f"/api/v1/processes{path}", method=method, headers=bearer(studio.token),
                                        **kwargs)


def _matching(problems: list[dict], row: Row, pid: str) -> list[dict]:
    return [p for p in problems if p["code"] == row.code and p["element_id"] == row.element_id(pid)
            and row.fragment in p["message"]]


def _unchanged(studio: Studio) -> None:
    entry = next(p for p in _api(studio, "GET", "").get_json() if p["id"] == studio.pid)
    assert entry["current_version"] == 1 and [v["version"] for v in entry["versions"]] == [1]


def test_the_base_draft_passes(studio: Studio) -> None:
    created = _api(studio, "POST", "/drafts", json={"files": {"base.bpmn": _content(Row("ok", [], "", None, ""),
                                                                                        studio.pid).decode()}})
    assert _api(studio, "POST", f"/drafts/{created.get_json()['draft_id']}/validate").get_json() == {"problems": []}


@pytest.mark.parametrize("row", BROKEN, ids=[row.case for row in BROKEN])
def test_broken_draft_refused_by_the_page_and_the_api(studio: Studio, row: Row) -> None:
    pid, name = studio.pid, f"{row.case}.bpmn"
    upload = {"csrf_token": csrf_token(studio.page.get("/processes").get_data(as_text=True)),
              "files": [(BytesIO(_content(row, pid)), name)]}
    r = studio.page.post("/processes/drafts", data=upload, content_type="multipart/form-data")
    assert r.status_code == 302, r.get_data(as_text=True)
    draft_url = r.location
    draft_id = int(draft_url.rsplit("/", 1)[1])

    # The page: the problem in its element's row, as a link to the element when the file is drawn.
    page = studio.page.get(draft_url).get_data(as_text=True)
    element = row.element_id(pid)
    rows = [tr for tr in ROW.findall(page) if html.escape(row.fragment, quote=False) in tr
            and (element is None or f"<code>{element}</code>" in tr)]
    assert len(rows) == 1, page
    if element and 'id="draft-source-1"' in page:
        assert f'data-problem-element="{element}"' in rows[0] and 'data-problem-source="draft-source-1"' in rows[0]
    refused = studio.page.post(f"{draft_url}/propose", data={"csrf_token": csrf_token(page), "comment": "Проверка"})
    assert refused.status_code == 422 and "Исправьте проблемы" in refused.get_data(as_text=True)

    # The API: the same problem once from validate, and from propose and approve with 422.
    problems = _api(studio, "POST", f"/drafts/{draft_id}/validate").get_json()["problems"]
    assert len(_matching(problems, row, pid)) == 1, problems
    assert len({tuple(p.values()) for p in problems}) == len(problems)
    assert all(p["file"] == name for p in problems)
    proposed = _api(studio, "POST", f"/drafts/{draft_id}/propose", json={"comment": "Проверка"})
    assert proposed.status_code == 422 and proposed.get_json()["error"]["code"] == "draft_invalid"
    assert len(_matching(proposed.get_json()["problems"], row, pid)) == 1
    with studio.app.app_context():  # as if proposed by another analyst before the checks tightened
        db.session.execute(update(ProcessDraft).where(ProcessDraft.id == draft_id)
                           .values(status=PROPOSED, proposer=studio.other, comment="Проверка"))
        db.session.commit()
    approved = _api(studio, "POST", f"/drafts/{draft_id}/approve")
    assert approved.status_code == 422 and approved.get_json()["error"]["code"] == "draft_invalid"
    assert len(_matching(approved.get_json()["problems"], row, pid)) == 1
    assert _api(studio, "GET", f"/drafts/{draft_id}").get_json()["status"] == "proposed"
    _unchanged(studio)
