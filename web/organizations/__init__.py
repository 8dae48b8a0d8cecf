"""Organisations in the portal: the organisation's application page and colleague access to its cases."""

from __future__ import annotations

from flask import Flask


def register_blueprints(app: Flask) -> None:
    """The organisation pages and API (called by web.app's factory)."""
    from ..cases.org_apply_pages import bp as org_apply_bp
    from .api import bp as grants_api_bp
    from .pages import bp as grants_pages_bp

    app.register_blueprint(org_apply_bp)
    app.register_blueprint(grants_api_bp)
    app.register_blueprint(grants_pages_bp)
