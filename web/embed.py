"""Embedded mode: the pages inside another portal's iframe, without our header and footer.

`?embed=1` on any page switches the mode on for the rest of the session (so links and form posts
inside the iframe need not carry the flag), `?embed=0` switches it off. Templates read `g.embed`.
Framing itself is governed by the CSP `frame-ancestors` (FRAME_ANCESTORS); a cross-site iframe
also needs SESSION_COOKIE_SAMESITE=None with SESSION_COOKIE_SECURE=1, or the browser withholds the
session cookie from the frame.
"""

from __future__ import annotations

from flask import Flask, g, request, session

from .api_errors import is_api_request


def _embed_mode() -> None:
    g.embed = False
    if is_api_request() or request.endpoint == "static":
        return
    flag = request.args.get("embed")
    if flag in ("0", "1"):
        session["embed"] = flag == "1"
    g.embed = bool(session.get("embed"))


def init_app(app: Flask) -> None:
    app.before_request(_embed_mode)
