"""Running the WSGI app under gunicorn from our own console script."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from gunicorn.app.base import BaseApplication

from engine.private_files import PRIVATE_UMASK


class _Gunicorn(BaseApplication):
    def __init__(self, options: dict, app_factory: Callable[[], Any] | None = None) -> None:
        self.options = options
        self.app_factory = app_factory
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self):
        from engine.process_tuning import tune_gc

        if self.app_factory is not None:
            app = self.app_factory()
        else:
            import os

            from tasks.config import AppConfig
            from web.app import create_app

            app = create_app(AppConfig.from_env(os.environ))
        tune_gc()
        return app


def serve(host: str, port: int, *, processes: int = 1, threads: int = 8,
          app_factory: Callable[[], Any] | None = None) -> None:
    """Serve `app_factory()` (default: the back office web app) with gunicorn's threaded workers."""
    _Gunicorn({
        "bind": f"{host}:{port}", "workers": processes, "threads": threads, "worker_class": "gthread",
        "accesslog": "-", "timeout": 60, "graceful_timeout": 10, "umask": PRIVATE_UMASK,
        "logger_class": "web.logs.GunicornLogger",  # gunicorn's lines in our format, with the request id
    }, app_factory).run()
