"""A deployed process's diagram as the case view and the analytics draw it: which file holds the
process, its sequence flows by their two ends, and the Russian names of its elements.

The engine records the path a case took as pairs of BPMN elements (where it came from, where it went);
the drawing marks sequence flows, so the pairs are matched to flow ids here, from the XML itself.
"""

from __future__ import annotations

from dataclasses import dataclass

from lxml import etree

from engine.bpmn_outline import BPMN, KINDS
from engine.models import ProcessVersion
from engine.xml_safety import parse_xml


@dataclass(frozen=True)
class Diagram:
    file: str
    xml: str
    flows: dict[tuple[str, str], str]  # (source element, target element) -> sequence flow id
    names: dict[str, str]  # element id -> name (or the kind of element where it has none)
    kinds: dict[str, str]  # element id -> BPMN kind (userTask, serviceTask, ...)
    process_id: str = ""  # the process the file defines
    title: str = ""  # its name, as people know it


def process_file(row: ProcessVersion) -> str | None:
    """The BPMN file of the version that defines its process."""
    marker = f'id="{row.process_id}"'
    files = [name for name in sorted(row.sources) if name.endswith(".bpmn")]
    return next((name for name in files if marker in row.sources[name]), files[0] if files else None)


def diagram_of(row: ProcessVersion) -> Diagram | None:
    name = process_file(row)
    return _parse(name, row.sources[name], row.process_id) if name is not None else None


def version_diagrams(row: ProcessVersion) -> list[Diagram]:
    """Every diagram the version runs: its own process first, then the processes it calls (callActivity),
    which are deployed with it and whose steps its cases record under its process id."""
    main = process_file(row)
    if main is None:
        return []
    others = [name for name in sorted(row.sources) if name.endswith(".bpmn") and name != main]
    return [_parse(main, row.sources[main], row.process_id), *(_parse(name, row.sources[name]) for name in others)]


def _parse(name: str, xml: str, wanted: str | None = None) -> Diagram:
    root = parse_xml(xml.encode("utf-8"))
    flows, names, kinds = {}, {}, {}
    process_id, title = "", ""
    for node in root.iter():
        if not isinstance(node.tag, str) or etree.QName(node).namespace != BPMN:
            continue
        local = etree.QName(node).localname
        if local == "process" and (not process_id or node.get("id") == wanted):
            process_id, title = node.get("id", ""), node.get("name") or node.get("id", "")
        elif local == "sequenceFlow":
            flows[(node.get("sourceRef", ""), node.get("targetRef", ""))] = node.get("id", "")
        elif local in KINDS:
            names[node.get("id", "")] = node.get("name") or KINDS[local]
            kinds[node.get("id", "")] = local
    return Diagram(name, xml, flows, names, kinds, process_id, title)


def merged(diagrams: list[Diagram]) -> Diagram | None:
    """One lookup over several diagrams (a version's own and those it calls): names, kinds and flows of all,
    the first diagram's winning where ids repeat; for tables that list every step a case took."""
    if not diagrams:
        return None
    first = diagrams[0]
    return Diagram(first.file, first.xml, {k: v for d in reversed(diagrams) for k, v in d.flows.items()},
                   {k: v for d in reversed(diagrams) for k, v in d.names.items()},
                   {k: v for d in reversed(diagrams) for k, v in d.kinds.items()}, first.process_id, first.title)
