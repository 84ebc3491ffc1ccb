"""A read record made ready to store: the common-model Record (as JSON), the compressed
MARC and the text of each index column. This is most of an import's work, and it needs no
database, so it can run in worker processes: what goes in and out is plain data."""

from __future__ import annotations

import hashlib
import zlib
from collections.abc import Sequence
from dataclasses import dataclass

import pymarc

from libgate.search._model import Record
from libgate.search._stored import records_to_json
from libgate.search.index._read import Damaged, Parsed, Raw, parse_raw
from libgate.search.records import record_from_marc


@dataclass(frozen=True, slots=True)
class Row:
    """One record as the records table holds it (``text``: one per index column)."""

    native_id: str
    record: str
    marc: bytes
    text: tuple[str, ...]


def convert(items: Sequence[Raw | Parsed | Damaged], source: str) -> list[Row | Damaged]:
    """Each of ``items`` as a Row, or Damaged with the reason it cannot be one."""
    return [_convert(item, source) for item in items]


def _convert(item: Raw | Parsed | Damaged, source: str) -> Row | Damaged:
    parsed = parse_raw(item) if isinstance(item, Raw) else item
    if isinstance(parsed, Damaged):
        return parsed
    try:
        record = record_from_marc(parsed.marc, source=source)
    except (pymarc.exceptions.PymarcException, ValueError, IndexError) as exc:
        return Damaged(parsed.position, f"could not be understood ({exc})")
    return Row(
        native_id=record.native_id or _fingerprint(parsed.marc),
        record=records_to_json([record])[1:-1],
        marc=zlib.compress(parsed.raw),
        text=searched_text(record),
    )


def searched_text(record: Record) -> tuple[str, ...]:
    """The text of each index column (see COLUMNS), in order."""
    other = [record.publisher, record.edition, *record.issns]
    if record.year is not None:
        other.append(str(record.year))
    return (
        f"{record.title} {record.subtitle}",
        " ; ".join(record.authors),
        " ; ".join(record.subjects),
        " ".join(record.isbns),
        " ; ".join(other),
    )


def _fingerprint(marc: pymarc.Record) -> str:
    """An id for a record without a 001: the same for the same fields, whether they came
    as ISO 2709 or MARCXML."""
    text = "\n".join(str(field) for field in marc.fields)
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()[:32]
