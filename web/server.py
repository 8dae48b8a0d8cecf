"""Running the WSGI app under gunicorn from our own console script."""

from __future__ import annotations

from gunicorn.app.base import BaseApplication


class _Gunicorn(BaseApplication):
    def __init__(self, options: dict) -> None:
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self):
        from .app import create_app

        return create_app()


def serve(host: str, port: int, *, processes: int = 1, threads: int = 8) -> None:
    _Gunicorn({
        "bind": f"{host}:{port}", "workers": processes, "threads": threads, "worker_class": "gthread",
        "accesslog": "-", "timeout": 60, "graceful_timeout": 10,
    }).run()
