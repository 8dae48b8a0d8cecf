"""The diff of two sides of a process: deployed versions, or a draft against the current version.

One computation for the studio's diff page and its JSON API. A side is written as a version number
(``3``) or a draft (``draft:12``); a draft's side is the files of that draft the process is made of
(its BPMN file, the BPMN files of processes it calls, the DMN files of decisions they call), the
same set a deploy stores as the process's version. Only diagrams are read: nothing is journaled.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from lxml import etree
from sqlalchemy.orm import Session

from engine.bpmn_diff import ElementDiff, diff_bpmn
from engine.bpmn_outline import BPMN, has_bpmn_di
from engine.dmn_diff import DecisionDiff, diff_dmn
from engine.errors import FieldError
from engine.versions import current_versions
from engine.xml_safety import parse_xml
from tasks.errors import ApiError
from tasks.studio import drafts
from tasks.studio.catalogue import process_version

SIDE = re.compile(r"^(?:(\d{1,9})|draft:(\d{1,12}))$")
ADDED, REMOVED, CHANGED, UNCHANGED, UNREADABLE = "added", "removed", "changed", "unchanged", "unreadable"


@dataclass(frozen=True)
class Side:
    ref: str  # as written in the address: "3" or "draft:12"
    label: str  # for people: "версия 3", "черновик № 12"
    files: dict[str, str]
    version: int | None = None
    draft_id: int | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"ref": self.ref, "version": self.version, "draft_id": self.draft_id}


@dataclass
class FileDiff:
    name: str
    kind: str  # "bpmn" or "dmn"
    status: str  # ADDED, REMOVED, CHANGED, UNCHANGED or UNREADABLE
    old_xml: str | None
    new_xml: str | None
    elements: list[ElementDiff] = field(default_factory=list)
    decisions: list[DecisionDiff] = field(default_factory=list)
    error: str | None = None

    @property
    def drawable(self) -> bool:
        """Both sides of a changed BPMN file carry DI, so bpmn-js can draw and colour them."""
        return self.kind == "bpmn" and self.status == CHANGED and has_bpmn_di(self.old_xml or "") \
            and has_bpmn_di(self.new_xml or "")


@dataclass(frozen=True)
class ProcessDiff:
    process_id: str
    old: Side
    new: Side
    files: list[FileDiff]


def _bad(param: str, message: str) -> ApiError:
    return ApiError(400, "bad_request", message, [FieldError(param, "invalid", message)])


def _side(session: Session, process_id: str, param: str, value: str | None) -> Side:
    if value is None or value == "":
        if param == "to":
            raise _bad(param, "Укажите, с чем сравнивать: номер версии или draft:<номер черновика> в параметре «to».")
        number = current_versions(session).get(process_id)
        if number is None:
            raise ApiError(404, "not_found", f"Процесс «{process_id}» не развёрнут.")
        value = str(number)
    found = SIDE.match(value.strip())
    if not found:
        raise _bad(param, f"Параметр «{param}»: ожидается номер версии или draft:<номер черновика>.")
    if found.group(1):
        row = process_version(session, process_id, int(found.group(1)))
        return Side(str(row.version), f"версия {row.version}", dict(row.sources), version=row.version)
    draft = drafts.get_draft(session, int(found.group(2)))
    files = files_of_process(drafts.bundle_files(session, draft.files), process_id)
    if not files:
        raise ApiError(404, "not_found", f"В черновике №\u00a0{draft.id} нет процесса «{process_id}».")
    return Side(f"draft:{draft.id}", f"черновик №\u00a0{draft.id}", files, draft_id=draft.id)


def _roots(files: dict[str, str], suffix: str) -> dict[str, etree._Element]:
    roots = {}
    for name, xml in files.items():
        if name.endswith(suffix):
            try:
                roots[name] = parse_xml(xml.encode("utf-8"))
            except ValueError:  # broken or unsafe: the draft's check lists it; it cannot take part here
                continue
    return roots


def files_of_process(files: dict[str, str], process_id: str) -> dict[str, str]:
    """The files of ``files`` that make up ``process_id``: its BPMN, called processes' BPMN, their DMN."""
    bpmn = _roots(files, ".bpmn")
    home = {p.get("id"): name for name, root in bpmn.items() for p in root.iter(f"{{{BPMN}}}process")}
    chosen: set[str] = set()
    decisions: set[str] = set()
    pending = [process_id]
    while pending:
        name = home.get(pending.pop())
        if name is None or name in chosen:
            continue
        chosen.add(name)
        for node in bpmn[name].iter():
            local = etree.QName(node).localname if isinstance(node.tag, str) else ""
            if local == "callActivity" and node.get("calledElement"):
                pending.append(node.get("calledElement"))
            elif local == "calledDecisionId":
                decisions.add((node.text or "").strip())
    if not chosen:
        return {}
    for name, root in _roots(files, ".dmn").items():
        if any(etree.QName(n).localname == "decision" and n.get("id") in decisions
               for n in root.iter() if isinstance(n.tag, str)):
            chosen.add(name)
    return {name: files[name] for name in sorted(chosen)}


def _file_diff(name: str, old: str | None, new: str | None) -> FileDiff:
    kind = "bpmn" if name.endswith(".bpmn") else "dmn"
    if old is None or new is None:
        return FileDiff(name, kind, ADDED if old is None else REMOVED, old, new)
    if old == new:
        return FileDiff(name, kind, UNCHANGED, old, new)
    try:
        if kind == "bpmn":
            elements = diff_bpmn(old, new)
            return FileDiff(name, kind, CHANGED if elements else UNCHANGED, old, new, elements=elements)
        decisions = diff_dmn(old, new)
        return FileDiff(name, kind, CHANGED if decisions else UNCHANGED, old, new, decisions=decisions)
    except ValueError:
        return FileDiff(name, kind, UNREADABLE, old, new,
                        error="Файл не разобран как XML (или объявляет DOCTYPE): сравнить нельзя.")


def process_diff(session: Session, process_id: str, old_ref: str | None, new_ref: str | None) -> ProcessDiff:
    """The diff from ``old_ref`` (default: the current version) to ``new_ref``; 400/404 as ApiError."""
    new = _side(session, process_id, "to", new_ref)
    old = _side(session, process_id, "from", old_ref)
    session.commit()  # end the read transaction: the rest is computation
    names = sorted(old.files.keys() | new.files.keys(), key=lambda n: (not n.endswith(".bpmn"), n))
    return ProcessDiff(process_id, old, new, [_file_diff(n, old.files.get(n), new.files.get(n)) for n in names])


def as_json(result: ProcessDiff) -> dict[str, Any]:
    """The API's body: each file with its status and, when changed, its elements or decisions."""
    return {"process_id": result.process_id, "from": result.old.as_dict(), "to": result.new.as_dict(),
            "files": [_file_json(f) for f in result.files]}


def _file_json(item: FileDiff) -> dict[str, Any]:
    body: dict[str, Any] = {"file": item.name, "kind": item.kind, "status": item.status}
    if item.error:
        body["error"] = item.error
    if item.kind == "bpmn":
        body["elements"] = [{"element_id": e.element_id, "element_name": e.name, "type": e.kind,
                             "change": e.change, "layout_changed": e.layout_changed,
                             "changes": [{"field": c.path, "old": c.old, "new": c.new} for c in e.changes]}
                            for e in item.elements]
    else:
        body["decisions"] = [_decision_json(d) for d in item.decisions]
    return body


def _cells(cells: tuple) -> list[dict[str, Any]]:
    return [{"column": c.column, "old": c.old, "new": c.new} for c in cells]


def _decision_json(d: DecisionDiff) -> dict[str, Any]:
    return {"decision_id": d.decision_id, "name": d.name, "change": d.change, "fields": _cells(d.fields),
            "columns": [{"column_id": c.column_id, "direction": c.direction, "label": c.label, "change": c.change,
                         "fields": _cells(c.fields)} for c in d.columns],
            "rules": [{"rule_id": r.rule_id, "position": r.position, "change": r.change, "moved": r.moved,
                       "cells": _cells(r.cells)} for r in d.rules]}


def comparable_processes(session: Session, files: dict[str, str]) -> list[tuple[str, int]]:
    """(process id, current version) of the deployed processes a draft's BPMN files define."""
    deployed = current_versions(session)
    ids = {p.get("id") for root in _roots(files, ".bpmn").values() for p in root.iter(f"{{{BPMN}}}process")}
    return sorted((pid, deployed[pid]) for pid in ids if pid in deployed)
