"""A catalogue or discovery service that answers in JSON, reached by an OpenSearch URL
template (``...?q={searchTerms}&limit={count}``), its answer read through configured paths
(``json_fields``) — for example Open Library's search API."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from libgate.search._model import FORMATS, Record, TargetAnswer, TargetError
from libgate.search.query import Boolean, Query, Term
from libgate.search.records import normalise_isbn, normalise_issn
from libgate.search.targets._http_limits import HttpTarget

_TEMPLATE_PARAMETER = re.compile(r"\{(\w+)\??\}")
_YEAR = re.compile(r"\b(1[0-9]{3}|20[0-9]{2})\b")


@dataclass(frozen=True, slots=True)
class _Shape:
    """What reading an answer needs to know of its target (sent to a reader process):
    ``fields``, where in the JSON each part of a record is (``json_fields``)."""

    name: str
    title: str
    fields: dict[str, str]


class JsonTarget(HttpTarget):
    """Searches one JSON service. Its answers are read by ``readers``, like SRU answers:
    parsing a large JSON answer in the serving process would hold up everything else."""

    @property
    def _shape(self) -> _Shape:
        return _Shape(self.name, self.title, dict(self.settings.json_fields))

    async def search(self, query: Query, *, limit: int) -> TargetAnswer:
        words, notes = plain_words(query)
        values = {"searchTerms": quote(words), "count": str(limit), "startIndex": "1"}
        url = _TEMPLATE_PARAMETER.sub(lambda m: values.get(m.group(1), ""), self.settings.url)
        status, body = await self._get(url)
        hits, records = await self._read(_read, self._shape, limit, status, body)
        return TargetAnswer(hits=hits, records=records, diagnostics=notes)


def _read(shape: _Shape, limit: int, status: int, body: bytes) -> tuple[int, tuple[Record, ...]]:
    """A JSON answer's hit count and records, or TargetError."""
    if status != 200:
        raise TargetError(f"{shape.title} answered with HTTP status {status}")
    try:
        document = json.loads(body)
    except (ValueError, RecursionError):
        raise TargetError(f"{shape.title} did not answer with valid JSON") from None
    items = _at(document, shape.fields.get("records", "records"))
    if not isinstance(items, list):
        raise TargetError(f"{shape.title}'s answer has no list of records where expected")
    records = [_record(shape, item) for item in items[:limit] if isinstance(item, dict)]
    hits = _at(document, shape.fields.get("hits", ""))
    return (
        hits if isinstance(hits, int) and not isinstance(hits, bool) else len(records),
        tuple(record for record in records if record.title),
    )


def _record(shape: _Shape, item: Mapping[str, Any]) -> Record:
    def texts(name: str) -> tuple[str, ...]:
        return _texts(_at(item, shape.fields.get(name, name)))

    def text(name: str) -> str:
        found = texts(name)
        return found[0] if found else ""

    year = _YEAR.search(text("year"))
    found_format = text("format").lower()
    return Record(
        source=shape.name,
        native_id=text("id"),
        title=text("title"),
        subtitle=text("subtitle"),
        authors=texts("authors"),
        isbns=_unique(normalise_isbn(value) for value in texts("isbns")),
        issns=_unique(normalise_issn(value) for value in texts("issns")),
        edition=text("edition"),
        publisher=text("publisher"),
        year=int(year.group(1)) if year else None,
        format=found_format if found_format in FORMATS else "book",
        language=text("language"),
        subjects=texts("subjects"),
    )


def plain_words(query: Query) -> tuple[str, tuple[str, ...]]:
    """The query as words for a service without fields or operators, and a note on what
    had to be left out."""
    words: list[str] = []
    dropped: set[str] = set()

    def walk(node: Query) -> None:
        if isinstance(node, Term):
            words.append(f'"{node.words}"' if node.phrase else node.words)
            if node.field != "any":
                dropped.add("fields")
        elif isinstance(node, Boolean):
            walk(node.left)
            if node.op == "and":
                walk(node.right)
            else:
                dropped.add(node.op.upper())

    walk(query)
    notes = (
        (f"this source takes plain words only: {', '.join(sorted(dropped))} left out",)
        if dropped
        else ()
    )
    return " ".join(words), notes


def _at(document: Any, path: str) -> Any:
    found = document
    for part in path.split(".") if path else []:
        if not isinstance(found, dict):
            return None
        found = found.get(part)
    return found if path else None


def _texts(value: Any) -> tuple[str, ...]:
    values = value if isinstance(value, list) else [value]
    texts = (_whole_characters(str(v)).strip() for v in values if isinstance(v, str | int))
    return tuple(text for text in texts if text)


def _whole_characters(text: str) -> str:
    # JSON can carry half a UTF-16 pair ("\ud800"), which no database or page can hold.
    return text.encode("utf-8", "replace").decode("utf-8")


def _unique(values: Any) -> tuple[str, ...]:
    return tuple(dict.fromkeys(value for value in values if value))
