"""Replay a recorded decision through another decision table, with SpiffWorkflow's own DMN engine.

A step row of a business rule task keeps the value of each input expression and the rules that fired
(engine.steps.decision_details), not the task's data. To ask "what would this table have decided?",
a replica of the table is made whose input expressions are names bound to the recorded values, and
SpiffWorkflow's DMNEngine (the code that decides live) evaluates it. Nothing is guessed:

- an input whose expression was not recorded (the new table changed or added it) makes the pass
  unreplayable, with the expression named;
- an output entry that reads data other than the inputs (e.g. a note built from a registry answer)
  is answered only when the recorded pass produced it with the same text (its value is then the
  recorded one); otherwise the pass is unreplayable.

The gateway fed by the decision is replayed the same way: its conditions are evaluated on the replayed
result, with the condition code of SpiffWorkflow's gateway.
"""

from __future__ import annotations

import ast
import copy
from dataclasses import dataclass, field
from typing import Any

from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine
from SpiffWorkflow.dmn.engine.DMNEngine import DMNEngine

from .scripting import CompiledScriptEngine, CompiledTaskDataEnvironment

IN_PREFIX, OUT_PREFIX = "_replay_in_", "_replay_out_"


class Unreplayable(Exception):
    """The recorded values cannot answer the table; the message (Russian: the studio shows it) says why."""


class Unrecorded:
    """An output value the step did not record and the recorded inputs cannot produce."""

    def __repr__(self) -> str:
        return "unrecorded"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Unrecorded)

    def __hash__(self) -> int:
        return 0


UNRECORDED = Unrecorded()


def normalise(expression: str | None) -> str:
    """Whitespace-insensitive form of an expression, so a re-indented table still matches."""
    return " ".join((expression or "").split())


def _names(text: str) -> set[str]:
    try:
        tree = ast.parse(text, mode="eval")
    except SyntaxError:
        return set()
    return {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}


class ReplayScriptEngine(CompiledScriptEngine):
    """The live script engine's names and semantics for a replay, which evaluates the same few hundred cell
    expressions thousands of times: each is parsed and compiled once (engine.scripting), as live."""

    def __init__(self, live: PythonScriptEngine) -> None:
        super().__init__(environment=CompiledTaskDataEnvironment(live.environment.globals))


@dataclass
class _Workflow:
    """What SpiffWorkflow's evaluation reads from a workflow (script engine; spec and data objects for errors)."""

    script_engine: Any
    spec: Any
    data_objects: dict[str, Any] = field(default_factory=dict)

    @property
    def top_workflow(self) -> _Workflow:
        return self


@dataclass
class _Task:
    """A stand-in task: the recorded values as its data."""

    data: dict[str, Any]
    workflow: _Workflow
    task_spec: Any


@dataclass(frozen=True)
class Replayed:
    """A replayed decision: the rules that fired, the outputs by column name and the data as the task left it."""

    rules: tuple[str, ...]
    outputs: dict[str, Any]
    result: dict[str, Any]


class _Decided(DMNEngine):
    """SpiffWorkflow's result of rules already matched (matching again would double the replay's cost)."""

    def __init__(self, table: Any, rules: list[Any]) -> None:
        super().__init__(table)
        self.rules = rules

    def decide(self, task: Any) -> list[Any]:
        return self.rules


class TableReplay:
    """One decision table made replayable: built once, evaluated for each distinct recorded pass."""

    def __init__(self, task_spec: Any, wf_spec: Any, script_engine: Any, known_globals: frozenset[str]) -> None:
        self.task_spec, self.table = task_spec, task_spec.dmnEngine.decision_table
        self.workflow = _Workflow(script_engine, wf_spec)
        self.replica = copy.deepcopy(self.table)
        self.expressions = [normalise(i.expression) for i in self.table.inputs]
        for index, column in enumerate(self.replica.inputs):
            column.expression = f"({IN_PREFIX}{index})"  # parenthesised: a unary test is appended to it
        bare = {e for e in self.expressions if e.isidentifier()}
        self.data_outputs: dict[str, tuple[str, str]] = {}  # placeholder -> (output column, original text)
        for rule in self.replica.rules:
            for index, entry in enumerate(rule.outputEntries):
                if entry.text and _names(entry.text) - known_globals - bare:
                    placeholder = f"{OUT_PREFIX}{rule.id}_{index}".replace("-", "_")
                    self.data_outputs[placeholder] = (output_name(entry.output), normalise(entry.text))
                    entry.text = placeholder
        self.engine = DMNEngine(self.replica)

    @property
    def name(self) -> str:
        return self.table.name or self.table.id

    def columns(self) -> dict[str, str]:
        """Output column name -> its label (what the page calls it)."""
        return {output_name(o): o.label or output_name(o) for o in self.table.outputs}

    def element_names(self) -> dict[str, str]:
        """Element id -> name in the diagram this table's task belongs to (a gateway's targets are shown by it)."""
        return {s.bpmn_id: s.bpmn_name for s in self.workflow.spec.task_specs.values()
                if getattr(s, "bpmn_id", None) and getattr(s, "bpmn_name", None)}

    def output_texts(self, rule_ids: tuple[str, ...]) -> dict[tuple[str, str], bool]:
        """(output column, text) of the given rules' output entries, as this table has them."""
        texts = {}
        for rule in self.table.rules:
            if rule.id in rule_ids:
                for entry in rule.outputEntries:
                    texts[(output_name(entry.output), normalise(entry.text))] = True
        return texts

    def replay(self, inputs: dict[str, Any], known: dict[tuple[str, str], Any], lenient: bool = False) -> Replayed:
        """Decide on recorded input values (expression -> value); ``known`` answers outputs that need data
        (``lenient``: an unanswered one is UNRECORDED instead of making the pass unreplayable)."""
        data = {}
        for index, (expression, label) in enumerate(zip(self.expressions, self._labels(), strict=True)):
            if expression not in inputs:
                raise Unreplayable(f"входное поле «{label}»: значение выражения «{expression}» при решении не записано")
            data[f"{IN_PREFIX}{index}"] = inputs[expression]
            if expression.isidentifier():
                data[expression] = inputs[expression]
        task = _Task(data, self.workflow, self.task_spec)
        try:
            rules = self.engine.decide(task)
        except Exception as exc:  # e.g. a comparison the recorded value's type does not support
            raise Unreplayable(f"таблица не вычисляется на записанных значениях: {exc}") from exc
        for rule in rules:
            for entry in rule.outputEntries:
                if entry.text in self.data_outputs:
                    column, text = self.data_outputs[entry.text]
                    if (column, text) not in known and not lenient:
                        raise Unreplayable(f"результат «{column}» правила {rule.row_number} зависит от данных, "
                                           "которые при решении не записаны")
                    data[entry.text] = known.get((column, text), UNRECORDED)
        try:
            result = _Decided(self.replica, rules).result(task)
        except Exception as exc:
            raise Unreplayable(f"таблица не вычисляется на записанных значениях: {exc}") from exc
        return Replayed(tuple(r.id for r in rules), flat_outputs(self.table, result), result)

    def _labels(self) -> list[str]:
        return [i.label or i.expression for i in self.table.inputs]


def output_name(output: Any) -> str:
    return output.name or output.label


def flat_outputs(table: Any, result: dict[str, Any]) -> dict[str, Any]:
    """The result by output column name (``verdict.outcome`` read from the nested dict SpiffWorkflow builds)."""
    flat = {}
    for column in table.outputs:
        value: Any = result
        for part in output_name(column).split("."):
            value = value.get(part, UNRECORDED) if isinstance(value, dict) else UNRECORDED
        flat[output_name(column)] = value
    return flat


class GatewayReplay:
    """An exclusive gateway's choice on replayed data: the first matching condition, else the default."""

    def __init__(self, gateway_spec: Any, wf_spec: Any, script_engine: Any) -> None:
        self.spec, self.wf_spec = gateway_spec, wf_spec
        self.workflow = _Workflow(script_engine, wf_spec)

    @property
    def element(self) -> str:
        return self.spec.bpmn_id

    def target(self, data: dict[str, Any]) -> str | None:
        """The element the case would go to next, or Unreplayable when a condition needs other data."""
        task = _Task(copy.deepcopy(data), self.workflow, self.spec)
        chosen = self.spec.default_task_spec
        for condition, spec_name in self.spec.cond_task_specs:
            try:
                matched = condition is not None and condition._matches(task)
            except Exception as exc:
                raise Unreplayable(f"условие «{condition.args[0]}» зависит от данных, "
                                   "которые при решении не записаны") from exc
            if matched:
                chosen = spec_name
                break
        if chosen is None:
            return None
        return _element(self.wf_spec.task_specs[chosen])


def next_gateway(task_spec: Any) -> Any | None:
    """The exclusive gateway a business rule task leads straight into (the one its outputs feed), if any."""
    outputs = list(task_spec.outputs)
    if len(outputs) == 1 and getattr(outputs[0], "cond_task_specs", None) is not None \
            and hasattr(outputs[0], "default_task_spec") and getattr(outputs[0], "bpmn_id", None):
        return outputs[0]
    return None


def _element(task_spec: Any) -> str:
    """The diagram element a task spec stands for; a control spec SpiffWorkflow inserts (the split before a
    task with boundary events) stands for the task it leads to first, which is what the steps record."""
    while not getattr(task_spec, "bpmn_id", None) and task_spec.outputs:
        task_spec = task_spec.outputs[0]
    return getattr(task_spec, "bpmn_id", None) or task_spec.name
