"""The studio's bundled viewers (web/static/studio, built by `make frontend`): named by content, served gzipped.

The build writes a manifest that maps each entry (``bpmn-viewer.js``, ``dmn-viewer.js``, ``studio.css``) to its
hashed file name; templates link through `studio_asset(entry)`, so a new build is picked up without
touching a template and a browser never runs a stale bundle. Because a name changes whenever the
bytes do, the files are cached for a year as immutable. A client that accepts gzip gets the
precompressed copy the build wrote next to the file (a viewer bundle gzipped is about a
third of its size or less), with `Content-Encoding: gzip` and the original file's type.
"""

from __future__ import annotations

import base64
import hashlib
import json
import mimetypes
from functools import cache
from pathlib import Path

from flask import Blueprint, Flask, Response, abort, request, send_file, url_for

from .security import content_security_policy, public
from .services import app_config

STUDIO_DIR = Path(__file__).parent / "static" / "studio"
MANIFEST = STUDIO_DIR / "manifest.json"
IMMUTABLE = "public, max-age=31536000, immutable"
TYPES = {".js": "text/javascript", ".css": "text/css",  # Flask adds "; charset=utf-8" to text types
         ".svg": "image/svg+xml",
         ".woff2": "font/woff2", ".woff": "font/woff", ".ttf": "font/ttf", ".eot": "application/vnd.ms-fontobject"}

# The bpmn.io watermark of dmn-js (dmn-js-shared's PoweredByUtil, which its licence says must not be changed)
# is markup with these style attributes: the logo link, its image, and the notice a click on it opens.
# A page with a DMN viewer allows exactly these strings by hash; any other inline style stays blocked.
WATERMARK_STYLES = (
    "position: absolute; bottom: 15px; right: 15px; z-index: 100;",
    "vertical-align:middle",
    "z-index: 1001;position: fixed;top: 0;left: 0;right: 0;bottom: 0",
    "width: 100%;height: 100%;background: rgba(40,40,40,0.2)",
    "position: absolute;left: 50%;top: 40%;transform: translate(-50%);width: 260px;padding: 10px;"
    "background: white;box-shadow: 0 1px 4px rgba(0,0,0,0.3);font-family: Helvetica, Arial, sans-serif;"
    "font-size: 14px;display: flex;line-height: 1.3",
    "margin: 15px 20px 15px 10px; align-self: center;",
)

# bpmn-js-properties-panel writes its two containers as markup with these style attributes (the panel's
# layout: full height, and a header that does not stretch); the modeler's page allows exactly these.
PROPERTIES_PANEL_STYLES = ("height: 100%", "flex: none; height: auto")

bp = Blueprint("studio_assets", __name__)


def _csp_allowing(styles: tuple[str, ...], style_nonce: str | None = None) -> str:
    """The product's CSP plus exactly these style attributes by hash (script-src stays 'self'), and the one
    style element carrying `style_nonce` when given."""
    hashes = tuple("sha256-" + base64.b64encode(hashlib.sha256(style.encode()).digest()).decode()
                   for style in styles)
    nonce = (f"nonce-{style_nonce}",) if style_nonce else ()
    return content_security_policy(app_config().frame_ancestors, hashes + nonce)


def viewer_csp(style_nonce: str | None = None) -> str:
    """The CSP of a page with a DMN viewer: the bpmn.io watermark's style attributes are allowed.

    `style_nonce`: the DMN editor's expression editors (CodeMirror) keep their styles in one <style>
    element, which the page creates with this nonce; no other style element is allowed.
    """
    return _csp_allowing(WATERMARK_STYLES, style_nonce)


def modeler_csp() -> str:
    """The CSP of the BPMN modeler's page: the properties panel's two container styles are allowed."""
    return _csp_allowing(PROPERTIES_PANEL_STYLES)


@cache
def manifest() -> dict:
    """{"entries": {entry: file name}, "files": {file name: {"bytes", "gzip_bytes"?}}} of the committed build."""
    return json.loads(MANIFEST.read_text(encoding="utf-8"))


def studio_asset(entry: str) -> str:
    """The URL of a bundle entry's current file (a KeyError names an entry the build does not make)."""
    return url_for("studio_assets.asset", name=manifest()["entries"][entry])


def _content_type(name: str) -> str:
    suffix = Path(name).suffix
    return TYPES.get(suffix) or mimetypes.guess_type(name)[0] or "application/octet-stream"


@bp.get("/static/studio/<name>")
@public
def asset(name: str) -> Response:
    """One file of the build, gzipped when the client accepts it; names outside the manifest are 404."""
    files = manifest()["files"]
    if name not in files:
        abort(404)
    gzipped = "gzip_bytes" in files[name] and request.accept_encodings.quality("gzip") > 0
    path = STUDIO_DIR / (name + ".gz" if gzipped else name)
    response = send_file(path, mimetype=_content_type(name), conditional=True, etag=True, max_age=None)
    if gzipped:
        response.headers["Content-Encoding"] = "gzip"
    response.headers["Vary"] = "Accept-Encoding"
    response.headers["Cache-Control"] = IMMUTABLE
    return response


def init_app(app: Flask) -> None:
    """Serve the build and give templates `studio_asset(entry)`."""
    app.register_blueprint(bp)
    app.add_template_global(studio_asset, "studio_asset")
