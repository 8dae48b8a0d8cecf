"""Getting a database ready: the schema migrations and the deployment of the process diagrams.

Both the `backoffice` command and the supervisor of `backoffice run` do this, so it lives apart from either
(the supervisor starts the command's subprocesses and must not import the command itself).
"""

from __future__ import annotations

from pathlib import Path

from engine.settings import Settings
from tasks.config import AppConfig


def upgrade_database(config: AppConfig) -> None:
    """Apply every Alembic migration (`backoffice db upgrade`, and `backoffice run` before it starts anything)."""
    from flask_migrate import upgrade

    from web.app import create_app

    app = create_app(config, connect_services=False)
    with app.app_context():
        upgrade()


def deploy_workflows(files: list[Path], actor: str, settings: Settings, comment: str | None = None) -> list:
    """Validate and deploy the BPMN/DMN files (default: the workflows folder) with their lanes' roles; the
    results say which processes got a new version."""
    from engine.deploy import sources_from_paths
    from engine.deployment import build_deployer, read_lanes

    paths = files or [settings.workflows_dir]
    sources = sources_from_paths(paths)
    if not sources:
        return []
    lanes = read_lanes({s.directory for s in sources if s.directory})
    return build_deployer(settings).deploy(sources, lanes, actor=actor, comment=comment)
