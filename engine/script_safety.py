"""Deploy-time static safety checks for the Python code that BPMN and DMN authors write.

SpiffWorkflow runs script tasks, pre/post scripts, sequence-flow conditions, timer expressions,
service-task parameters, multi-instance expressions and DMN entries with plain ``eval``/``exec``.
There is no sandbox at run time, so the only line of defence is to refuse dangerous code before a
model is deployed.  The checks here walk the ``ast`` and refuse the known ways out of a restricted
namespace: imports, dunder/private attributes (``().__class__.__subclasses__()``), frame and
generator internals, reflection builtins (``eval``, ``getattr``, ``open`` ...), ``str.format``
(whose format strings can read attributes) and calls of names the engine did not expose.

The checks are deliberately conservative: a false refusal costs a model author a rename, a false
acceptance can cost the host.  Denial-of-service (``10 ** 10 ** 10``, endless loops) is out of scope
and must be handled by run-time limits.
"""

import ast
import builtins
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal


@dataclass(frozen=True)
class ScriptViolation:
    """One reason a script is refused; ``line`` is 1-based within the checked source, if known."""

    message: str
    line: int | None


# Pure functions and constructors over plain data: none of them can reach the interpreter,
# the file system or arbitrary attributes.  ``format`` (the builtin) only applies a format spec,
# which cannot look up fields, unlike ``str.format``.  ``iter``/``next`` are kept for iteration.
_SAFE_CALLABLES = frozenset(
    {
        "abs", "all", "any", "ascii", "bin", "bool", "bytes", "callable", "chr", "complex", "dict",
        "divmod", "enumerate", "filter", "float", "format", "frozenset", "hex", "int", "isinstance",
        "issubclass", "iter", "len", "list", "map", "max", "min", "next", "oct", "ord", "pow", "print",
        "range", "repr", "reversed", "round", "set", "slice", "sorted", "str", "sum", "tuple", "zip",
    }
)  # fmt: skip

# Scripts may raise and catch ordinary exceptions.  BaseException-only classes (SystemExit,
# KeyboardInterrupt, GeneratorExit) are left out: SpiffWorkflow only catches Exception, so raising
# them would escape the engine and could stop a worker.
_SAFE_EXCEPTIONS = frozenset(
    name
    for name, value in vars(builtins).items()
    if isinstance(value, type) and issubclass(value, Exception) and not name.startswith("_")
)

SAFE_BUILTINS: frozenset[str] = _SAFE_CALLABLES | _SAFE_EXCEPTIONS
"""Builtin names scripts may use; every other builtin name is refused unless the engine allows it."""

# ``site`` adds these to builtins in interactive interpreters; deny them even when it did not run.
_BUILTIN_NAMES = frozenset(dir(builtins)) | {"exit", "quit", "help", "copyright", "credits", "license"}

# Attribute names without a leading underscore that still lead out of the sandbox: frame and code
# objects of generators/coroutines/tracebacks, the MRO, ``str.format`` (format strings such as
# "{0.__class__}" read attributes), and modules re-exported by modules the engine exposes
# (``datetime.sys.modules["os"]`` works on CPython).
_DENIED_ATTRIBUTES = frozenset(
    {
        "gi_frame", "gi_code", "cr_frame", "cr_code", "ag_frame", "ag_code",
        "f_globals", "f_locals", "f_builtins", "f_back", "f_code", "f_trace",
        "tb_frame", "tb_next", "func_globals", "mro", "format", "format_map",
        "sys", "os", "posix", "nt", "builtins", "modules", "subprocess", "importlib", "shutil",
    }
)  # fmt: skip

_DMN_INPUT_NAME = "_dmn_input_"
"""Stand-in for the DMN input expression that SpiffWorkflow puts in front of unary tests."""

# A unary test such as "> 5", "in [...]", "not in (...)" or "is None".  ``\b`` keeps names like
# ``index`` or ``is_valid`` from being mistaken for the operators ``in``/``is``.
_DMN_UNARY_TEST = re.compile(r"^(?:<=|>=|==|!=|<|>|in\b|not\s+in\b|is\b)")

# SpiffWorkflow replaces a '?' outside quotes with the input value ("4 < ? < 6"); same pattern.
_DMN_PLACEHOLDER = re.compile(r"(\?)(?=(?:[^'\"]|['\"][^'\"]*['\"])*$)")


def check_script(
    source: str, allowed_functions: Iterable[str] = (), mode: Literal["exec", "eval"] = "exec"
) -> list[ScriptViolation]:
    """Return every reason ``source`` must not be deployed; an empty list means it is accepted.

    ``allowed_functions`` are the callables the engine injects into the script namespace; calls of
    bare names are refused unless they are one of these, a safe builtin, or bound in the script.
    """
    tree = _parse(source, mode)
    if isinstance(tree, ScriptViolation):
        return [tree]
    return _check_tree(tree, frozenset(allowed_functions))


def check_expression(source: str, allowed_functions: Iterable[str] = ()) -> list[ScriptViolation]:
    """Check a single expression (condition, timer, parameter, cardinality, DMN input/output)."""
    return check_script(source, allowed_functions, mode="eval")


def check_dmn_entry(source: str, allowed_functions: Iterable[str] = ()) -> list[ScriptViolation]:
    """Check a DMN input or output entry the way SpiffWorkflow's python DMN engine will evaluate it.

    Empty entries and ``-`` match anything.  Unary tests (``> 5``, ``in ["a"]``) are completed with
    a stand-in for the input expression, like SpiffWorkflow does, so that they parse; anything else
    is checked as a plain expression.
    """
    text = source.strip()
    if not text or text == "-":
        return []
    text = _DMN_PLACEHOLDER.sub(_DMN_INPUT_NAME, text)
    if _DMN_UNARY_TEST.match(text):
        return check_expression(f"{_DMN_INPUT_NAME} {text}", allowed_functions)
    tree = _parse(text, "eval")
    if isinstance(tree, ScriptViolation):
        # SpiffWorkflow falls back to "<input> <entry>" when the entry does not parse on its own.
        prefixed = _parse(f"{_DMN_INPUT_NAME} {text}", "eval")
        if isinstance(prefixed, ScriptViolation):
            return [tree]
        tree = prefixed
    return _check_tree(tree, frozenset(allowed_functions))


def _parse(source: str, mode: Literal["exec", "eval"]) -> ast.AST | ScriptViolation:
    """Parse ``source`` or describe why it cannot be parsed (null bytes raise ValueError on 3.11)."""
    try:
        return ast.parse(source, mode=mode)
    except SyntaxError as exc:
        return ScriptViolation(f"syntax error: {exc.msg}", exc.lineno)
    except ValueError as exc:
        return ScriptViolation(f"syntax error: {exc}", None)


def _check_tree(tree: ast.AST, allowed_functions: frozenset[str]) -> list[ScriptViolation]:
    checker = _Checker(allowed_functions, _bound_names(tree))
    checker.visit(tree)
    return checker.violations


def _bound_names(tree: ast.AST) -> frozenset[str]:
    """Names the script itself binds anywhere (variables, functions, parameters, loop targets).

    Calling such a name is allowed.  Position does not matter for safety: any value the name can
    hold was produced by code that is itself checked, and task data holds no callables.
    """
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and not isinstance(node.ctx, ast.Load):
            names.add(node.id)
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            names.add(node.name)
        elif isinstance(node, ast.arg):
            names.add(node.arg)
        elif isinstance(node, ast.ExceptHandler | ast.MatchAs | ast.MatchStar) and node.name:
            names.add(node.name)
        elif isinstance(node, ast.MatchMapping) and node.rest:
            names.add(node.rest)
    return frozenset(names)


def _attribute_problem(attr: str) -> str | None:
    if attr.startswith("__") and attr.endswith("__"):
        return f"dunder attribute '{attr}' is not allowed"
    if attr.startswith("_"):
        return f"private attribute '{attr}' is not allowed"
    if attr in _DENIED_ATTRIBUTES:
        return f"attribute '{attr}' is not allowed"
    return None


class _Checker(ast.NodeVisitor):
    """Collects violations in one pass; tracks function depth to spot top-level ``yield``."""

    def __init__(self, allowed_functions: frozenset[str], bound_names: frozenset[str]) -> None:
        self.allowed_functions = allowed_functions
        self.bound_names = bound_names
        self.violations: list[ScriptViolation] = []
        self._function_depth = 0

    def _report(self, message: str, node: ast.AST) -> None:
        self.violations.append(ScriptViolation(message, getattr(node, "lineno", None)))

    def _name_is_forbidden(self, name: str) -> bool:
        """Dunder names are never allowed; other builtins only if safe or exposed by the engine."""
        if name.startswith("__"):
            return True
        return name in _BUILTIN_NAMES and name not in SAFE_BUILTINS and name not in self.allowed_functions

    def _check_binding(self, name: str | None, node: ast.AST) -> None:
        """Binding a dunder name (``def __import__``, ``except E as __builtins__``) is refused."""
        if name and name.startswith("__"):
            self._report(f"name '{name}' is not allowed", node)

    def _check_callee(self, func: ast.expr) -> None:
        """A bare-name callee must be a safe builtin, an exposed function or bound by the script."""
        if not isinstance(func, ast.Name):
            self.visit(func)
            return
        name = func.id
        known = name in SAFE_BUILTINS or name in self.allowed_functions or name in self.bound_names
        if self._name_is_forbidden(name) or not known:
            self._report(f"call of '{name}' is not allowed", func)

    def _visit_function_body(self, nodes: Iterable[ast.AST]) -> None:
        self._function_depth += 1
        for child in nodes:
            self.visit(child)
        self._function_depth -= 1

    def _refuse(self, message: str, node: ast.AST) -> None:
        self._report(message, node)
        self.generic_visit(node)

    def visit_Import(self, node: ast.Import) -> None:
        self._report("import statements are not allowed", node)

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        self._report("import statements are not allowed", node)

    def visit_Attribute(self, node: ast.Attribute) -> None:
        problem = _attribute_problem(node.attr)
        if problem:
            self._report(problem, node)
        self.generic_visit(node)

    def visit_Name(self, node: ast.Name) -> None:
        # Storing to a builtin name only shadows it; reading it is what reaches the builtin.
        if node.id.startswith("__") or (isinstance(node.ctx, ast.Load) and self._name_is_forbidden(node.id)):
            self._report(f"name '{node.id}' is not allowed", node)

    def visit_Call(self, node: ast.Call) -> None:
        self._check_callee(node.func)
        for child in [*node.args, *node.keywords]:
            self.visit(child)

    def visit_FunctionDef(self, node: ast.FunctionDef) -> None:
        self._check_binding(node.name, node)
        for decorator in node.decorator_list:  # a decorator is a call of its expression
            self._check_callee(decorator)
        self.visit(node.args)
        if node.returns:
            self.visit(node.returns)
        self._visit_function_body(node.body)

    def visit_Lambda(self, node: ast.Lambda) -> None:
        self.visit(node.args)
        self._visit_function_body([node.body])

    def visit_arg(self, node: ast.arg) -> None:
        self._check_binding(node.arg, node)
        self.generic_visit(node)

    def visit_ExceptHandler(self, node: ast.ExceptHandler) -> None:
        self._check_binding(node.name, node)
        self.generic_visit(node)

    def visit_MatchAs(self, node: ast.MatchAs) -> None:
        self._check_binding(node.name, node)
        self.generic_visit(node)

    def visit_MatchStar(self, node: ast.MatchStar) -> None:
        self._check_binding(node.name, node)

    def visit_MatchMapping(self, node: ast.MatchMapping) -> None:
        self._check_binding(node.rest, node)
        self.generic_visit(node)

    def visit_Yield(self, node: ast.Yield) -> None:
        self._check_yield(node)

    def visit_YieldFrom(self, node: ast.YieldFrom) -> None:
        self._check_yield(node)

    def _check_yield(self, node: ast.Yield | ast.YieldFrom) -> None:
        if self._function_depth == 0:
            self._report("yield outside a function is not allowed", node)
        self.generic_visit(node)

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        self._refuse("class definitions are not allowed", node)

    def visit_Global(self, node: ast.Global) -> None:
        self._report("global statements are not allowed", node)

    def visit_Nonlocal(self, node: ast.Nonlocal) -> None:
        self._report("nonlocal statements are not allowed", node)

    def visit_AsyncFunctionDef(self, node: ast.AsyncFunctionDef) -> None:
        self._report("async functions are not allowed", node)
        self._visit_function_body([*node.decorator_list, node.args, *node.body])

    def visit_Await(self, node: ast.Await) -> None:
        self._refuse("await is not allowed", node)

    def visit_AsyncFor(self, node: ast.AsyncFor) -> None:
        self._refuse("async for is not allowed", node)

    def visit_AsyncWith(self, node: ast.AsyncWith) -> None:
        self._refuse("async with is not allowed", node)

    def visit_comprehension(self, node: ast.comprehension) -> None:
        if node.is_async:
            self._report("async comprehensions are not allowed", node.target)
        self.generic_visit(node)
