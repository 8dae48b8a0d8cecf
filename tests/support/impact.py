"""A small decided process for the impact preview tests: a decision table feeding an exclusive gateway.

Cases run live through the runtime (so their step rows are the engine's own records); the tests then
evaluate a changed table directly on each case's full data, with SpiffWorkflow running the draft's
specs, and compare with what the preview reports from the recorded values only.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flask import Flask
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.util.task import TaskState

from backoffice.provision import deploy_workflows
from engine.diagram_layout import layout_bpmn
from engine.scripting import ScriptEnvironment
from engine.settings import Settings
from engine.specs import RuntimeBpmnParser

BPMN = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
  xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core"
  id="defs_{pid}" targetNamespace="http://bpmn.io/schema/bpmn">
  <bpmn:process id="{pid}" name="Оценка {pid}" isExecutable="true">
    <bpmn:startEvent id="start" name="Заявка"><bpmn:outgoing>f0</bpmn:outgoing></bpmn:startEvent>
    <bpmn:businessRuleTask id="decide" name="Оценить заявку"><bpmn:extensionElements>
        <spiffworkflow:calledDecisionId>{pid}_verdict</spiffworkflow:calledDecisionId></bpmn:extensionElements>
      <bpmn:incoming>f0</bpmn:incoming><bpmn:outgoing>f1</bpmn:outgoing></bpmn:businessRuleTask>
    <bpmn:exclusiveGateway id="gw" name="Вердикт?" default="f_decline"><bpmn:incoming>f1</bpmn:incoming>
      <bpmn:outgoing>f_accept</bpmn:outgoing><bpmn:outgoing>f_refer</bpmn:outgoing>
      <bpmn:outgoing>f_decline</bpmn:outgoing></bpmn:exclusiveGateway>
    <bpmn:endEvent id="accepted" name="Принята"><bpmn:incoming>f_accept</bpmn:incoming></bpmn:endEvent>
    <bpmn:endEvent id="referred" name="На проверке"><bpmn:incoming>f_refer</bpmn:incoming></bpmn:endEvent>
    <bpmn:endEvent id="declined" name="Отклонена"><bpmn:incoming>f_decline</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f0" sourceRef="start" targetRef="decide" />
    <bpmn:sequenceFlow id="f1" sourceRef="decide" targetRef="gw" />
    <bpmn:sequenceFlow id="f_accept" sourceRef="gw" targetRef="accepted">
      <bpmn:conditionExpression>verdict == "accept"</bpmn:conditionExpression></bpmn:sequenceFlow>
    <bpmn:sequenceFlow id="f_refer" sourceRef="gw" targetRef="referred">
      <bpmn:conditionExpression>verdict == "refer"</bpmn:conditionExpression></bpmn:sequenceFlow>
    <bpmn:sequenceFlow id="f_decline" sourceRef="gw" targetRef="declined" />
  </bpmn:process>
</bpmn:definitions>
"""

REGION = '(profile.get("region") or "none")'
DMN = """<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="https://www.omg.org/spec/DMN/20191111/MODEL/" id="defs_{pid}_dmn" name="Оценка"
  namespace="http://camunda.org/schema/1.0/dmn">
  <decision id="{pid}_verdict" name="Оценка заявки">
    <decisionTable id="{pid}_table" hitPolicy="UNIQUE">
      <input id="in_score" label="Балл"><inputExpression id="in_score_expr" typeRef="integer">
        <text>score</text></inputExpression></input>
      <input id="in_region" label="Регион"><inputExpression id="in_region_expr" typeRef="string">
        <text>{region}</text></inputExpression></input>
      <output id="out_verdict" label="Вердикт" name="verdict" typeRef="string" />
      <output id="out_note" label="Пояснение" name="note" typeRef="string" />
      <rule id="r_high"><inputEntry id="r_high_score"><text>&gt;= {high}</text></inputEntry>
        <inputEntry id="r_high_region"><text></text></inputEntry>
        <outputEntry id="r_high_verdict"><text>"accept"</text></outputEntry>
        <outputEntry id="r_high_note"><text>"Высокий балл"</text></outputEntry></rule>
      <rule id="r_north"><inputEntry id="r_north_score"><text>&gt;= 40</text></inputEntry>
        <inputEntry id="r_north_region"><text>"north"</text></inputEntry>
        <outputEntry id="r_north_verdict"><text>"refer"</text></outputEntry>
        <outputEntry id="r_north_note"><text>"Север: на проверку"</text></outputEntry></rule>
      <rule id="r_mid"><inputEntry id="r_mid_score"><text>&gt;= {mid}</text></inputEntry>
        <inputEntry id="r_mid_region"><text></text></inputEntry>
        <outputEntry id="r_mid_verdict"><text>"accept"</text></outputEntry>
        <outputEntry id="r_mid_note"><text>"Средний балл"</text></outputEntry></rule>
      <rule id="r_low"><inputEntry id="r_low_score"><text></text></inputEntry>
        <inputEntry id="r_low_region"><text></text></inputEntry>
        <outputEntry id="r_low_verdict"><text>"decline"</text></outputEntry>
        <outputEntry id="r_low_note"><text>(profile.get("comment") or "нет")</text></outputEntry></rule>
    </decisionTable>
  </decision>
</definitions>
"""
# Scores on both sides of each threshold a test moves, in three regions (one without a region at all).
SCORES = (35, 42, 47, 55, 72, 78, 91)
REGIONS = ("north", "south", None)


@dataclass(frozen=True)
class ImpactProcess:
    process_id: str
    bpmn_file: str
    dmn_file: str
    bpmn: str

    def dmn(self, high: int = 70, mid: int = 40, region: str = REGION) -> str:
        return DMN.format(pid=self.process_id, high=high, mid=mid, region=region.replace('"', "&quot;"))


def deploy_impact_process(settings: Settings, directory: Path) -> ImpactProcess:
    """Write the process (a unique id, drawn by the layout tool) and its table; deploy both as the CLI does."""
    pid = f"impact_demo_{uuid.uuid4().hex[:8]}"
    bpmn = layout_bpmn(BPMN.format(pid=pid).encode("utf-8")).decode("utf-8")
    process = ImpactProcess(pid, f"{pid}.bpmn", f"{pid}.dmn", bpmn)
    directory.mkdir(parents=True, exist_ok=True)
    (directory / process.bpmn_file).write_text(bpmn, encoding="utf-8")
    (directory / process.dmn_file).write_text(process.dmn(), encoding="utf-8")
    deploy_workflows([directory], actor="analyst-test", settings=settings)
    return process


def case_data() -> list[dict[str, Any]]:
    """Each score in each region, half of them with a comment the low rule's note reads."""
    return [{"score": score, "profile": {"region": region, "comment": "Неполный пакет" if i % 2 else None}}
            for i, (score, region) in enumerate((s, r) for s in SCORES for r in REGIONS)]


def decide_cases(app: Flask, process: ImpactProcess) -> dict[str, dict[str, Any]]:
    """Run one live case per data set to its end; case number -> its data."""
    runtime = app.extensions["backoffice"].runtime
    cases = {}
    for i, data in enumerate(case_data()):
        number = f"IMP-{process.process_id[-8:]}-{i:02d}"
        runtime.start(process.process_id, data=data, business_key=number, actor="test")
        cases[number] = data
    return cases


def evaluate_directly(process: ImpactProcess, dmn: str, data: dict[str, Any]) -> tuple[dict[str, Any], str]:
    """(verdict and note, the end event reached) of running the process with ``dmn`` on the full data."""
    parser = RuntimeBpmnParser()
    parser.add_bpmn_str(process.bpmn.encode("utf-8"), filename=process.bpmn_file)
    parser.add_dmn_str(dmn.encode("utf-8"), filename=process.dmn_file)
    wf = BpmnWorkflow(parser.get_spec(process.process_id), script_engine=ScriptEnvironment().script_engine())
    start = next(t for t in wf.get_tasks(state=TaskState.READY))
    start.data.update(data)
    wf.do_engine_steps()
    end = next(t for t in wf.get_tasks(state=TaskState.COMPLETED) if t.task_spec.bpmn_id in
               ("accepted", "referred", "declined"))
    return {"verdict": end.data["verdict"], "note": end.data["note"]}, end.task_spec.bpmn_id
