"""MARC 21 bibliographic records in the common Record model."""

from __future__ import annotations

import re

import pymarc

from libgate.search._model import Record
from libgate.search.records._format import marc_format
from libgate.search.records._holdings import marc_holdings
from libgate.search.records._isbn import normalise_isbn, normalise_issn
from libgate.search.records._text import tidy, unique

_YEAR = re.compile(r"(?<!\d)\d{4}(?!\d)")
_MAIN_ENTRIES = ("100", "110", "111")
_ADDED_ENTRIES = ("700", "710", "711")
_SUBDIVISIONS = ("v", "x", "y", "z")
_UNKNOWN_PUBLISHER = ("s.n", "s. n", "publisher not identified")


def record_from_marc(marc: pymarc.Record, *, source: str, native_id: str | None = None) -> Record:
    """``marc`` as a Record from ``source``; its id is the 001, else ``native_id``."""
    control = marc.get("001")
    own_id = (control.data or "").strip() if control is not None else ""
    title_field = marc.get("245")
    return Record(
        source=source,
        native_id=own_id or native_id or "",
        title=_title(title_field),
        subtitle=tidy(" ".join(title_field.get_subfields("b"))) if title_field else "",
        authors=_authors(marc),
        isbns=unique([normalise_isbn(v) or "" for v in _values(marc, "020", "a")]),
        issns=unique([normalise_issn(v) or "" for v in _values(marc, "022", "a")]),
        edition=tidy(next(iter(_values(marc, "250", "a")), "")),
        publisher=_publisher(marc),
        year=_year(marc),
        format=marc_format(marc),
        language=_language(marc),
        subjects=_subjects(marc),
        holdings=marc_holdings(marc, source),
    )


def _values(marc: pymarc.Record, tag: str, code: str) -> list[str]:
    return [value for field in marc.get_fields(tag) for value in field.get_subfields(code)]


def _title(field: pymarc.Field | None) -> str:
    if field is None:
        return ""
    # Part number and name follow the title as "Title. Part 2. Name of part".
    return ". ".join(tidy(part) for part in field.get_subfields("a", "n", "p"))


def _authors(marc: pymarc.Record) -> tuple[str, ...]:
    names = []
    for field in marc.get_fields(*_MAIN_ENTRIES, *_ADDED_ENTRIES):
        # A $t makes the entry a work contained in this one (name-title), and a $5 makes
        # it about one library's copy (a collection it came from): neither is an author.
        if field.tag in _ADDED_ENTRIES and ("t" in field or "5" in field):
            continue
        names.append(_name(field))
    return unique(names)


def _name(field: pymarc.Field) -> str:
    if field.tag.endswith("10"):  # corporate: "United States. Congress. House"
        return ". ".join(tidy(part) for part in field.get_subfields("a", "b"))
    if field.tag.endswith("11"):  # meeting
        return tidy(field.get("a") or "")
    return tidy(" ".join(field.get_subfields("a", "b")))  # personal: "Elizabeth II"


def _publication_fields(marc: pymarc.Record) -> list[pymarc.Field]:
    fields = marc.get_fields("264", "260")
    # 264 second indicator 1 is publication; 0, 2, 3 and 4 (production, distribution,
    # manufacture, copyright) are only a fallback when nothing better is recorded.
    fields.sort(key=lambda f: (f.tag != "264" or f.indicator2 != "1", f.tag != "260"))
    return fields


def _publisher(marc: pymarc.Record) -> str:
    for field in _publication_fields(marc):
        for value in field.get_subfields("b"):
            # Square brackets mark what the cataloguer supplied; the name is the same.
            name = tidy(value.replace("[", "").replace("]", ""))
            if name and not name.lower().startswith(_UNKNOWN_PUBLISHER):
                return name
    return ""


def _year(marc: pymarc.Record) -> int | None:
    fixed = marc.get("008")
    date1 = (fixed.data or "")[7:11] if fixed is not None else ""
    if date1.isdigit() and len(date1) == 4:
        return int(date1)
    for value in (v for f in _publication_fields(marc) for v in f.get_subfields("c")):
        match = _YEAR.search(value)
        if match:
            return int(match.group())
    return None


def _language(marc: pymarc.Record) -> str:
    fixed = marc.get("008")
    code = (fixed.data or "")[35:38].strip().lower() if fixed is not None else ""
    return code if len(code) == 3 and code.isalpha() else ""


def _subjects(marc: pymarc.Record) -> tuple[str, ...]:
    headings = []
    for field in marc.fields:
        if not field.tag.startswith("6"):
            continue
        main = field.get_subfields("a")
        if main:
            parts = [main[0], *field.get_subfields(*_SUBDIVISIONS)]
            headings.append(" -- ".join(tidy(part) for part in parts))
    return unique(headings)
