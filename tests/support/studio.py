"""A small process with full diagram interchange (a pool, two lanes) calling a decision table, for the studio tests.

The drawing comes from the layout tool; a version deployed before drawings were required has none, which
the studio must survive (`with_di=False` deploys one past the deploy check, as an old version).
Names carry HTML on purpose: the pages must show it as text.
"""

from __future__ import annotations

import tomllib
import uuid
from dataclasses import dataclass
from pathlib import Path

from flask import Flask
from sqlalchemy import select

from backoffice.provision import deploy_workflows
from engine.context import build_script_env
from engine.db import Database
from engine.deploy import Deployer, sources_from_paths
from engine.diagram_layout import layout_bpmn
from engine.models import ProcessInstance, ProcessVersion
from engine.settings import Settings
from web.extensions import db

TASK_NAME = "Проверить <b>заявку</b> & «сведения»"
PROCESS_NAME = "Демо <i>студии</i>"  # each deployment appends its id: tests share one database
DECISION_NAME = "Выбор <script>срока</script>"

BPMN = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
  xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core"
  id="defs_{pid}" targetNamespace="http://bpmn.io/schema/bpmn">
  <bpmn:collaboration id="collab_{pid}">
    <bpmn:participant id="pool_{pid}" name="{name}" processRef="{pid}" />
  </bpmn:collaboration>
  <bpmn:process id="{pid}" name="{name}" isExecutable="true">
    <bpmn:laneSet id="lanes_{pid}">
      <bpmn:lane id="lane_system" name="Система"><bpmn:flowNodeRef>start</bpmn:flowNodeRef>
        <bpmn:flowNodeRef>prepare</bpmn:flowNodeRef><bpmn:flowNodeRef>decide</bpmn:flowNodeRef>
        <bpmn:flowNodeRef>done</bpmn:flowNodeRef></bpmn:lane>
      <bpmn:lane id="lane_operator" name="Оператор"><bpmn:flowNodeRef>review</bpmn:flowNodeRef></bpmn:lane>
    </bpmn:laneSet>
    <bpmn:startEvent id="start" name="Заявление подано"><bpmn:outgoing>f0</bpmn:outgoing></bpmn:startEvent>
    <bpmn:scriptTask id="prepare" name="Определить вид заявления"><bpmn:incoming>f0</bpmn:incoming>
      <bpmn:outgoing>f1</bpmn:outgoing><bpmn:script>kind = "обычное"</bpmn:script></bpmn:scriptTask>
    <bpmn:businessRuleTask id="decide" name="Выбрать срок"><bpmn:extensionElements>
        <spiffworkflow:calledDecisionId>{pid}_term</spiffworkflow:calledDecisionId></bpmn:extensionElements>
      <bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing></bpmn:businessRuleTask>
    <bpmn:userTask id="review" name="{task}"><bpmn:incoming>f2</bpmn:incoming>
      <bpmn:outgoing>f3</bpmn:outgoing></bpmn:userTask>
    <bpmn:endEvent id="done" name="Готово"><bpmn:incoming>f3</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f0" sourceRef="start" targetRef="prepare" />
    <bpmn:sequenceFlow id="f1" sourceRef="prepare" targetRef="decide" />
    <bpmn:sequenceFlow id="f2" sourceRef="decide" targetRef="review" />
    <bpmn:sequenceFlow id="f3" sourceRef="review" targetRef="done" />
  </bpmn:process>
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
    bpmn = BPMN.format(pid=pid, name=_attr(name), task=_attr(TASK_NAME)).encode("utf-8")
    directory.mkdir(parents=True, exist_ok=True)
    (directory / f"{pid}.bpmn").write_bytes(layout_bpmn(bpmn) if with_di else bpmn)
    (directory / f"{pid}.dmn").write_text(DMN.format(pid=pid, decision=_attr(DECISION_NAME)), encoding="utf-8")
    (directory / "lanes.toml").write_text(LANES, encoding="utf-8")
    if with_di:
        deploy_workflows([directory], actor="analyst-test", settings=settings)
    else:  # a version deployed before drawings were required: the deploy check would refuse it now
        _deploy_undrawn(directory, settings)
    return StudioProcess(pid, name, f"{pid}.bpmn", f"{pid}.dmn")


def _deploy_undrawn(directory: Path, settings: Settings) -> None:
    script_env, sla = build_script_env(settings)
    lanes = tomllib.loads(LANES)["lanes"]
    Deployer(Database.from_url(settings.database_url), script_env, settings.forms_dirs,
             sla_names=sla.names()).deploy(sources_from_paths([directory]), lanes, actor="analyst-test")


def case_version(app: Flask, number: str) -> tuple[str, int, bool]:
    """(process id, version number, completed) stored for the case with this number."""
    with app.app_context():
        row = db.session.execute(
            select(ProcessVersion.process_id, ProcessVersion.version, ProcessInstance.completed)
            .join(ProcessInstance, ProcessInstance.version_id == ProcessVersion.id)
            .where(ProcessInstance.business_key == number)).one()
        db.session.commit()
    return row.process_id, row.version, bool(row.completed)
