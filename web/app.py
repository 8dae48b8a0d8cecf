"""The Flask application factory."""

from __future__ import annotations

from pathlib import Path

from flask import Flask, has_request_context
from jinja2 import ChoiceLoader, FileSystemLoader
from sqlalchemy.orm import Session

from engine import migration_models as _migration_models  # noqa: F401 - migration run tables for Alembic
from engine.context import Services
from engine.db import engine_options
from forms.typography import NumberSignExtension
from tasks.accounts import models as _account_models  # noqa: F401 - account tables in the metadata for Alembic
from tasks.appointments import models as _appointment_models  # noqa: F401 - appointment tables for Alembic
from tasks.cases.models import cases as _case_models  # noqa: F401 - case tables in the metadata for Alembic
from tasks.cases.models import employees as _employee_models  # noqa: F401 - employee tables for Alembic
from tasks.cases.models import notifications as _notification_models  # noqa: F401 - notification tables for Alembic
from tasks.cases.models import organizations as _organization_models  # noqa: F401 - organisation tables for Alembic
from tasks.config import AppConfig
from tasks.directory import models as _directory_models  # noqa: F401 - medical organisations directory for Alembic
from tasks.inbox import models as _inbox_models  # noqa: F401 - saved inbox filters for Alembic
from tasks.studio import models as _process_models  # noqa: F401 - studio draft table for Alembic
from tasks.support import models as _support_models  # noqa: F401 - support request tables for Alembic

from . import request_parsing, security
from .extensions import db, migrate

MIGRATIONS_DIR = str(Path(__file__).resolve().parent / "migrations")
FORMS_TEMPLATES_DIR = str(Path(__file__).resolve().parent.parent / "forms" / "templates")
# Generous: the upload routes enforce their own precise limits (5 MB per document) and answer 413 themselves.
MAX_REQUEST_BYTES = 32 * 1024 * 1024


def create_app(config: AppConfig, *, connect_services: bool = True) -> Flask:
    """Build the app from the process's configuration; `connect_services=False` is for migrations and
    account commands, which need no Redis."""
    settings = config.settings
    settings.ensure_dirs()
    app = Flask(__name__)
    app.config.update(
        SQLALCHEMY_DATABASE_URI=settings.database_url,
        SQLALCHEMY_ENGINE_OPTIONS=engine_options(settings.database_url),
        JSON_AS_ASCII=False,
        MAX_CONTENT_LENGTH=MAX_REQUEST_BYTES,
    )
    request_parsing.init_app(app)  # bounded JSON and integer parameters: odd input is a 400, never a 500
    app.jinja_loader = ChoiceLoader([app.jinja_loader, FileSystemLoader(FORMS_TEMPLATES_DIR)])
    app.jinja_env.add_extension(NumberSignExtension)  # «№» and its number on one line, in every template
    db.init_app(app)
    migrate.init_app(app, db, directory=MIGRATIONS_DIR, render_as_batch=True)
    app.extensions["backoffice_settings"] = settings
    app.extensions["backoffice_config"] = config
    if connect_services:
        with app.app_context():
            from engine.db import Database
            from tasks.process import start

            services: Services = start(config, Database(db.engine, shared=_request_session))
        app.extensions["backoffice"] = services
        from . import logs, metrics

        logs.init_app(app)  # first: every later hook and view logs with the request id
        metrics.init_app(app)
        from .health import bp as health_bp

        app.register_blueprint(health_bp, url_prefix="/api/v1")
        _register_account_blueprints(app)
        _register_case_blueprints(app)
        from . import api_docs, tracker

        tracker.init_app(app)
        api_docs.init_app(app)  # after every API blueprint: it documents the route table
        app.url_value_preprocessor(_typed_case_number)
        from forms.validation import format_checker, validate

        services.runtime.format_checker = format_checker()  # Russian identifiers in user-task forms
        services.runtime.form_validator = lambda schema, data, context: validate(schema, data, surface="api",
                                                                               context=context)
        security.init_app(app, settings, config)  # after every blueprint: it applies the rate limits to views
        from .legal import gate

        gate.init_app(app)  # after security: Bearer tokens are resolved before the gate asks who it is
    else:
        from tasks.process import install_config

        install_config(config)  # account commands hash passwords with the configured profile
    return app


def _request_session() -> Session | None:
    """Inside a request the engine works in the request's session: one session per request, so a view that
    read or wrote before calling the engine is never waited for by the engine's own transaction."""
    return db.session() if has_request_context() else None


def _typed_case_number(endpoint: str | None, values: dict | None) -> None:
    """A case number in a URL reads as typed: «А-2026-000123» (Cyrillic or Latin, any case) is its case."""
    if values and isinstance(values.get("number"), str):
        from tasks.cases.numbering import case_number_of

        from .logs import bind_for_request

        values["number"] = case_number_of(values["number"])
        bind_for_request(case_number=values["number"])


def _register_account_blueprints(app: Flask) -> None:
    from .accounts.api import bp as auth_api_bp
    from .accounts.enrolment_pages import bp as enrolment_links_bp
    from .accounts.views import bp as accounts_bp
    from .demo_mailbox import bp as demo_mailbox_bp

    app.register_blueprint(accounts_bp)
    from .accounts.reset_views import bp as password_reset_bp

    app.register_blueprint(password_reset_bp)
    app.register_blueprint(enrolment_links_bp)
    app.register_blueprint(auth_api_bp)
    from .accounts.profile_api import bp as account_api_bp
    from .accounts.profile_pages import bp as account_pages_bp
    from .legal.api import bp as legal_api_bp
    from .legal.pages import bp as legal_pages_bp

    app.register_blueprint(account_pages_bp)
    app.register_blueprint(account_api_bp)
    app.register_blueprint(legal_pages_bp)
    app.register_blueprint(legal_api_bp)
    app.register_blueprint(demo_mailbox_bp)
    from .notifications.api import bp as notifications_api_bp
    from .notifications.pages import bp as notifications_bp

    app.register_blueprint(notifications_bp)
    app.register_blueprint(notifications_api_bp)


def _register_case_blueprints(app: Flask) -> None:
    from .cases.api import bp as cases_api_bp
    from .cases.apply_pages import bp as apply_pages_bp
    from .cases.pages import bp as case_pages_bp
    from .cases.public_pages import bp as public_pages_bp
    from .cases.service_apply_pages import bp as service_apply_bp
    from .inbox.api import bp as inbox_api_bp

    app.register_blueprint(cases_api_bp)
    app.register_blueprint(public_pages_bp)
    app.register_blueprint(apply_pages_bp)
    app.register_blueprint(service_apply_bp)
    app.register_blueprint(case_pages_bp)
    from .cases.refusal_pages import bp as refusal_pages_bp

    app.register_blueprint(refusal_pages_bp)
    app.register_blueprint(inbox_api_bp)
    from .dashboard.audit import bp as staff_audit_bp
    from .dashboard.views import bp as dashboard_bp

    app.register_blueprint(dashboard_bp)
    app.register_blueprint(staff_audit_bp)
    from .analytics.views import bp as analytics_bp
    from .case_diagram import bp as case_diagram_bp

    app.register_blueprint(case_diagram_bp)
    app.register_blueprint(analytics_bp)
    from .inbox.pages import bp as inbox_pages_bp

    app.register_blueprint(inbox_pages_bp)
    from .cases.employee_pages import bp as employee_pages_bp
    from .cases.employees_api import bp as employees_api_bp

    app.register_blueprint(employees_api_bp)
    app.register_blueprint(employee_pages_bp)
    from .organizations import register_blueprints as register_organization_blueprints

    register_organization_blueprints(app)
    from . import studio_assets
    from .processes.api import bp as processes_api_bp
    from .processes.pages import bp as processes_bp

    app.register_blueprint(processes_bp)
    app.register_blueprint(processes_api_bp)
    _register_support_blueprints(app)
    _register_appointment_blueprints(app)
    from .instance_migration.api import bp as migrations_api_bp
    from .instance_migration.pages import bp as migrations_bp

    app.register_blueprint(migrations_bp)
    app.register_blueprint(migrations_api_bp)
    studio_assets.init_app(app)
    from .operations import pages as operations_pages

    operations_pages.init_app(app)
    from . import navigation

    navigation.init_app(app)


def _register_appointment_blueprints(app: Flask) -> None:
    from .appointments.api import bp as appointments_api_bp
    from .appointments.pages import bp as appointments_pages_bp

    app.register_blueprint(appointments_pages_bp)
    app.register_blueprint(appointments_api_bp)


def _register_support_blueprints(app: Flask) -> None:
    from tasks.cases.refusal_advice import REASON_STEPS

    from .faq.views import bp as faq_bp
    from .support.api import bp as support_api_bp
    from .support.hotline import bp as hotline_bp
    from .support.pages import bp as support_pages_bp

    app.register_blueprint(faq_bp)
    app.register_blueprint(support_pages_bp)
    app.register_blueprint(support_api_bp)
    app.register_blueprint(hotline_bp)
    from .accounts.my_policy import api as my_policy_api_bp
    from .accounts.my_policy import pages as my_policy_bp
    from .directory.api import bp as directory_api_bp
    from .directory.pages import bp as directory_bp

    app.register_blueprint(directory_bp)
    app.register_blueprint(directory_api_bp)
    app.register_blueprint(my_policy_bp)
    app.register_blueprint(my_policy_api_bp)
    app.add_template_global(frozenset(REASON_STEPS), "faq_reasons")  # refusal reasons with a FAQ page
