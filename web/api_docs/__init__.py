"""The API described: the OpenAPI document at /api/v1/openapi.json and a readable page at /api/docs."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    from .views import bp

    app.register_blueprint(bp)
