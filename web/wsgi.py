"""WSGI entry point for external servers (`gunicorn web.wsgi:app`): importing it builds the app from the
process's environment, which is what such a server expects of the module it is given."""

import os

from tasks.config import AppConfig

from .app import create_app

app = create_app(AppConfig.from_env(os.environ))
