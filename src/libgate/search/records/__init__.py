"""Bibliographic records from search targets: hardened XML parsing, ISBN/ISSN
normalisation, and MARC 21, MARCXML and Dublin Core to and from the common Record."""

from libgate.search.records._dc import dublin_core, record_from_dc
from libgate.search.records._isbn import isbn10, normalise_isbn, normalise_issn
from libgate.search.records._marc import record_from_marc
from libgate.search.records._marcxml import marc_from_marcxml, marcxml, record_from_marcxml
from libgate.search.records._text import xml_safe
from libgate.search.records._xml import DC_NS, MARC_NS, OAI_DC_NS, SRW_DC_NS, XmlRefused, parse_xml

__all__ = [
    "DC_NS",
    "MARC_NS",
    "OAI_DC_NS",
    "SRW_DC_NS",
    "XmlRefused",
    "dublin_core",
    "isbn10",
    "marc_from_marcxml",
    "marcxml",
    "normalise_isbn",
    "normalise_issn",
    "parse_xml",
    "record_from_dc",
    "record_from_marc",
    "record_from_marcxml",
    "xml_safe",
]
