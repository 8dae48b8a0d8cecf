"""Deploy-time script checks: safe BPMN/DMN code passes, known sandbox escapes are refused."""

import pytest

from engine.script_safety import (
    SAFE_BUILTINS,
    ScriptViolation,
    check_dmn_entry,
    check_expression,
    check_script,
)

ENGINE_FUNCTIONS = ("business_days", "sla", "set_status")


def messages(violations: list[ScriptViolation]) -> list[str]:
    return [violation.message for violation in violations]


SAFE_SCRIPTS = [
    "x = 1\ny = x + 2",
    "if amount > 100:\n    status = 'review'\nelse:\n    status = 'ok'",
    "total = 0\nfor item in items:\n    total += item['price']",
    "names = [p['name'] for p in people if p['age'] >= 18]",
    "index = {k: v for k, v in pairs}\nunique = {x for x in xs}\ngen = sum(x for x in xs)",
    "label = f'{first} {last}: {amount:.2f}'",
    "doc = {'a': [1, 2, 3], 'b': {'c': None}, 'd': (True, False)}",
    "due = business_days(1)\nlimit = sla('x')\nset_status('ready')",
    "name = s.lower().strip()\nitems.append(x)",
    "start = datetime.date(2025, 1, 1)\ntoday = datetime.date.today()",
    "n = len(xs)\nm = max(min(xs), 0)\nr = round(abs(v), 2)\nok = isinstance(v, int) and all(xs)",
    "pairs = list(zip(sorted(a), reversed(b)))\nfor i, x in enumerate(range(3)):\n    pass",
    "def double(v):\n    return v * 2\n\nresult = double(3)",
    "inc = lambda v: v + 1\nresult = inc(1)",
    "def apply(fn, v):\n    return fn(v)\n\nresult = apply(str, 1)",
    "def later():\n    return helper()\n\ndef helper():\n    return 1",
    "try:\n    v = int(raw)\nexcept ValueError as err:\n    v = None\n    reason = str(err)",
    "if not ok:\n    raise ValueError('bad input')",
    "text = '%s items' % count\ns = format(1.5, '.1f')",
    "value = '__import__(\"os\")'",  # string literals are data
    "type = 'individual'",  # storing only shadows a builtin
    "match kind:\n    case {'a': 1, **rest}:\n        x = rest\n"
    "    case [first, *others]:\n        x = first",
    "def gen():\n    yield 1\n\nvalues = list(gen())",
]


@pytest.mark.parametrize("source", SAFE_SCRIPTS)
def test_safe_scripts_pass(source: str) -> None:
    assert check_script(source, ENGINE_FUNCTIONS) == []


DANGEROUS_SCRIPTS = [
    ("__import__('os')", "call of '__import__' is not allowed"),
    ("import os", "import statements are not allowed"),
    ("from os import path", "import statements are not allowed"),
    ("().__class__.__bases__[0].__subclasses__()", "dunder attribute '__class__' is not allowed"),
    ("().__class__.__bases__[0].__subclasses__()", "dunder attribute '__subclasses__' is not allowed"),
    ("open('/etc/passwd')", "call of 'open' is not allowed"),
    ("x = eval", "name 'eval' is not allowed"),
    ("x = __builtins__", "name '__builtins__' is not allowed"),
    ("getattr(x, 'y')", "call of 'getattr' is not allowed"),
    ("'{0.__class__}'.format(1)", "attribute 'format' is not allowed"),
    ("'{a}'.format_map(d)", "attribute 'format_map' is not allowed"),
    ("f = (lambda: 0).__globals__", "dunder attribute '__globals__' is not allowed"),
    ("x = g.gi_frame.f_globals", "attribute 'gi_frame' is not allowed"),
    ("x = g.gi_frame.f_globals", "attribute 'f_globals' is not allowed"),
    ("x = obj._secret", "private attribute '_secret' is not allowed"),
    ("x = datetime.sys.modules['os']", "attribute 'sys' is not allowed"),
    ("x = f'{obj.__class__}'", "dunder attribute '__class__' is not allowed"),
    ("class A:\n    pass", "class definitions are not allowed"),
    ("global x", "global statements are not allowed"),
    ("def f():\n    x = 1\n    def g():\n        nonlocal x", "nonlocal statements are not allowed"),
    ("async def f():\n    await g()", "async functions are not allowed"),
    ("async def f():\n    await g()", "await is not allowed"),
    ("yield 1", "yield outside a function is not allowed"),
    ("foo(1)", "call of 'foo' is not allowed"),
    ("open = len\nopen('x')", "call of 'open' is not allowed"),
    ("x = vars()", "call of 'vars' is not allowed"),
    ("x = type(1)", "call of 'type' is not allowed"),
    ("exit()", "call of 'exit' is not allowed"),
    ("raise SystemExit", "name 'SystemExit' is not allowed"),
    ("@property\ndef f():\n    pass", "call of 'property' is not allowed"),
    ("def __import__(name):\n    pass", "name '__import__' is not allowed"),
    ("result = sorted(xs, key=compile)", "name 'compile' is not allowed"),
]


@pytest.mark.parametrize(("source", "expected"), DANGEROUS_SCRIPTS)
def test_dangerous_scripts_are_refused(source: str, expected: str) -> None:
    assert expected in messages(check_script(source, ENGINE_FUNCTIONS))


def test_violation_carries_line() -> None:
    violations = check_script("x = 1\ny = 2\nimport os", ENGINE_FUNCTIONS)
    assert violations == [ScriptViolation("import statements are not allowed", 3)]


@pytest.mark.parametrize(
    ("source", "line"),
    [("x = (1,\n", 1), ("x = 1\nif x\n    y = 2", 2), ("a = 1\nb = 2\nc = = 3", 3)],
)
def test_syntax_error_is_reported_with_line(source: str, line: int) -> None:
    [violation] = check_script(source)
    assert violation.message.startswith("syntax error: ")
    assert violation.line == line


def test_null_byte_is_a_syntax_error() -> None:
    [violation] = check_script("x = 1\0")
    assert violation.message.startswith("syntax error: ")


def test_calls_need_allowed_functions() -> None:
    assert messages(check_script("due = business_days(1)")) == ["call of 'business_days' is not allowed"]


def test_engine_can_allow_a_builtin_name() -> None:
    assert check_expression("hasattr(x, 'y')", ["hasattr"]) == []
    assert messages(check_expression("hasattr(x, 'y')")) == ["call of 'hasattr' is not allowed"]


def test_dunder_names_stay_refused_even_if_allowed() -> None:
    assert messages(check_expression("__import__('os')", ["__import__"])) == [
        "call of '__import__' is not allowed"
    ]


@pytest.mark.parametrize(
    "source",
    [
        '"PT24H"',
        "business_days(1)",
        "amount > 100 and status == 'new'",
        "len(items)",
        "[i for i in range(count)]",
        "order['total'] if order else 0",
        "datetime.timedelta(hours=24)",
    ],
)
def test_safe_expressions_pass(source: str) -> None:
    assert check_expression(source, ENGINE_FUNCTIONS) == []


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("open('x').read()", "call of 'open' is not allowed"),
        ("x = 1", "syntax error: invalid syntax"),
        ("(lambda: (yield))", None),
        ("[(yield) for x in y]", "yield outside a function is not allowed"),
        ("[x async for x in y]", "async comprehensions are not allowed"),
    ],
)
def test_expressions(source: str, expected: str | None) -> None:
    found = messages(check_expression(source, ENGINE_FUNCTIONS))
    if expected is None:
        assert found == []
    else:
        assert expected in found


def test_check_script_eval_mode_matches_check_expression() -> None:
    assert check_script("a + 1", mode="eval") == check_expression("a + 1") == []
    assert messages(check_script("a = 1", mode="eval")) == messages(check_expression("a = 1"))


@pytest.mark.parametrize(
    "entry",
    [
        "> 5",
        "<= limit",
        '== "a"',
        '!= "a"',
        'in ["a","b"]',
        "in(1, 2)",
        "not in (1, 2)",
        "is None",
        "is not None",
        "-",
        "",
        "   ",
        '"x"',
        "5",
        "index > 3",
        "is_valid",
        "4 < ? < 6",
        '"why?"',
        "sla('x')",
    ],
)
def test_safe_dmn_entries_pass(entry: str) -> None:
    assert check_dmn_entry(entry, ENGINE_FUNCTIONS) == []


@pytest.mark.parametrize(
    ("entry", "expected"),
    [
        ('__import__("os")', "call of '__import__' is not allowed"),
        ('in [open("x")]', "call of 'open' is not allowed"),
        ("== x.__class__", "dunder attribute '__class__' is not allowed"),
        ('== "{0.__class__}".format(1)', "attribute 'format' is not allowed"),
        ("> > 5", "syntax error: invalid syntax"),
    ],
)
def test_dangerous_dmn_entries_are_refused(entry: str, expected: str) -> None:
    assert expected in messages(check_dmn_entry(entry, ENGINE_FUNCTIONS))


@pytest.mark.parametrize(
    "name",
    [
        "eval", "exec", "compile", "open", "__import__", "getattr", "setattr", "delattr", "hasattr",
        "globals", "locals", "vars", "dir", "type", "object", "input", "breakpoint", "help",
        "memoryview", "bytearray", "classmethod", "staticmethod", "property", "super", "id", "hash",
        "exit", "quit", "SystemExit", "KeyboardInterrupt", "BaseException",
    ],
)  # fmt: skip
def test_dangerous_builtins_are_not_safe(name: str) -> None:
    assert name not in SAFE_BUILTINS


@pytest.mark.parametrize(
    "name", ["len", "min", "max", "sum", "sorted", "enumerate", "zip", "range", "iter", "next", "ValueError"]
)
def test_common_builtins_are_safe(name: str) -> None:
    assert name in SAFE_BUILTINS
