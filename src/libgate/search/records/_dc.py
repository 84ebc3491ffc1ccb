"""Dublin Core (SRU ``info:srw/schema/1/dc-v1.1`` and OAI ``oai_dc``) to and from the
common Record. Dublin Core is the schema every SRU server offers, so it is the fallback
when a target has no MARCXML; it is lossy, and what it loses is guessed back where it can
be (the ISBN in an identifier, the format in a type)."""

from __future__ import annotations

import re

from lxml import etree

from libgate.search._model import FORMATS, Record
from libgate.search.records._isbn import normalise_isbn, normalise_issn
from libgate.search.records._text import tidy, unique, xml_safe
from libgate.search.records._xml import DC_NS, SRW_DC_NS

_DC_NAMESPACES = (DC_NS, "http://purl.org/dc/terms/")
_YEAR = re.compile(r"(?<!\d)\d{4}(?!\d)")
# "Tabb, John B., 1845-1909": the dates some servers add to a creator's name.
_LIFE_DATES = re.compile(r",\s*(?:b\.|d\.|ca\.|fl\.)?\s*\d{3,4}\??-?(?:\d{3,4}\??)?\.?$")
# An identifier that starts with a 13-digit ISBN needs no label; a bare ten-digit number
# may well be something else (an LCCN, a local barcode), so only a labelled one counts.
_BARE_ISBN13 = re.compile(r"97[89](?:[- ]?\d){10}")
# What a dc:type or dc:format value says, checked in this order (e-journals are serials).
_FORMAT_WORDS = (
    ("audiobook", ("nonmusical", "spoken", "audiobook", "audio book", "talking book")),
    ("music", ("music", "score")),
    ("video", ("video", "moving image", "movingimage", "dvd", "motion picture")),
    ("map", ("map", "cartographic")),
    ("serial", ("serial", "periodical", "journal", "magazine", "newspaper")),
    ("ebook", ("ebook", "e-book", "electronic", "online")),
    ("book", ("text", "book", "monograph", "language material", "print")),
)
_DCMI_TYPES = {
    "book": "Text",
    "ebook": "Text",
    "serial": "Text",
    "audiobook": "Sound",
    "music": "Sound",
    "video": "MovingImage",
    "map": "Image",
    "other": "PhysicalObject",
}
# Servers that do not use MARC codes mostly send ISO 639-1 codes, ISO 639-2/T codes (which
# differ from MARC's for a few languages) or English names.
_LANGUAGES = {
    "en": "eng", "english": "eng", "cy": "wel", "welsh": "wel", "ga": "gle", "irish": "gle",
    "gd": "gla", "gaelic": "gla", "fr": "fre", "french": "fre", "de": "ger", "german": "ger",
    "es": "spa", "spanish": "spa", "it": "ita", "italian": "ita", "pl": "pol", "polish": "pol",
    "pt": "por", "portuguese": "por", "ur": "urd", "urdu": "urd", "pa": "pan",
    "panjabi": "pan", "punjabi": "pan", "bn": "ben", "bengali": "ben", "ar": "ara",
    "arabic": "ara", "zh": "chi", "chinese": "chi", "ro": "rum", "romanian": "rum",
    "nl": "dut", "dutch": "dut", "la": "lat", "latin": "lat", "deu": "ger", "fra": "fre",
    "cym": "wel", "zho": "chi", "ron": "rum", "nld": "dut",
}  # fmt: skip


def record_from_dc(element: etree._Element, *, source: str, native_id: str) -> Record:
    """A Dublin Core record (``srw_dc:dc``, ``oai_dc:dc``, or an element wrapping one)
    as a Record from ``source``."""
    values = _dc_values(element)
    title, _, subtitle = (values.get("title") or [""])[0].partition(" : ")
    identifiers = values.get("identifier", [])
    return Record(
        source=source,
        native_id=native_id,
        title=tidy(title),
        subtitle=tidy(subtitle),
        authors=unique(
            [_name(v) for v in values.get("creator", []) + values.get("contributor", [])]
        ),
        isbns=unique([_isbn(v) or "" for v in identifiers]),
        issns=unique([normalise_issn(v) or "" for v in identifiers if "issn" in v.lower()]),
        publisher=tidy((values.get("publisher") or [""])[0]),
        year=_year(values.get("date", [])),
        format=_format(values.get("type", []) + values.get("format", [])),
        language=_language((values.get("language") or [""])[0]),
        subjects=unique([tidy(v) for v in values.get("subject", [])]),
    )


def dublin_core(record: Record) -> etree._Element:
    """``record`` as an ``srw_dc:dc`` element, for libgate's own SRU server."""
    root = etree.Element(f"{{{SRW_DC_NS}}}dc", nsmap={"srw_dc": SRW_DC_NS, "dc": DC_NS})
    title = f"{record.title} : {record.subtitle}" if record.subtitle else record.title
    year = str(record.year) if record.year is not None else ""
    elements = [
        ("title", [title]),
        ("creator", list(record.authors)),
        ("subject", list(record.subjects)),
        ("publisher", [record.publisher]),
        ("date", [year]),
        ("identifier", [f"URN:ISBN:{isbn}" for isbn in record.isbns]),
        ("identifier", [f"URN:ISSN:{issn}" for issn in record.issns]),
        ("language", [record.language]),
        ("type", [_DCMI_TYPES.get(record.format, "Text")]),
        ("format", [record.format]),
    ]
    for name, texts in elements:
        for text in texts:
            if text:
                etree.SubElement(root, f"{{{DC_NS}}}{name}").text = xml_safe(text)
    return root


def _dc_values(element: etree._Element) -> dict[str, list[str]]:
    values: dict[str, list[str]] = {}
    for child in element.iter():
        if not isinstance(child.tag, str):
            continue
        namespace, _, name = child.tag[1:].partition("}")
        text = (child.text or "").strip()
        if namespace in _DC_NAMESPACES and text:
            values.setdefault(name, []).append(text)
    return values


def _name(text: str) -> str:
    return tidy(_LIFE_DATES.sub("", text))


def _isbn(identifier: str) -> str | None:
    if "isbn" in identifier.lower() or _BARE_ISBN13.match(identifier):
        return normalise_isbn(identifier)
    return None


def _year(dates: list[str]) -> int | None:
    for text in dates:
        match = _YEAR.search(text)
        if match:
            return int(match.group())
    return None


def _format(values: list[str]) -> str:
    if not values:
        return "book"
    lowered = [value.lower() for value in values]
    for value in lowered:
        if value in FORMATS:
            return value
    for name, words in _FORMAT_WORDS:
        if any(word in value for value in lowered for word in words):
            return name
    return "other"


def _language(text: str) -> str:
    code = text.strip().lower()
    if code in _LANGUAGES:
        return _LANGUAGES[code]
    return code if len(code) == 3 and code.isalpha() else ""
