"""What changed between two versions of a BPMN file: elements added, removed, changed or only moved.

The studio colours the same changes on the diagram with bpmn-js-differ, so this module follows that
library's rules to the element, and a browser test holds the two to the same set of ids:

- tracked are the elements a diagram draws: flow elements (except data objects), lanes,
  participants, collaborations, message flows and data associations; a process inside a
  collaboration is tracked as the participant that shows it;
- an element changed when anything it contains changed (attributes, its text, conditions, scripts,
  timers, extension elements), except the tracked elements inside it, which count on their own, and
  reference lists (incoming, outgoing, flowNodeRef), which the differ does not compare;
- lane membership is compared separately (the differ's caller adds it too): a node moved to
  another lane is changed;
- layout-only: the element's diagram shape or edge (matched by the DI element's id) moved or
  changed its size, waypoints or label, and nothing else changed.

Attributes in foreign namespaces on BPMN elements are ignored, as bpmn-moddle without extensions
keeps them aside and the differ never compares them; order of children does not matter.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache

from lxml import etree

from .xml_safety import parse_xml

BPMN = "http://www.omg.org/spec/BPMN/20100524/MODEL"
BPMNDI = "http://www.omg.org/spec/BPMN/20100524/DI"
DI_TAGS = (f"{{{BPMNDI}}}BPMNShape", f"{{{BPMNDI}}}BPMNEdge")
FLOW_ELEMENTS = frozenset({
    "sequenceFlow", "startEvent", "endEvent", "intermediateCatchEvent", "intermediateThrowEvent", "boundaryEvent",
    "implicitThrowEvent", "task", "userTask", "manualTask", "serviceTask", "scriptTask", "businessRuleTask",
    "sendTask", "receiveTask", "callActivity", "subProcess", "transaction", "adHocSubProcess", "exclusiveGateway",
    "inclusiveGateway", "parallelGateway", "eventBasedGateway", "complexGateway", "dataObjectReference",
    "dataStoreReference", "callChoreography", "choreographyTask", "subChoreography",
})
TRACKED = FLOW_ELEMENTS | {"participant", "collaboration", "messageFlow", "lane", "dataInputAssociation",
                           "dataOutputAssociation"}
REFERENCE_LISTS = frozenset({"incoming", "outgoing", "flowNodeRef"})  # ids of other elements, not compared
MAX_VALUE = 300  # characters of an old/new value kept for people (a script can be long)

ADDED, REMOVED, CHANGED, LAYOUT = "added", "removed", "changed", "layout"


@dataclass(frozen=True)
class Change:
    """One difference inside an element: ``path`` like ``@name``, ``script``, ``timerEventDefinition/timeDate``."""

    path: str
    old: str | None
    new: str | None


@dataclass(frozen=True)
class ElementDiff:
    element_id: str
    kind: str  # the BPMN element's local name: userTask, sequenceFlow, lane...
    name: str  # the new name (the old one for a removed element)
    change: str  # ADDED, REMOVED, CHANGED or LAYOUT
    changes: tuple[Change, ...] = ()
    layout_changed: bool = False  # a changed element whose shape moved too


@dataclass
class _Model:
    elements: dict[str, etree._Element] = field(default_factory=dict)  # tracked id -> element
    lanes: dict[str, frozenset[str]] = field(default_factory=dict)  # flow node id -> ids of its lanes
    lane_names: dict[str, str] = field(default_factory=dict)  # lane id -> name
    layout: dict[str, tuple[str, tuple]] = field(default_factory=dict)  # DI id -> (element id, geometry)
    process_owner: dict[str, str] = field(default_factory=dict)  # process id -> its participant's id


@cache
def _split(tag: str) -> tuple[str, str]:
    """(namespace, local name) of a Clark-notation tag; cached, as etree.QName costs more than the diff."""
    namespace, _, local = tag[1:].rpartition("}") if tag.startswith("{") else ("", "", tag)
    return namespace, local


def _local(node: etree._Element) -> str:
    return _split(node.tag)[1] if isinstance(node.tag, str) else ""


def _is_bpmn(node: etree._Element) -> bool:
    return isinstance(node.tag, str) and _split(node.tag)[0] == BPMN


def _is_tracked(node: etree._Element) -> bool:
    return _is_bpmn(node) and _local(node) in TRACKED


def _read(xml: str | bytes) -> _Model:
    root = parse_xml(xml.encode("utf-8") if isinstance(xml, str) else xml)
    model = _Model()
    for node in root.iter():
        if not _is_bpmn(node):
            continue
        local = _local(node)
        if local in TRACKED and node.get("id"):
            model.elements[node.get("id")] = node
        if local == "participant" and node.get("processRef"):
            model.process_owner[node.get("processRef")] = node.get("id", "")
        if local == "lane":
            model.lane_names[node.get("id", "")] = node.get("name") or ""
            for ref in node.iterchildren(f"{{{BPMN}}}flowNodeRef"):
                key = (ref.text or "").strip()
                model.lanes[key] = model.lanes.get(key, frozenset()) | {node.get("id", "")}
    for process in root.iter(f"{{{BPMN}}}process"):
        owner = model.process_owner.get(process.get("id", ""))
        if owner is None and process.get("id"):  # not in a collaboration: the process is its own element
            model.elements[process.get("id")] = process
    for shape in root.iter(*DI_TAGS):
        if shape.get("id") and shape.get("bpmnElement"):
            model.layout[shape.get("id")] = (shape.get("bpmnElement"), _geometry(shape))
    return model


def _geometry(node: etree._Element) -> tuple:
    """A DI element's attributes and nested bounds/waypoints/label, numbers compared as numbers."""
    def value(text: str) -> object:
        try:
            return float(text)
        except ValueError:
            return text

    attrs = tuple(sorted((_split(k)[1], value(v)) for k, v in node.attrib.items() if k != "id"))
    return (_local(node), attrs, tuple(_geometry(child) for child in node if isinstance(child.tag, str)))


def _text(node: etree._Element) -> str:
    return (node.text or "").strip()


def _flatten(node: etree._Element, path: str, out: dict[str, str]) -> None:
    """Everything ``node`` says, as path -> value, leaving out tracked children and reference lists."""
    bpmn = _is_bpmn(node)
    for key, value in node.attrib.items():
        namespace, local = _split(key)
        if bpmn and namespace:  # foreign attributes on a BPMN element: bpmn-moddle keeps them aside
            continue
        if key != "id":  # children are told apart by their id, the element itself by its key
            out[f"{path}@{local}"] = value
    if _text(node):
        out[path or "text"] = _text(node)
    seen: dict[str, int] = {}
    for child in node:
        if not isinstance(child.tag, str) or _is_tracked(child) or (
                _is_bpmn(child) and _local(child) in REFERENCE_LISTS):
            continue
        local = _local(child)
        key = child.get("id") or child.get("name") or ""
        label = f"{local}[{key}]" if key else local
        seen[label] = seen.get(label, 0) + 1
        if seen[label] > 1:
            label = f"{label}[{seen[label]}]"
        _flatten(child, f"{path}/{label}" if path else label, out)


def _content(node: etree._Element, model: _Model) -> dict[str, str]:
    out: dict[str, str] = {"type": _local(node)}
    _flatten(node, "", out)
    if _local(node) == "participant":  # the process it shows counts as the participant's content
        process = next((p for p in node.getroottree().iter(f"{{{BPMN}}}process")
                        if p.get("id") == node.get("processRef")), None)
        if process is not None:
            inner: dict[str, str] = {}
            _flatten(process, "", inner)
            out.update({f"process/{k}": v for k, v in inner.items()})
    node_id = node.get("id", "")
    if node_id in model.lanes:
        out["lane"] = ", ".join(sorted(model.lanes[node_id]))
    return out


def _lanes_text(ids: str | None, model: _Model) -> str | None:
    """"Оператор (lane_operator)": people read the name; lanes are compared by id (a renamed lane is
    the lane's own change, not its nodes')."""
    if ids is None:
        return None
    return ", ".join(f"{model.lane_names[i]} ({i})" if model.lane_names.get(i) else i for i in ids.split(", "))


def _short(value: str | None) -> str | None:
    if value is None or len(value) <= MAX_VALUE:
        return value
    return value[:MAX_VALUE - 1] + "…"


def _changes(old: dict[str, str], new: dict[str, str]) -> tuple[Change, ...]:
    return tuple(Change(path, _short(old.get(path)), _short(new.get(path)))
                 for path in sorted(old.keys() | new.keys()) if old.get(path) != new.get(path))


def _moved(old: _Model, new: _Model) -> set[str]:
    """Ids of elements whose shape or edge (the same DI element on both sides) changed."""
    return {new.layout[di][0] for di in old.layout.keys() & new.layout.keys() if old.layout[di] != new.layout[di]}


def diff_bpmn(old_xml: str | bytes, new_xml: str | bytes) -> list[ElementDiff]:
    """The elements that differ, in the new file's document order (removed ones last, in the old's).

    Raises ValueError (UnsafeXml included) when either file is not well-formed, safe XML.
    """
    old, new = _read(old_xml), _read(new_xml)
    moved = _moved(old, new)
    result: list[ElementDiff] = []
    for element_id, node in new.elements.items():
        if element_id not in old.elements:
            result.append(ElementDiff(element_id, _local(node), node.get("name") or "", ADDED))
            continue
        changes = tuple(Change(c.path, _lanes_text(c.old, old), _lanes_text(c.new, new)) if c.path == "lane" else c
                        for c in _changes(_content(old.elements[element_id], old), _content(node, new)))
        if changes:
            result.append(ElementDiff(element_id, _local(node), node.get("name") or "", CHANGED, changes,
                                      element_id in moved))
        elif element_id in moved:
            result.append(ElementDiff(element_id, _local(node), node.get("name") or "", LAYOUT))
    result.extend(ElementDiff(element_id, _local(node), node.get("name") or "", REMOVED)
                  for element_id, node in old.elements.items() if element_id not in new.elements)
    return result
