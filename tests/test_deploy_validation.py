"""The one deploy validation: each kind of broken diagram refused with its code and message, once, by the
Python API and by `backoffice workflows deploy`, with nothing stored; per-process versions; the deployer."""

from __future__ import annotations

import getpass
import shutil
import tomllib
import uuid
from pathlib import Path

import pytest
from sqlalchemy import func, select

from engine.context import build_script_env
from engine.deploy import Deployer, Source, sources_from_paths
from engine.diagram_layout import layout_bpmn
from engine.errors import DeploymentError, DeploymentProblem
from engine.models import JournalEntry, ProcessVersion
from engine.operators import load_operator_modules
from engine.settings import Settings

WORKFLOWS = Path(__file__).parent / "workflows"
PRODUCT_WORKFLOWS = Path(__file__).parent.parent / "workflows"

BASE = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
                  xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core"
                  id="defs" targetNamespace="http://bpmn.io/schema/bpmn">
  <bpmn:process id="PID" name="Проверка" isExecutable="true">
    <bpmn:laneSet id="lanes">
      <bpmn:lane id="lane_system" name="Система">
        <bpmn:flowNodeRef>start</bpmn:flowNodeRef>
        <bpmn:flowNodeRef>lookup</bpmn:flowNodeRef>
        <bpmn:flowNodeRef>prepare</bpmn:flowNodeRef>
        <bpmn:flowNodeRef>decide</bpmn:flowNodeRef>
        <bpmn:flowNodeRef>end</bpmn:flowNodeRef>
        <bpmn:flowNodeRef>end_late</bpmn:flowNodeRef>
      </bpmn:lane>
      <bpmn:lane id="lane_operator" name="Оператор">
        <bpmn:flowNodeRef>review</bpmn:flowNodeRef>
        <bpmn:flowNodeRef>review_sla</bpmn:flowNodeRef>
      </bpmn:lane>
    </bpmn:laneSet>
    <bpmn:startEvent id="start" name="Начало" />
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="lookup" />
    <bpmn:serviceTask id="lookup" name="Найти">
      <bpmn:extensionElements>
        <spiffworkflow:serviceTaskOperator id="demo.lookup" resultVariable="found">
          <spiffworkflow:parameters>
            <spiffworkflow:parameter id="key" type="str" value="&quot;x&quot;" />
          </spiffworkflow:parameters>
        </spiffworkflow:serviceTaskOperator>
      </bpmn:extensionElements>
    </bpmn:serviceTask>
    <bpmn:sequenceFlow id="f2" sourceRef="lookup" targetRef="prepare" />
    <bpmn:scriptTask id="prepare" name="Подготовить">
      <bpmn:script>review_sla = "demo_review"</bpmn:script>
    </bpmn:scriptTask>
    <bpmn:sequenceFlow id="f3" sourceRef="prepare" targetRef="review" />
    <bpmn:userTask id="review" name="Проверить">
      <bpmn:extensionElements>
        <spiffworkflow:properties>
          <spiffworkflow:property name="formJsonSchemaFilename" value="review.schema.json" />
        </spiffworkflow:properties>
      </bpmn:extensionElements>
    </bpmn:userTask>
    <bpmn:boundaryEvent id="review_sla" name="Срок истёк" attachedToRef="review">
      <bpmn:timerEventDefinition id="review_sla_def">
        <bpmn:timeDate>sla(review_sla)</bpmn:timeDate>
      </bpmn:timerEventDefinition>
    </bpmn:boundaryEvent>
    <bpmn:sequenceFlow id="f4" sourceRef="review" targetRef="decide" />
    <bpmn:exclusiveGateway id="decide" name="Одобрено?" default="f_no" />
    <bpmn:sequenceFlow id="f_yes" sourceRef="decide" targetRef="end">
      <bpmn:conditionExpression>decision == "approve"</bpmn:conditionExpression>
    </bpmn:sequenceFlow>
    <bpmn:sequenceFlow id="f_no" sourceRef="decide" targetRef="end_late" />
    <bpmn:sequenceFlow id="f5" sourceRef="review_sla" targetRef="end_late" />
    <bpmn:endEvent id="end" name="Готово" />
    <bpmn:endEvent id="end_late" name="Отказ" />
  </bpmn:process>
</bpmn:definitions>
"""

START = ('<bpmn:startEvent id="start" name="Начало" />\n    '
         '<bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="lookup" />')
ENDS = '<bpmn:endEvent id="end" name="Готово" />\n    <bpmn:endEvent id="end_late" name="Отказ" />'
GATEWAY = ('<bpmn:sequenceFlow id="f3" sourceRef="prepare" targetRef="gw" />'
           '<bpmn:exclusiveGateway id="gw" name="Дальше" />'
           '<bpmn:sequenceFlow id="f3b" sourceRef="gw" targetRef="review" />')

# (case, [(old, new)], code, element id ("PID" = the process), fragment of the Russian message)
BROKEN = [
    ("xml_unsafe", [('<?xml version="1.0" encoding="UTF-8"?>', '<?xml version="1.0" encoding="UTF-8"?>\n'
                     '<!DOCTYPE d [<!ENTITY x "y">]>')], "xml_unsafe", None, "DOCTYPE и ENTITY запрещены"),
    ("xml_malformed", [("</bpmn:definitions>", "")], "xml_malformed", None, "не является корректным XML"),
    ("schema", [(ENDS, ENDS + '\n    <bpmn:bogus id="bogus" />')], "schema_invalid", None, "нарушена схема"),
    ("script", [('review_sla = "demo_review"', 'review_sla = "demo_review"\nimport os')], "unsafe_script",
     "prepare", "недопустимый код (строка 2: инструкция import запрещена)"),
    ("operator", [('id="demo.lookup"', 'id="demo.nope"')], "unknown_operator", "lookup",
     "неизвестный оператор сервисной задачи «demo.nope»"),
    ("parameter", [('parameter id="key"', 'parameter id="kee"')], "unknown_operator_parameter", "lookup",
     "оператор «demo.lookup» не принимает параметр «kee»"),
    ("missing_parameter", [('parameter id="key"', 'parameter id="kee"')], "missing_operator_parameter",
     "lookup", "оператору «demo.lookup» не передан обязательный параметр «key»"),
    ("sla_literal", [("sla(review_sla)", 'sla("demo_reviw")')], "unknown_sla", "review_sla",
     "неизвестный срок (SLA) «demo_reviw»; известные: demo_review, demo_review_short"),
    ("sla_variable", [('review_sla = "demo_review"', 'review_sla = "demo_reviw"')], "unknown_sla", "prepare",
     "неизвестный срок (SLA) «demo_reviw» в переменной review_sla"),
    ("form", [("review.schema.json", "nope.schema.json")], "unknown_form", "review",
     "схема формы «nope.schema.json» не найдена"),
    ("lane", [('name="Оператор"', 'name="Операторы"')], "lane_without_role", "lane_operator",
     "дорожке «Операторы» не сопоставлена роль"),
    ("outside_lane", [("<bpmn:flowNodeRef>review</bpmn:flowNodeRef>", "")], "user_task_outside_lane", "review",
     "задача исполнителя не лежит ни в одной дорожке"),
    ("unreachable", [(ENDS, ENDS + '\n    <bpmn:scriptTask id="orphan" name="Сирота"><bpmn:script>x = 1'
                      '</bpmn:script></bpmn:scriptTask><bpmn:sequenceFlow id="f_o" sourceRef="orphan" '
                      'targetRef="end" />')], "unreachable_element", "orphan", "элемент недостижим"),
    ("start_event", [(START, "")], "start_event_required", "PID", "в процессе нет стартового события"),
    ("end_event", [(ENDS, '<bpmn:intermediateThrowEvent id="end" name="Готово" />\n    '
                    '<bpmn:intermediateThrowEvent id="end_late" name="Отказ" />')],
     "end_event_required", "PID", "в процессе нет завершающего события"),
    ("disconnected", [(ENDS, ENDS + '\n    <bpmn:task id="lonely" name="Одинокая" />')], "no_disconnected",
     "lonely", "элемент не соединён ни одним потоком"),
    ("implicit_split", [(ENDS, ENDS + '\n    <bpmn:sequenceFlow id="f2b" sourceRef="lookup" targetRef="review" />')],
     "no_implicit_split", "lookup", "неявное ветвление"),
    ("blank_starts", [(START, START + '\n    <bpmn:startEvent id="start2" name="Ещё начало" />'
                       '<bpmn:sequenceFlow id="f1b" sourceRef="start2" targetRef="lookup" />')],
     "single_blank_start_event", "PID", "больше одного стартового события без типа"),
    ("superfluous_gateway", [('<bpmn:sequenceFlow id="f3" sourceRef="prepare" targetRef="review" />', GATEWAY)],
     "superfluous_gateway", "gw", "лишний шлюз"),
    ("conditional_flows", [(' default="f_no"', "")], "conditional_flows", "f_no", "у потока нет условия"),
    ("duplicate_flow", [(ENDS, ENDS + '\n    <bpmn:sequenceFlow id="f_yes2" sourceRef="decide" targetRef="end">'
                         '<bpmn:conditionExpression>decision == "approve"</bpmn:conditionExpression>'
                         '</bpmn:sequenceFlow>')],
     "no_duplicate_sequence_flows", "f_yes2", "поток дублирует другой поток"),
    ("label", [('name="Найти"', "")], "label_required", "lookup", "у элемента нет названия"),
    ("no_executable", [('isExecutable="true"', 'isExecutable="false"')], "no_executable_process", None,
     "нет исполняемого процесса"),
]


def _diagram(pid: str, edits: list[tuple[str, str]] = ()) -> str:
    text = BASE.replace("PID", pid)
    for old, new in edits:
        assert old in text, old
        text = text.replace(old, new)
    return text


def _drawn(text: str) -> bytes:
    """The diagram with its DI, as a modeler saves it: the CLI also refuses a file that has none. A file
    too broken to lay out goes as it is (its own problem is what the test expects)."""
    try:
        return layout_bpmn(text.encode("utf-8"))
    except Exception:
        return text.encode("utf-8")


def _deployer(backend, **kwargs) -> Deployer:
    s = backend.services
    return Deployer(s.database, s.script_env, s.settings.forms_dirs, sla_names=s.sla.names(), **kwargs)


def _versions(backend, pid: str) -> int:
    with backend.services.database.session() as s:
        return s.scalar(select(func.count()).select_from(ProcessVersion).where(ProcessVersion.process_id == pid))


def _expect(problems: list[DeploymentProblem], code: str, element: str | None, fragment: str, pid: str) -> None:
    element = pid if element == "PID" else element
    hits = [p for p in problems if p.code == code and p.element_id == element and fragment in p.message]
    assert len(hits) == 1, problems
    assert len({(p.file, p.element_id, p.code, p.message) for p in problems}) == len(problems)


def test_the_base_diagram_is_valid(backend):
    pid = f"valid_{uuid.uuid4().hex[:6]}"
    deployed = _deployer(backend).deploy([Source(f"{pid}.bpmn", _diagram(pid).encode(), WORKFLOWS)])
    assert [(d.process_id, d.created) for d in deployed] == [(pid, True)]


@pytest.mark.parametrize(("case", "edits", "code", "element", "fragment"), BROKEN, ids=[b[0] for b in BROKEN])
def test_broken_diagram_refused_by_the_api(backend, case, edits, code, element, fragment):
    pid = f"broken_{case}_{uuid.uuid4().hex[:6]}"
    with pytest.raises(DeploymentError) as err:
        _deployer(backend).deploy([Source(f"{case}.bpmn", _diagram(pid, edits).encode(), WORKFLOWS)])
    _expect(err.value.problems, code, element, fragment, pid)
    assert all(p.file == f"{case}.bpmn" for p in err.value.problems)
    assert _versions(backend, pid) == 0


@pytest.mark.parametrize(("case", "edits", "code", "element", "fragment"), BROKEN, ids=[b[0] for b in BROKEN])
def test_broken_diagram_refused_by_the_cli(backend, tmp_path, case, edits, code, element, fragment):
    pid = f"cli_{case}_{uuid.uuid4().hex[:6]}"
    for name in ("lanes.toml", "review.schema.json"):
        shutil.copy(WORKFLOWS / name, tmp_path / name)
    (tmp_path / f"{case}.bpmn").write_bytes(_drawn(_diagram(pid, edits)))
    out = backend.backoffice("workflows", "deploy", str(tmp_path), check=False)
    assert out.returncode == 1
    lines = [line for line in out.stderr.splitlines() if line.startswith(f"  {case}.bpmn: ")]
    element = pid if element == "PID" else element
    prefixes = (f"  {case}.bpmn: {element} («", f"  {case}.bpmn: {element}: ") if element else (f"  {case}.bpmn: ",)
    assert len([line for line in lines if line.startswith(prefixes) and fragment in line]) == 1, out.stderr
    assert len(lines) == len(set(lines))
    assert _versions(backend, pid) == 0


def test_the_cli_refuses_a_diagram_without_its_drawing(backend, tmp_path):
    pid = f"undrawn_{uuid.uuid4().hex[:6]}"
    for name in ("lanes.toml", "review.schema.json"):
        shutil.copy(WORKFLOWS / name, tmp_path / name)
    (tmp_path / "undrawn.bpmn").write_text(_diagram(pid), encoding="utf-8")
    out = backend.backoffice("workflows", "deploy", str(tmp_path), check=False)
    assert out.returncode == 1 and "  undrawn.bpmn: lookup" in out.stderr, out.stderr
    assert _versions(backend, pid) == 0
    (tmp_path / "undrawn.bpmn").write_bytes(_drawn(_diagram(pid)))
    assert f"{pid} v1: deployed" in backend.backoffice("workflows", "deploy", str(tmp_path)).stdout


def test_a_lane_typo_is_one_line(backend, tmp_path):
    """A lane with many tasks used to print the same line once per task (95 times on the product)."""
    text = (WORKFLOWS / "engine_demo.bpmn").read_text(encoding="utf-8").replace('name="Система"',
                                                                                 'name="Системаа"')
    pid = f"lane_{uuid.uuid4().hex[:6]}"
    (tmp_path / "lane.bpmn").write_text(text.replace('id="engine_demo"', f'id="{pid}"'), encoding="utf-8")
    shutil.copy(WORKFLOWS / "review.schema.json", tmp_path)
    out = backend.backoffice("workflows", "deploy", str(tmp_path / "lane.bpmn"), check=False)
    assert out.returncode == 1
    problems = [line for line in out.stderr.splitlines() if line.startswith("  ")]
    assert problems == ["  lane.bpmn: lane_system («Системаа»): дорожке «Системаа» не сопоставлена роль"]
    assert _versions(backend, pid) == 0


def test_extra_checkers_are_part_of_the_validation(backend):
    """The hook another check (the diagram interchange) plugs into: its problems refuse the deploy."""
    def no_di(file: str, content: bytes) -> list[DeploymentProblem]:
        return [] if b"BPMNDiagram" in content else [
            DeploymentProblem(file, None, "нет диаграммы (BPMN DI)", "missing_di")]

    pid = f"di_{uuid.uuid4().hex[:6]}"
    with pytest.raises(DeploymentError) as err:
        _deployer(backend, extra_checkers=[no_di]).deploy([Source("di.bpmn", _diagram(pid).encode(), WORKFLOWS)])
    assert [(p.code, p.message) for p in err.value.problems] == [("missing_di", "нет диаграммы (BPMN DI)")]
    assert _versions(backend, pid) == 0


def test_the_product_workflows_pass_every_check(backend):
    settings = Settings.from_env(backend.env(BACKOFFICE_WORKFLOWS_DIR=str(PRODUCT_WORKFLOWS)))
    load_operator_modules(["tasks"])
    script_env, sla = build_script_env(settings)
    deployer = Deployer(backend.services.database, script_env, settings.forms_dirs, sla_names=sla.names())
    lanes = tomllib.loads((PRODUCT_WORKFLOWS / "lanes.toml").read_text(encoding="utf-8"))["lanes"]
    sources = sources_from_paths([PRODUCT_WORKFLOWS])
    assert deployer.validate(sources, lanes).problems == []
    typo = [Source(s.name, s.content.replace(b'sla("registry_wait")', b'sla("registry_wiat")'), s.directory)
            for s in sources]  # the typo that used to deploy and answer 500 to the next application
    problems = deployer.validate(typo, lanes).problems
    assert {(p.file, p.code) for p in problems} == {("certificate_individual.bpmn", "unknown_sla"),
                                                    ("certificate_organization.bpmn", "unknown_sla")}
    assert all("«registry_wiat»" in p.message and p.element_name for p in problems)


def test_each_process_is_versioned_on_its_own_files(backend):
    tag = uuid.uuid4().hex[:6]
    a, b = f"own_a_{tag}", f"own_b_{tag}"
    deployer = _deployer(backend)

    def bundle(a_edits=()) -> list[Source]:
        return [Source("a.bpmn", _diagram(a, a_edits).encode(), WORKFLOWS),
                Source("b.bpmn", _diagram(b).encode(), WORKFLOWS)]

    first = {d.process_id: d for d in deployer.deploy(bundle(), actor="test")}
    assert first[a].created and first[b].created
    again = {d.process_id: d for d in deployer.deploy(bundle(), actor="test")}
    assert not again[a].created and not again[b].created
    edited = {d.process_id: d for d in deployer.deploy(bundle([('name="Найти"', 'name="Найти в реестре"')]),
                                                        actor="test")}
    assert (edited[a].created, edited[a].version) == (True, first[a].version + 1)
    assert (edited[b].created, edited[b].version_id) == (False, first[b].version_id)
    with backend.services.database.session() as s:
        row = s.get(ProcessVersion, edited[a].version_id)
        assert sorted(row.sources) == ["a.bpmn"] and sorted(row.forms) == ["review.schema.json"]


def test_cli_deploy_is_journaled_as_the_os_user(backend, tmp_path):
    pid = f"actor_{uuid.uuid4().hex[:6]}"
    (tmp_path / "actor.bpmn").write_bytes(_drawn(_diagram(pid)))
    shutil.copy(WORKFLOWS / "review.schema.json", tmp_path)
    out = backend.backoffice("workflows", "deploy", str(tmp_path / "actor.bpmn"), "--comment", "Новая форма")
    assert f"{pid} v1: deployed" in out.stdout
    with backend.services.database.session() as s:
        row = s.scalar(select(ProcessVersion).where(ProcessVersion.process_id == pid))
        assert (row.deployed_by, row.comment) == (f"os:{getpass.getuser()}", "Новая форма")
        entry = s.scalar(select(JournalEntry).where(JournalEntry.message == f"{pid} v1"))
        assert entry.actor == f"os:{getpass.getuser()}"
    pid2 = f"ci_{uuid.uuid4().hex[:6]}"
    (tmp_path / "actor.bpmn").write_bytes(_drawn(_diagram(pid2)))
    backend.backoffice("workflows", "deploy", str(tmp_path / "actor.bpmn"), "--actor", "ci:pipeline-7")
    with backend.services.database.session() as s:
        assert s.scalar(select(ProcessVersion.deployed_by).where(ProcessVersion.process_id == pid2)) \
            == "ci:pipeline-7"
