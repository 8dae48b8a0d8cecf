"""Structural checks of a BPMN document: bpmnlint's "recommended" rules in Python, and reachability.

Modelers (Camunda Modeler, bpmn.io) lint with bpmnlint in the browser; the deploy check must say the same
things without Node, so the rules below follow bpmnlint's rule definitions (same element kinds, same
exceptions) and report under the rule's name in snake_case. Flows are read from the sequence flows'
``sourceRef``/``targetRef`` (the semantics a modeler keeps ``incoming``/``outgoing`` in step with; hand
edited files often lack the latter). Every rule refuses the deploy, bpmnlint's warnings included: a
deploy has no "deploy anyway".

- ``start_event_required`` / ``end_event_required``: every process and sub-process (not ad-hoc) has one;
- ``single_blank_start_event``: at most one start event without an event definition per scope;
- ``event_sub_process_typed_start_event`` / ``sub_process_blank_start_event``: an event sub-process
  starts on a typed event, an ordinary sub-process on a blank one;
- ``ad_hoc_sub_process``: no start or end events in an ad-hoc sub-process;
- ``single_event_definition``: an event has at most one event definition;
- ``no_disconnected``: tasks, gateways, sub-processes and events have an incoming or outgoing flow
  (event sub-processes, compensation and ad-hoc children excepted);
- ``no_implicit_start`` / ``no_implicit_end``: only start events (and boundary events, link catches,
  event sub-processes, compensation and ad-hoc children) lack incoming flows; only end events (and link
  throws, event sub-processes, compensation and ad-hoc children) lack outgoing ones. A disconnected
  element is reported once, as ``no_disconnected``;
- ``no_implicit_split``: an activity or event has at most one outgoing flow without a condition that is
  not its default flow (an explicit gateway says what the split means);
- ``fake_join`` (off, see below): an activity or event with more than one incoming flow (it runs once
  per token instead of joining them);
- ``superfluous_gateway``: a gateway with exactly one incoming and one outgoing flow;
- ``no_gateway_join_fork`` (off, see below): a gateway that both joins and forks;
- ``no_complex_gateway`` / ``no_inclusive_gateway``: these gateway kinds are discouraged;
- ``event_based_gateway``: at least two outgoing flows, none of them conditional;
- ``conditional_flows``: once a node forks conditionally (a default flow or a conditional flow), every
  outgoing flow is conditional or the default;
- ``no_duplicate_sequence_flows``: two flows with the same source, target and condition (the duplicate
  is reported, once);
- ``superfluous_termination``: a terminate end event where it is the scope's only end anyway;
- ``link_event``: link events are named, and each name has one catch and its throws in the same scope;
- ``global``: messages, signals, errors and escalations are named, used, and unique by name (bpmnlint
  lets an absent name pass and flags only a blank one; here both are refused, as the engine correlates
  messages by name);
- ``label_required``: tasks, events and forking exclusive/inclusive/complex gateways have a name
  (bpmnlint also asks for names on conditional sequence flows and lanes; lanes are named by the lane
  check, and a condition is its own label in our diagrams, so flows are left out).

Two rules are implemented but configured off (``RULES_OFF``), because every diagram of ours breaks them
without a flaw: ``fake_join`` and ``no_gateway_join_fork``. Our processes merge alternative paths (the
staff decision reached from four review tasks, a refusal reached from two decisions) straight into the
next task or decision gateway; the paths exclude each other, so one token arrives and the engine runs
the element once, exactly as an exclusive merge gateway would. The rules would only add a merge gateway
in front of each such element. The flaw ``fake_join`` is after, a task joining parallel branches, is
one this product has not modelled; should a diagram need parallel branches, the rule can be turned back
on by removing it from ``RULES_OFF``.

The two rules about the diagram interchange, ``no_bpmndi`` and ``no_overlapping_elements``, read the DI
and live with the other drawing checks in :mod:`engine.diagram_layout`; the deploy validation runs them
as its diagram checker.

``unreachable_element`` is ours: a flow node with no path from a start event of its process (boundary
events are reachable when their host is, a sub-process's content when the sub-process is, event
sub-processes when their parent scope is, link catch events when a throw of the same name is).
"""

from __future__ import annotations

from collections.abc import Collection, Iterator
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
CATCH_EVENTS = {"startEvent", "intermediateCatchEvent", "boundaryEvent"}
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
    """The tag without its namespace (string slicing: ``etree.QName`` is several times slower, and every
    check calls this for every node)."""
    tag = node.tag
    return tag[tag.rfind("}") + 1:] if isinstance(tag, str) else ""


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

    @property
    def adhoc(self) -> bool:
        return local(self.element) == "adHocSubProcess"

    def starts(self) -> list[etree._Element]:
        return [n for n in self.nodes if local(n) == "startEvent"]


def _scopes(process: etree._Element) -> Iterator[_Scope]:
    yield _Scope(process)
    for sub in process.iter(*(f"{{{BPMN_NS}}}{k}" for k in SUBPROCESSES)):
        yield _Scope(sub)


def _has_condition(flow: etree._Element) -> bool:
    return any(local(c) == "conditionExpression" for c in flow)


def _condition(flow: etree._Element) -> str:
    return next(((c.text or "").strip() for c in flow if local(c) == "conditionExpression"), "")


def _event_sub(node: etree._Element) -> bool:
    return local(node) in SUBPROCESSES and node.get("triggeredByEvent") == "true"


def _only(node: etree._Element, definition: str) -> bool:
    """The event has event definitions and all of them are of this kind (bpmnlint's test for link and
    compensation events)."""
    kinds = _definitions(node)
    return bool(kinds) and all(k == definition for k in kinds)


RULES_OFF: frozenset[str] = frozenset({"fake_join", "no_gateway_join_fork"})
"""Rules the deploy does not apply (why: the module's docstring); a caller may ask for them anyway."""


def lint_process(process: etree._Element, off: Collection[str] = RULES_OFF) -> list[Finding]:
    """Every bpmnlint finding and unreachable element of one ``bpmn:process``, except rules in ``off``."""
    findings: list[Finding] = []
    for scope in _scopes(process):
        findings.extend(_scope_findings(scope))
    findings.extend(_unreachable(process))
    return [f for f in findings if f.code not in off]


def _scope_findings(scope: _Scope) -> list[Finding]:
    found: list[Finding] = []
    starts = scope.starts()
    if not scope.adhoc and not starts:
        found.append(Finding(scope.element, "start_event_required", f"в {scope.kind} нет стартового события"))
    if not scope.adhoc and not any(local(n) == "endEvent" for n in scope.nodes):
        found.append(Finding(scope.element, "end_event_required", f"в {scope.kind} нет завершающего события"))
    if len([s for s in starts if not _definitions(s)]) > 1:
        found.append(Finding(scope.element, "single_blank_start_event",
                             f"в {scope.kind} больше одного стартового события без типа"))
    found.extend(_start_kind_findings(scope))
    seen: set[tuple[str, str, str]] = set()
    for flow in scope.flows:
        key = (flow.get("sourceRef", ""), flow.get("targetRef", ""), _condition(flow))
        if key in seen:
            found.append(Finding(flow, "no_duplicate_sequence_flows",
                                 "поток дублирует другой поток с тем же началом, концом и условием"))
        seen.add(key)
    for node in scope.nodes:
        found.extend(_node_findings(scope, node))
    found.extend(_superfluous_termination(scope))
    found.extend(_link_findings(scope))
    return found


def _start_kind_findings(scope: _Scope) -> list[Finding]:
    """What kind of start events a sub-process may have: typed in an event sub-process, blank in an
    ordinary one, none (and no end events) in an ad-hoc one."""
    if local(scope.element) not in SUBPROCESSES:
        return []
    found: list[Finding] = []
    for node in scope.nodes:
        kind = local(node)
        if scope.adhoc and kind in ("startEvent", "endEvent"):
            what = "стартового" if kind == "startEvent" else "завершающего"
            found.append(Finding(node, "ad_hoc_sub_process",
                                 f"в произвольном (ad hoc) подпроцессе не может быть {what} события"))
        if kind != "startEvent":
            continue
        if _event_sub(scope.element) and not _definitions(node):
            found.append(Finding(node, "event_sub_process_typed_start_event",
                                 "у стартового события событийного подпроцесса нет типа (сообщение, таймер, "
                                 "ошибка…): непонятно, что его запускает"))
        elif not _event_sub(scope.element) and _definitions(node):
            found.append(Finding(node, "sub_process_blank_start_event",
                                 "стартовое событие обычного подпроцесса должно быть без типа: "
                                 "подпроцесс запускает входящий поток"))
    return found


def _node_findings(scope: _Scope, node: etree._Element) -> list[Finding]:
    return [*_connection_findings(scope, node), *_split_findings(scope, node), *_gateway_findings(scope, node),
            *_event_findings(node), *_label_findings(scope, node)]


def _connection_findings(scope: _Scope, node: etree._Element) -> list[Finding]:
    kind, node_id = local(node), node.get("id", "")
    incoming, outgoing = scope.incoming.get(node_id, []), scope.outgoing.get(node_id, [])
    compensation_activity = kind in ACTIVITIES and node.get("isForCompensation") == "true"
    compensation = compensation_activity or _definitions(node) == ["compensateEventDefinition"]
    exempt = scope.adhoc or _event_sub(node)
    if not incoming and not outgoing and not exempt and not compensation:
        return [Finding(node, "no_disconnected", "элемент не соединён ни одним потоком")]
    found: list[Finding] = []
    implicit_start = not (exempt or compensation_activity or kind in ("startEvent", "boundaryEvent")
                          or (kind == "intermediateCatchEvent" and _only(node, "linkEventDefinition")))
    if implicit_start and not incoming:
        found.append(Finding(node, "no_implicit_start",
                             "неявное начало: в элемент не входит ни один поток; процесс начинается только "
                             "со стартового события"))
    implicit_end = not (exempt or compensation_activity or kind == "endEvent"
                        or (kind == "intermediateThrowEvent" and _only(node, "linkEventDefinition"))
                        or (kind == "boundaryEvent" and _only(node, "compensateEventDefinition")
                            and _has_association(scope, node_id)))
    if implicit_end and not outgoing:
        found.append(Finding(node, "no_implicit_end",
                             "неявный конец: из элемента не выходит ни один поток; закончите ветвь "
                             "завершающим событием"))
    if kind in ACTIVITIES | EVENTS and len(incoming) > 1:
        found.append(Finding(node, "fake_join",
                             "в элемент входит несколько потоков, но он их не объединяет (выполнится на "
                             "каждый); поставьте перед ним шлюз"))
    return found


def _has_association(scope: _Scope, node_id: str) -> bool:
    """A compensation boundary event is tied to its handler by an association of the process."""
    process = next((a for a in scope.element.iterancestors() if local(a) == "process"), scope.element)
    return any(a.get("sourceRef") == node_id for a in _children(process, {"association"}))


def _split_findings(scope: _Scope, node: etree._Element) -> list[Finding]:
    kind, node_id = local(node), node.get("id", "")
    outgoing, default = scope.outgoing.get(node_id, []), node.get("default")
    found: list[Finding] = []
    if kind in ACTIVITIES | EVENTS:
        plain = [f for f in outgoing if not _has_condition(f) and f.get("id") != default]
        if len(plain) > 1:
            found.append(Finding(node, "no_implicit_split",
                                 "неявное ветвление: несколько исходящих потоков без условия; "
                                 "поставьте шлюз"))
    if default or any(_has_condition(f) for f in outgoing):
        for flow in outgoing:
            if not _has_condition(flow) and flow.get("id") != default:
                found.append(Finding(flow, "conditional_flows",
                                     "у потока нет условия, а другие исходящие потоки элемента условные; "
                                     "задайте условие или сделайте поток потоком по умолчанию"))
    return found


DISCOURAGED_GATEWAYS = {
    "complexGateway": ("no_complex_gateway", "сложный шлюз (complex gateway) использовать не рекомендуется: "
                       "его условие не видно на схеме; замените его исключающим или параллельным"),
    "inclusiveGateway": ("no_inclusive_gateway", "включающий шлюз (inclusive gateway) использовать не "
                         "рекомендуется: трудно понять, каких ветвей он ждёт; замените его исключающими "
                         "и параллельными"),
}


def _gateway_findings(scope: _Scope, node: etree._Element) -> list[Finding]:
    kind, node_id = local(node), node.get("id", "")
    if kind not in GATEWAYS:
        return []
    incoming, outgoing = scope.incoming.get(node_id, []), scope.outgoing.get(node_id, [])
    found: list[Finding] = []
    if len(incoming) == 1 and len(outgoing) == 1:
        found.append(Finding(node, "superfluous_gateway", "лишний шлюз: у него один входящий и один исходящий поток"))
    if len(incoming) > 1 and len(outgoing) > 1:
        found.append(Finding(node, "no_gateway_join_fork",
                             "шлюз и объединяет, и разветвляет потоки; разделите его на два шлюза"))
    if kind in DISCOURAGED_GATEWAYS:
        found.append(Finding(node, *DISCOURAGED_GATEWAYS[kind]))
    if kind == "eventBasedGateway":
        if len(outgoing) < 2:
            found.append(Finding(node, "event_based_gateway",
                                 "у шлюза по событиям должно быть не меньше двух исходящих потоков"))
        found.extend(Finding(f, "event_based_gateway", "поток из шлюза по событиям не может быть условным")
                     for f in outgoing if _has_condition(f))
    return found


def _event_findings(node: etree._Element) -> list[Finding]:
    if local(node) in EVENTS and len(_definitions(node)) > 1:
        return [Finding(node, "single_event_definition",
                        "у события несколько определений (типов); оставьте одно")]
    return []


def _label_findings(scope: _Scope, node: etree._Element) -> list[Finding]:
    kind = local(node)
    forking = kind in {"exclusiveGateway", "inclusiveGateway", "complexGateway"} \
        and len(scope.outgoing.get(node.get("id", ""), [])) > 1
    needs_label = (kind in TASKS or kind in EVENTS or forking) and not _event_sub(node)
    if needs_label and not (node.get("name") or "").strip():
        return [Finding(node, "label_required", "у элемента нет названия")]
    return []


def _terminates(node: etree._Element) -> bool:
    return local(node) == "endEvent" and "terminateEventDefinition" in _definitions(node)


def _interrupting_event_sub(node: etree._Element) -> bool:
    return _event_sub(node) and any(s.get("isInterrupting") != "false" for s in _children(node, {"startEvent"}))


def _superfluous_termination(scope: _Scope) -> list[Finding]:
    """A terminate end event that is the scope's only end (bpmnlint looks at this basic case only)."""
    ends = [n for n in scope.nodes if not scope.outgoing.get(n.get("id", ""))]
    terminates = [n for n in ends if _terminates(n)]
    if len(terminates) != 1 or not all(_terminates(n) or _interrupting_event_sub(n) for n in ends):
        return []
    return [Finding(terminates[0], "superfluous_termination",
                    "событие «прекращение» (terminate) лишнее: других ветвей, которые нужно прервать, "
                    "здесь нет; используйте обычное завершающее событие")]


def _link_name(node: etree._Element) -> str:
    definition = next(c for c in node if local(c) == "linkEventDefinition")
    return (definition.get("name") or "").strip()


def _link_findings(scope: _Scope) -> list[Finding]:
    """Link events pair up within a scope: named, one catch per name, and a throw for it."""
    found: list[Finding] = []
    by_name: dict[str, list[etree._Element]] = {}
    for node in scope.nodes:
        if local(node) in EVENTS and "linkEventDefinition" in _definitions(node):
            name = _link_name(node)
            if not name:
                found.append(Finding(node, "link_event", "у события-ссылки нет имени ссылки"))
            else:
                by_name.setdefault(name, []).append(node)
    for name, events in by_name.items():
        catches = [e for e in events if local(e) in CATCH_EVENTS]
        if len(events) == 1:
            missing = "бросающего" if catches else "ловящего"
            found.append(Finding(events[0], "link_event", f"для ссылки «{name}» в этой области нет {missing} "
                                                          "события-ссылки"))
        elif len(catches) > 1:
            found.extend(Finding(e, "link_event", f"ссылку «{name}» ловят несколько событий в одной области")
                         for e in catches)
        elif not catches:
            found.extend(Finding(e, "link_event", f"для ссылки «{name}» в этой области нет ловящего "
                                                  "события-ссылки") for e in events)
    return found


GLOBALS = {"message": ("сообщение", "messageRef", {"messageEventDefinition", "messageFlow", "receiveTask",
                                                     "sendTask"}),
           "signal": ("сигнал", "signalRef", {"signalEventDefinition"}),
           "error": ("ошибка", "errorRef", {"errorEventDefinition"}),
           "escalation": ("эскалация", "escalationRef", {"escalationEventDefinition"})}


def lint_definitions(definitions: etree._Element) -> list[Finding]:
    """bpmnlint's ``global`` rule over a file's messages, signals, errors and escalations: each is named,
    used by an element of the file, and the only one of its kind with its name."""
    found: list[Finding] = []
    for kind, (label, ref, users) in GLOBALS.items():
        elements = _children(definitions, {kind})
        used = {n.get(ref) for n in definitions.iter(*(f"{{{BPMN_NS}}}{u}" for u in users))}
        names = [(e.get("name") or "").strip() for e in elements]
        for element, name in zip(elements, names, strict=True):
            if not name:
                found.append(Finding(element, "global", f"{label}: нет названия"))
            elif names.count(name) > 1:
                found.append(Finding(element, "global", f"{label} «{name}»: такое название уже есть у другого"))
            if element.get("id") not in used:
                found.append(Finding(element, "global", f"{label} «{name}» нигде не используется"
                                     if name else f"{label} нигде не используется"))
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
