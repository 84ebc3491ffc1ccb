"""Parsing XML from other systems without trusting it: no DTDs, no entities, no network,
a size limit, and errors in words library staff can act on."""

from __future__ import annotations

from lxml import etree

from libgate.search._model import TargetError

MARC_NS = "http://www.loc.gov/MARC21/slim"
DC_NS = "http://purl.org/dc/elements/1.1/"
SRW_DC_NS = "info:srw/schema/1/dc-schema"
OAI_DC_NS = "http://www.openarchives.org/OAI/2.0/oai_dc/"

# One parser for the process: lxml keeps a parser context per thread, so sharing is safe.
_PARSER = etree.XMLParser(
    resolve_entities=False,
    no_network=True,
    load_dtd=False,
    dtd_validation=False,
    huge_tree=False,
    recover=False,
)
# How XML in UTF-16 and UTF-32 begins (a byte-order mark, or "<" or "<?" with the
# encoding's zero bytes), per Appendix F of the XML specification.
_WIDE_ENCODINGS = (
    ((b"\x00\x00\xfe\xff", b"\x00\x00\x00<"), "utf-32-be"),
    ((b"\xff\xfe\x00\x00", b"<\x00\x00\x00"), "utf-32-le"),
    ((b"\xfe\xff", b"\x00<\x00"), "utf-16-be"),
    ((b"\xff\xfe", b"<\x00"), "utf-16-le"),
)


class XmlRefused(TargetError):
    """A target sent XML that libgate will not read: too big, malformed, or carrying a
    DOCTYPE (the way entity-expansion and file-reading attacks get in)."""


def parse_xml(data: bytes, *, max_bytes: int = 20_000_000) -> etree._Element:
    """Parse ``data`` and return its root element, or raise XmlRefused."""
    if len(data) > max_bytes:
        raise XmlRefused(
            f"the response was {len(data):,} bytes, more than the {max_bytes:,} allowed; "
            "ask for fewer records at a time"
        )
    if _declares_doctype(data):
        raise _doctype_refused()
    try:
        root = etree.fromstring(data, _PARSER)
    except etree.XMLSyntaxError as exc:
        raise XmlRefused(f"the response is not well-formed XML ({exc.msg})") from None
    except ValueError as exc:  # e.g. a str with an encoding declaration; empty input
        raise XmlRefused(f"the response could not be read as XML ({exc})") from None
    if root is None:
        raise XmlRefused("the response was empty")
    docinfo = root.getroottree().docinfo
    if docinfo.doctype or docinfo.internalDTD is not None:
        raise _doctype_refused()
    return root


def _declares_doctype(data: bytes) -> bool:
    # Refusing before parsing keeps entity bombs away from libxml2 altogether. The check
    # after parsing still stands for encodings this misses.
    head = data[:4]
    for marks, codec in _WIDE_ENCODINGS:
        if head.startswith(marks):
            text = data.decode(codec, errors="replace")
            return "<!DOCTYPE" in text or "<!ENTITY" in text
    return b"<!DOCTYPE" in data or b"<!ENTITY" in data


def _doctype_refused() -> XmlRefused:
    return XmlRefused(
        "the response contains a DOCTYPE or entity declarations, which libgate does not "
        "accept from search targets"
    )
