"""The Flask application factory."""

from __future__ import annotations

from pathlib import Path

from flask import Flask

from engine.context import Services, build_services, install
from engine.db import engine_options
from engine.settings import Settings

from .extensions import db, migrate

MIGRATIONS_DIR = str(Path(__file__).resolve().parent / "migrations")


def create_app(settings: Settings | None = None, *, connect_services: bool = True) -> Flask:
    """Build the app; `connect_services=False` is for migrations, which need no Redis."""
    settings = settings or Settings.from_env()
    settings.ensure_dirs()
    app = Flask(__name__)
    app.config.update(
        SQLALCHEMY_DATABASE_URI=settings.database_url,
        SQLALCHEMY_ENGINE_OPTIONS=engine_options(settings.database_url),
        JSON_AS_ASCII=False,
    )
    app.json.ensure_ascii = False
    db.init_app(app)
    migrate.init_app(app, db, directory=MIGRATIONS_DIR, render_as_batch=True)
    app.extensions["backoffice_settings"] = settings
    if connect_services:
        with app.app_context():
            from engine.db import Database

            services: Services = build_services(settings, Database(db.engine))
        install(services)
        app.extensions["backoffice"] = services
        from .health import bp as health_bp

        app.register_blueprint(health_bp, url_prefix="/api/v1")
    return app
