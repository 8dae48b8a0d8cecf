"""What changed between two versions of a DMN file, decision table by decision table, rule by rule.

Rules and columns are matched by their ids (modelers keep them stable), cells by the column they
belong to, so inserting a rule does not make every later rule look changed. Rule order matters for
hit policies such as FIRST: a rule whose place among the others changed is reported as moved.
"""

from __future__ import annotations

from dataclasses import dataclass
from difflib import SequenceMatcher

from lxml import etree

from .xml_safety import parse_xml

ADDED, REMOVED, CHANGED, MOVED = "added", "removed", "changed", "moved"
DEFAULT_HIT_POLICY = "UNIQUE"  # the DMN default when the table does not say


@dataclass(frozen=True)
class Cell:
    column: str  # the column's label (its id when it has none)
    old: str | None
    new: str | None


@dataclass(frozen=True)
class ColumnDiff:
    column_id: str
    direction: str  # "input" or "output"
    label: str
    change: str  # ADDED, REMOVED or CHANGED
    fields: tuple[Cell, ...] = ()  # what changed in the column: label, expression, name, typeRef


@dataclass(frozen=True)
class RuleDiff:
    rule_id: str
    position: int  # 1-based, in the new table (in the old one for a removed rule)
    change: str  # ADDED, REMOVED, CHANGED or MOVED
    cells: tuple[Cell, ...] = ()  # changed cells; every cell of an added or removed rule
    moved: bool = False  # a changed rule whose place among the others changed too


@dataclass(frozen=True)
class DecisionDiff:
    decision_id: str
    name: str
    change: str  # ADDED, REMOVED or CHANGED
    fields: tuple[Cell, ...] = ()  # name, hit policy, aggregation, literal expression
    columns: tuple[ColumnDiff, ...] = ()
    rules: tuple[RuleDiff, ...] = ()


@dataclass(frozen=True)
class _Column:
    column_id: str
    direction: str
    label: str
    fields: dict[str, str]


@dataclass(frozen=True)
class _Decision:
    decision_id: str
    name: str
    fields: dict[str, str]
    columns: dict[str, _Column]
    rules: dict[str, dict[str, str]]  # rule id -> column id (or "annotation") -> cell text
    order: list[str]


def _local(node: etree._Element) -> str:
    return etree.QName(node).localname if isinstance(node.tag, str) else ""


def _children(node: etree._Element, name: str) -> list[etree._Element]:
    return [child for child in node if _local(child) == name]


def _text(node: etree._Element | None) -> str:
    if node is None:
        return ""
    text = next((child for child in node if _local(child) == "text"), None)
    return ((text.text if text is not None else node.text) or "").strip()


def _column(node: etree._Element, direction: str) -> _Column:
    fields = {"label": node.get("label") or "", "typeRef": node.get("typeRef") or ""}
    if direction == "input":
        expression = next(iter(_children(node, "inputExpression")), None)
        fields["expression"] = _text(expression)
        fields["typeRef"] = fields["typeRef"] or (expression.get("typeRef", "") if expression is not None else "")
    else:
        fields["name"] = node.get("name") or ""
    column_id = node.get("id") or f"{direction}:{fields['label']}"
    return _Column(column_id, direction, fields["label"] or column_id, fields)


def _decision(node: etree._Element) -> _Decision:
    table = next(iter(_children(node, "decisionTable")), None)
    literal = next(iter(_children(node, "literalExpression")), None)
    fields = {"name": node.get("name") or ""}
    if literal is not None:
        fields["expression"] = _text(literal)
    columns: dict[str, _Column] = {}
    rules: dict[str, dict[str, str]] = {}
    order: list[str] = []
    if table is not None:
        fields["hitPolicy"] = table.get("hitPolicy") or DEFAULT_HIT_POLICY
        fields["aggregation"] = table.get("aggregation") or ""
        inputs = [_column(n, "input") for n in _children(table, "input")]
        outputs = [_column(n, "output") for n in _children(table, "output")]
        columns = {c.column_id: c for c in inputs + outputs}
        for index, rule in enumerate(_children(table, "rule"), start=1):
            rule_id = rule.get("id") or f"#{index}"
            # a rule with fewer cells than columns (a hand-edited file) compares the cells it has
            cells = dict(zip([c.column_id for c in inputs], [_text(e) for e in _children(rule, "inputEntry")],
                             strict=False))
            cells.update(zip([c.column_id for c in outputs], [_text(e) for e in _children(rule, "outputEntry")],
                             strict=False))
            annotation = " ".join(_text(n) for n in _children(rule, "annotationEntry")) or _text(
                next(iter(_children(rule, "description")), None))
            if annotation:
                cells["annotation"] = annotation
            rules[rule_id] = cells
            order.append(rule_id)
    return _Decision(node.get("id", ""), node.get("name") or "", fields, columns, rules, order)


def _read(xml: str | bytes) -> dict[str, _Decision]:
    root = parse_xml(xml.encode("utf-8") if isinstance(xml, str) else xml)
    return {d.decision_id: d for d in (_decision(n) for n in root.iter() if _local(n) == "decision")}


def _cells(old: dict[str, str], new: dict[str, str], labels: dict[str, str]) -> tuple[Cell, ...]:
    keys = [*old, *(k for k in new if k not in old)]
    return tuple(Cell(labels.get(k, k), old.get(k), new.get(k)) for k in keys if old.get(k) != new.get(k))


def _labels(old: _Decision, new: _Decision | None = None) -> dict[str, str]:
    labels = {"annotation": "Примечание"}
    for decision in (old, new):
        if decision is not None:
            labels.update({c.column_id: c.label for c in decision.columns.values()})
    return labels


def _columns(old: _Decision, new: _Decision) -> list[ColumnDiff]:
    result = [ColumnDiff(c.column_id, c.direction, c.label, ADDED) for k, c in new.columns.items()
              if k not in old.columns]
    result += [ColumnDiff(c.column_id, c.direction, c.label, REMOVED) for k, c in old.columns.items()
               if k not in new.columns]
    for key in old.columns.keys() & new.columns.keys():
        fields = _cells(old.columns[key].fields, new.columns[key].fields, {})
        if fields:
            result.append(ColumnDiff(key, new.columns[key].direction, new.columns[key].label, CHANGED, fields))
    return sorted(result, key=lambda c: c.column_id)


def _moved_rules(old: _Decision, new: _Decision) -> set[str]:
    """Rules kept on both sides whose order relative to the other kept rules changed."""
    before = [r for r in old.order if r in new.rules]
    after = [r for r in new.order if r in old.rules]
    matcher = SequenceMatcher(a=before, b=after, autojunk=False)
    in_place = {r for block in matcher.get_matching_blocks() for r in before[block.a:block.a + block.size]}
    return set(before) - in_place


def _rules(old: _Decision, new: _Decision) -> list[RuleDiff]:
    labels, moved = _labels(old, new), _moved_rules(old, new)
    result: list[RuleDiff] = []
    for position, rule_id in enumerate(new.order, start=1):
        if rule_id not in old.rules:
            result.append(RuleDiff(rule_id, position, ADDED, _cells({}, new.rules[rule_id], labels)))
            continue
        cells = _cells(old.rules[rule_id], new.rules[rule_id], labels)
        if cells:
            result.append(RuleDiff(rule_id, position, CHANGED, cells, rule_id in moved))
        elif rule_id in moved:
            result.append(RuleDiff(rule_id, position, MOVED))
    result += [RuleDiff(rule_id, position, REMOVED, _cells(old.rules[rule_id], {}, labels))
               for position, rule_id in enumerate(old.order, start=1) if rule_id not in new.rules]
    return result


def diff_dmn(old_xml: str | bytes, new_xml: str | bytes) -> list[DecisionDiff]:
    """The decisions that differ, in the new file's order (removed ones last).

    Raises ValueError (UnsafeXml included) when either file is not well-formed, safe XML.
    """
    old, new = _read(old_xml), _read(new_xml)
    result: list[DecisionDiff] = []
    for decision_id, decision in new.items():
        if decision_id not in old:
            result.append(DecisionDiff(decision_id, decision.name, ADDED))
            continue
        before = old[decision_id]
        fields = _cells(before.fields, decision.fields, {})
        columns, rules = _columns(before, decision), _rules(before, decision)
        if fields or columns or rules:
            result.append(DecisionDiff(decision_id, decision.name, CHANGED, fields, tuple(columns), tuple(rules)))
    result += [DecisionDiff(d.decision_id, d.name, REMOVED) for k, d in old.items() if k not in new]
    return result
