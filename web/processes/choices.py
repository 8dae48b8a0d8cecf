"""What the modeler's properties panel offers to pick from: the same catalogues the deploy check uses.

Operators with their parameters (the registry the workers fill), SLA names (the SLA catalogue), form
schemas (the forms directories), lanes with their roles (lanes.toml) and the decisions of the deployed
DMN files (plus a draft's own). Picking from these lists writes only what the deploy validation
accepts; anything typed by hand is still checked by it.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import Any

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from engine.bpmn_outline import dmn_decisions
from engine.deployment import read_lanes
from engine.models import ProcessVersion
from engine.operators import get_operator, load_operator_modules, operator_names, signature_of
from engine.versions import current_versions
from tasks.accounts.roles import ROLE_LABELS
from tasks.studio.models import ProcessDraft

from ..services import services

FORM_SUFFIX = ".schema.json"


def _operators(modules: list[str]) -> list[dict[str, Any]]:
    load_operator_modules(modules)
    operators = []
    for name in operator_names():
        signature = signature_of(get_operator(name).func)
        operators.append({"name": name, "parameters": [asdict(p) for p in signature.parameters] if signature else []})
    return operators


def _forms(directories: list[Path]) -> list[dict[str, str]]:
    """Each form schema's file name and its title (the name the analyst knows it by)."""
    forms = {}
    for directory in directories:
        for path in sorted(Path(directory).glob(f"*{FORM_SUFFIX}")):
            try:
                title = json.loads(path.read_text(encoding="utf-8")).get("title") or ""
            except (ValueError, AttributeError):
                title = ""  # a broken schema is the deploy check's to report
            forms.setdefault(path.name, {"file": path.name, "title": title})
    return sorted(forms.values(), key=lambda f: f["file"])


def _decisions(session: Session, draft: ProcessDraft | None) -> list[dict[str, str]]:
    """Decisions of the current versions' DMN files, then the draft's own (a draft's file wins)."""
    current = current_versions(session)
    files: dict[str, str] = {}
    if current:
        for sources in session.scalars(select(ProcessVersion.sources).where(or_(*(
                and_(ProcessVersion.process_id == pid, ProcessVersion.version == n) for pid, n in current.items())))):
            files.update({name: text for name, text in (sources or {}).items() if name.endswith(".dmn")})
    if draft is not None:
        files.update({name: text for name, text in draft.files.items() if name.endswith(".dmn")})
    found: dict[str, dict[str, str]] = {}
    for name, text in sorted(files.items()):
        try:
            decisions = dmn_decisions(text)
        except ValueError:  # a draft's broken DMN: the validation lists it
            continue
        for d in decisions:
            found[d.decision_id] = {"id": d.decision_id, "name": d.name, "file": name}
    return sorted(found.values(), key=lambda d: d["id"])


def catalogue(session: Session, draft: ProcessDraft | None = None) -> dict[str, Any]:
    """Everything the properties panel lists, in one answer."""
    found = services()
    settings = found.settings
    lanes = read_lanes([settings.workflows_dir])
    return {
        "operators": _operators(list(settings.operator_modules)),
        "sla": [{"name": name, "value": value} for name, value in found.sla.as_dict().items()],
        "forms": _forms(list(settings.forms_dirs)),
        "lanes": [{"name": lane, "role": role, "role_label": ROLE_LABELS.get(role, "система" if role == "system"
                                                                             else role)}
                  for lane, role in lanes.items()],
        "decisions": _decisions(session, draft),
    }
