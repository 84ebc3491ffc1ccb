"""Records as stored with a search session: compact JSON (a list of values per record), so
that any instance can rebuild them quickly."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from libgate.search._model import Holding, Record


def records_to_json(records: Iterable[Record]) -> str:
    rows = [
        [
            r.source,
            r.native_id,
            r.title,
            r.subtitle,
            r.authors,
            r.isbns,
            r.issns,
            r.edition,
            r.publisher,
            r.year,
            r.format,
            r.language,
            r.subjects,
            [[h.source, h.location, h.call_number, h.status] for h in r.holdings],
        ]
        for r in records
    ]
    return json.dumps(rows, ensure_ascii=False, separators=(",", ":"))


def records_from_json(text: str) -> list[Record]:
    rows: list[list[Any]] = json.loads(text)
    return [
        Record(
            source=row[0],
            native_id=row[1],
            title=row[2],
            subtitle=row[3],
            authors=tuple(row[4]),
            isbns=tuple(row[5]),
            issns=tuple(row[6]),
            edition=row[7],
            publisher=row[8],
            year=row[9],
            format=row[10],
            language=row[11],
            subjects=tuple(row[12]),
            holdings=tuple(Holding(*holding) for holding in row[13]),
        )
        for row in rows
    ]
