"""The one deploy validation: each kind of broken diagram refused with its code and message, once, by the
Python API and by `backoffice workflows deploy`, with nothing stored; per-process versions; the deployer."""

from __future__ import annotations

import getpass
import shutil
import tomllib
import uuid
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from backoffice.cli import main
from engine.bpmn_lint import BPMN_NS, RULES_OFF, lint_process
from engine.context import build_script_env
from engine.deploy import Deployer, Source, sources_from_paths
from engine.errors import DeploymentError, DeploymentProblem
from engine.models import JournalEntry, ProcessVersion
from engine.operators import load_operator_modules
from engine.validation import diagram_checker
from engine.xml_safety import parse_xml
from tasks.config import engine_settings
from tests.support.broken_diagrams import BROKEN, Row, diagram, drawn

WORKFLOWS = Path(__file__).parent / "workflows"
PRODUCT_WORKFLOWS = Path(__file__).parent.parent / "workflows"


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
    deployed = _deployer(backend).deploy([Source(f"{pid}.bpmn", diagram(pid).encode(), WORKFLOWS)])
    assert [(d.process_id, d.created) for d in deployed] == [(pid, True)]


@pytest.mark.parametrize("row", BROKEN, ids=[row.case for row in BROKEN])
def test_broken_diagram_refused_by_the_api(backend, row: Row):
    pid = f"broken_{row.case}_{uuid.uuid4().hex[:6]}"
    with pytest.raises(DeploymentError) as err:
        _deployer(backend, extra_checkers=[diagram_checker]).deploy(
            [Source(f"{row.case}.bpmn", row.content(pid), WORKFLOWS)])
    _expect(err.value.problems, row.code, row.element, row.fragment, pid)
    assert all(p.file == f"{row.case}.bpmn" for p in err.value.problems)
    assert _versions(backend, pid) == 0


@pytest.mark.parametrize("row", BROKEN, ids=[row.case for row in BROKEN])
def test_broken_diagram_refused_by_the_cli(backend, tmp_path, row: Row):
    """`backoffice workflows deploy` in-process (its click command, as the console script runs it)."""
    pid = f"cli_{row.case}_{uuid.uuid4().hex[:6]}"
    for name in ("lanes.toml", "review.schema.json"):
        shutil.copy(WORKFLOWS / name, tmp_path / name)
    (tmp_path / f"{row.case}.bpmn").write_bytes(row.content(pid))
    out = CliRunner(env=backend.env()).invoke(main, ["workflows", "deploy", str(tmp_path)])
    assert out.exit_code == 1, out.output
    lines = [line for line in out.stderr.splitlines() if line.startswith(f"  {row.case}.bpmn: ")]
    element = row.element_id(pid)
    prefixes = (f"  {row.case}.bpmn: {element} («", f"  {row.case}.bpmn: {element}: ") if element \
        else (f"  {row.case}.bpmn: ",)
    assert len([line for line in lines if line.startswith(prefixes) and row.fragment in line]) == 1, out.stderr
    assert len(lines) == len(set(lines))
    assert _versions(backend, pid) == 0


def test_the_cli_refuses_a_diagram_without_its_drawing(backend, tmp_path):
    pid = f"undrawn_{uuid.uuid4().hex[:6]}"
    for name in ("lanes.toml", "review.schema.json"):
        shutil.copy(WORKFLOWS / name, tmp_path / name)
    (tmp_path / "undrawn.bpmn").write_text(diagram(pid), encoding="utf-8")
    out = backend.backoffice("workflows", "deploy", str(tmp_path), check=False)
    assert out.returncode == 1 and "  undrawn.bpmn: lookup" in out.stderr, out.stderr
    assert _versions(backend, pid) == 0
    (tmp_path / "undrawn.bpmn").write_bytes(drawn(diagram(pid)))
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
        _deployer(backend, extra_checkers=[no_di]).deploy([Source("di.bpmn", diagram(pid).encode(), WORKFLOWS)])
    assert [(p.code, p.message) for p in err.value.problems] == [("missing_di", "нет диаграммы (BPMN DI)")]
    assert _versions(backend, pid) == 0


def test_the_product_workflows_pass_every_check(backend):
    settings = engine_settings(backend.env(BACKOFFICE_WORKFLOWS_DIR=str(PRODUCT_WORKFLOWS)))
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
                                                    ("certificate_organization.bpmn", "unknown_sla"),
                                                    ("personal_data_change.bpmn", "unknown_sla")}
    assert all("«registry_wiat»" in p.message and p.element_name for p in problems)


def test_each_process_is_versioned_on_its_own_files(backend):
    tag = uuid.uuid4().hex[:6]
    a, b = f"own_a_{tag}", f"own_b_{tag}"
    deployer = _deployer(backend)

    def bundle(a_edits=()) -> list[Source]:
        return [Source("a.bpmn", diagram(a, a_edits).encode(), WORKFLOWS),
                Source("b.bpmn", diagram(b).encode(), WORKFLOWS)]

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
    (tmp_path / "actor.bpmn").write_bytes(drawn(diagram(pid)))
    shutil.copy(WORKFLOWS / "review.schema.json", tmp_path)
    out = backend.backoffice("workflows", "deploy", str(tmp_path / "actor.bpmn"), "--comment", "Новая форма")
    assert f"{pid} v1: deployed" in out.stdout
    with backend.services.database.session() as s:
        row = s.scalar(select(ProcessVersion).where(ProcessVersion.process_id == pid))
        assert (row.deployed_by, row.comment) == (f"os:{getpass.getuser()}", "Новая форма")
        entry = s.scalar(select(JournalEntry).where(JournalEntry.message == f"{pid} v1"))
        assert entry.actor == f"os:{getpass.getuser()}"
    pid2 = f"ci_{uuid.uuid4().hex[:6]}"
    (tmp_path / "actor.bpmn").write_bytes(drawn(diagram(pid2)))
    backend.backoffice("workflows", "deploy", str(tmp_path / "actor.bpmn"), "--actor", "ci:pipeline-7")
    with backend.services.database.session() as s:
        assert s.scalar(select(ProcessVersion.deployed_by).where(ProcessVersion.process_id == pid2)) \
            == "ci:pipeline-7"


def test_rules_configured_off_find_their_flaw_when_asked():
    """`fake_join` and `no_gateway_join_fork` are off for the deploy (see engine.bpmn_lint), not missing."""
    root = parse_xml((PRODUCT_WORKFLOWS / "certificate_individual.bpmn").read_bytes())
    process = next(root.iter(f"{{{BPMN_NS}}}process"))
    asked = {(f.code, f.element.get("id")) for f in lint_process(process, off=())}
    assert ("no_gateway_join_fork", "gw_review") in asked
    base = parse_xml(diagram("off").encode())
    assert ("fake_join", "end_late") in {(f.code, f.element.get("id"))
                                         for f in lint_process(next(base.iter(f"{{{BPMN_NS}}}process")), off=())}
    assert not [f for f in lint_process(process) if f.code in RULES_OFF]
