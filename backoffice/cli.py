"""The `backoffice` console script."""

from __future__ import annotations

import json
import logging
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from engine.private_files import restrict_umask
from tasks.accounts.roles import ROLES, STAFF_ROLES
from web.logs import setup_logging

from .provision import deploy_workflows, upgrade_database

if TYPE_CHECKING:
    from engine.context import Services
    from tasks.config import AppConfig


def process_config() -> AppConfig:
    """This command's configuration: read from the environment once per invocation, when a command first
    needs it (kept on the command line's root context, so each invocation reads its own environment)."""
    from tasks.config import AppConfig

    root = click.get_current_context().find_root()
    if not isinstance(root.obj, AppConfig):
        root.obj = AppConfig.from_env(os.environ)
    return root.obj


def started_services() -> Services:
    """The engine's services for a command that steps cases, built from the process's configuration."""
    from tasks.process import start

    return start(process_config())


@click.group()
def main() -> None:
    """OMS certificate back office."""
    restrict_umask()  # every file a part creates (database, uploads, mail, Redis) is private to the service's user
    try:
        setup_logging(os.environ)
    except ValueError as exc:  # LOG_FORMAT misspelt: say so, not a traceback
        raise click.UsageError(str(exc)) from None


@main.group("db")
def db_group() -> None:
    """Database schema."""


@db_group.command("upgrade")
def db_upgrade() -> None:
    """Apply all Alembic migrations."""
    upgrade_database(process_config())
    click.echo("database is up to date")


@main.group("workflows")
def workflows_group() -> None:
    """Process diagrams."""


@workflows_group.command("deploy")
@click.argument("files", nargs=-1, type=click.Path(exists=True, path_type=Path))
@click.option("--actor", default=None,
              help="Who deploys, for an automated caller (default: os:<the operating-system user>).")
@click.option("--comment", default=None, help="Why this version is deployed (the catalogue shows it).")
def workflows_deploy(files: tuple[Path, ...], actor: str | None, comment: str | None) -> None:
    """Validate and deploy BPMN/DMN files (default: the workflows/ directory).

    Runs the same validation as the studio; when anything fails, every problem is printed once as
    «file: element id («name»): message» and nothing is deployed.
    """
    from engine.errors import DeploymentError

    try:
        results = deploy_workflows(list(files), actor or os_actor(), process_config().settings, comment=comment)
    except DeploymentError as exc:
        click.echo(f"deployment refused, nothing deployed ({len(exc.problems)} problems):", err=True)
        for problem in exc.problems:
            click.echo(f"  {problem}", err=True)
        sys.exit(1)
    for r in results:
        state = "deployed" if r.created else "unchanged"
        click.echo(f"{r.process_id} v{r.version}: {state}")


@workflows_group.command("layout")
@click.argument("files", nargs=-1, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--check", is_flag=True, help="Change nothing; exit 1 when a file's diagram is out of date.")
def workflows_layout(files: tuple[Path, ...], check: bool) -> None:
    """(Re)draw the diagram (BPMN DI) of BPMN files from their process model (default: workflows/*.bpmn).

    Exits 1 with --check when a drawing is out of date, and whenever a drawing has a problem left.
    """
    from engine.diagram_layout import diagram_problems, layout_bpmn

    paths = list(files) or sorted(process_config().settings.workflows_dir.glob("*.bpmn"))
    stale = []
    for path in paths:
        content = path.read_bytes()
        try:
            laid_out = layout_bpmn(content)
        except ValueError as exc:
            click.echo(f"{path}: {exc}", err=True)
            sys.exit(1)
        for problem in diagram_problems(laid_out):  # a drawing the layout could not keep clean
            click.echo(f"{path}: {problem}", err=True)
            stale.append(path)
        if laid_out == content:
            click.echo(f"{path}: unchanged")
        elif check:
            stale.append(path)
            click.echo(f"{path}: diagram is out of date", err=True)
        else:
            path.write_bytes(laid_out)
            click.echo(f"{path}: laid out")
    if stale:
        sys.exit(1)


def os_actor() -> str:
    """The journal's actor for a deploy typed by a person: ``os:<login>`` of whoever ran the command.

    A deploy from a shell is done by the person logged in to the server, and the operating system is the
    only witness of who that is; a free-text default such as "cli" would hide them. ``--actor`` stays for
    automated callers (a CI job, ``backoffice run``) that act on someone else's behalf and say so; it is
    not an authentication, which is why an interactive user should not need it.
    """
    import getpass

    try:
        return f"os:{getpass.getuser()}"
    except (KeyError, OSError):  # no login name (a container without a passwd entry)
        import os

        return f"os:uid={os.getuid()}"


@main.command("worker")
@click.option("--burst", is_flag=True, help="Exit when the queue is empty.")
@click.option("--name", default=None)
@click.option("--processes", type=click.IntRange(min=1), default=None,
              help="Run this many workers as forked children of one process, each replaced at once if it dies "
                   "(default: this process is the one worker).")
@click.option("--threads", type=click.IntRange(min=1), default=None,
              help="RQ workers per process, each in a thread, so one takes jobs while another waits for a "
                   "registry (default: BACKOFFICE_WORKER_THREADS, else 2).")
def worker(burst: bool, name: str | None, processes: int | None, threads: int | None) -> None:
    """Run an RQ worker for service tasks (or a pool of them)."""
    from tasks.worker import run_worker, run_worker_pool

    if processes is None:
        run_worker(process_config(), burst=burst, name=name, threads=threads)
    else:
        sys.exit(run_worker_pool(process_config(), processes, burst=burst, name=name, threads=threads))


@main.command("scheduler")
def scheduler() -> None:
    """Run the timer/retry/reconcile scheduler."""
    from tasks.scheduler import run_scheduler

    run_scheduler(process_config())


@main.command("web")
@click.option("--host", default="127.0.0.1")
@click.option("--port", default=8000, type=int)
@click.option("--threads", default=8, type=int)
@click.option("--processes", default=1, type=int)
def web(host: str, port: int, threads: int, processes: int) -> None:
    """Serve the web application with gunicorn."""
    from web.app import create_app

    from .server import serve

    config = process_config()
    serve(host, port, processes=processes, threads=threads, app_factory=lambda: create_app(config))


@main.command("registry")
@click.option("--host", default="127.0.0.1")
@click.option("--port", default=None, type=int, help="Default: the port of the bundled registry (8010).")
@click.option("--threads", default=32, type=int, help="Concurrent requests (latency faults hold a thread each).")
def registry(host: str, port: int | None, threads: int) -> None:
    """Serve the registry stand-in (МВД, СФР, ФОМС ЕРЗЛ, ФНС ЕГРЮЛ, medical organisations).

    Reads REGISTRY_DATA, REGISTRY_FAULTS and REGISTRY_ADMIN_TOKEN. One process, so that faults
    set through the admin endpoint apply to every request.
    """
    from tasks.config import DEFAULT_REGISTRY_PORT

    from .registry import DatasetError, FaultSpecError, create_registry_app
    from .server import serve

    config = process_config()
    try:  # load before serving: a wrong dataset stops the command with every problem listed
        app = create_registry_app(config.registry_data, config.registry_faults,
                                  admin_token=config.registry_admin_token)
    except (DatasetError, FaultSpecError) as exc:
        click.echo(str(exc), err=True)
        sys.exit(2)
    serve(host, port or DEFAULT_REGISTRY_PORT, threads=threads, app_factory=lambda: app)


@main.command("run")
@click.option("--host", default="127.0.0.1")
@click.option("--port", default=8000, type=int)
@click.option("--workers", default=2, type=int)
def run(host: str, port: int, workers: int) -> None:
    """Everything at once: migrate, deploy, then web + workers + scheduler (+ bundled registry), supervised."""
    from .registry import DatasetError
    from .supervisor import PortTaken, run_all

    try:
        sys.exit(run_all(host, port, workers))
    except (DatasetError, PortTaken) as exc:
        click.echo(str(exc), err=True)
        sys.exit(2)


@main.group("incidents")
def incidents_group() -> None:
    """Service calls that used up their retries."""


@incidents_group.command("list")
def incidents_list() -> None:
    from engine.incidents import list_incidents

    for inc in list_incidents(started_services().database):
        click.echo(json.dumps(inc, ensure_ascii=False, default=str))


@incidents_group.command("retry")
@click.argument("call_ids", nargs=-1, type=int)
@click.option("--all", "every", is_flag=True, help="Retry every open incident (with --operator: of that operator).")
@click.option("--operator", default=None, help="With --all: only the incidents of this operator.")
@click.option("--reason", default=None, help="Why, for the case's journal.")
@click.option("--actor", default="cli")
def incidents_retry(call_ids: tuple[int, ...], every: bool, operator: str | None, reason: str | None,
                    actor: str) -> None:
    """Retry incidents by id, or all of them; prints each one's outcome (exit 1 if any was not re-queued).

    The same action as the page and `POST /api/v1/incidents/retry`: a fresh round of attempts per call.
    """
    from engine.incidents import REQUEUED, IncidentFilter, incident_ids, retry_incidents

    if every == bool(call_ids) or (operator and not every):
        raise click.UsageError("give incident ids, or --all (optionally with --operator)")
    services = started_services()
    ids = list(call_ids) or incident_ids(services.database, IncidentFilter(operator=operator))
    if not ids:
        click.echo("no open incidents")
        return
    outcomes = retry_incidents(services.runtime, ids, actor, reason)
    for call_id, outcome in outcomes.items():
        click.echo(f"incident {call_id}: {outcome}")
    if any(o != REQUEUED for o in outcomes.values()):
        sys.exit(1)


@main.group("instances")
def instances_group() -> None:
    """Running cases (process instances)."""


@instances_group.command("migrate")
@click.option("--process", "process_id", required=True, help="Process id, e.g. certificate_individual.")
@click.option("--from", "source", required=True, type=click.IntRange(min=1), help="Version the cases run on.")
@click.option("--to", "target", required=True, type=click.IntRange(min=1), help="Version to move them to.")
@click.option("--dry-run", is_flag=True, help="Only list each running case as movable or not, with the reason.")
@click.option("--actor", default=None, help="Who migrates, for an automated caller (default: os:<login>).")
def instances_migrate(process_id: str, source: int, target: int, dry_run: bool, actor: str | None) -> None:
    """Move the running cases of a process from one version to another (in batches, journaled).

    Runs here and prints its progress; the run is stored like one started on the page, so it can be
    reverted with `backoffice instances revert-migration ID` (or on the page).
    """
    from engine import migration_runs
    from engine.errors import NotFound
    from engine.migration import MigrationRefused

    runtime, who = started_services().runtime, actor or os_actor()
    try:
        if dry_run:
            verdicts = migration_runs.dry_run(runtime, process_id, source, target, who)
        else:
            migration_id = migration_runs.create_run(runtime, process_id, source, target, who)
    except (NotFound, MigrationRefused) as exc:
        click.echo(str(exc), err=True)
        sys.exit(1)
    if dry_run:
        for v in verdicts:
            click.echo(f"{v.business_key or v.instance_id}: " + ("movable" if v.movable else
                                                                 f"blocked: {v.obstacle.message}"))
        movable = sum(v.movable for v in verdicts)
        click.echo(f"{process_id} v{source} -> v{target}: {movable} movable, {len(verdicts) - movable} blocked")
        return
    click.echo(f"migration {migration_id}: {process_id} v{source} -> v{target}")
    _run_migration(runtime, migration_id)
    click.echo(f"revert with: backoffice instances revert-migration {migration_id}")


@instances_group.command("revert-migration")
@click.argument("migration_id", type=int)
@click.option("--actor", default=None, help="Who reverts, for an automated caller (default: os:<login>).")
def instances_revert_migration(migration_id: int, actor: str | None) -> None:
    """Put the cases of a finished migration back on their previous version and state.

    Cases that went on after the migration keep their new version and are counted as kept.
    """
    from engine import migration_runs
    from engine.errors import Conflict, NotFound

    runtime = started_services().runtime
    try:
        migration_runs.request_revert(runtime, migration_id, actor or os_actor())
    except (NotFound, Conflict) as exc:
        click.echo(str(exc), err=True)
        sys.exit(1)
    _run_migration(runtime, migration_id)


def _run_migration(runtime, migration_id: int) -> None:
    from engine import migration_runs

    def progress(run) -> None:
        click.echo(f"  {run.status}: {run.processed} processed, {run.migrated} migrated, {run.blocked} blocked, "
                   f"{run.reverted} reverted, {run.kept} kept")

    status = migration_runs.execute(runtime, migration_id, progress)
    click.echo(f"migration {migration_id}: {status}")


@main.group("users")
def users_group() -> None:
    """User accounts."""


@main.group("demo")
def demo_group() -> None:
    """Demo data for a first look."""


@demo_group.command("seed")
def demo_seed() -> None:
    """Create demo accounts (one per role); their passwords (and staff's enrolment links) go to
    <data dir>/demo-accounts.txt."""
    from .demo_seed import accounts_file, seed_demo

    config = process_config()
    created = seed_demo(config)
    for email, role, password, link in created:
        click.echo(f"{role:<11} {email:<24} {password} {link}".rstrip())
    click.echo(f"demo accounts: {accounts_file(config.settings)}" if created else "demo accounts already exist")


@users_group.command("add")
@click.option("--email", required=True)
@click.option("--role", required=True, type=click.Choice(ROLES), help="One of the roles.")
@click.option("--password", default=None, help="Default: a random password, printed once.")
def users_add(email: str, role: str, password: str | None) -> None:
    """Create an active account (staff, or a citizen vouched for by an administrator)."""
    from tasks.accounts.errors import AccountError

    try:
        email, generated = add_user(email, role, password)
    except AccountError as exc:
        click.echo(exc.message, err=True)
        sys.exit(1)
    click.echo(f"user {email} created with role {role}")
    if generated:
        click.echo(f"password: {generated}")
    if role in STAFF_ROLES:  # an administrator creates staff: the authenticator link goes with the account
        click.echo(f"authenticator enrolment link (one-time, 3 days): {issue_enrolment_link(email, os_actor())}")


def add_user(email: str, role: str, password: str | None = None,
             config: AppConfig | None = None) -> tuple[str, str | None]:
    """(normalized e-mail, generated password or None), through the service the registration pages use."""
    from tasks.accounts.service import AccountService
    from tasks.legal.acceptance import record_vouched
    from tasks.legal.catalogue import load_catalogue
    from web.app import create_app
    from web.extensions import db

    config = config or process_config()
    app = create_app(config, connect_services=False)
    with app.app_context():
        user, generated = AccountService(db.session, config.secret_key).create_user(email, role, password)
        if not user.is_staff:
            record_vouched(db.session, user.id, load_catalogue(config.legal_dir))
        return user.email, generated


@users_group.command("enrol-link")
@click.option("--email", required=True)
@click.option("--actor", default=None, help="Who issues it (recorded in the journal; default: os:<login>).")
def users_enrol_link(email: str, actor: str | None) -> None:
    """A one-time link with which a staff member enrols their authenticator (first login, or after a reset).

    Printed once; only its hash is stored. Hand it over through a channel you trust.
    """
    from tasks.accounts.errors import AccountError

    try:
        click.echo(issue_enrolment_link(email, actor or os_actor()))
    except AccountError as exc:
        click.echo(exc.message, err=True)
        sys.exit(1)


def issue_enrolment_link(email: str, actor: str, config: AppConfig | None = None) -> str:
    """The URL of a new one-time enrolment link for a staff member (journaled by the service)."""
    from tasks.accounts.service import AccountService
    from web.accounts.enrolment_pages import enrolment_url
    from web.app import create_app
    from web.extensions import db

    config = config or process_config()
    app = create_app(config, connect_services=False)
    with app.app_context():
        token = AccountService(db.session, config.secret_key).issue_enrolment_link(email, actor)
    return enrolment_url(config.public_base_url, token)


@users_group.command("reset-totp")
@click.option("--email", required=True)
@click.option("--actor", default="cli", help="Who resets (recorded in the journal).")
def users_reset_totp(email: str, actor: str) -> None:
    """Clear a staff member's second factor (lost phone): they enrol a new app with a new enrolment link.

    Their API tokens are revoked as well; the reset is recorded in the audit journal and the log.
    """
    from tasks.accounts.errors import AccountError
    from tasks.accounts.service import AccountService, normalize_email
    from tasks.mail import mask_email
    from web.app import create_app
    from web.extensions import db

    email = normalize_email(email)
    config = process_config()
    app = create_app(config, connect_services=False)
    with app.app_context():
        try:
            had_secret = AccountService(db.session, config.secret_key).reset_totp(email, actor)
        except AccountError as exc:
            click.echo(exc.message, err=True)
            sys.exit(1)
    logging.getLogger(__name__).info("second factor of %s reset by %s", mask_email(email), actor)
    if had_secret:
        click.echo(f"second factor of {email} reset: they enrol again at their next login")
    else:
        click.echo(f"{email} had no second factor enrolled; API tokens revoked")



@users_group.command("set-role")
@click.option("--email", required=True)
@click.option("--role", required=True, type=click.Choice(ROLES), help="One of the roles.")
@click.option("--actor", default="cli", help="Who changes it (recorded in the journal).")
def users_set_role(email: str, role: str, actor: str) -> None:
    """Give an account another role; every session and API token of the person ends."""
    _account_action(lambda service: service.change_role(email, role, actor))
    click.echo(f"role of {email} is now {role}; their sessions have ended")


@users_group.command("deactivate")
@click.option("--email", required=True)
@click.option("--actor", default="cli", help="Who blocks it (recorded in the journal).")
def users_deactivate(email: str, actor: str) -> None:
    """Block an account: no more logins, and every session and API token of the person ends now."""
    _account_action(lambda service: service.deactivate(email, actor))
    click.echo(f"{email} deactivated; their sessions have ended")


def _account_action(action: Callable[[Any], object], config: AppConfig | None = None) -> None:
    """Run `action(AccountService)` on the configured database; an account error exits with its message."""
    from tasks.accounts.errors import AccountError
    from tasks.accounts.service import AccountService
    from web.app import create_app
    from web.extensions import db

    config = config or process_config()
    app = create_app(config, connect_services=False)
    with app.app_context():
        try:
            action(AccountService(db.session, config.secret_key))
        except AccountError as exc:
            click.echo(exc.message, err=True)
            sys.exit(1)


if __name__ == "__main__":
    main()
