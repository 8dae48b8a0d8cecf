"""Parsing of uploaded XML with entity resolution, DTDs and network access off.

A diagram comes from a browser upload; a DOCTYPE is never needed in BPMN or DMN, so any document
that declares one is refused outright (XXE, billion laughs) rather than parsed leniently.
"""

from __future__ import annotations

from lxml import etree


class UnsafeXml(ValueError):
    pass


_PARSER = etree.XMLParser(
    resolve_entities=False, no_network=True, load_dtd=False, dtd_validation=False, huge_tree=False,
    remove_comments=False,
)


def parse_xml(content: bytes) -> etree._Element:
    """Parse bytes into an element; raises UnsafeXml for DTDs/entities, ValueError for broken XML."""
    if b"<!DOCTYPE" in content.upper() or b"<!ENTITY" in content.upper():
        raise UnsafeXml("DOCTYPE and ENTITY declarations are not allowed")
    try:
        root = etree.fromstring(content, parser=_PARSER)
    except etree.XMLSyntaxError as exc:
        raise ValueError(f"not well-formed XML: {exc}") from exc
    tree = root.getroottree()
    if tree.docinfo.internalDTD is not None or tree.docinfo.doctype:
        raise UnsafeXml("DOCTYPE declarations are not allowed")
    return root
