"""Diagram interchange: every diagram in workflows/ is fully drawn, cleanly, and up to date.

Pure Python: the DI is read from the files and checked geometrically; no product is started.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner
from lxml import etree
from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer
from SpiffWorkflow.spiff.parser.process import SpiffBpmnParser
from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG

from backoffice.cli import main
from engine.diagram_layout import (
    BPMNDI_NS,
    DC_NS,
    branch_order_problems,
    diagram_problems,
    layout_bpmn,
    strip_di,
)

WORKFLOWS = Path(__file__).resolve().parent.parent / "workflows"
DIAGRAMS = sorted(WORKFLOWS.glob("*.bpmn"))

SYNTHETIC = b"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="defs"
                  targetNamespace="http://example.org/bpmn">
  <bpmn:process id="loop_demo" name="Loop demo" isExecutable="true">
    <bpmn:laneSet id="lanes">
      <bpmn:lane id="lane_a" name="Clerk">
        <bpmn:flowNodeRef>start</bpmn:flowNodeRef>
        <bpmn:flowNodeRef>merge</bpmn:flowNodeRef>
        <bpmn:flowNodeRef>work</bpmn:flowNodeRef>
        <bpmn:flowNodeRef>gw</bpmn:flowNodeRef>
        <bpmn:flowNodeRef>done</bpmn:flowNodeRef>
      </bpmn:lane>
      <bpmn:lane id="lane_b" name="Checker">
        <bpmn:flowNodeRef>fix</bpmn:flowNodeRef>
        <bpmn:flowNodeRef>late</bpmn:flowNodeRef>
        <bpmn:flowNodeRef>escalate</bpmn:flowNodeRef>
        <bpmn:flowNodeRef>end_late</bpmn:flowNodeRef>
      </bpmn:lane>
    </bpmn:laneSet>
    <bpmn:startEvent id="start" name="Started" />
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="merge" />
    <bpmn:exclusiveGateway id="merge" />
    <bpmn:sequenceFlow id="f2" sourceRef="merge" targetRef="work" />
    <bpmn:scriptTask id="work" name="Work"><bpmn:script>n = n + 1</bpmn:script></bpmn:scriptTask>
    <bpmn:sequenceFlow id="f3" sourceRef="work" targetRef="gw" />
    <bpmn:exclusiveGateway id="gw" name="Good?" />
    <bpmn:sequenceFlow id="f_ok" name="yes" sourceRef="gw" targetRef="done">
      <bpmn:conditionExpression>n &gt; 2</bpmn:conditionExpression>
    </bpmn:sequenceFlow>
    <bpmn:sequenceFlow id="f_again" name="again" sourceRef="gw" targetRef="fix">
      <bpmn:conditionExpression>n &lt;= 2</bpmn:conditionExpression>
    </bpmn:sequenceFlow>
    <bpmn:endEvent id="done" name="Done" />
    <bpmn:manualTask id="fix" name="Fix it" />
    <bpmn:sequenceFlow id="f_loop" sourceRef="fix" targetRef="merge" />
    <bpmn:boundaryEvent id="late" name="Too late" attachedToRef="fix">
      <bpmn:timerEventDefinition id="late_def"><bpmn:timeDuration>"PT1H"</bpmn:timeDuration></bpmn:timerEventDefinition>
    </bpmn:boundaryEvent>
    <bpmn:sequenceFlow id="f_late" sourceRef="late" targetRef="escalate" />
    <bpmn:manualTask id="escalate" name="Escalate" />
    <bpmn:sequenceFlow id="f_esc" sourceRef="escalate" targetRef="end_late" />
    <bpmn:endEvent id="end_late" />
  </bpmn:process>
</bpmn:definitions>
"""


def _shapes(xml: bytes) -> dict[str, tuple[float, float, float, float]]:
    root = etree.fromstring(xml)
    out = {}
    for shape in root.iter(f"{{{BPMNDI_NS}}}BPMNShape"):
        b = shape.find(f"{{{DC_NS}}}Bounds")
        out[shape.get("bpmnElement")] = tuple(float(b.get(k)) for k in ("x", "y", "width", "height"))
    return out


def _specs_json(path: Path) -> str:
    """Everything SpiffWorkflow builds from the file (with the other diagrams a call may need)."""
    parser = SpiffBpmnParser()
    parser.add_bpmn_file(str(path))
    own = parser.get_process_ids()
    parser.add_bpmn_files([str(p) for p in DIAGRAMS if p.name != path.name])
    parser.add_dmn_files([str(p) for p in WORKFLOWS.glob("*.dmn")])
    serializer = BpmnWorkflowSerializer(BpmnWorkflowSerializer.configure(SPIFF_CONFIG))
    data = {}
    for process_id in sorted(own):
        subs = parser.get_subprocess_specs(process_id)
        data[process_id] = {"spec": serializer.to_dict(parser.get_spec(process_id)),
                            "subs": {k: serializer.to_dict(v) for k, v in sorted(subs.items())}}
    return json.dumps(data, sort_keys=True, default=str).replace(str(path), "<file>")


@pytest.mark.parametrize("path", DIAGRAMS, ids=[p.name for p in DIAGRAMS])
def test_committed_diagram_is_complete_and_clean(path: Path):
    content = path.read_bytes()
    assert content.count(b"BPMNShape") > 0
    assert diagram_problems(content, require_labels=True) == []
    assert branch_order_problems(content) == []


@pytest.mark.parametrize("path", DIAGRAMS, ids=[p.name for p in DIAGRAMS])
def test_committed_diagram_is_up_to_date(path: Path):
    content = path.read_bytes()
    assert layout_bpmn(content) == content, "run `backoffice workflows layout` and commit the result"


@pytest.mark.parametrize("path", DIAGRAMS, ids=[p.name for p in DIAGRAMS])
def test_drawing_changes_nothing_spiffworkflow_reads(path: Path, tmp_path: Path):
    """The DI must not reorder a split's branches (SpiffWorkflow sorts them by the targets' y)."""
    bare = tmp_path / path.name
    bare.write_bytes(strip_di(path.read_bytes()))
    assert b"BPMNShape" not in bare.read_bytes()
    drawn = _specs_json(path)
    assert '"task_specs"' in drawn
    assert drawn == _specs_json(bare)


def test_layout_of_a_loop_a_boundary_event_and_two_lanes(tmp_path: Path):
    out = layout_bpmn(SYNTHETIC)
    assert out.startswith(SYNTHETIC[:SYNTHETIC.rindex(b"</bpmn:definitions>")].rstrip())
    assert diagram_problems(out, require_labels=True) == []
    assert branch_order_problems(out) == []
    assert layout_bpmn(out) == out
    shapes = _shapes(out)
    assert set(shapes) == {"lane_a", "lane_b", "start", "merge", "work", "gw", "done", "fix", "late",
                           "escalate", "end_late"}
    assert shapes["work"][2:] == (100, 80) and shapes["start"][2:] == (36, 36) and shapes["gw"][2:] == (50, 50)
    # Left to right along the flow, the loop's target before its source.
    assert shapes["start"][0] < shapes["merge"][0] < shapes["work"][0] < shapes["gw"][0] < shapes["fix"][0]
    # Lanes are horizontal bands one above the other, as wide as each other.
    a, b = shapes["lane_a"], shapes["lane_b"]
    assert a[1] + a[3] == b[1] and a[0] == b[0] and a[2] == b[2]
    # The boundary event sits on the bottom border of its host.
    fix, late = shapes["fix"], shapes["late"]
    assert late[1] + late[3] / 2 == fix[1] + fix[3] and fix[0] <= late[0] and late[0] + 36 <= fix[0] + 100
    (tmp_path / "bare").mkdir()
    (tmp_path / "laid").mkdir()
    bare, laid = tmp_path / "bare" / "loop.bpmn", tmp_path / "laid" / "loop.bpmn"
    bare.write_bytes(SYNTHETIC)
    laid.write_bytes(out)
    assert _specs_json(bare).replace(str(bare), "") == _specs_json(laid).replace(str(laid), "")


def test_layout_replaces_an_existing_diagram():
    out = layout_bpmn(SYNTHETIC)
    moved = re.sub(rb'(bpmnElement="work">\s*<dc:Bounds x=")\d+', rb"\g<1>9999", out)
    assert moved != out
    assert layout_bpmn(moved) == out
    assert out.count(b"<bpmndi:BPMNDiagram") == 1


def _problem_codes(xml: bytes) -> set[tuple[str, str]]:
    return {(p.element_id, p.code) for p in diagram_problems(xml, require_labels=True)}


def test_problems_of_a_broken_diagram():
    out = layout_bpmn(SYNTHETIC)
    shapes = _shapes(out)

    def move(element_id: str, x: float, y: float) -> bytes:
        return re.sub(rb'(bpmnElement="' + element_id.encode() + rb'"[^>]*>\s*<dc:Bounds) x="[^"]+" y="[^"]+"',
                      rb'\1 x="%d" y="%d"' % (x, y), out)

    missing = re.sub(rb'<bpmndi:BPMNShape id="escalate_di".*?</bpmndi:BPMNShape>', b"", out, flags=re.S)
    assert ("escalate", "no_bpmndi") in _problem_codes(missing)
    no_edge = re.sub(rb'<bpmndi:BPMNEdge id="f3_di".*?</bpmndi:BPMNEdge>', b"", out, flags=re.S)
    assert ("f3", "no_bpmndi") in _problem_codes(no_edge)
    no_label = re.sub(rb'(<bpmndi:BPMNEdge id="f_ok_di".*?)<bpmndi:BPMNLabel>.*?</bpmndi:BPMNLabel>', rb"\1",
                      out, flags=re.S)
    assert _problem_codes(no_label) == {("f_ok", "di_label")}

    work = shapes["work"]
    on_top = move("done", work[0] + 10, work[1] + 10)
    codes = _problem_codes(on_top)
    assert ("done", "no_overlapping_elements") in codes or ("work", "no_overlapping_elements") in codes
    # The edge into the moved end event no longer touches it.
    assert ("f_ok", "di_detached") in codes

    lane_b = shapes["lane_b"]
    out_of_lane = move("work", work[0], lane_b[1] + 20)
    assert ("work", "di_lane") in _problem_codes(out_of_lane)

    # A shape dropped onto the straight edge start -> merge.
    start, merge = shapes["start"], shapes["merge"]
    gap_x = (start[0] + start[2] + merge[0]) / 2 - 18
    through = move("done", gap_x, start[1])
    assert ("f1", "di_edge_through") in _problem_codes(through)

    off_border = move("late", shapes["fix"][0] + 30, shapes["fix"][1] + 20)
    assert ("late", "di_boundary") in _problem_codes(off_border)


def test_cli_layout_and_check(tmp_path: Path):
    path = tmp_path / "loop.bpmn"
    path.write_bytes(SYNTHETIC)
    runner = CliRunner()
    stale = runner.invoke(main, ["workflows", "layout", "--check", str(path)])
    assert stale.exit_code == 1 and path.read_bytes() == SYNTHETIC
    done = runner.invoke(main, ["workflows", "layout", str(path)])
    assert done.exit_code == 0, done.output
    assert path.read_bytes() == layout_bpmn(SYNTHETIC)
    again = runner.invoke(main, ["workflows", "layout", "--check", str(path)])
    assert again.exit_code == 0 and "unchanged" in again.output
