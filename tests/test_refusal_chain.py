"""The refusal -> resubmission -> appeal -> higher appeal chain is one process that both services call.

Checked on the files themselves (no copy of the chain in a caller, lanes that route its tasks), by the
one deploy validation (a call to a process missing from the bundle is refused at the call, by the API
and the CLI) and by the deployer (each caller is versioned on the chain's file too; the chain itself is
no process a case starts with).
"""

from __future__ import annotations

import shutil
import tomllib
import uuid
from pathlib import Path

import pytest
from lxml import etree
from sqlalchemy import func, select

from engine.bpmn_lint import BPMN_NS
from engine.context import build_script_env
from engine.deploy import Deployer, Source, sources_from_paths
from engine.diagram_layout import layout_bpmn
from engine.errors import DeploymentError
from engine.models import ProcessVersion
from engine.operators import get_operator, load_operator_modules
from engine.validation import ValidationContext, diagram_checker, run_validation
from tasks.config import engine_settings

WORKFLOWS = Path(__file__).resolve().parent.parent / "workflows"
CHAIN = "refusal_chain"
# Every product diagram that calls the shared chain (the two certificates and the change of data).
CALLERS = tuple(sorted(p.name for p in WORKFLOWS.glob("*.bpmn")
                       if f'calledElement="{CHAIN}"' in p.read_text(encoding="utf-8")))
CHAIN_NAME = "Отказ, повторная подача и обжалование"


def _root(name: str) -> etree._Element:
    return etree.parse(str(WORKFLOWS / name)).getroot()


def _ids(root: etree._Element, *kinds: str) -> set[str]:
    return {n.get("id") for kind in kinds for n in root.iter(f"{{{BPMN_NS}}}{kind}")}


def _lanes() -> dict[str, str]:
    return tomllib.loads((WORKFLOWS / "lanes.toml").read_text(encoding="utf-8"))["lanes"]


def test_both_callers_call_the_chain_and_copy_none_of_it() -> None:
    chain = _root(f"{CHAIN}.bpmn")
    user_tasks = _ids(chain, "userTask")
    assert user_tasks == {"appeal_review", "appeal_escalated", "higher_appeal_review"}
    waits = _ids(chain, "receiveTask")
    assert waits == {"wait_rejected", "wait_higher", "wait_appeal_info", "wait_final"}
    for caller in CALLERS:
        root = _root(caller)
        calls = list(root.iter(f"{{{BPMN_NS}}}callActivity"))
        assert [c.get("calledElement") for c in calls] == [CHAIN], caller
        own = _ids(root, "userTask", "receiveTask", "scriptTask", "serviceTask", "subProcess", "boundaryEvent")
        assert not own & (user_tasks | waits | _ids(chain, "subProcess", "scriptTask", "serviceTask")), caller


def test_the_chains_user_tasks_are_routed_by_its_lanes() -> None:
    roles = _lanes()
    lanes = {ref.text: lane.get("name") for lane in _root(f"{CHAIN}.bpmn").iter(f"{{{BPMN_NS}}}lane")
             for ref in lane.iter(f"{{{BPMN_NS}}}flowNodeRef")}
    assert roles[lanes["appeal_scope"]] == "appeals"  # appeal_review lives in this sub-process
    assert roles[lanes["appeal_escalated"]] == "supervisor"
    assert roles[lanes["higher_appeal_review"]] == "supervisor"


def _context() -> ValidationContext:
    """Every check the product's deploy runs (the diagram interchange too)."""
    settings = engine_settings({"BACKOFFICE_WORKFLOWS_DIR": str(WORKFLOWS)})
    load_operator_modules(["tasks"])
    script_env, sla = build_script_env(settings)
    return ValidationContext(allowed_functions=script_env.allowed_names, operators=get_operator,
                             sla_names=sla.names(), forms_dirs=settings.forms_dirs, lane_roles=_lanes(),
                             extra_checkers=[diagram_checker])


def test_the_product_workflows_with_the_chain_validate() -> None:
    assert run_validation(sources_from_paths([WORKFLOWS]), _context()).problems == []


def test_a_call_to_a_process_missing_from_the_bundle_is_refused_at_the_call() -> None:
    sources = [s for s in sources_from_paths([WORKFLOWS]) if s.name != f"{CHAIN}.bpmn"]
    problems = run_validation(sources, _context()).problems
    assert [(p.file, p.element_id, p.element_name, p.code) for p in problems] == [
        (caller, "refusal", CHAIN_NAME, "unknown_called_process") for caller in CALLERS]
    assert all(f"«{CHAIN}»" in p.message for p in problems)


def test_the_cli_refuses_a_call_to_a_missing_process_and_deploys_nothing(backend, tmp_path) -> None:
    for path in WORKFLOWS.iterdir():
        if path.name != f"{CHAIN}.bpmn":
            shutil.copy(path, tmp_path)
    with backend.services.database.session() as s:
        before = s.scalar(select(func.count()).select_from(ProcessVersion))
    out = backend.backoffice("workflows", "deploy", str(tmp_path), check=False,
                             BACKOFFICE_WORKFLOWS_DIR=str(WORKFLOWS))  # the product's SLA catalogue
    assert out.returncode == 1
    problems = [line for line in out.stderr.splitlines() if line.startswith("  ")]
    assert problems == [f"  {caller}: refusal («{CHAIN_NAME}»): вызываемый процесс «{CHAIN}» не найден: "
                        "его файла нет среди развёртываемых" for caller in CALLERS], out.stderr
    with backend.services.database.session() as s:
        assert s.scalar(select(func.count()).select_from(ProcessVersion)) == before


CALLER = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="defs_PID"
                  targetNamespace="http://bpmn.io/schema/bpmn">
  <bpmn:process id="PID" name="NAME" isExecutable="true">
    <bpmn:laneSet id="lanes">
      <bpmn:lane id="lane_system" name="Система">
        <bpmn:flowNodeRef>start</bpmn:flowNodeRef>
        <bpmn:flowNodeRef>call</bpmn:flowNodeRef>
        <bpmn:flowNodeRef>end</bpmn:flowNodeRef>
      </bpmn:lane>
    </bpmn:laneSet>
    <bpmn:startEvent id="start" name="Начало" />
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="call" />
    <bpmn:callActivity id="call" name="Вызвать общий процесс" calledElement="CALLED" />
    <bpmn:sequenceFlow id="f2" sourceRef="call" targetRef="end" />
    <bpmn:endEvent id="end" name="Конец" />
  </bpmn:process>
</bpmn:definitions>
"""

CALLED = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="defs_PID"
                  targetNamespace="http://bpmn.io/schema/bpmn">
  <bpmn:process id="PID" name="Общий процесс" isExecutable="true">
    <bpmn:laneSet id="lanes">
      <bpmn:lane id="lane_system" name="Система">
        <bpmn:flowNodeRef>start</bpmn:flowNodeRef>
        <bpmn:flowNodeRef>work</bpmn:flowNodeRef>
        <bpmn:flowNodeRef>end</bpmn:flowNodeRef>
      </bpmn:lane>
    </bpmn:laneSet>
    <bpmn:startEvent id="start" name="Начало" />
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="work" />
    <bpmn:scriptTask id="work" name="Работа"><bpmn:script>outcome = "done"</bpmn:script></bpmn:scriptTask>
    <bpmn:sequenceFlow id="f2" sourceRef="work" targetRef="end" />
    <bpmn:endEvent id="end" name="Конец" />
  </bpmn:process>
</bpmn:definitions>
"""


def test_callers_are_versioned_on_the_called_file_and_the_called_process_is_not_started_on_its_own(
        backend) -> None:
    tag = uuid.uuid4().hex[:6]
    a, b, called = f"caller_a_{tag}", f"caller_b_{tag}", f"called_{tag}"
    services = backend.services
    deployer = Deployer(services.database, services.script_env, services.settings.forms_dirs)

    def bundle(called_script: str = 'outcome = "done"', a_name: str = "Вызывающий А") -> list[Source]:
        def caller(pid: str, name: str) -> bytes:
            return layout_bpmn(CALLER.replace("PID", pid).replace("NAME", name).replace("CALLED", called).encode())
        chain = CALLED.replace("PID", called).replace('outcome = "done"', called_script)
        return [Source("a.bpmn", caller(a, a_name)), Source("b.bpmn", caller(b, "Вызывающий Б")),
                Source("called.bpmn", layout_bpmn(chain.encode()))]

    first = {d.process_id: d for d in deployer.deploy(bundle(), actor="test")}
    assert set(first) == {a, b} and first[a].created and first[b].created
    with services.database.session() as s:
        row = s.get(ProcessVersion, first[a].version_id)
        assert sorted(row.sources) == ["a.bpmn", "called.bpmn"]
        assert s.scalar(select(func.count()).select_from(ProcessVersion)
                        .where(ProcessVersion.process_id == called)) == 0

    chain_edited = {d.process_id: d for d in deployer.deploy(bundle('outcome = "changed"'), actor="test")}
    assert (chain_edited[a].created, chain_edited[a].version) == (True, first[a].version + 1)
    assert (chain_edited[b].created, chain_edited[b].version) == (True, first[b].version + 1)

    a_edited = {d.process_id: d for d in deployer.deploy(bundle('outcome = "changed"', "Вызывающий А2"),
                                                         actor="test")}
    assert (a_edited[a].created, a_edited[a].version) == (True, first[a].version + 2)
    assert (a_edited[b].created, a_edited[b].version_id) == (False, chain_edited[b].version_id)

    with pytest.raises(DeploymentError) as refused:
        deployer.deploy([s for s in bundle() if s.name != "called.bpmn"], actor="test")
    assert {(p.file, p.element_id, p.code) for p in refused.value.problems} == {
        ("a.bpmn", "call", "unknown_called_process"), ("b.bpmn", "call", "unknown_called_process")}
