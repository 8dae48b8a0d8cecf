"""What the modeler's properties panel writes is exactly what the engine reads and runs.

A small process (a service task calling `demo.lookup`, an operator's task with an SLA boundary timer) is put in
a draft; in Chromium the timer is moved to another SLA of the catalogue and the operator's parameter is changed,
both through the panel. The saved XML is then deployed by the one deploy path (the engine's parser and the deploy
validation) and run by real worker and scheduler processes: the operator gets the new parameter, and the timer
is due after the new SLA (`demo_review_short`, three seconds, instead of a business day) and fires.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace

from lxml import etree
from playwright.sync_api import expect

from backoffice.provision import deploy_workflows
from engine.clock import aware
from engine.diagram_layout import layout_bpmn
from tasks.studio.drafts import create_draft, get_draft
from tests.support.accounts import add_user
from tests.support.backend import TEST_WORKFLOWS, wait_for
from tests.support.browser import chromium, log_in, served
from tests.support.queries import calls, events, open_task
from tests.support.studio_browser import DESKTOP, open_editor, saved, select, watch
from web.extensions import db

NS = {"bpmn": "http://www.omg.org/spec/BPMN/20100524/MODEL",
      "spiffworkflow": "http://spiffworkflow.org/bpmn/schema/1.0/core"}
BPMN = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
  xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core"
  id="defs_{pid}" targetNamespace="http://bpmn.io/schema/bpmn">
  <bpmn:collaboration id="collab_{pid}">
    <bpmn:participant id="pool_{pid}" name="Панель {pid}" processRef="{pid}" />
  </bpmn:collaboration>
  <bpmn:process id="{pid}" name="Панель {pid}" isExecutable="true">
    <bpmn:laneSet id="lanes_{pid}">
      <bpmn:lane id="lane_system" name="Система"><bpmn:flowNodeRef>start</bpmn:flowNodeRef>
        <bpmn:flowNodeRef>lookup</bpmn:flowNodeRef><bpmn:flowNodeRef>done</bpmn:flowNodeRef>
        <bpmn:flowNodeRef>late</bpmn:flowNodeRef></bpmn:lane>
      <bpmn:lane id="lane_operator" name="Оператор"><bpmn:flowNodeRef>review</bpmn:flowNodeRef>
        <bpmn:flowNodeRef>review_sla</bpmn:flowNodeRef></bpmn:lane>
    </bpmn:laneSet>
    <bpmn:startEvent id="start" name="Начало"><bpmn:outgoing>f0</bpmn:outgoing></bpmn:startEvent>
    <bpmn:serviceTask id="lookup" name="Найти запись"><bpmn:extensionElements>
        <spiffworkflow:serviceTaskOperator id="demo.lookup" resultVariable="found">
          <spiffworkflow:parameters><spiffworkflow:parameter id="key" type="str" value="&quot;a&quot;" />
          </spiffworkflow:parameters></spiffworkflow:serviceTaskOperator></bpmn:extensionElements>
      <bpmn:incoming>f0</bpmn:incoming><bpmn:outgoing>f1</bpmn:outgoing></bpmn:serviceTask>
    <bpmn:userTask id="review" name="Проверить"><bpmn:extensionElements><spiffworkflow:properties>
        <spiffworkflow:property name="formJsonSchemaFilename" value="operator_review.schema.json" />
      </spiffworkflow:properties></bpmn:extensionElements>
      <bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing></bpmn:userTask>
    <bpmn:boundaryEvent id="review_sla" name="Срок проверки" attachedToRef="review">
      <bpmn:outgoing>f3</bpmn:outgoing>
      <bpmn:timerEventDefinition id="review_sla_def"><bpmn:timeDate>sla("demo_review")</bpmn:timeDate>
      </bpmn:timerEventDefinition></bpmn:boundaryEvent>
    <bpmn:endEvent id="done" name="Готово"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>
    <bpmn:endEvent id="late" name="Просрочено"><bpmn:incoming>f3</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f0" sourceRef="start" targetRef="lookup" />
    <bpmn:sequenceFlow id="f1" sourceRef="lookup" targetRef="review" />
    <bpmn:sequenceFlow id="f2" sourceRef="review" targetRef="done" />
    <bpmn:sequenceFlow id="f3" sourceRef="review_sla" targetRef="late" />
  </bpmn:process>
</bpmn:definitions>
"""


def test_what_the_panel_writes_the_engine_runs(backend, make_app, cluster, tmp_path: Path) -> None:
    app = make_app()
    pid = f"panel_{uuid.uuid4().hex[:8]}"
    name = f"{pid}.bpmn"
    email = add_user(app, "analyst")
    with app.app_context():
        xml = layout_bpmn(BPMN.format(pid=pid).encode("utf-8")).decode("utf-8")
        draft = create_draft(db.session, {name: xml}, email).id
        db.session.commit()
    problems: list[str] = []

    with served(SimpleNamespace(app=app)) as base, chromium() as browser:
        page = browser.new_context(viewport=DESKTOP, locale="ru-RU").new_page()
        watch(page, problems)
        log_in(page, base, email, app=app)
        page.goto(f"{base}/processes/drafts/{draft}/edit/{name}")
        open_editor(page)
        select(page, "review_sla")
        page.get_by_label("Срок (SLA)").select_option("demo_review_short")
        saved(page, 2)
        select(page, "lookup")
        key = page.get_by_label("Параметр «key» (обязательный)")
        expect(key).to_have_value('"a"')
        key.fill('"b"')
        key.press("Tab")
        saved(page, 3)
        expect(page.locator("[data-problems-summary]")).to_contain_text("Проверка пройдена")
    assert problems == [], "\n".join(problems)

    with app.app_context():
        stored = get_draft(db.session, draft).files[name]
        db.session.commit()
    root = etree.fromstring(stored.encode("utf-8"))
    assert root.xpath("//bpmn:timeDate/text()", namespaces=NS) == ['sla("demo_review_short")']
    assert root.xpath("//spiffworkflow:parameter[@id='key']/@value", namespaces=NS) == ['"b"']

    # The saved file through the one deploy path (the engine's parser and the deploy check), then run.
    (tmp_path / name).write_text(stored, encoding="utf-8")
    (tmp_path / "lanes.toml").write_bytes((TEST_WORKFLOWS / "lanes.toml").read_bytes())
    deploy_workflows([tmp_path], actor="analyst-test", settings=backend.settings())
    services, rt = backend.services, backend.services.runtime
    cluster.worker()
    started = datetime.now(UTC)
    info = rt.start(pid, {})
    review = wait_for(lambda: open_task(services, info.id, "review"), message="the operator's task")
    assert [(c.operator, c.params) for c in calls(services, info.id)] == [("demo.lookup", {"key": "b"})]
    assert started + timedelta(seconds=2) < aware(review.due_at) < started + timedelta(minutes=2)  # PT3S, not 1BD
    cluster.scheduler()
    wait_for(lambda: rt.instance(info.id).completed, timeout=90, message="the SLA timer to end the case")
    assert "timer_fired" in events(services, info.id)
