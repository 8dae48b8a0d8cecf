"""The process-wide runtime objects, built once from Settings.

RQ imports job functions by name, so a job needs a way to reach the runtime of its worker
process; every entry point (web app, worker, scheduler, command line) builds the services from the
configuration it was given and installs them here before it does any work. Nothing is built on demand:
a process that asks before its entry point installed them has a bug, and is told so.
"""

from __future__ import annotations

from dataclasses import dataclass

from redis import Redis

from . import clock
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
    calendar: BusinessCalendar


_services: Services | None = None
_worker: ServiceWorker | None = None


def redis_url(settings: Settings) -> str:
    return settings.redis_url or embedded_redis_url(settings.data_dir)


def sla_registry(settings: Settings) -> SlaRegistry:
    """The SLA catalogue: ``sla.toml`` next to the diagrams with the environment's overrides."""
    return SlaRegistry.from_sources(settings.workflows_dir / "sla.toml", settings.sla_overrides)


def business_calendar(settings: Settings) -> BusinessCalendar:
    """The production calendar the application chose (country, subdivision, time zone)."""
    return BusinessCalendar(settings.calendar_country, settings.calendar_subdiv, tz=settings.time_zone)


def build_script_env(settings: Settings, calendar: BusinessCalendar | None = None
                     ) -> tuple[ScriptEnvironment, SlaRegistry]:
    registry = sla_registry(settings)
    functions = make_script_functions(registry, calendar or business_calendar(settings), utcnow)
    return ScriptEnvironment(functions), registry


def build_services(settings: Settings, database: Database | None = None) -> Services:
    """Connect what `settings` describe: the operators' modules are imported, the database and Redis opened."""
    settings.ensure_dirs()
    clock.use_offset_file(settings.clock_offset_file)
    load_operator_modules(settings.operator_modules)
    database = database or Database.from_url(settings.database_url)
    redis = Redis.from_url(redis_url(settings))
    calendar = business_calendar(settings)
    script_env, sla = build_script_env(settings, calendar)
    runtime = Runtime(database, Dispatcher(redis, settings.queue_name), script_env)
    return Services(settings, database, redis, runtime, script_env, sla, calendar)


def install(services: Services) -> None:
    global _services, _worker
    _services = services
    _worker = ServiceWorker(services.runtime)


def get_services() -> Services:
    """The services the process's entry point installed."""
    if _services is None:
        raise RuntimeError("no engine services installed: the process's entry point builds them from its "
                           "configuration and calls engine.context.install() first")
    return _services


def sla_catalogue() -> SlaRegistry:
    """The SLA catalogue this process's timers use."""
    return get_services().sla


def get_service_worker() -> ServiceWorker:
    get_services()
    assert _worker is not None
    return _worker
