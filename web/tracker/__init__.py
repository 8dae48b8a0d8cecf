"""The citizen's data tracker: who read their personal data, and a download of everything held about them."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    from .views import api, pages

    app.register_blueprint(pages)
    app.register_blueprint(api)
