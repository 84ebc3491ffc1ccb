"""MARCXML (the MARC 21 slim schema) to and from pymarc records.

We read the lxml tree ourselves rather than use pymarc's reader: pymarc parses with
the standard library's parsers, which have none of parse_xml's protections, and it is
several times slower on the thousand records a federated search brings back.
"""

from __future__ import annotations

import pymarc
from lxml import etree

from libgate.search._model import Record
from libgate.search.records._marc import record_from_marc
from libgate.search.records._text import xml_safe
from libgate.search.records._xml import MARC_NS, XmlRefused

_LEADER_LENGTH = 24


def _names(local: str) -> frozenset[str]:
    return frozenset((f"{{{MARC_NS}}}{local}", local))


_RECORD = _names("record")
_LEADER = _names("leader")
_CONTROLFIELD = _names("controlfield")
_DATAFIELD = _names("datafield")
_SUBFIELD = _names("subfield")


def marc_from_marcxml(element: etree._Element) -> pymarc.Record:
    """A pymarc record from a MARCXML ``<record>`` element (MARC namespace or none); an
    element that wraps one (``<collection>``, SRU ``recordData``) is searched for it."""
    record = _record_element(element)
    leader = ""
    fields: list[pymarc.Field] = []
    # The hot path of every MARCXML search: set lookups on the tag are cheaper than
    # lxml's own tag filtering, and pass over comments (whose tag is not a string).
    for child in record:
        kind = child.tag
        if kind in _DATAFIELD:
            subfields = [
                pymarc.Subfield(sub.get("code") or " ", sub.text or "")
                for sub in child
                if sub.tag in _SUBFIELD
            ]
            indicators = pymarc.Indicators(child.get("ind1") or " ", child.get("ind2") or " ")
            fields.append(pymarc.Field((child.get("tag") or "").strip(), indicators, subfields))
        elif kind in _CONTROLFIELD:
            fields.append(pymarc.Field((child.get("tag") or "").strip(), data=child.text or ""))
        elif kind in _LEADER:
            leader = child.text or ""
    # pymarc insists on exactly 24 characters; targets do not always send them.
    leader = leader[:_LEADER_LENGTH].ljust(_LEADER_LENGTH)
    return pymarc.Record(leader=leader, fields=fields)


def record_from_marcxml(
    element: etree._Element, *, source: str, native_id: str | None = None
) -> Record:
    """A MARCXML ``<record>`` element as a Record (see record_from_marc)."""
    return record_from_marc(marc_from_marcxml(element), source=source, native_id=native_id)


def marcxml(marc: pymarc.Record) -> bytes:
    """``marc`` as a UTF-8 ``<record xmlns="http://www.loc.gov/MARC21/slim">`` element,
    without an XML declaration so it can be embedded in a response."""
    root = etree.Element(f"{{{MARC_NS}}}record", nsmap={None: MARC_NS})
    etree.SubElement(root, f"{{{MARC_NS}}}leader").text = _code(str(marc.leader))
    for field in marc.fields:
        if field.control_field:
            control = etree.SubElement(root, f"{{{MARC_NS}}}controlfield", tag=_code(field.tag))
            control.text = _code(field.data or "")
            continue
        data = etree.SubElement(
            root,
            f"{{{MARC_NS}}}datafield",
            tag=_code(field.tag),
            ind1=_code(field.indicator1),
            ind2=_code(field.indicator2),
        )
        for code, value in field.subfields:
            subfield = etree.SubElement(data, f"{{{MARC_NS}}}subfield", code=_code(code))
            subfield.text = xml_safe(value)
    text: str = etree.tostring(root, encoding="unicode")
    return text.encode()


def _code(value: str) -> str:
    """A tag, indicator, subfield code, leader or control field XML can carry. Each
    character it cannot becomes a blank rather than going, so every character keeps its
    position: an indicator is one character, the leader and 008 are read by position, and
    blank is what MARC means by none."""
    if value.isprintable():  # the usual case, and cheap: no character XML refuses prints
        return value
    return "".join(character if xml_safe(character) else " " for character in value)


def _record_element(element: etree._Element) -> etree._Element:
    if element.tag in _RECORD:
        return element
    for tag in sorted(_RECORD):
        found = element.find(f".//{tag}")
        if found is not None:
            return found
    raise XmlRefused("the target sent a record that is not MARCXML (no <record> element)")
