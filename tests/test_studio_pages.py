"""The studio's read-only pages and JSON endpoints, and the committed viewer bundle they link.

Through Flask's test client: the catalogue, a version's page with its data block and outline, the
source downloads, the JSON API, who may open what, the gzip static route and the build's manifest.
The drawing itself (bpmn-js, dmn-js in Chromium) is tests/test_browser_studio.py.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import html
import json
import re

import pytest
from sqlalchemy import select
from werkzeug.routing import IntegerConverter

from backoffice.provision import deploy_workflows
from engine.models import HumanTask, ProcessInstance
from tests.support.accounts import add_user, client_from, csrf_token, login
from tests.support.studio import DECISION_NAME, TASK_NAME, deploy_studio_process
from web.extensions import db
from web.security import content_security_policy
from web.studio_assets import MANIFEST, STUDIO_DIR, WATERMARK_STYLES

HASHED = re.compile(r"^(?P<stem>.+)-(?P<digest>[0-9a-f]{12})(?P<ext>\.[a-z0-9]+)$")
DATA_BLOCK = re.compile(r'<script type="application/json" id="diagram-source">(.*?)</script>', re.S)


def _signed_in(app, role: str):
    client = client_from(app)
    assert login(client, add_user(app, role)).status_code == 302
    return client


def _studio_urls(pid: str, bpmn: str) -> list[str]:
    return ["/processes", f"/processes/{pid}/versions/1", f"/processes/{pid}/versions/1?file={bpmn}",
            f"/processes/{pid}/versions/1/files/{bpmn}", "/api/v1/processes", f"/api/v1/processes/{pid}/versions/1"]


def test_catalogue_lists_each_process_with_its_versions_and_the_one_new_cases_get(backend, make_app, tmp_path) -> None:
    app = make_app()
    demo = deploy_studio_process(backend.settings(), tmp_path / "v1")
    changed = tmp_path / "v2"
    changed.mkdir()
    for name in (demo.bpmn_file, demo.dmn_file, "lanes.toml"):
        text = (tmp_path / "v1" / name).read_text(encoding="utf-8")
        (changed / name).write_text(text.replace("<text>5</text>", "<text>7</text>"), encoding="utf-8")
    deploy_workflows([changed], actor="second-analyst", settings=backend.settings())

    runtime = app.extensions["backoffice"].runtime
    for _ in range(2):  # on version 2: one case finished, one waiting on its user task
        runtime.start(demo.process_id, actor="test")
    with app.app_context():
        task_id = db.session.scalar(
            select(HumanTask.id).join(ProcessInstance, ProcessInstance.id == HumanTask.instance_id)
            .where(ProcessInstance.process_id == demo.process_id).limit(1))
    runtime.complete_user_task(task_id, {}, actor="test")

    client = _signed_in(app, "analyst")
    page = client.get("/processes").get_data(as_text=True)
    assert html.escape(demo.name, quote=False) in page and demo.name not in page
    assert f'href="/processes/{demo.process_id}/versions/2"' in page
    assert f'href="/processes/{demo.process_id}/versions/1"' in page
    assert "Новые заявления получают версию 2" in page
    assert "second-analyst" in page and "analyst-test" in page

    listed = client.get("/api/v1/processes")
    assert listed.status_code == 200
    entry = next(p for p in listed.get_json() if p["id"] == demo.process_id)
    assert entry["name"] == demo.name and entry["current_version"] == 2
    assert [(v["version"], v["deployed_by"], v["comment"], v["running"], v["finished"]) for v in entry["versions"]] \
        == [(2, "second-analyst", None, 1, 1), (1, "analyst-test", None, 0, 0)]
    assert all(v["deployed_at"].startswith("20") for v in entry["versions"])

    one = client.get(f"/api/v1/processes/{demo.process_id}/versions/1").get_json()
    assert one["id"] == demo.process_id and one["version"] == 1 and one["current"] is False
    assert set(one["sources"]) == {demo.bpmn_file, demo.dmn_file}
    assert one["sources"][demo.dmn_file] == (tmp_path / "v1" / demo.dmn_file).read_text(encoding="utf-8")
    missing = client.get(f"/api/v1/processes/{demo.process_id}/versions/9")
    assert missing.status_code == 404 and missing.get_json()["error"]["code"] == "not_found"


def test_version_page_passes_the_diagram_as_data_and_lists_its_elements_as_text(backend, make_app, tmp_path) -> None:
    app = make_app()
    demo = deploy_studio_process(backend.settings(), tmp_path)
    client = _signed_in(app, "admin")
    response = client.get(f"/processes/{demo.process_id}/versions/1")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    source = (tmp_path / demo.bpmn_file).read_text(encoding="utf-8")
    block = DATA_BLOCK.search(page)
    assert block and json.loads(block.group(1)) == source  # the XML, whole, as a JSON string
    assert "<" not in block.group(1) and "&" not in block.group(1)  # nothing the HTML parser could read
    assert 'data-studio-viewer="bpmn"' in page
    manifest = json.loads(MANIFEST.read_text(encoding="utf-8"))
    assert f'src="/static/studio/{manifest["entries"]["bpmn-viewer.js"]}"' in page
    assert manifest["entries"]["dmn-viewer.js"] not in page  # a BPMN page does not load dmn-js
    assert f'href="/static/studio/{manifest["entries"]["studio.css"]}"' in page
    assert html.escape(TASK_NAME, quote=False) in page and "<b>заявку</b>" not in page  # the outline, as text
    assert "Оператор" in page and "Задача сотрудника" in page
    assert f'href="/processes/{demo.process_id}/versions/1/files/{demo.dmn_file}"' in page

    dmn_page = client.get(f"/processes/{demo.process_id}/versions/1?file={demo.dmn_file}").get_data(as_text=True)
    assert 'data-studio-viewer="dmn"' in dmn_page and "правил — 2" in dmn_page
    assert f'src="/static/studio/{manifest["entries"]["dmn-viewer.js"]}"' in dmn_page
    assert html.escape(DECISION_NAME, quote=False) in dmn_page and "<script>срока" not in dmn_page

    assert response.headers["Content-Security-Policy"] == content_security_policy("'self'")  # the default
    dmn_csp = client.get(f"/processes/{demo.process_id}/versions/1?file={demo.dmn_file}").headers[
        "Content-Security-Policy"]
    assert "script-src 'self';" in dmn_csp and "'unsafe-inline'" not in dmn_csp
    allowed = re.search(r"style-src ([^;]+);", dmn_csp).group(1).split()
    assert allowed[:2] == ["'self'", "'unsafe-hashes'"]
    assert allowed[2:] == [f"'sha256-{base64.b64encode(hashlib.sha256(style.encode()).digest()).decode()}'"
                           for style in WATERMARK_STYLES]

    download = client.get(f"/processes/{demo.process_id}/versions/1/files/{demo.bpmn_file}")
    assert download.status_code == 200 and download.get_data(as_text=True) == source
    assert download.headers["Content-Disposition"] == f'attachment; filename="{demo.bpmn_file}"'
    assert client.get(f"/processes/{demo.process_id}/versions/1/files/other.bpmn").status_code == 404
    assert client.get(f"/processes/{demo.process_id}/versions/1?file=other.bpmn").status_code == 404
    assert client.get(f"/processes/{demo.process_id}/versions/2").status_code == 404


def test_a_diagram_without_di_is_explained_not_drawn_empty(backend, make_app, tmp_path) -> None:
    app = make_app()
    demo = deploy_studio_process(backend.settings(), tmp_path, with_di=False)
    page = _signed_in(app, "analyst").get(f"/processes/{demo.process_id}/versions/1").get_data(as_text=True)
    assert "В диаграмме нет разметки для отображения (BPMN DI)" in page
    assert "data-studio-viewer" not in page
    assert not [name for name in _manifest()["entries"].values() if name in page]  # no viewer is loaded
    assert html.escape(TASK_NAME, quote=False) in page  # the elements are still listed


STUDIO_BLUEPRINTS = ("processes", "processes_api")


def _studio_routes(app, values: dict[str, object]) -> list[tuple[str, str]]:
    """(method, URL) of every studio page and endpoint, read from the app's URL map, so that a route added
    later cannot escape the role checks below; ``values`` fill the URL's parts. Routed by blueprint, not by
    path: step analytics live under ``/processes/<id>`` too but serve supervisors as well."""
    adapter = app.url_map.bind("localhost")
    routes = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint.split(".")[0] not in STUDIO_BLUEPRINTS:
            continue
        args = {a: values.get(a, 1 if isinstance(rule._converters.get(a), IntegerConverter) else "x")
                for a in rule.arguments}
        routes += [(method, adapter.build(rule.endpoint, args, method=method))
                   for method in sorted(rule.methods - {"HEAD", "OPTIONS"})]
    return routes


def test_other_roles_and_anonymous_visitors_get_nothing_from_the_studio(backend, make_app, tmp_path) -> None:
    app = make_app()
    demo = deploy_studio_process(backend.settings(), tmp_path)
    admin = _signed_in(app, "admin")
    token = csrf_token(admin.get("/processes").get_data(as_text=True))
    draft = admin.post("/api/v1/processes/drafts", headers={"X-CSRFToken": token},
                       json={"files": {demo.bpmn_file: (tmp_path / demo.bpmn_file).read_text(encoding="utf-8")}})
    assert draft.status_code == 201, draft.get_json()
    routes = _studio_routes(app, {"process_id": demo.process_id, "version": 1, "name": demo.bpmn_file,
                                  "draft_id": draft.get_json()["draft_id"]})
    assert {("GET", "/processes"), ("POST", "/api/v1/processes/drafts")} <= set(routes) and len(routes) >= 18
    for role in ("citizen", "operator", "appeals", "supervisor"):
        client = _signed_in(app, role)
        headers = {"X-CSRFToken": csrf_token(client.get("/", follow_redirects=True).get_data(as_text=True))}
        for method, url in routes:
            response = client.open(url, method=method, headers=headers)
            assert response.status_code == 403, (role, method, url, response.status_code)
            if url.startswith("/api/"):
                assert response.get_json()["error"]["code"] == "forbidden"
    anonymous = client_from(app)
    headers = {"X-CSRFToken": csrf_token(anonymous.get("/login").get_data(as_text=True))}  # past the CSRF check
    for method, url in routes:
        response = anonymous.open(url, method=method, headers=headers)
        if url.startswith("/api/"):
            assert response.status_code == 401 and response.headers["WWW-Authenticate"] == "Bearer", (method, url)
        else:
            assert response.status_code == 302 and response.location.startswith("/login?next="), (method, url)
    assert all(admin.get(url).status_code == 200 for url in _studio_urls(demo.process_id, demo.bpmn_file))
    assert admin.get(f"/api/v1/processes/drafts/{draft.get_json()['draft_id']}").get_json()["status"] == "draft"


def _manifest() -> dict:
    return json.loads(MANIFEST.read_text(encoding="utf-8"))


def test_the_committed_build_matches_its_manifest() -> None:
    manifest = _manifest()
    assert set(manifest["entries"]) == {"bpmn-viewer.js", "dmn-viewer.js", "studio.css", "bpmn-diff.js",
                                        "bpmn-diff.css", "case-diagram.js", "case-diagram.css",
                                        "process-heatmap.js", "process-heatmap.css", "bpmn-modeler.js",
                                        "bpmn-modeler.css", "dmn-modeler.js", "dmn-modeler.css"}
    assert set(manifest["entries"].values()) <= set(manifest["files"])
    on_disk = {p.name for p in STUDIO_DIR.iterdir()}
    expected = {"manifest.json"} | set(manifest["files"]) | \
        {f"{name}.gz" for name, info in manifest["files"].items() if "gzip_bytes" in info}
    assert on_disk == expected
    for name, info in manifest["files"].items():
        content = (STUDIO_DIR / name).read_bytes()
        match = HASHED.match(name)
        assert match and hashlib.sha256(content).hexdigest()[:12] == match["digest"], name
        assert len(content) == info["bytes"], name
        if "gzip_bytes" in info:
            packed = (STUDIO_DIR / f"{name}.gz").read_bytes()
            assert len(packed) == info["gzip_bytes"] and gzip.decompress(packed) == content, name
    css = (STUDIO_DIR / manifest["entries"]["studio.css"]).read_text(encoding="utf-8")
    linked = set(re.findall(r'url\("\./([^"?#]+)', css))
    assert linked and linked <= set(manifest["files"])  # every font the style sheet names is in the build


@pytest.mark.parametrize("entry, content_type", [("bpmn-viewer.js", "text/javascript; charset=utf-8"),
                                                  ("dmn-viewer.js", "text/javascript; charset=utf-8"),
                                                  ("studio.css", "text/css; charset=utf-8"),
                                                  ("bpmn-diff.js", "text/javascript; charset=utf-8")])
def test_bundles_are_served_gzipped_and_cached_for_good(make_app, entry: str, content_type: str) -> None:
    client = client_from(make_app())
    name = _manifest()["entries"][entry]
    raw = (STUDIO_DIR / name).read_bytes()
    packed = client.get(f"/static/studio/{name}", headers={"Accept-Encoding": "gzip, deflate, br"})
    assert packed.status_code == 200 and packed.headers["Content-Encoding"] == "gzip"
    assert packed.headers["Content-Type"] == content_type
    assert packed.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    assert "Accept-Encoding" in packed.headers["Vary"] and "Set-Cookie" not in packed.headers
    assert gzip.decompress(packed.get_data()) == raw and len(packed.get_data()) < len(raw)
    plain = client.get(f"/static/studio/{name}", headers={"Accept-Encoding": "gzip;q=0, identity"})
    assert "Content-Encoding" not in plain.headers and plain.get_data() == raw
    font = next(n for n in _manifest()["files"] if n.endswith(".woff2"))
    served = client.get(f"/static/studio/{font}", headers={"Accept-Encoding": "gzip"})
    assert served.headers["Content-Type"] == "font/woff2" and "Content-Encoding" not in served.headers
    assert served.get_data() == (STUDIO_DIR / font).read_bytes()
    assert client.get("/static/studio/manifest.json").status_code == 404
    assert client.get("/static/studio/bpmn-viewer-000000000000.js").status_code == 404

