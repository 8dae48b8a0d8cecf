"""A small process with full diagram interchange (a pool, two lanes) and a decision table, for the studio tests.

The product's own diagrams may lack DI, which the studio must survive; these files are drawn for sure.
Names carry HTML on purpose: the pages must show it as text.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from pathlib import Path

from engine.settings import Settings
from web.cli import deploy_workflows

TASK_NAME = "Проверить <b>заявку</b> & «сведения»"
PROCESS_NAME = "Демо <i>студии</i>"  # each deployment appends its id: tests share one database
DECISION_NAME = "Выбор <script>срока</script>"

BPMN = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
  xmlns:bpmndi="http://www.omg.org/spec/BPMN/20100524/DI" xmlns:dc="http://www.omg.org/spec/DD/20100524/DC"
  xmlns:di="http://www.omg.org/spec/DD/20100524/DI" id="defs_{pid}" targetNamespace="http://bpmn.io/schema/bpmn">
  <bpmn:collaboration id="collab_{pid}">
    <bpmn:participant id="pool_{pid}" name="{name}" processRef="{pid}" />
  </bpmn:collaboration>
  <bpmn:process id="{pid}" name="{name}" isExecutable="true">
    <bpmn:laneSet id="lanes_{pid}">
      <bpmn:lane id="lane_system" name="Система"><bpmn:flowNodeRef>start</bpmn:flowNodeRef>
        <bpmn:flowNodeRef>done</bpmn:flowNodeRef></bpmn:lane>
      <bpmn:lane id="lane_operator" name="Оператор"><bpmn:flowNodeRef>review</bpmn:flowNodeRef></bpmn:lane>
    </bpmn:laneSet>
    <bpmn:startEvent id="start" name="Заявление подано"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:userTask id="review" name="{task}"><bpmn:incoming>f1</bpmn:incoming>
      <bpmn:outgoing>f2</bpmn:outgoing></bpmn:userTask>
    <bpmn:endEvent id="done" name="Готово"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="review" />
    <bpmn:sequenceFlow id="f2" sourceRef="review" targetRef="done" />
  </bpmn:process>
  <bpmndi:BPMNDiagram id="diagram_{pid}">
    <bpmndi:BPMNPlane id="plane_{pid}" bpmnElement="collab_{pid}">
      <bpmndi:BPMNShape id="pool_{pid}_di" bpmnElement="pool_{pid}" isHorizontal="true">
        <dc:Bounds x="100" y="50" width="600" height="300" /></bpmndi:BPMNShape>
      <bpmndi:BPMNShape id="lane_system_di" bpmnElement="lane_system" isHorizontal="true">
        <dc:Bounds x="130" y="50" width="570" height="150" /></bpmndi:BPMNShape>
      <bpmndi:BPMNShape id="lane_operator_di" bpmnElement="lane_operator" isHorizontal="true">
        <dc:Bounds x="130" y="200" width="570" height="150" /></bpmndi:BPMNShape>
      <bpmndi:BPMNShape id="start_di" bpmnElement="start"><dc:Bounds x="180" y="107" width="36" height="36" />
        <bpmndi:BPMNLabel><dc:Bounds x="160" y="150" width="80" height="27" /></bpmndi:BPMNLabel></bpmndi:BPMNShape>
      <bpmndi:BPMNShape id="review_di" bpmnElement="review"><dc:Bounds x="330" y="235" width="140" height="80" />
        </bpmndi:BPMNShape>
      <bpmndi:BPMNShape id="done_di" bpmnElement="done"><dc:Bounds x="600" y="107" width="36" height="36" />
        <bpmndi:BPMNLabel><dc:Bounds x="596" y="150" width="44" height="14" /></bpmndi:BPMNLabel></bpmndi:BPMNShape>
      <bpmndi:BPMNEdge id="f1_di" bpmnElement="f1"><di:waypoint x="216" y="125" /><di:waypoint x="270" y="125" />
        <di:waypoint x="270" y="275" /><di:waypoint x="330" y="275" /></bpmndi:BPMNEdge>
      <bpmndi:BPMNEdge id="f2_di" bpmnElement="f2"><di:waypoint x="470" y="275" /><di:waypoint x="540" y="275" />
        <di:waypoint x="540" y="125" /><di:waypoint x="600" y="125" /></bpmndi:BPMNEdge>
    </bpmndi:BPMNPlane>
  </bpmndi:BPMNDiagram>
</bpmn:definitions>
"""

DMN = """<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="https://www.omg.org/spec/DMN/20191111/MODEL/" id="defs_{pid}_dmn" name="Сроки"
  namespace="http://camunda.org/schema/1.0/dmn">
  <decision id="{pid}_term" name="{decision}">
    <decisionTable id="{pid}_table" hitPolicy="FIRST">
      <input id="in_kind" label="Вид заявления"><inputExpression id="in_kind_expr" typeRef="string">
        <text>kind</text></inputExpression></input>
      <output id="out_days" label="Срок, дней" name="days" typeRef="integer" />
      <rule id="rule_urgent"><inputEntry id="rule_urgent_in"><text>"срочное"</text></inputEntry>
        <outputEntry id="rule_urgent_out"><text>1</text></outputEntry></rule>
      <rule id="rule_other"><inputEntry id="rule_other_in"><text>-</text></inputEntry>
        <outputEntry id="rule_other_out"><text>5</text></outputEntry></rule>
    </decisionTable>
  </decision>
</definitions>
"""
LANES = '[lanes]\n"Система" = "system"\n"Оператор" = "operator"\n'


@dataclass(frozen=True)
class StudioProcess:
    process_id: str
    name: str
    bpmn_file: str
    dmn_file: str


def _attr(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")


def deploy_studio_process(settings: Settings, directory: Path, with_di: bool = True) -> StudioProcess:
    """Write the process (a unique id) and its DMN into `directory` and deploy both as the CLI does."""
    pid = f"studio_demo_{uuid.uuid4().hex[:8]}"
    name = f"{PROCESS_NAME} {pid[-8:]}"
    bpmn = BPMN.format(pid=pid, name=_attr(name), task=_attr(TASK_NAME))
    if not with_di:
        bpmn = bpmn[:bpmn.index("  <bpmndi:BPMNDiagram")] + "</bpmn:definitions>\n"
    directory.mkdir(parents=True, exist_ok=True)
    (directory / f"{pid}.bpmn").write_text(bpmn, encoding="utf-8")
    (directory / f"{pid}.dmn").write_text(DMN.format(pid=pid, decision=_attr(DECISION_NAME)), encoding="utf-8")
    (directory / "lanes.toml").write_text(LANES, encoding="utf-8")
    deploy_workflows([directory], actor="analyst-test", settings=settings)
    return StudioProcess(pid, name, f"{pid}.bpmn", f"{pid}.dmn")
