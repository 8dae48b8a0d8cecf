"""Task spec and parser extensions of the runtime.

The only custom spec is the asynchronous service task: instead of calling the operator inline
(SpiffWorkflow's default), `_execute` records the evaluated parameters and returns None, which
leaves the task STARTED. The runtime turns every STARTED async task into an outbox row; a worker
later completes or fails it under the instance lock.
"""

from __future__ import annotations

from typing import Any

from SpiffWorkflow.bpmn.parser.BpmnParser import full_tag
from SpiffWorkflow.spiff.parser.process import SpiffBpmnParser
from SpiffWorkflow.spiff.parser.task_spec import ServiceTaskParser
from SpiffWorkflow.spiff.specs.defaults import ServiceTask

PARAMS_KEY = "service_params"


class AsyncServiceTask(ServiceTask):
    """A service task whose operator runs in a worker, never inside the engine step."""

    def _execute(self, my_task: Any) -> None:
        params = {name: spec["value"] for name, spec in self.evaluate_params(my_task).items()}
        my_task.internal_data[PARAMS_KEY] = params
        return None


class AsyncServiceTaskParser(ServiceTaskParser):
    pass


class RuntimeBpmnParser(SpiffBpmnParser):
    """SpiffBpmnParser with service tasks mapped to AsyncServiceTask."""

    OVERRIDE_PARSER_CLASSES = {  # noqa: RUF012 - SpiffWorkflow's own class-level mapping
        **SpiffBpmnParser.OVERRIDE_PARSER_CLASSES,
        full_tag("serviceTask"): (AsyncServiceTaskParser, AsyncServiceTask),
    }
