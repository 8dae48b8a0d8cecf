"""A diagram as text: its elements by lane, and whether it carries diagram interchange (DI).

The version page draws diagrams with bpmn-js/dmn-js; this outline is what the page shows without
JavaScript (and to screen readers), and `has_bpmn_di` lets the page say why nothing can be drawn
when a diagram has no DI instead of showing an empty canvas.
"""

from __future__ import annotations

from dataclasses import dataclass

from lxml import etree

from engine.xml_safety import parse_xml

BPMN = "http://www.omg.org/spec/BPMN/20100524/MODEL"
BPMNDI = "http://www.omg.org/spec/BPMN/20100524/DI"
DMN_NAMESPACES = ("https://www.omg.org/spec/DMN/20191111/MODEL/", "http://www.omg.org/spec/DMN/20180521/MODEL/",
                  "http://www.omg.org/spec/DMN/20151101/dmn.xsd")
# BPMN element kinds the outline lists, with the Russian words analysts know from the modeler.
KINDS = {
    "startEvent": "Начальное событие", "endEvent": "Конечное событие",
    "intermediateCatchEvent": "Промежуточное событие", "intermediateThrowEvent": "Промежуточное событие",
    "boundaryEvent": "Граничное событие", "task": "Задача", "userTask": "Задача сотрудника",
    "manualTask": "Ручная задача", "serviceTask": "Сервисная задача", "scriptTask": "Задача-скрипт",
    "businessRuleTask": "Правило (DMN)", "sendTask": "Отправка", "receiveTask": "Получение",
    "callActivity": "Вызов процесса", "subProcess": "Подпроцесс", "exclusiveGateway": "Исключающий шлюз",
    "parallelGateway": "Параллельный шлюз", "inclusiveGateway": "Включающий шлюз",
    "eventBasedGateway": "Шлюз по событию",
}


@dataclass(frozen=True)
class OutlineRow:
    element_id: str
    kind: str
    name: str
    lane: str


@dataclass(frozen=True)
class Decision:
    decision_id: str
    name: str
    rules: int


def _local(node: etree._Element) -> str:
    return etree.QName(node).localname if isinstance(node.tag, str) else ""


def has_bpmn_di(xml: str) -> bool:
    """Whether the diagram places at least one shape (without DI no modeler can draw it)."""
    return next(parse_xml(xml.encode("utf-8")).iter(f"{{{BPMNDI}}}BPMNShape"), None) is not None


def bpmn_outline(xml: str) -> list[OutlineRow]:
    """Flow nodes in document order, each with its lane's name (empty outside lanes)."""
    root = parse_xml(xml.encode("utf-8"))
    lane_of: dict[str, str] = {}
    for lane in root.iter(f"{{{BPMN}}}lane"):
        for ref in lane.iter(f"{{{BPMN}}}flowNodeRef"):
            lane_of[(ref.text or "").strip()] = lane.get("name") or lane.get("id", "")
    return [OutlineRow(node.get("id", ""), KINDS[_local(node)], node.get("name") or "", lane_of.get(node.get("id"), ""))
            for node in root.iter() if _local(node) in KINDS and etree.QName(node).namespace == BPMN]


def dmn_decisions(xml: str) -> list[Decision]:
    """Decisions with their names and how many rules their table has."""
    root = parse_xml(xml.encode("utf-8"))
    return [Decision(node.get("id", ""), node.get("name") or "",
                     sum(1 for child in node.iter() if _local(child) == "rule"))
            for node in root.iter() if _local(node) == "decision" and etree.QName(node).namespace in DMN_NAMESPACES]
