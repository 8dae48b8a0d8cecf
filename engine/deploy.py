"""Deployment: validate diagrams and store them as new process versions.

Deploying is a privileged, audited action because scripts in a diagram run as code: every
script and expression is checked statically (script_safety) before anything is stored, and a
refused deployment lists each problem with its file and element id.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError
from lxml import etree
from SpiffWorkflow.bpmn.parser.ValidationException import ValidationException
from SpiffWorkflow.spiff.parser.process import VALIDATOR
from sqlalchemy import func, select

from . import journal
from .clock import utcnow
from .db import Database
from .errors import DeploymentError, DeploymentProblem
from .models import LaneRole, ProcessVersion
from .operators import get_operator
from .script_safety import check_dmn_entry, check_expression, check_script
from .scripting import ScriptEnvironment
from .serialization import StateSerializer
from .specs import AsyncServiceTask, RuntimeBpmnParser
from .xml_safety import UnsafeXml, parse_xml

DMN_NAMESPACES = ("https://www.omg.org/spec/DMN/", "http://www.omg.org/spec/DMN/")
EXEC_TAGS = {"script", "preScript", "postScript"}
EVAL_TAGS = {"conditionExpression", "timeDate", "timeDuration", "timeCycle", "loopCardinality",
             "completionCondition", "messagePayload", "formalExpression", "condition"}


@dataclass(frozen=True)
class Source:
    name: str
    content: bytes
    directory: Path | None = None


@dataclass(frozen=True)
class Deployed:
    process_id: str
    version: int
    version_id: int
    created: bool  # False when identical sources were already deployed


def _element_id(node: etree._Element) -> str | None:
    while node is not None:
        if node.get("id"):
            return node.get("id")
        node = node.getparent()
    return None


def _local(node: etree._Element) -> str:
    return etree.QName(node).localname if isinstance(node.tag, str) else ""


def check_scripts(name: str, root: etree._Element, allowed: Iterable[str]) -> list[DeploymentProblem]:
    """Statically check every script and expression in one parsed BPMN or DMN document."""
    allowed = list(allowed)
    problems: list[DeploymentProblem] = []

    def add(node: etree._Element, violations: list) -> None:
        problems.extend(DeploymentProblem(name, _element_id(node), f"line {v.line}: {v.message}"
                                          if v.line else v.message) for v in violations)

    for node in root.iter():
        tag = _local(node)
        text = (node.text or "").strip()
        if tag in EXEC_TAGS and text:
            add(node, check_script(text, allowed))
        elif tag in EVAL_TAGS and text:
            add(node, check_expression(text, allowed))
        elif tag == "parameter" and node.get("value"):
            add(node, check_expression(node.get("value"), allowed))
        elif tag == "text" and text:
            parent = _local(node.getparent())
            if parent == "inputEntry":
                add(node, check_dmn_entry(text, allowed))
            elif parent in ("inputExpression", "outputEntry"):
                add(node, check_expression(text, allowed))
    return problems


class Deployer:
    def __init__(self, database: Database, script_env: ScriptEnvironment | None = None,
                 forms_dirs: Iterable[Path] = ()) -> None:
        self.db = database
        self.script_env = script_env or ScriptEnvironment()
        self.forms_dirs = list(forms_dirs)
        self.serializer = StateSerializer()

    def deploy(self, sources: list[Source], lane_roles: dict[str, str] | None = None,
               actor: str | None = None) -> list[Deployed]:
        """Validate all sources together and store a version per executable process."""
        parser, problems = self._parse(sources)
        if problems:
            raise DeploymentError(problems)
        process_ids = parser.get_process_ids()
        if not process_ids:
            raise DeploymentError([DeploymentProblem(", ".join(s.name for s in sources), None,
                                                     "no executable process (isExecutable=\"true\")")])
        with self.db.session() as s:
            roles = {r.lane: r.role for r in s.scalars(select(LaneRole))}
            roles.update(lane_roles or {})
            bundles = {}
            for pid in process_ids:
                bundles[pid] = self._check_process(parser, pid, sources, roles, problems)
            if problems:
                raise DeploymentError(problems)
            for lane, role in (lane_roles or {}).items():
                s.merge(LaneRole(lane=lane, role=role))
            digest = _digest(sources)
            result = [self._store(s, pid, digest, sources, *bundles[pid], actor) for pid in process_ids]
        return result

    def _parse(self, sources: list[Source]) -> tuple[RuntimeBpmnParser, list[DeploymentProblem]]:
        parser = RuntimeBpmnParser(validator=VALIDATOR)
        problems: list[DeploymentProblem] = []
        allowed = self.script_env.allowed_names
        for src in sources:
            try:
                root = parse_xml(src.content)
            except (UnsafeXml, ValueError) as exc:
                problems.append(DeploymentProblem(src.name, None, str(exc)))
                continue
            problems.extend(check_scripts(src.name, root, allowed))
            try:
                if any(str(root.tag).startswith("{" + ns) for ns in DMN_NAMESPACES):
                    parser.add_dmn_xml(root, filename=src.name)
                else:
                    parser.add_bpmn_xml(root.getroottree(), filename=src.name)
            except ValidationException as exc:
                problems.append(DeploymentProblem(exc.file_name or src.name, exc.id or None, str(exc).strip()))
        return parser, problems

    def _check_process(self, parser: RuntimeBpmnParser, pid: str, sources: list[Source],
                       roles: dict[str, str], problems: list[DeploymentProblem]) -> tuple[Any, dict, dict]:
        try:
            spec = parser.get_spec(pid)
            subs = parser.get_subprocess_specs(pid)
        except ValidationException as exc:
            problems.append(DeploymentProblem(exc.file_name or pid, exc.id or None, str(exc).strip()))
            return None, {}, {}
        forms: dict[str, Any] = {}
        task_specs = _all_task_specs(spec, subs)
        manual = {t.name for t in task_specs if getattr(t, "manual", False)}
        for task_spec in task_specs:
            where = getattr(task_spec, "bpmn_id", None) or task_spec.name
            fname = spec.file or pid
            if isinstance(task_spec, AsyncServiceTask) and get_operator(task_spec.operation_name) is None:
                problems.append(DeploymentProblem(fname, where, f"unknown operator {task_spec.operation_name!r}"))
            lane = getattr(task_spec, "lane", None)
            if lane and lane not in roles:
                problems.append(DeploymentProblem(fname, where, f"lane {lane!r} has no role mapping"))
            props = (getattr(task_spec, "extensions", None) or {}).get("properties") or {}
            for key in ("formJsonSchemaFilename", "formUiSchemaFilename"):
                if props.get(key):
                    self._load_form(props[key], sources, fname, where, forms, problems)
            completer_of = props.get("assignToCompleterOf")
            if completer_of and completer_of not in manual:
                problems.append(DeploymentProblem(fname, where, f"assignToCompleterOf names {completer_of!r}, "
                                                                "which is not a user task of this process"))
        return spec, subs, forms

    def _load_form(self, name: str, sources: list[Source], fname: str, where: str, forms: dict,
                   problems: list[DeploymentProblem]) -> None:
        if name in forms:
            return
        dirs = [s.directory for s in sources if s.directory] + self.forms_dirs
        for d in dirs:
            path = d / name
            if path.is_file():
                try:
                    schema = json.loads(path.read_text(encoding="utf-8"))
                    if name.endswith(".schema.json") or "formJsonSchema" in name or "$schema" in schema:
                        Draft202012Validator.check_schema(schema)
                except (ValueError, SchemaError) as exc:
                    problems.append(DeploymentProblem(fname, where, f"form {name!r} is not a valid schema: {exc}"))
                    return
                forms[name] = schema
                return
        problems.append(DeploymentProblem(fname, where, f"form schema {name!r} not found"))

    def _store(self, s: Any, pid: str, digest: str, sources: list[Source], spec: Any, subs: dict,
               forms: dict, actor: str | None) -> Deployed:
        latest = s.scalar(select(ProcessVersion).where(ProcessVersion.process_id == pid)
                          .order_by(ProcessVersion.version.desc()).limit(1))
        if latest is not None and latest.sha256 == digest and latest.forms == forms:
            return Deployed(pid, latest.version, latest.id, False)
        number = (s.scalar(select(func.max(ProcessVersion.version))
                           .where(ProcessVersion.process_id == pid)) or 0) + 1
        row = ProcessVersion(
            process_id=pid, version=number, name=spec.description, sha256=digest,
            sources={src.name: src.content.decode("utf-8") for src in sources},
            spec_json=self.serializer.dump_specs(spec, subs), forms=forms,
            deployed_at=utcnow(), deployed_by=actor,
        )
        s.add(row)
        s.flush()
        journal.record(s, None, "deployed", actor=actor, message=f"{pid} v{number}",
                       details={"process_id": pid, "version": number, "sha256": digest,
                                "files": sorted(src.name for src in sources)})
        return Deployed(pid, number, row.id, True)


def _all_task_specs(spec: Any, subs: dict) -> list[Any]:
    specs = list(spec.task_specs.values())
    for sub in subs.values():
        specs.extend(sub.task_specs.values())
    return specs


def _digest(sources: list[Source]) -> str:
    h = hashlib.sha256()
    for src in sorted(sources, key=lambda x: x.name):
        h.update(src.name.encode() + b"\0" + src.content + b"\0")
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
