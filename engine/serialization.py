"""Workflow state <-> JSON, with the spec kept out of the instance state.

A deployed version's spec is serialized once (ProcessVersion.spec_json) and restored once per
process into `SpecBundle`; instance state is stored without it, so each save and load handles
only the task tree and data (the spec is about half of a small instance's JSON).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any
from uuid import UUID

from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.serializer.default.workflow import BpmnWorkflowConverter, WorkflowConverter
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG
from SpiffWorkflow.spiff.serializer.task_spec import ServiceTaskConverter

from .specs import AsyncServiceTask

STATE_FORMAT = "backoffice-1"


class SpeclessWorkflowConverter(BpmnWorkflowConverter):
    """Leaves the specs out on the way in and takes ready spec objects on the way out."""

    def to_dict(self, workflow: BpmnWorkflow) -> dict:
        dct = WorkflowConverter.to_dict(self, workflow)
        dct["subprocesses"] = self.mapping_to_dict(workflow.subprocesses)
        dct["bpmn_events"] = self.registry.convert(workflow.bpmn_events)
        return dct

    def from_dict(self, dct: dict) -> BpmnWorkflow:
        bundle: SpecBundle = dct.pop("__bundle__")
        workflow = self.target_class(bundle.spec, bundle.subprocess_specs, deserializing=True)
        workflow.tasks = self.mapping_from_dict(dct["tasks"], UUID, workflow=workflow)
        workflow.task_tree = workflow.tasks.get(UUID(dct["root"]))
        self.set_default_attributes(workflow, dct)
        self.subprocesses_from_dict(dct["subprocesses"], workflow)
        workflow.bpmn_events = self.registry.restore(dct.pop("bpmn_events", []))
        return workflow


def _build_registry():
    config = dict(SPIFF_CONFIG)
    config[AsyncServiceTask] = ServiceTaskConverter
    registry = BpmnWorkflowSerializer.configure(config)
    registry.register(date, lambda v: {"value": v.isoformat()}, lambda v: date.fromisoformat(v["value"]))
    registry.register(Decimal, lambda v: {"value": str(v)}, lambda v: Decimal(v["value"]))
    return registry


@dataclass
class SpecBundle:
    spec: Any
    subprocess_specs: dict[str, Any]


class StateSerializer:
    """Serializes specs once and instance states many times."""

    def __init__(self) -> None:
        self.registry = _build_registry()
        # Registering this converter replaces the stock one for BpmnWorkflow in this registry.
        self._specless = SpeclessWorkflowConverter(BpmnWorkflow, self.registry)

    def dump_specs(self, spec: Any, subprocess_specs: dict[str, Any]) -> str:
        return json.dumps({
            "spec": self.registry.convert(spec),
            "subprocess_specs": {k: self.registry.convert(v) for k, v in subprocess_specs.items()},
        })

    def load_specs(self, text: str) -> SpecBundle:
        dct = json.loads(text)
        return SpecBundle(
            spec=self.registry.restore(dct["spec"]),
            subprocess_specs={k: self.registry.restore(v) for k, v in dct["subprocess_specs"].items()},
        )

    def dump_state(self, workflow: BpmnWorkflow) -> str:
        self.registry._encoder_mode = False
        dct = self._specless.to_dict(workflow)
        dct["format"] = STATE_FORMAT
        return json.dumps(dct, separators=(",", ":"))

    def round_trip(self, value: Any) -> Any:
        """`value` as a restored state holds it (tuples become lists, keys become text, dates stay dates):
        what is put into a workflow kept in memory must read the same as after a restore."""
        self.registry._encoder_mode = False
        return self.registry.restore(json.loads(json.dumps(self.registry.convert(value))))

    def load_state(self, text: str, bundle: SpecBundle) -> BpmnWorkflow:
        dct = json.loads(text)
        fmt = dct.pop("format", None)
        if fmt != STATE_FORMAT:
            raise ValueError(f"unknown instance state format {fmt!r}")
        dct["__bundle__"] = bundle
        return self._specless.from_dict(dct)
