"""The one validation that runs before every deploy (CLI, studio draft, API): a list of problems.

Everything a diagram author can get wrong is found here, statically, before anything is stored: unsafe
XML, the BPMN/DMN schema as SpiffWorkflow's parser applies it, unsafe scripts, unknown service operators
and parameters (compared with the operator function's signature), unknown SLA names in ``sla(...)``
calls, unknown or broken form schemas, call activities whose called process is not in the bundle, lanes
without a role, user tasks outside any lane, unreachable elements and bpmnlint's recommended rules (see
:mod:`engine.bpmn_lint`). A check the engine cannot know of (the diagram interchange, say) is plugged in
as an extra checker.

The function is generic: what it checks against (operators, SLA names, form directories, lane roles) is
passed in, so the same code serves every caller. Each problem is reported once, with a stable English
``code`` for programs and a Russian ``message`` for people.
"""

from __future__ import annotations

import ast
import json
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError
from lxml import etree
from SpiffWorkflow.bpmn.parser.ValidationException import ValidationException
from SpiffWorkflow.spiff.parser.process import VALIDATOR

from .bpmn_lint import BPMN_NS, lint_definitions, lint_process, local
from .errors import DeploymentProblem
from .operators import signature_of
from .script_safety import ScriptViolation, check_dmn_entry, check_expression, check_script
from .specs import RuntimeBpmnParser
from .xml_safety import UnsafeXml, parse_xml

Problem = DeploymentProblem
DMN_NAMESPACES = ("https://www.omg.org/spec/DMN/", "http://www.omg.org/spec/DMN/")
EXEC_TAGS = {"script", "preScript", "postScript"}
EVAL_TAGS = {"conditionExpression", "timeDate", "timeDuration", "timeCycle", "loopCardinality",
             "completionCondition", "messagePayload", "formalExpression", "condition"}
FORM_PROPERTIES = ("formJsonSchemaFilename", "formUiSchemaFilename")
SLA_FUNCTION = "sla"

Checker = Callable[[str, bytes], Iterable[Problem]]
"""An extra check: (file name, file content) -> problems, e.g. the diagram interchange check."""


def diagram_checker(file: str, content: bytes) -> list[Problem]:
    """The diagram interchange check as a validation `Checker`: a BPMN file whose drawing is missing or
    unclean (overlaps, edges through shapes) cannot be opened by a modeler or drawn by the studio."""
    if not file.endswith(".bpmn"):
        return []
    from .diagram_layout import diagram_problems

    try:
        found = diagram_problems(content)
    except ValueError:  # unparsable XML is reported by the validation itself
        return []
    return [Problem(file, p.element_id, p.message, p.code) for p in found]


@dataclass(frozen=True)
class Source:
    name: str
    content: bytes
    directory: Path | None = None


@dataclass
class ValidationContext:
    """What the diagrams are checked against; every field comes from the caller's configuration."""

    allowed_functions: Collection[str] = ()
    operators: Callable[[str], Any] | None = None  # name -> operator with ``.func`` (or None if unknown)
    sla_names: Collection[str] | None = None  # None: no catalogue, ``sla()`` names are not checked
    forms_dirs: Sequence[Path] = ()
    lane_roles: Mapping[str, str] = field(default_factory=dict)
    extra_checkers: Sequence[Checker] = ()


@dataclass
class Validation:
    """The outcome: problems, and what a deploy needs when there are none (parser, forms by name)."""

    problems: list[Problem]
    parser: RuntimeBpmnParser
    forms: dict[str, Any]
    roots: dict[str, etree._Element]


def validate(sources: Sequence[Source], context: ValidationContext) -> list[Problem]:
    """Every problem of ``sources`` taken together (an empty list: they may be deployed)."""
    return run_validation(sources, context).problems


def run_validation(sources: Sequence[Source], context: ValidationContext) -> Validation:
    parser = RuntimeBpmnParser(validator=VALIDATOR)
    report = _Report()
    roots: dict[str, etree._Element] = {}
    for src in sources:
        root = _parse(src, report)
        if root is None:
            continue
        roots[src.name] = root
        report.index(src.name, root)
        _check_scripts(src.name, root, context.allowed_functions, report)
        for checker in context.extra_checkers:
            report.extend(checker(src.name, src.content))
        try:
            if _is_dmn(root):
                parser.add_dmn_xml(root, filename=src.name)
            else:
                parser.add_bpmn_xml(root.getroottree(), filename=src.name)
        except ValidationException as exc:
            report.add(exc.file_name or src.name, exc.id or None, "schema_invalid",
                       f"нарушена схема BPMN/DMN: {str(exc).strip()}")
    forms: dict[str, Any] = {}
    bpmn = {name: root for name, root in roots.items() if not _is_dmn(root)}
    for name, root in bpmn.items():
        _check_bpmn(name, root, sources, context, report, forms)
    _check_called_processes(bpmn, report)
    if not any(p.get("isExecutable") == "true" for root in bpmn.values() for p in _bpmn(root, "process")):
        # a file may hold only a called (non-executable) process; the bundle needs one to start
        report.add(", ".join(s.name for s in sources), None, "no_executable_process",
                   "нет исполняемого процесса (isExecutable=\"true\")")
    if bpmn and not report.problems:
        _check_specs(parser, report)
    return Validation(report.result(), parser, forms, roots)


class _Report:
    """Collects problems once each, with the element's name looked up by id in its file."""

    def __init__(self) -> None:
        self.problems: list[Problem] = []
        self._seen: set[tuple] = set()
        self._names: dict[tuple[str, str], str | None] = {}

    def index(self, file: str, root: etree._Element) -> None:
        for node in root.iter():
            if isinstance(node.tag, str) and node.get("id"):
                self._names[(file, node.get("id"))] = node.get("name")

    def add(self, file: str, element_id: str | None, code: str, message: str) -> None:
        key = (file, element_id, code, message)
        if key not in self._seen:
            self._seen.add(key)
            name = self._names.get((file, element_id)) if element_id else None
            self.problems.append(Problem(file, element_id, message, code, name))

    def at(self, file: str, node: etree._Element, code: str, message: str) -> None:
        self.add(file, _element_id(node), code, message)

    def extend(self, problems: Iterable[Problem]) -> None:
        for p in problems:
            self.add(p.file, p.element_id, p.code, p.message)

    def result(self) -> list[Problem]:
        return list(self.problems)


def parse_problems(src: Source) -> list[Problem]:
    """Only whether the file parses (well-formed, no DTD): cheap enough to answer every save of an editor."""
    report = _Report()
    _parse(src, report)
    return report.result()


def _parse(src: Source, report: _Report) -> etree._Element | None:
    try:
        return parse_xml(src.content)
    except UnsafeXml:
        report.add(src.name, None, "xml_unsafe", "объявления DOCTYPE и ENTITY запрещены (XXE)")
    except ValueError as exc:
        report.add(src.name, None, "xml_malformed", f"файл не является корректным XML: {exc}")
    return None


def _is_dmn(root: etree._Element) -> bool:
    return any(str(root.tag).startswith("{" + ns) for ns in DMN_NAMESPACES)


def _element_id(node: etree._Element | None) -> str | None:
    """The id of the nearest BPMN/DMN element a modeler selects (not an event definition; extension
    elements use ``id`` for other things, such as the operator's name)."""
    while node is not None:
        namespace = etree.QName(node).namespace or "" if isinstance(node.tag, str) else ""
        selectable = namespace == BPMN_NS or namespace.startswith(DMN_NAMESPACES)
        if node.get("id") and selectable and not local(node).endswith("EventDefinition"):
            return node.get("id")
        node = node.getparent()
    return None


# --- scripts -----------------------------------------------------------------------------------------

_SCRIPT_MESSAGES = [
    ("import statements are not allowed", "инструкция import запрещена"),
    ("global statements are not allowed", "инструкция global запрещена"),
    ("nonlocal statements are not allowed", "инструкция nonlocal запрещена"),
    ("class definitions are not allowed", "определение классов запрещено"),
    ("async functions are not allowed", "асинхронные функции запрещены"),
    ("async comprehensions are not allowed", "асинхронные включения запрещены"),
    ("await is not allowed", "await запрещён"),
    ("async for is not allowed", "async for запрещён"),
    ("async with is not allowed", "async with запрещён"),
    ("yield outside a function is not allowed", "yield вне функции запрещён"),
]
_SCRIPT_PATTERNS = [
    ("call of ", "вызов {} запрещён"),
    ("name ", "имя {} запрещено"),
    ("dunder attribute ", "служебный атрибут {} запрещён"),
    ("private attribute ", "закрытый атрибут {} запрещён"),
    ("attribute ", "атрибут {} запрещён"),
]


def script_message(violation: ScriptViolation) -> str:
    """A script safety violation in Russian (the names stay as written in the script)."""
    text = violation.message
    russian = dict(_SCRIPT_MESSAGES).get(text)
    if russian is None and text.startswith("syntax error: "):
        russian = f"синтаксическая ошибка: {text.removeprefix('syntax error: ')}"
    if russian is None:
        for prefix, template in _SCRIPT_PATTERNS:
            if text.startswith(prefix) and text.endswith(" is not allowed"):
                russian = template.format(text[len(prefix):-len(" is not allowed")])
                break
    russian = russian or text
    where = f"строка {violation.line}: " if violation.line else ""
    return f"недопустимый код ({where}{russian})" if where else f"недопустимый код ({russian})"


def _check_scripts(file: str, root: etree._Element, allowed: Collection[str], report: _Report) -> None:
    allowed = frozenset(allowed)
    for node, text, mode in iter_code(root):
        for v in _violations(text, mode, allowed):
            report.at(file, node, "unsafe_script", script_message(v))


@lru_cache(maxsize=4096)
def _violations(text: str, mode: str, allowed: frozenset[str]) -> list[ScriptViolation]:
    """The script check of one piece of code, cached: a draft differs from the deployed version in a few
    places, and the studio validates it on every page view."""
    if mode == "dmn":
        return check_dmn_entry(text, allowed)
    if mode == "exec":
        return check_script(text, allowed)
    return check_expression(text, allowed)


def iter_code(root: etree._Element) -> Iterable[tuple[etree._Element, str, str]]:
    """Every piece of Python in a BPMN/DMN document: (element, source, "exec" | "eval" | "dmn")."""
    for node in root.iter():
        tag = local(node)
        text = (node.text or "").strip()
        if tag in EXEC_TAGS and text:
            yield node, text, "exec"
        elif tag in EVAL_TAGS and text:
            yield node, text, "eval"
        elif tag == "parameter" and node.get("value"):
            yield node, node.get("value"), "eval"
        elif tag == "text" and text:
            parent = local(node.getparent())
            if parent == "inputEntry":
                yield node, text, "dmn"
            elif parent in ("inputExpression", "outputEntry"):
                yield node, text, "eval"


# --- BPMN semantics ------------------------------------------------------------------------------------

def _bpmn(node: etree._Element, *kinds: str) -> Iterable[etree._Element]:
    return node.iter(*(f"{{{BPMN_NS}}}{k}" for k in kinds))


def _check_bpmn(file: str, root: etree._Element, sources: Sequence[Source], context: ValidationContext,
                report: _Report, forms: dict[str, Any]) -> None:
    for finding in lint_definitions(root):
        report.at(file, finding.element, finding.code, finding.message)
    for process in _bpmn(root, "process"):
        for finding in lint_process(process):
            report.at(file, finding.element, finding.code, finding.message)
        _check_lanes(file, process, context.lane_roles, report)
        _check_completer_of(file, process, report)
        if context.sla_names is not None:
            _check_sla(file, process, context.sla_names, report)
    if context.operators is not None:
        _check_operators(file, root, context.operators, report)
    _check_forms(file, root, sources, context.forms_dirs, report, forms)


def _check_called_processes(bpmn: Mapping[str, etree._Element], report: _Report) -> None:
    """A call activity runs a process of the same deployment: one that is missing would only fail when a
    case reaches the call, so it is refused here, at the call activity."""
    processes = {p.get("id") for root in bpmn.values() for p in root if local(p) == "process"}
    for file, root in bpmn.items():
        for call in _bpmn(root, "callActivity"):
            called = (call.get("calledElement") or "").strip()
            if not called:
                report.at(file, call, "missing_called_process", "у вызова процесса не указан вызываемый процесс")
            elif called not in processes:
                report.at(file, call, "unknown_called_process",
                          f"вызываемый процесс «{called}» не найден: его файла нет среди развёртываемых")


def _check_lanes(file: str, process: etree._Element, roles: Mapping[str, str], report: _Report) -> None:
    in_lane: set[str] = set()
    for lane in _bpmn(process, "lane"):
        refs = [(r.text or "").strip() for r in lane if local(r) == "flowNodeRef"]
        in_lane.update(refs)
        nested = any(local(c) == "childLaneSet" for c in lane)
        name = (lane.get("name") or "").strip()
        if not nested and name not in roles:
            report.at(file, lane, "lane_without_role", f"дорожке «{name}» не сопоставлена роль")
    for task in _bpmn(process, "userTask", "manualTask"):
        host = task
        while host is not None and host.get("id") not in in_lane:  # a task in a sub-process takes its lane
            host = host.getparent()
            if host is not None and local(host) == "process":
                host = None
        if host is None:
            report.at(file, task, "user_task_outside_lane",
                      "задача исполнителя не лежит ни в одной дорожке: непонятно, чья это работа")


def _check_completer_of(file: str, process: etree._Element, report: _Report) -> None:
    """`assignToCompleterOf` must name a user task of the same process: the engine assigns the task to
    whoever last completed that one, and a wrong id would silently leave it in the group's queue."""
    user_tasks = {t.get("id") for t in _bpmn(process, "userTask", "manualTask")}
    for prop in process.iter():
        if local(prop) == "property" and prop.get("name") == "assignToCompleterOf":
            value = prop.get("value") or ""
            if value not in user_tasks:
                task = next((a for a in prop.iterancestors() if local(a) in ("userTask", "manualTask")), prop)
                report.at(file, task, "unknown_completer_task",
                          f"assignToCompleterOf называет «{value}», а это не задача исполнителя этого процесса")


def _check_operators(file: str, root: etree._Element, operators: Callable[[str], Any], report: _Report) -> None:
    for node in root.iter():
        if local(node) != "serviceTaskOperator":
            continue
        name = node.get("id") or ""
        op = operators(name)
        if op is None:
            report.at(file, node, "unknown_operator", f"неизвестный оператор сервисной задачи «{name}»")
            continue
        given = [p.get("id") for p in node.iter() if local(p) == "parameter" and p.get("id")]
        for code, param in _signature_mismatch(op.func, given):
            if code == "unknown_operator_parameter":
                report.at(file, node, code, f"оператор «{name}» не принимает параметр «{param}»")
            else:
                report.at(file, node, code, f"оператору «{name}» не передан обязательный параметр «{param}»")


def _signature_mismatch(func: Callable[..., Any], given: list[str]) -> list[tuple[str, str]]:
    """(code, parameter) for every name the function does not take and every required one not given."""
    signature = signature_of(func)
    if signature is None:
        return []
    result = []
    if not signature.open:
        accepted = {p.name for p in signature.parameters}
        result += [("unknown_operator_parameter", g) for g in given if g not in accepted]
    result += [("missing_operator_parameter", p.name) for p in signature.parameters
               if p.required and p.name not in given]
    return result


def _check_sla(file: str, process: etree._Element, names: Collection[str], report: _Report) -> None:
    """``sla("name")`` with a literal is checked directly; ``sla(var)`` through every string literal
    a script of the same process assigns to ``var`` (the only values it can hold, task data aside)."""
    known = ", ".join(sorted(names)) or "нет ни одного"
    variables: set[str] = set()
    assigned: dict[str, list[tuple[etree._Element, str]]] = {}
    for node, text, mode in iter_code(process):
        tree = _ast(text, "exec" if mode == "exec" else "eval")
        if tree is None:
            continue
        for call in ast.walk(tree):
            if isinstance(call, ast.Assign) and isinstance(call.value, ast.Constant) \
                    and isinstance(call.value.value, str):
                for target in call.targets:
                    if isinstance(target, ast.Name):
                        assigned.setdefault(target.id, []).append((node, call.value.value))
            if not (isinstance(call, ast.Call) and isinstance(call.func, ast.Name) and call.func.id == SLA_FUNCTION):
                continue
            arg = call.args[0] if call.args else next((k.value for k in call.keywords if k.arg == "name"), None)
            if isinstance(arg, ast.Constant) and isinstance(arg.value, str) and arg.value not in names:
                report.at(file, node, "unknown_sla", f"неизвестный срок (SLA) «{arg.value}»; известные: {known}")
            elif isinstance(arg, ast.Name):
                variables.add(arg.id)
    for var in sorted(variables):
        for node, value in assigned.get(var, []):
            if value not in names:
                report.at(file, node, "unknown_sla", f"неизвестный срок (SLA) «{value}» в переменной {var}, "
                          f"которая передаётся в sla(); известные: {known}")


def _ast(text: str, mode: str) -> ast.AST | None:
    try:
        return ast.parse(text, mode=mode)
    except (SyntaxError, ValueError):
        return None


def _check_forms(file: str, root: etree._Element, sources: Sequence[Source], forms_dirs: Sequence[Path],
                 report: _Report, forms: dict[str, Any]) -> None:
    dirs = [s.directory for s in sources if s.directory] + list(forms_dirs)
    for prop in root.iter():
        if local(prop) != "property" or prop.get("name") not in FORM_PROPERTIES or not prop.get("value"):
            continue
        name = prop.get("value")
        if name in forms:
            continue
        path = next((d / name for d in dirs if (d / name).is_file()), None)
        if path is None:
            report.at(file, prop, "unknown_form", f"схема формы «{name}» не найдена")
            continue
        text = path.read_text(encoding="utf-8")
        problem = _form_problem(name, text)
        if problem:
            report.at(file, prop, "invalid_form", f"схема формы «{name}» некорректна: {problem}")
            continue
        forms[name] = json.loads(text)


@lru_cache(maxsize=256)
def _form_problem(name: str, text: str) -> str | None:
    """Why a form schema is broken (None: it is fine). Cached by content: checking a schema against the
    meta-schema is the slowest part of a validation, and the studio validates on every page view."""
    try:
        schema = json.loads(text)
        if name.endswith(".schema.json") or "formJsonSchema" in name or "$schema" in schema:
            Draft202012Validator.check_schema(schema)
    except (ValueError, SchemaError) as exc:
        return getattr(exc, "message", None) or str(exc)
    return None


def _check_specs(parser: RuntimeBpmnParser, report: _Report) -> None:
    """Build every executable process as the runtime will (call activities, decisions, timers)."""
    for pid in parser.get_process_ids():
        try:
            parser.get_spec(pid)
            parser.get_subprocess_specs(pid)
        except ValidationException as exc:
            report.add(exc.file_name or pid, exc.id or None, "schema_invalid",
                       f"процесс «{pid}» не собирается: {str(exc).strip()}")
