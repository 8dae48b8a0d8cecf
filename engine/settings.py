"""The engine's part of the process configuration.

The engine is a generic BPM runtime: it reads its own variables (database, Redis, queue, intervals) but is
told by the application what it cannot know itself, namely which packages register its operators, where
the form schemas are, which production calendar and time zone business days are counted in and where the
diagrams are by default. The application builds these settings once per process (together with its own
configuration) and passes them in; nothing here reads the environment by itself.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
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


def positive_int_env(env: Mapping[str, str], name: str, default: int) -> int:
    """`env[name]` as a whole number of at least 1, `default` when unset; anything else is refused by name."""
    raw = (env.get(name) or "").strip()
    if not raw:
        return default
    if not raw.isdigit() or int(raw) == 0:
        raise ValueError(f"{name} must be a positive whole number, got {raw!r}")
    return int(raw)


@dataclass
class Settings:
    data_dir: Path
    database_url: str
    redis_url: str | None  # None: embedded Redis in data_dir
    sla_overrides: str | None
    workflows_dir: Path
    forms_dirs: list[Path]
    # Business days: a ``holidays`` country code (and subdivision) and the time zone deadlines keep.
    calendar_country: str
    time_zone: str
    calendar_subdiv: str | None = None
    queue_name: str = "backoffice"
    # Modules whose import registers the service-task operators: the application's first, then extras.
    operator_modules: list[str] = field(default_factory=list)
    scheduler_interval: float = 0.5
    reconcile_interval: float = 5.0
    reconcile_grace: float = 10.0
    # RQ workers per worker process, each in a thread: one takes jobs while another waits for a registry.
    worker_threads: int = 2
    # For tests and drills only (engine/clock.py): a file holding seconds every process adds to its clock.
    clock_offset_file: Path | None = None

    @classmethod
    def from_env(
        cls,
        env: Mapping[str, str],
        *,
        workflows_dir: Path,
        forms_dirs: Sequence[Path],
        operator_modules: Sequence[str],
        calendar_country: str,
        time_zone: str,
        calendar_subdiv: str | None = None,
    ) -> Settings:
        """Read the engine's variables from `env`; the keyword arguments are the application's choices.

        BACKOFFICE_WORKFLOWS_DIR overrides `workflows_dir`, BACKOFFICE_OPERATOR_MODULES adds modules after
        `operator_modules` (extensions, test operators). CLOCK_OFFSET_FILE (tests and drills only) names
        the file whose seconds every process adds to its clock (engine/clock.py); unset, the system clock.
        """
        data_dir = Path(env.get("BACKOFFICE_DATA_DIR") or "./var").resolve()
        database_url = env.get("DATABASE_URL") or f"sqlite:///{data_dir / 'backoffice.sqlite3'}"
        extras = [m.strip() for m in env.get("BACKOFFICE_OPERATOR_MODULES", "").split(",") if m.strip()]
        return cls(
            data_dir=data_dir,
            database_url=database_url,
            redis_url=env.get("REDIS_URL") or None,
            sla_overrides=env.get("BACKOFFICE_SLA") or None,
            workflows_dir=Path(env.get("BACKOFFICE_WORKFLOWS_DIR") or workflows_dir),
            forms_dirs=list(forms_dirs),
            calendar_country=calendar_country,
            time_zone=time_zone,
            calendar_subdiv=calendar_subdiv,
            queue_name=env.get("BACKOFFICE_QUEUE") or "backoffice",
            operator_modules=list(dict.fromkeys([*operator_modules, *extras])),
            scheduler_interval=_float_env(env, "BACKOFFICE_SCHEDULER_INTERVAL", 0.5),
            reconcile_interval=_float_env(env, "BACKOFFICE_RECONCILE_INTERVAL", 5.0),
            reconcile_grace=_float_env(env, "BACKOFFICE_RECONCILE_GRACE", 10.0),
            worker_threads=positive_int_env(env, "BACKOFFICE_WORKER_THREADS", 2),
            clock_offset_file=Path(env["CLOCK_OFFSET_FILE"]).resolve() if env.get("CLOCK_OFFSET_FILE") else None,
        )

    def ensure_dirs(self) -> None:
        """The data folder, 0700: it holds the database, uploads and mail (engine/private_files.py)."""
        private_dir(self.data_dir)
