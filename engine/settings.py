"""Process-wide configuration read from the environment (all optional, see README)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from engine.private_files import private_dir


def _float_env(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        return float(raw)
    except ValueError as exc:
        raise ValueError(f"{name} must be a number, got {raw!r}") from exc


@dataclass
class Settings:
    data_dir: Path
    database_url: str
    redis_url: str | None  # None: embedded Redis in data_dir
    sla_overrides: str | None
    workflows_dir: Path
    forms_dirs: list[Path]
    queue_name: str = "backoffice"
    operator_modules: list[str] = field(default_factory=list)
    scheduler_interval: float = 0.5
    reconcile_interval: float = 5.0
    reconcile_grace: float = 10.0

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """Read settings from `env` (default: os.environ); tests and benchmarks pass their own mapping."""
        env = os.environ if env is None else env
        root = Path(__file__).resolve().parent.parent
        data_dir = Path(env.get("BACKOFFICE_DATA_DIR") or "./var").resolve()
        database_url = env.get("DATABASE_URL") or f"sqlite:///{data_dir / 'backoffice.sqlite3'}"
        modules = [m.strip() for m in env.get("BACKOFFICE_OPERATOR_MODULES", "").split(",") if m.strip()]
        return cls(
            data_dir=data_dir,
            database_url=database_url,
            redis_url=env.get("REDIS_URL") or None,
            sla_overrides=env.get("BACKOFFICE_SLA") or None,
            workflows_dir=Path(env.get("BACKOFFICE_WORKFLOWS_DIR") or root / "workflows"),
            forms_dirs=[root / "forms" / "schemas"],
            queue_name=env.get("BACKOFFICE_QUEUE") or "backoffice",
            operator_modules=modules,
            scheduler_interval=_float_env(env, "BACKOFFICE_SCHEDULER_INTERVAL", 0.5),
            reconcile_interval=_float_env(env, "BACKOFFICE_RECONCILE_INTERVAL", 5.0),
            reconcile_grace=_float_env(env, "BACKOFFICE_RECONCILE_GRACE", 10.0),
        )

    def ensure_dirs(self) -> None:
        """The data folder, 0700: it holds the database, uploads and mail (engine/private_files.py)."""
        private_dir(self.data_dir)
