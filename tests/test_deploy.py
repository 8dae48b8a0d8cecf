"""Deployment: versions side by side, and diagrams refused with file and element id."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from engine.deploy import Deployer, Source
from engine.errors import DeploymentError
from tests.support.queries import open_task

WORKFLOWS = Path(__file__).parent / "workflows"


def _deployer(backend) -> Deployer:
    s = backend.services
    return Deployer(s.database, s.script_env, s.settings.forms_dirs, sla_names=s.sla.names())


def _versioned(status: str) -> Source:
    text = (WORKFLOWS / "versioned.bpmn").read_text(encoding="utf-8").replace("v1_done", status)
    return Source("versioned.bpmn", text.encode(), WORKFLOWS)


def test_new_version_while_old_instances_run(backend):
    rt = backend.services.runtime
    deployer = _deployer(backend)
    tag = uuid.uuid4().hex[:6]
    first = deployer.deploy([_versioned(f"first_{tag}")], actor="analyst")[0]
    again = deployer.deploy([_versioned(f"first_{tag}")], actor="analyst")[0]
    assert again.created is False and again.version == first.version
    a = rt.start("versioned", {})
    second = deployer.deploy([_versioned(f"second_{tag}")], actor="analyst")[0]
    assert second.version == first.version + 1
    b = rt.start("versioned", {})
    assert (a.version_id, b.version_id) == (first.version_id, second.version_id)
    for info in (b, a):
        rt.complete_user_task(open_task(backend.services, info.id, "step").id, {}, "operator-1")
    assert rt.instance(a.id).status == f"first_{tag}"
    assert rt.instance(b.id).status == f"second_{tag}"


DANGEROUS = [
    ("__import__('os').system('id')", "__import__"),
    ("x = ().__class__.__bases__[0].__subclasses__()", "__class__"),
    ("import os", "import"),
    ("data = open('/etc/passwd').read()", "open"),
]


@pytest.mark.parametrize(("script", "needle"), DANGEROUS)
def test_dangerous_script_is_refused_with_element_id(backend, script, needle):
    text = (WORKFLOWS / "versioned.bpmn").read_text(encoding="utf-8").replace(
        'set_status("v1_done")', script.replace("'", "&apos;"))
    with pytest.raises(DeploymentError) as err:
        _deployer(backend).deploy([Source("evil.bpmn", text.encode())])
    problems = err.value.problems
    assert {(p.file, p.element_id) for p in problems} == {("evil.bpmn", "finish")}
    assert any(needle in p.message for p in problems)


def test_dangerous_expression_in_condition_is_refused(backend):
    text = (WORKFLOWS / "versioned.bpmn").read_text(encoding="utf-8").replace(
        '<bpmn:sequenceFlow id="f2" sourceRef="step" targetRef="finish" />',
        '<bpmn:sequenceFlow id="f2" sourceRef="step" targetRef="finish"><bpmn:conditionExpression>'
        "getattr(x, 'y')</bpmn:conditionExpression></bpmn:sequenceFlow>")
    with pytest.raises(DeploymentError) as err:
        _deployer(backend).deploy([Source("cond.bpmn", text.encode())])
    assert [(p.file, p.element_id) for p in err.value.problems] == [("cond.bpmn", "f2")]


def test_xxe_is_refused(backend, tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("top secret")
    text = (WORKFLOWS / "versioned.bpmn").read_text(encoding="utf-8").replace(
        '<?xml version="1.0" encoding="UTF-8"?>',
        f'<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE d [<!ENTITY xxe SYSTEM "file://{secret}">]>'
    ).replace('name="Шаг"', 'name="&xxe;"')
    with pytest.raises(DeploymentError) as err:
        _deployer(backend).deploy([Source("xxe.bpmn", text.encode())])
    assert "DOCTYPE" in str(err.value)


def test_unknown_operator_lane_form_and_completer_task_are_refused(backend):
    text = (WORKFLOWS / "engine_demo.bpmn").read_text(encoding="utf-8")
    text = text.replace('id="demo.lookup"', 'id="no.such.operator"').replace('name="Руководитель"',
                                                                             'name="Неизвестная дорожка"')
    text = text.replace("review.schema.json", "missing.schema.json")
    text = text.replace('<spiffworkflow:property name="formJsonSchemaFilename" value="missing.schema.json" />',
                        '<spiffworkflow:property name="formJsonSchemaFilename" value="missing.schema.json" />'
                        '<spiffworkflow:property name="assignToCompleterOf" value="lookup" />')
    with pytest.raises(DeploymentError) as err:
        _deployer(backend).deploy([Source("broken.bpmn", text.encode(), WORKFLOWS)])
    messages = [(p.element_id, p.code, p.message) for p in err.value.problems]
    assert ("lookup", "unknown_operator", "неизвестный оператор сервисной задачи «no.such.operator»") in messages
    assert ("lane_supervisor", "lane_without_role", "дорожке «Неизвестная дорожка» не сопоставлена роль") in messages
    assert ("review", "unknown_form", "схема формы «missing.schema.json» не найдена") in messages
    assert ("review", "unknown_completer_task",
            "assignToCompleterOf называет «lookup», а это не задача исполнителя этого процесса") in messages
    assert len(messages) == len(set(messages)) == 4


def test_cli_deploy_reports_problems(backend, tmp_path):
    evil = tmp_path / "evil.bpmn"
    evil.write_text((WORKFLOWS / "versioned.bpmn").read_text(encoding="utf-8").replace(
        'set_status("v1_done")', "x = ().__class__"), encoding="utf-8")
    out = backend.backoffice("workflows", "deploy", str(evil), check=False)
    assert out.returncode == 1
    line = "  evil.bpmn: finish («Finish»): недопустимый код (строка 1: служебный атрибут '__class__' запрещён)"
    assert out.stderr.splitlines().count(line) == 1
