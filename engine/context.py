"""The process-wide runtime objects, built once from Settings.

RQ imports job functions by name, so a job needs a way to reach the runtime of its worker
process; the worker entry point installs it here before it starts consuming jobs.
"""

from __future__ import annotations

from dataclasses import dataclass

from redis import Redis

from .calendar import BusinessCalendar
from .clock import utcnow
from .db import Database
from .dispatch import Dispatcher
from .embedded_redis import embedded_redis_url
from .operators import load_operator_modules
from .runtime import Runtime
from .scripting import ScriptEnvironment
from .service_worker import ServiceWorker
from .settings import Settings
from .sla import SlaRegistry, make_script_functions


@dataclass
class Services:
    settings: Settings
    database: Database
    redis: Redis
    runtime: Runtime
    script_env: ScriptEnvironment
    sla: SlaRegistry


_services: Services | None = None
_worker: ServiceWorker | None = None
_catalogue: SlaRegistry | None = None


def redis_url(settings: Settings) -> str:
    return settings.redis_url or embedded_redis_url(settings.data_dir)


def sla_registry(settings: Settings) -> SlaRegistry:
    """The SLA catalogue: ``sla.toml`` next to the diagrams with the environment's overrides."""
    return SlaRegistry.from_sources(settings.workflows_dir / "sla.toml", settings.sla_overrides)


def build_script_env(settings: Settings) -> tuple[ScriptEnvironment, SlaRegistry]:
    registry = sla_registry(settings)
    functions = make_script_functions(registry, BusinessCalendar(), utcnow)
    return ScriptEnvironment(functions), registry


def build_services(settings: Settings | None = None, database: Database | None = None) -> Services:
    settings = settings or Settings.from_env()
    settings.ensure_dirs()
    load_operator_modules(["tasks", *settings.operator_modules])
    database = database or Database.from_url(settings.database_url)
    redis = Redis.from_url(redis_url(settings))
    script_env, sla = build_script_env(settings)
    runtime = Runtime(database, Dispatcher(redis, settings.queue_name), script_env)
    return Services(settings, database, redis, runtime, script_env, sla)


def install(services: Services) -> None:
    global _services, _worker
    _services = services
    _worker = ServiceWorker(services.runtime)


def get_services() -> Services:
    if _services is None:
        install(build_services())
    assert _services is not None
    return _services


def sla_catalogue() -> SlaRegistry:
    """The SLA catalogue this process's timers use; without installed services (a script, a unit test)
    the same catalogue is read from the settings, so text about a term never needs a database."""
    global _catalogue
    if _services is not None:
        return _services.sla
    if _catalogue is None:
        _catalogue = sla_registry(Settings.from_env())
    return _catalogue


def get_service_worker() -> ServiceWorker:
    get_services()
    assert _worker is not None
    return _worker
