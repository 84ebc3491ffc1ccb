"""Clusters in order: field-weighted BM25 (BM25F) over the records the targets sent, with
boosts for an exact title match, for being found at several sources and for the
library's own weighting of each target; or newest first; or by title."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Literal

from libgate.search._keys import name_key, title_key, tokens, words
from libgate.search._model import Cluster
from libgate.search.query import Query, terms
from libgate.search.records import normalise_isbn

Sort = Literal["relevance", "year", "title"]

_FIELDS = ("title", "author", "subject", "other")
_FIELD_WEIGHTS = {"title": 3.0, "author": 2.0, "subject": 1.5, "other": 1.0}
# Which of a cluster's fields each query field searches.
_SEARCHED = {
    "any": (0, 1, 2, 3),
    "title": (0,),
    "author": (1,),
    "subject": (2,),
    "isbn": (3,),
}
_K1 = 1.2
_B = 0.75
_EXACT_TITLE_BOOST = 1.0  # doubles the score
_SOURCES_BOOST = 0.25  # per natural log of the number of sources


def rank(
    clusters: list[Cluster],
    query: Query,
    *,
    weights: Mapping[str, float] | None = None,
    sort: Sort = "relevance",
    documents: Documents | None = None,
) -> list[Cluster]:
    """``clusters`` sorted, each with its ``score`` set. ``weights``: per source (target
    name), default 1. ``year`` sorts newest first, unknown years last, then by score;
    ``title`` by folded title, then by score. ``documents``: the search's own, to reuse
    what earlier rankings built."""
    _score(clusters, query, weights or {}, documents or Documents())
    if sort == "year":
        return sorted(clusters, key=_by_year)
    if sort == "title":
        return sorted(clusters, key=lambda c: (_sort_title(c), -c.score, c.key))
    return sorted(clusters, key=lambda c: (-c.score, _sort_title(c), c.key))


def _by_year(cluster: Cluster) -> tuple[bool, int, float, str]:
    year = max((r.year for r in cluster.records if r.year is not None), default=None)
    return (year is None, -(year or 0), -cluster.score, cluster.key)


def _query_terms(query: Query) -> tuple[list[tuple[tuple[int, ...], str]], str]:
    """The distinct (fields, word) pairs to score, and the words a title would have to
    consist of to match the query exactly."""
    scored: dict[tuple[tuple[int, ...], str], None] = {}
    title_words: list[str] = []
    for field, text in terms(query):
        if field == "isbn":
            scored[(_SEARCHED["isbn"], normalise_isbn(text) or "".join(words(text)))] = None
            continue
        folded = words(text)
        for word in folded:
            scored[(_SEARCHED.get(field, _SEARCHED["any"]), word)] = None
        if field in ("any", "title"):
            title_words.extend(folded)
    return list(scored), title_key(" ".join(title_words))


# Per field (title, author, subject, other): the words of each distinct value in it.
_Document = tuple[list[tuple[str, ...]], ...]


def _document(cluster: Cluster) -> _Document:
    document: _Document = ([], [], [], [])
    titles, authors, subjects, other = document
    seen: list[tuple[object, ...]] = []
    for record in cluster.records:
        content = (record.title, record.subtitle, record.authors, record.subjects, record.isbns)
        if content in seen:  # the same record from another target
            continue
        seen.append(content)
        _put(titles, tokens(f"{record.title} {record.subtitle}"))
        for name in record.authors:
            _put(authors, tokens(name_key(name)))
        for subject in record.subjects:
            _put(subjects, tokens(subject))
        _put(other, tokens(f"{record.publisher} {record.edition}"))
        _put(other, record.isbns)
    return document


def _put(values: list[tuple[str, ...]], words: tuple[str, ...]) -> None:
    if words and words not in values:
        values.append(words)


class Documents:
    """Each cluster's words by field, kept between rankings of one search: built while the
    targets are still answering, so the ranking at the end only scores."""

    def __init__(self) -> None:
        self._built: dict[str, tuple[int, _Document]] = {}

    def of(self, cluster: Cluster) -> _Document:
        built = self._built.get(cluster.key)
        if built is None or built[0] != len(cluster.records):
            built = (len(cluster.records), _document(cluster))
            self._built[cluster.key] = built
        return built[1]


def _score(
    clusters: list[Cluster], query: Query, weights: Mapping[str, float], built: Documents
) -> None:
    query_terms, exact = _query_terms(query)
    documents = [built.of(cluster) for cluster in clusters]
    lengths = [[sum(map(len, field)) for field in document] for document in documents]
    count = len(documents) or 1
    averages = [(sum(row[f] for row in lengths) / count) or 1.0 for f in range(len(_FIELDS))]
    field_weights = [_FIELD_WEIGHTS[name] for name in _FIELDS]
    # Per document, per query term: the field-weighted, length-normalised frequency.
    frequencies: list[list[float]] = []
    matching = [0] * len(query_terms)
    for document, length in zip(documents, lengths, strict=True):
        row = []
        for i, (fields, word) in enumerate(query_terms):
            tf = 0.0
            for f in fields:
                found = 0
                for values in document[f]:
                    if word in values:
                        found += values.count(word)
                if found:
                    norm = 1 - _B + _B * length[f] / averages[f]
                    tf += field_weights[f] * found / norm
            if tf:
                matching[i] += 1
            row.append(tf)
        frequencies.append(row)
    idfs = [math.log(1 + (count - n + 0.5) / (n + 0.5)) for n in matching]
    for cluster, row in zip(clusters, frequencies, strict=True):
        score = sum(
            idf * tf * (_K1 + 1) / (tf + _K1) for idf, tf in zip(idfs, row, strict=True) if tf
        )
        if score and exact and _title_is(cluster, exact):
            score *= 1 + _EXACT_TITLE_BOOST
        sources = {record.source for record in cluster.records}
        score *= 1 + _SOURCES_BOOST * math.log(len(sources))
        score *= max(weights.get(source, 1.0) for source in sources)
        cluster.score = score


def _title_is(cluster: Cluster, exact: str) -> bool:
    return any(
        title_key(record.title) == exact or title_key(f"{record.title} {record.subtitle}") == exact
        for record in cluster.records
    )


def _sort_title(cluster: Cluster) -> str:
    return next((title_key(r.title) for r in cluster.records if r.title), "")
