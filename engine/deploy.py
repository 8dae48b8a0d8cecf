"""Deployment: validate diagrams and store each executable process as a new version of its own.

Deploying is a privileged, audited action because scripts in a diagram run as code: the one validation
(:mod:`engine.validation`) runs before anything is stored, and a refused deployment lists each problem
once with its file, element id and name.

Each process is versioned on its own files: the BPMN file that holds it, the BPMN files of the processes
it calls (``callActivity``; a called process is stored only as part of its callers' versions), the DMN
files of the decisions it (or they) call, and the form schemas their tasks use. A new
version is created only when one of these changed, so editing one diagram leaves every other process's
version alone. A new version becomes the process's current one (new cases start on it); deploying
files identical to the newest version changes nothing, so a rollback survives a re-run of the deploy.
SLA durations and lane roles are configuration, read at run time, and not part of a
version: changing ``sla.toml`` changes running and new cases alike, without a deploy.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lxml import etree
from sqlalchemy import func, select

from . import journal
from .bpmn_lint import BPMN_NS
from .clock import utcnow
from .db import Database
from .errors import DeploymentError, DeploymentProblem
from .models import LaneRole, ProcessVersion
from .operators import get_operator
from .scripting import ScriptEnvironment
from .serialization import StateSerializer
from .validation import FORM_PROPERTIES, Checker, Source, Validation, ValidationContext, run_validation
from .versions import point_at

__all__ = ["Deployed", "Deployer", "Source", "sources_from_paths"]


@dataclass(frozen=True)
class Deployed:
    process_id: str
    version: int
    version_id: int
    created: bool  # False when the process's own files were already deployed as they are


class Deployer:
    def __init__(self, database: Database, script_env: ScriptEnvironment | None = None,
                 forms_dirs: Iterable[Path] = (), sla_names: Iterable[str] | None = None,
                 extra_checkers: Sequence[Checker] = ()) -> None:
        self.db = database
        self.script_env = script_env or ScriptEnvironment()
        self.forms_dirs = list(forms_dirs)
        self.sla_names = None if sla_names is None else frozenset(sla_names)
        self.extra_checkers = list(extra_checkers)
        self.serializer = StateSerializer()

    def validate(self, sources: Sequence[Source], lane_roles: dict[str, str] | None = None) -> Validation:
        """The deploy validation of ``sources``; lanes map through the stored roles plus ``lane_roles``."""
        with self.db.session() as s:
            roles = {r.lane: r.role for r in s.scalars(select(LaneRole))}
        roles.update(lane_roles or {})
        context = ValidationContext(allowed_functions=self.script_env.allowed_names, operators=get_operator,
                                    sla_names=self.sla_names, forms_dirs=self.forms_dirs, lane_roles=roles,
                                    extra_checkers=self.extra_checkers)
        return run_validation(sources, context)

    def deploy(self, sources: Sequence[Source], lane_roles: dict[str, str] | None = None,
               actor: str | None = None, comment: str | None = None) -> list[Deployed]:
        """Validate all sources together, then store a version per executable process that changed."""
        checked = self.validate(sources, lane_roles)
        if checked.problems:
            raise DeploymentError(checked.problems)
        process_ids = startable_process_ids(checked)
        if not process_ids:
            raise DeploymentError([DeploymentProblem(", ".join(s.name for s in sources), None,
                                                     "нет исполняемого процесса (isExecutable=\"true\")",
                                                     "no_executable_process")])
        by_name = {src.name: src for src in sources}
        with self.db.session() as s:
            for lane, role in (lane_roles or {}).items():
                s.merge(LaneRole(lane=lane, role=role))
            return [self._store(s, pid, checked, by_name, actor, comment) for pid in process_ids]

    def _store(self, s: Any, pid: str, checked: Validation, by_name: dict[str, Source], actor: str | None,
               comment: str | None) -> Deployed:
        spec = checked.parser.get_spec(pid)
        subs = checked.parser.get_subprocess_specs(pid)
        files = process_files(checked, spec, subs)
        sources = {name: by_name[name].content.decode("utf-8") for name in files}
        forms = {name: checked.forms[name] for name in _form_names(spec, subs) if name in checked.forms}
        digest = _digest(sources, forms)
        latest = s.scalar(select(ProcessVersion).where(ProcessVersion.process_id == pid)
                          .order_by(ProcessVersion.version.desc()).limit(1))
        if latest is not None and latest.sha256 == digest:
            return Deployed(pid, latest.version, latest.id, False)
        number = (s.scalar(select(func.max(ProcessVersion.version))
                           .where(ProcessVersion.process_id == pid)) or 0) + 1
        row = ProcessVersion(
            process_id=pid, version=number, name=spec.description, sha256=digest, sources=sources,
            spec_json=self.serializer.dump_specs(spec, subs), forms=forms,
            deployed_at=utcnow(), deployed_by=actor, comment=comment,
        )
        s.add(row)
        s.flush()
        point_at(s, pid, row.id, actor)  # a deploy's new version is the one new cases get
        journal.record(s, None, "deployed", actor=actor, message=f"{pid} v{number}",
                       details={"process_id": pid, "version": number, "sha256": digest,
                                "files": sorted(sources), "comment": comment})
        return Deployed(pid, number, row.id, True)


def startable_process_ids(checked: Validation) -> list[str]:
    """The processes a case can start with, each stored as a version of its own: the executable top-level
    processes of the bundle that no call activity of the bundle calls.

    A called process (and an embedded sub-process, which SpiffWorkflow's parser also lists) runs only
    inside its callers: its file is part of each caller's version, so it gets no version, no current
    pointer and no catalogue entry of its own.
    """
    top: set[str] = set()
    called: set[str] = set()
    for root in checked.roots.values():
        for node in root.iter(f"{{{BPMN_NS}}}process", f"{{{BPMN_NS}}}callActivity"):
            if etree.QName(node).localname == "process":
                top.add(node.get("id") or "")
            else:
                called.add(node.get("calledElement") or "")
    return [pid for pid in checked.parser.get_process_ids() if pid in top and pid not in called]


def process_files(checked: Validation, spec: Any, subs: dict) -> list[str]:
    """The files one process is made of: its BPMN, called processes' BPMN and the DMN they call."""
    bpmn = {spec.file} | {sub.file for sub in subs.values() if sub is not None}
    decisions: set[str] = set()
    for name in bpmn:
        root = checked.roots.get(name)
        if root is None:
            continue
        decisions.update((n.text or "").strip() for n in root.iter()
                         if isinstance(n.tag, str) and etree.QName(n).localname == "calledDecisionId")
    dmn = {checked.parser.dmn_parsers[d].filename for d in decisions if d in checked.parser.dmn_parsers}
    return sorted(name for name in bpmn | dmn if name in checked.roots)


def _form_names(spec: Any, subs: dict) -> set[str]:
    names: set[str] = set()
    for sub in [spec, *subs.values()]:
        for task_spec in (sub.task_specs.values() if sub is not None else ()):
            props = (getattr(task_spec, "extensions", None) or {}).get("properties") or {}
            names.update(props[key] for key in FORM_PROPERTIES if props.get(key))
    return names


def _digest(sources: dict[str, str], forms: dict[str, Any]) -> str:
    h = hashlib.sha256()
    for name in sorted(sources):
        h.update(name.encode() + b"\0" + sources[name].encode("utf-8") + b"\0")
    h.update(json.dumps(forms, sort_keys=True, ensure_ascii=False).encode("utf-8"))
    return h.hexdigest()


def sources_from_paths(paths: Iterable[Path]) -> list[Source]:
    """Read diagram files (and every *.bpmn/*.dmn of given directories)."""
    files: list[Path] = []
    for p in paths:
        if p.is_dir():
            files.extend(sorted([*p.glob("*.bpmn"), *p.glob("*.dmn")]))
        else:
            files.append(p)
    return [Source(f.name, f.read_bytes(), f.parent.resolve()) for f in files]
