"""WSGI entry point for external servers (`gunicorn web.wsgi:app`)."""

from .app import create_app

app = create_app()
