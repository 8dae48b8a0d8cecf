"""Structural checks of a BPMN process: a Python subset of bpmnlint's "recommended" rules, and reachability.

Modelers (Camunda Modeler, bpmn.io) lint with bpmnlint in the browser; the deploy check must say the same
things without Node, so the rules below follow bpmnlint's rule definitions (same element kinds, same
exceptions) and report under the rule's name in snake_case:

- ``start_event_required`` / ``end_event_required``: every process and sub-process (not ad-hoc) has one;
- ``single_blank_start_event``: at most one start event without an event definition per scope;
- ``no_disconnected``: tasks, gateways, sub-processes and events have an incoming or outgoing flow
  (event sub-processes, compensation and ad-hoc children excepted);
- ``no_implicit_split``: an activity or event has at most one outgoing flow without a condition that is
  not its default flow (an explicit gateway says what the split means);
- ``superfluous_gateway``: a gateway with exactly one incoming and one outgoing flow;
- ``conditional_flows``: once a node forks conditionally (a default flow or a conditional flow), every
  outgoing flow is conditional or the default;
- ``no_duplicate_sequence_flows``: two flows with the same source, target and condition (the duplicate
  is reported, once);
- ``label_required``: tasks, events and forking exclusive/inclusive/complex gateways have a name
  (bpmnlint also asks for names on conditional sequence flows and lanes; lanes are named by the lane
  check, and a condition is its own label in our diagrams, so flows are left out).

Not covered: rules that need the diagram interchange (``no-overlapping-elements``, ``no-bpmndi``: the
deploy validation takes an extra checker for DI), ``fake-join``, ``no-gateway-join-fork``,
``no-complex-gateway``, ``no-inclusive-gateway``, ``event-based-gateway``, ``link-event``, ``global``
and ``no-implicit-start``/``no-implicit-end`` (reachability below covers the harmful half of them).

``unreachable_element`` is ours: a flow node with no path from a start event of its process (boundary
events are reachable when their host is, a sub-process's content when the sub-process is, event
sub-processes when their parent scope is, link catch events when a throw of the same name is).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from lxml import etree

BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"

TASKS = {"task", "userTask", "serviceTask", "scriptTask", "businessRuleTask", "sendTask", "receiveTask",
         "manualTask", "callActivity"}
SUBPROCESSES = {"subProcess", "transaction", "adHocSubProcess"}
ACTIVITIES = TASKS | SUBPROCESSES
EVENTS = {"startEvent", "endEvent", "intermediateCatchEvent", "intermediateThrowEvent", "boundaryEvent"}
GATEWAYS = {"exclusiveGateway", "inclusiveGateway", "parallelGateway", "eventBasedGateway", "complexGateway"}
FLOW_NODES = ACTIVITIES | EVENTS | GATEWAYS
EVENT_DEFINITIONS = {"messageEventDefinition", "timerEventDefinition", "errorEventDefinition",
                     "escalationEventDefinition", "signalEventDefinition", "conditionalEventDefinition",
                     "compensateEventDefinition", "cancelEventDefinition", "linkEventDefinition",
                     "terminateEventDefinition"}


@dataclass(frozen=True)
class Finding:
    """One rule violation at one element (``element`` is the lxml node it is about)."""

    element: etree._Element
    code: str
    message: str


def local(node: etree._Element) -> str:
    return etree.QName(node).localname if isinstance(node.tag, str) else ""


def _children(scope: etree._Element, kinds: set[str]) -> list[etree._Element]:
    return [c for c in scope if local(c) in kinds and etree.QName(c).namespace == BPMN_NS]


def _definitions(node: etree._Element) -> list[str]:
    return [local(c) for c in node if local(c) in EVENT_DEFINITIONS]


class _Scope:
    """One process or sub-process: its flow nodes and sequence flows (direct children only)."""

    def __init__(self, element: etree._Element) -> None:
        self.element = element
        self.nodes = _children(element, FLOW_NODES)
        self.flows = _children(element, {"sequenceFlow"})
        self.outgoing: dict[str, list[etree._Element]] = {}
        self.incoming: dict[str, list[etree._Element]] = {}
        for flow in self.flows:
            self.outgoing.setdefault(flow.get("sourceRef", ""), []).append(flow)
            self.incoming.setdefault(flow.get("targetRef", ""), []).append(flow)

    @property
    def kind(self) -> str:
        return "подпроцессе" if local(self.element) in SUBPROCESSES else "процессе"


def _scopes(process: etree._Element) -> Iterator[_Scope]:
    yield _Scope(process)
    for sub in process.iter(*(f"{{{BPMN_NS}}}{k}" for k in SUBPROCESSES)):
        yield _Scope(sub)


def _has_condition(flow: etree._Element) -> bool:
    return any(local(c) == "conditionExpression" for c in flow)


def _condition(flow: etree._Element) -> str:
    return next(((c.text or "").strip() for c in flow if local(c) == "conditionExpression"), "")


def lint_process(process: etree._Element) -> list[Finding]:
    """Every bpmnlint-subset finding and unreachable element of one ``bpmn:process``."""
    findings: list[Finding] = []
    for scope in _scopes(process):
        findings.extend(_scope_findings(scope))
    findings.extend(_unreachable(process))
    return findings


def _scope_findings(scope: _Scope) -> list[Finding]:
    found: list[Finding] = []
    adhoc = local(scope.element) == "adHocSubProcess"
    starts = [n for n in scope.nodes if local(n) == "startEvent"]
    if not adhoc and not starts:
        found.append(Finding(scope.element, "start_event_required", f"в {scope.kind} нет стартового события"))
    if not adhoc and not any(local(n) == "endEvent" for n in scope.nodes):
        found.append(Finding(scope.element, "end_event_required", f"в {scope.kind} нет завершающего события"))
    if len([s for s in starts if not _definitions(s)]) > 1:
        found.append(Finding(scope.element, "single_blank_start_event",
                             f"в {scope.kind} больше одного стартового события без типа"))
    seen: set[tuple[str, str, str]] = set()
    for flow in scope.flows:
        key = (flow.get("sourceRef", ""), flow.get("targetRef", ""), _condition(flow))
        if key in seen:
            found.append(Finding(flow, "no_duplicate_sequence_flows",
                                 "поток дублирует другой поток с тем же началом, концом и условием"))
        seen.add(key)
    for node in scope.nodes:
        found.extend(_node_findings(scope, node, adhoc))
    return found


def _node_findings(scope: _Scope, node: etree._Element, adhoc: bool) -> list[Finding]:
    found: list[Finding] = []
    kind, node_id = local(node), node.get("id", "")
    incoming, outgoing = scope.incoming.get(node_id, []), scope.outgoing.get(node_id, [])
    default = node.get("default")
    compensation = node.get("isForCompensation") == "true" or _definitions(node) == ["compensateEventDefinition"]
    event_sub = node.get("triggeredByEvent") == "true"
    if not incoming and not outgoing and not adhoc and not compensation and not event_sub:
        found.append(Finding(node, "no_disconnected", "элемент не соединён ни одним потоком"))
    if kind in ACTIVITIES | EVENTS:
        plain = [f for f in outgoing if not _has_condition(f) and f.get("id") != default]
        if len(plain) > 1:
            found.append(Finding(node, "no_implicit_split",
                                 "неявное ветвление: несколько исходящих потоков без условия; "
                                 "поставьте шлюз"))
    if kind in GATEWAYS and len(incoming) == 1 and len(outgoing) == 1:
        found.append(Finding(node, "superfluous_gateway",
                             "лишний шлюз: у него один входящий и один исходящий поток"))
    if default or any(_has_condition(f) for f in outgoing):
        for flow in outgoing:
            if not _has_condition(flow) and flow.get("id") != default:
                found.append(Finding(flow, "conditional_flows",
                                     "у потока нет условия, а другие исходящие потоки элемента условные; "
                                     "задайте условие или сделайте поток потоком по умолчанию"))
    forking_gateway = kind in {"exclusiveGateway", "inclusiveGateway", "complexGateway"} and len(outgoing) > 1
    needs_label = (kind in TASKS or kind in EVENTS or forking_gateway) and not event_sub
    if needs_label and not (node.get("name") or "").strip():
        found.append(Finding(node, "label_required", "у элемента нет названия"))
    return found


def _unreachable(process: etree._Element) -> list[Finding]:
    """Flow nodes (at any depth) that no token can reach from the process's start events."""
    nodes = {n.get("id"): n for n in process.iter(*(f"{{{BPMN_NS}}}{k}" for k in FLOW_NODES)) if n.get("id")}
    edges: dict[str, set[str]] = {}

    def link(a: str | None, b: str | None) -> None:
        if a and b:
            edges.setdefault(a, set()).add(b)

    for flow in process.iter(f"{{{BPMN_NS}}}sequenceFlow"):
        link(flow.get("sourceRef"), flow.get("targetRef"))
    links: dict[str, list[str]] = {}
    for node_id, node in nodes.items():
        if local(node) == "boundaryEvent":
            link(node.get("attachedToRef"), node_id)
        if local(node) in SUBPROCESSES:
            for child in _children(node, {"startEvent"} | SUBPROCESSES):
                if local(child) == "startEvent" or child.get("triggeredByEvent") == "true":
                    link(node_id, child.get("id"))
        for definition in node:
            if local(definition) == "linkEventDefinition":
                links.setdefault(definition.get("name") or "", []).append(node_id)
    for members in links.values():
        throws = [m for m in members if local(nodes[m]) == "intermediateThrowEvent"]
        for t in throws:
            for m in members:
                if local(nodes[m]) == "intermediateCatchEvent":
                    link(t, m)
    seeds = [n.get("id") for n in _children(process, {"startEvent"})]
    seeds += [n.get("id") for n in _children(process, SUBPROCESSES) if n.get("triggeredByEvent") == "true"]
    reached: set[str] = set()
    stack = [s for s in seeds if s]
    while stack:
        current = stack.pop()
        if current in reached:
            continue
        reached.add(current)
        stack.extend(edges.get(current, ()))
        if current in nodes and nodes[current].get("triggeredByEvent") == "true":
            stack.extend(c.get("id") for c in _children(nodes[current], {"startEvent"}) if c.get("id"))
    if not seeds:
        return []  # start_event_required already says why nothing runs
    return [Finding(node, "unreachable_element", "элемент недостижим: к нему не ведёт ни один путь от "
                    "стартового события") for node_id, node in nodes.items() if node_id not in reached]
