"""Starting a process of the product with its configuration: the one place the pieces are put together.

Every entry point (the web app factory, the worker, the scheduler, the command line) reads the environment
once into an `AppConfig` and calls `start(config)`: the engine's services are built from `config.settings`
and installed, and the configuration itself is installed for the code RQ calls by name (operators and
jobs have no other way to reach it). Operators are registered when their modules are imported, before
any configuration exists; `start` gives them the retry policies and deadlines the configuration asks for.
"""

from __future__ import annotations

from engine import context
from engine.context import Services, build_services
from engine.db import Database

from .config import AppConfig

_config: AppConfig | None = None


def start(config: AppConfig, database: Database | None = None) -> Services:
    """Build and install the engine's services and this configuration (`database`: reuse the app's engine)."""
    services = build_services(config.settings, database)
    context.install(services)
    install_config(config)
    return services


def install_config(config: AppConfig) -> None:
    """Make `config` the process's configuration and tune the operators to it."""
    global _config
    from tasks.accounts import passwords
    from tasks.appointments import operators as appointment_operators
    from tasks.cases.operators import certificates as operators
    from tasks.cases.operators import employees as employee_operators
    from tasks.registries import operators as registry_operators
    from tasks.support import operators as support_operators

    for module in (registry_operators, employee_operators, operators, support_operators, appointment_operators):
        module.configure(config)
    registry_operators.reset_registry_client()  # the next call connects to this configuration's registry
    passwords.use_profile(config.password_hash_profile)
    _config = config


def installed_config() -> AppConfig | None:
    """The installed configuration, or None before an entry point installed one."""
    return _config


def current_config() -> AppConfig:
    """The configuration the process's entry point installed."""
    if _config is None:
        raise RuntimeError("no configuration installed: the process's entry point calls tasks.process.start()")
    return _config
