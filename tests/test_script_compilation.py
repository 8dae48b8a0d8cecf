"""Scripts, conditions and decision cells run on code compiled once per text, with SpiffWorkflow's semantics.

The live engine's environment (engine/scripting.py) replaces SpiffWorkflow's eval/exec of source text
with cached code objects; these tests hold it to what the source-text version does: fresh globals per
evaluation, the task's data in and out, SyntaxErrors for the decision engine's «needs ==» test every
time, and the error line SpiffWorkflow reports for a failing script.
"""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from SpiffWorkflow.bpmn.exceptions import WorkflowTaskException
from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine, TaskDataEnvironment
from SpiffWorkflow.dmn.engine.DMNEngine import DMNEngine

from engine.scripting import CompiledScriptEngine, ScriptEnvironment, compiled


def _task(data: dict, script_engine: object = None) -> SimpleNamespace:
    """What SpiffWorkflow's evaluation and its error reports read of a task."""
    workflow = SimpleNamespace(script_engine=script_engine, spec=SimpleNamespace(file="test.bpmn"))
    workflow.top_workflow = workflow
    spec = SimpleNamespace(name="task", bpmn_id="task", bpmn_name="Задача", description="Script Task", file="test.bpmn")
    return SimpleNamespace(data=data, workflow=workflow, task_spec=spec)


def test_the_live_engine_runs_compiled_code() -> None:
    engine = ScriptEnvironment().script_engine()
    assert isinstance(engine, CompiledScriptEngine)
    compiled.cache_clear()
    for amount in (5, 500):
        assert engine.evaluate(_task({"amount": amount}), "amount > 100") is (amount > 100)
    assert compiled.cache_info().hits == 1  # the second evaluation reused the first one's code


def test_an_evaluation_leaves_no_names_for_the_next() -> None:
    engine = ScriptEnvironment().script_engine()
    assert engine.evaluate(_task({"x": 1}), "x + 1", external_context={"y": 2}) == 2
    with pytest.raises(WorkflowTaskException) as raised:
        engine.evaluate(_task({"x": 1}), "x + y")
    assert raised.value.error_type == "NameError"


def test_a_script_changes_the_task_data_as_spiffworkflows_own_environment_does() -> None:
    script = "total = sum(items)\nlabel = f'{total} руб.'\nset_status('counted')"
    functions = {"set_status": lambda code: None}
    ours, theirs = {"items": [1, 2, 3]}, {"items": [1, 2, 3]}
    CompiledScriptEngine(environment=ScriptEnvironment(functions).script_engine().environment) \
        .execute(_task(ours), script)
    PythonScriptEngine(environment=TaskDataEnvironment(dict(functions))).execute(_task(theirs), script)
    assert ours == theirs == {"items": [1, 2, 3], "total": 6, "label": "6 руб."}


def test_a_failing_script_names_its_line_twice_alike() -> None:
    engine = ScriptEnvironment().script_engine()
    script = "a = 1\nb = a / 0\nc = 2"
    for _ in range(2):
        with pytest.raises(WorkflowTaskException) as raised:
            engine.execute(_task({}), script)
        assert (raised.value.line_number, raised.value.error_line) == (2, "b = a / 0")


def test_validation_raises_for_a_bad_text_every_time() -> None:
    engine = ScriptEnvironment().script_engine()
    engine.validate("amount >= 100")
    for _ in range(2):
        with pytest.raises(SyntaxError):
            engine.validate(">= 100")


@pytest.mark.parametrize(("cell", "value", "expected"), [
    (">= 100", 150, True), (">= 100", 50, False), ('"approved"', "approved", True), ('"approved"', "no", False),
    ("1 < ? < 10", 5, True), ("1 < ? < 10", 50, False), ("", 1, True),
])
def test_decision_cells_match_as_with_spiffworkflows_engine(cell: str, value: object, expected: bool) -> None:
    for engine in (ScriptEnvironment().script_engine(), PythonScriptEngine()):
        task = _task({"amount": value}, engine)
        for _ in range(2):  # the second time from the caches
            assert DMNEngine(None).evaluate("amount", cell or None, task) is expected
