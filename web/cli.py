"""The `backoffice` console script."""

from __future__ import annotations

import json
import logging
import sys
import tomllib
from pathlib import Path

import click

from engine.settings import Settings


def _setup_logging() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for noisy in ("spiff", "spiff.task", "spiff.workflow", "SpiffWorkflow"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


@click.group()
def main() -> None:
    """OMS certificate back office."""
    _setup_logging()


@main.group("db")
def db_group() -> None:
    """Database schema."""


@db_group.command("upgrade")
def db_upgrade() -> None:
    """Apply all Alembic migrations."""
    upgrade_database()
    click.echo("database is up to date")


def upgrade_database(settings: Settings | None = None) -> None:
    from flask_migrate import upgrade

    from .app import create_app

    app = create_app(settings, connect_services=False)
    with app.app_context():
        upgrade()


@main.group("workflows")
def workflows_group() -> None:
    """Process diagrams."""


@workflows_group.command("deploy")
@click.argument("files", nargs=-1, type=click.Path(exists=True, path_type=Path))
@click.option("--actor", default="cli", help="Who deploys (recorded in the journal).")
def workflows_deploy(files: tuple[Path, ...], actor: str) -> None:
    """Validate and deploy BPMN/DMN files (default: the workflows/ directory)."""
    from engine.errors import DeploymentError

    try:
        results = deploy_workflows(list(files), actor)
    except DeploymentError as exc:
        click.echo("deployment refused:", err=True)
        for problem in exc.problems:
            click.echo(f"  {problem}", err=True)
        sys.exit(1)
    for r in results:
        state = "deployed" if r.created else "unchanged"
        click.echo(f"{r.process_id} v{r.version}: {state}")


def deploy_workflows(files: list[Path], actor: str = "cli", settings: Settings | None = None) -> list:
    from engine.context import build_script_env
    from engine.db import Database
    from engine.deploy import Deployer, sources_from_paths
    from engine.operators import load_operator_modules

    settings = settings or Settings.from_env()
    load_operator_modules(["tasks", *settings.operator_modules])
    paths = files or [settings.workflows_dir]
    sources = sources_from_paths(paths)
    if not sources:
        return []
    lanes: dict[str, str] = {}
    for directory in {s.directory for s in sources if s.directory}:
        lanes_file = directory / "lanes.toml"
        if lanes_file.is_file():
            lanes.update(tomllib.loads(lanes_file.read_text(encoding="utf-8")).get("lanes", {}))
    script_env, _ = build_script_env(settings)
    deployer = Deployer(Database.from_url(settings.database_url), script_env, settings.forms_dirs)
    return deployer.deploy(sources, lanes, actor=actor)


@main.command("worker")
@click.option("--burst", is_flag=True, help="Exit when the queue is empty.")
@click.option("--name", default=None)
def worker(burst: bool, name: str | None) -> None:
    """Run an RQ worker for service tasks."""
    from tasks.worker import run_worker

    run_worker(burst=burst, name=name)


@main.command("scheduler")
def scheduler() -> None:
    """Run the timer/retry/reconcile scheduler."""
    from tasks.scheduler import run_scheduler

    run_scheduler()


@main.command("web")
@click.option("--host", default="127.0.0.1")
@click.option("--port", default=8000, type=int)
@click.option("--threads", default=8, type=int)
@click.option("--processes", default=1, type=int)
def web(host: str, port: int, threads: int, processes: int) -> None:
    """Serve the web application with gunicorn."""
    from .server import serve

    serve(host, port, processes=processes, threads=threads)


@main.command("run")
@click.option("--host", default="127.0.0.1")
@click.option("--port", default=8000, type=int)
@click.option("--workers", default=2, type=int)
def run(host: str, port: int, workers: int) -> None:
    """Everything at once: migrate, deploy, then web + workers + scheduler, supervised."""
    from .supervisor import run_all

    sys.exit(run_all(host, port, workers))


@main.group("incidents")
def incidents_group() -> None:
    """Service calls that used up their retries."""


@incidents_group.command("list")
def incidents_list() -> None:
    from engine.context import get_services
    from engine.incidents import list_incidents

    for inc in list_incidents(get_services().database):
        click.echo(json.dumps(inc, ensure_ascii=False, default=str))


@incidents_group.command("retry")
@click.argument("call_id", type=int)
@click.option("--actor", default="cli")
def incidents_retry(call_id: int, actor: str) -> None:
    from engine.context import get_services

    count = get_services().runtime.requeue_calls([call_id], statuses=("incident",), reset_attempts=True,
                                                 actor=actor)
    if not count:
        click.echo(f"no incident with id {call_id}", err=True)
        sys.exit(1)
    click.echo(f"incident {call_id} re-queued")


if __name__ == "__main__":
    main()
