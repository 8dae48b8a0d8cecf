"""The app's engine services and configuration, for views: one accessor instead of a copy per module.

The app factory (web.app.create_app) keeps them in `app.extensions`; views reach them through these
functions, so the key names live in one place next to the factory.
"""

from __future__ import annotations

from flask import current_app

from engine.context import Services
from tasks.config import AppConfig


def services() -> Services:
    """The database, runtime and Redis of the running app (only when it was built with services)."""
    return current_app.extensions["backoffice"]


def app_config() -> AppConfig:
    """The product configuration: directories, URLs, flags."""
    return current_app.extensions["backoffice_config"]
