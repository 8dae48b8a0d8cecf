"""The app's engine services and configuration, for views: one accessor instead of a copy per module.

The app factory (web.app.create_app) keeps them in `app.extensions`; views and the modules that set
up an app reach them through these functions, so the key names live in one place next to the factory.
Without `app` they read the current app (inside a request or an app context).
"""

from __future__ import annotations

from flask import Flask, current_app

from engine.context import Services
from tasks.config import AppConfig


def services(app: Flask | None = None) -> Services:
    """The database, runtime and Redis of the running app (only when it was built with services)."""
    return (app or current_app).extensions["backoffice"]


def app_config(app: Flask | None = None) -> AppConfig:
    """The product configuration: directories, URLs, flags."""
    return (app or current_app).extensions["backoffice_config"]
