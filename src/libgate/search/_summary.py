"""One cluster as the JSON API shows it: the most complete record, with the lists of every
record united and every place the edition is held."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from libgate.search._keys import fold, name_key
from libgate.search._model import Cluster, Record

_SCALARS = ("title", "subtitle", "edition", "publisher", "year", "language")


def _completeness(record: Record) -> int:
    return sum(
        1
        for value in (
            record.title,
            record.subtitle,
            record.authors,
            record.isbns,
            record.edition,
            record.publisher,
            record.year,
            record.language,
            record.subjects,
        )
        if value
    )


def _united(lists: list[tuple[str, ...]], key: Callable[[str], str] | None = None) -> list[str]:
    seen: dict[str, str] = {}
    for values in lists:
        for value in values:
            seen.setdefault(key(value) if key else value, value)
    return list(seen.values())


def summary(cluster: Cluster) -> dict[str, Any]:
    """``cluster`` for the JSON API. Fields missing from the most complete record are
    taken from the others; authors, ISBNs and subjects are united; ``sources`` lists each
    source record and ``holdings`` each copy (a bare entry for a source that gave none)."""
    records = cluster.records
    base = max(records, key=_completeness)  # the first of the most complete
    others = [base, *(record for record in records if record is not base)]
    result: dict[str, Any] = {"key": cluster.key}
    for name in _SCALARS:
        result[name] = next(
            (getattr(record, name) for record in others if getattr(record, name)),
            getattr(base, name),
        )
    result["format"] = base.format
    result["authors"] = _united([record.authors for record in others], name_key)
    result["isbns"] = _united([record.isbns for record in others])
    result["subjects"] = _united([record.subjects for record in others], fold)
    result["sources"] = [
        {"source": record.source, "native_id": record.native_id} for record in records
    ]
    holdings: dict[tuple[str, str, str, str], None] = {}
    for record in records:
        for holding in record.holdings:
            holdings[(holding.source, holding.location, holding.call_number, holding.status)] = None
        if not record.holdings:
            holdings[(record.source, "", "", "")] = None
    result["holdings"] = [
        {"source": source, "location": location, "call_number": call_number, "status": status}
        for source, location, call_number, status in holdings
    ]
    return result
