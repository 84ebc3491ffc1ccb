"""Clusters in order: field-weighted BM25 (BM25F) over the records the targets sent, with
boosts for an exact title match, for being found at several sources and for the
library's own weighting of each target; or newest first; or by title."""

from __future__ import annotations

import math
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from operator import itemgetter
from typing import Literal

from libgate.search._keys import fold, full_title, name_key, title_key, without_article, words
from libgate.search._model import Cluster, Record
from libgate.search._per_edition import PerEdition
from libgate.search.query import Query, terms
from libgate.search.records import normalise_isbn

Sort = Literal["relevance", "year", "title"]

# A cluster's fields, by index: title, author, subject, other; and a word's weight in each.
_FIELD_WEIGHTS = (3.0, 2.0, 1.5, 1.0)
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
) -> list[Cluster]:
    """``clusters`` sorted, each with its ``score`` set. ``weights``: per source (target
    name), default 1. ``year`` sorts newest first, unknown years last, then by score;
    ``title`` by folded title, then by score."""
    return Ranking(query).rank(clusters, weights=weights, sort=sort)


# What ranking reads of a record: records alike in all of it add only their source.
_Description = tuple[object, ...]


def _description(record: Record) -> _Description:
    return (
        record.title,
        record.subtitle,
        record.authors,
        record.subjects,
        record.publisher,
        record.edition,
        record.isbns,
    )


@dataclass(slots=True)  # not frozen: made for every cluster as it grows, and never changed
class _Facts:
    """What ranking needs of one cluster, for one query."""

    lengths: tuple[int, ...]  # words per field
    found: tuple[tuple[tuple[int, int], ...], ...]  # per query term: (field, occurrences)
    exact_title: bool
    described: frozenset[_Description]  # the cluster's distinct records
    sources: frozenset[str]
    spread_boost: float  # for being found at several sources
    sort_title: str
    year: int | None  # the newest


class Ranking(PerEdition[_Facts]):
    """One search's ranking. What it needs of each cluster is worked out when the cluster
    grows, while other targets are still answering, so that ranking the whole result when
    the last one answers is arithmetic."""

    def __init__(self, query: Query) -> None:
        super().__init__()
        self._terms, self._exact = _query_terms(query)

    def rank(
        self,
        clusters: list[Cluster],
        *,
        weights: Mapping[str, float] | None = None,
        sort: Sort = "relevance",
    ) -> list[Cluster]:
        """As :func:`rank`, for this ranking's query."""
        facts = [self.of(cluster) for cluster in clusters]
        self._score(clusters, facts, weights or {})
        order: list[tuple[object, ...]]
        pairs = list(zip(clusters, facts, strict=True))
        if sort == "year":
            order = [(f.year is None, -(f.year or 0), -c.score, c.key) for c, f in pairs]
        elif sort == "title":
            order = [(f.sort_title, -c.score, c.key) for c, f in pairs]
        else:
            order = [(-c.score, f.sort_title, c.key) for c, f in pairs]
        ordered = sorted(zip(order, clusters, strict=True), key=itemgetter(0))
        return [cluster for _, cluster in ordered]

    def _work_out(self, cluster: Cluster) -> _Facts:
        if len(cluster.records) == 1:
            return self._one_record(cluster.records[0])
        # One pass over the records, the folding mapped in C: most clusters have one or
        # two records, and this runs for each of them as it grows.
        titles: list[str] = []
        authors: list[str] = []
        subjects: list[str] = []
        other: list[str] = []  # publisher, edition, ISBNs: folded apart, as the merge does
        sources: set[str] = set()
        year: int | None = None
        sort_title = ""
        exact = False
        described: set[_Description] = set()
        for record in cluster.records:
            sources.add(record.source)
            if record.year is not None and (year is None or record.year > year):
                year = record.year
            description = _description(record)
            if description in described:
                continue  # the same record from another source: only the source is news
            described.add(description)
            if record.title:
                key = title_key(record.title)
                sort_title = sort_title or key
                exact = exact or key == self._exact
            title = full_title(record.title, record.subtitle)
            titles.append(title)
            if record.subtitle and self._exact and not exact:  # the title with its subtitle
                exact = without_article(title) == self._exact
            authors.extend(map(name_key, record.authors))
            subjects.extend(map(fold, record.subjects))
            other.append(fold(record.publisher))
            other.append(fold(record.edition))
            other.extend(record.isbns)
        # Each field's words, its distinct values run together: its length is the count
        # of its words, and a term's occurrences one count in C.
        fields = tuple([_words_of(values) for values in (titles, authors, subjects, other)])
        return _Facts(
            lengths=tuple(map(len, fields)),
            found=tuple([_occurrences(fields, searched, word) for searched, word in self._terms]),
            exact_title=bool(self._exact) and exact,
            described=frozenset(described),
            sources=frozenset(sources),
            spread_boost=_spread_boost(sources),
            sort_title=sort_title,
            year=year,
        )

    def _one_record(self, record: Record) -> _Facts:
        # Most editions are found at one source: the same facts as for a larger cluster,
        # with nothing to gather across records.
        sort_title = title_key(record.title) if record.title else ""
        title = full_title(record.title, record.subtitle)
        exact = bool(self._exact) and (
            sort_title == self._exact
            or (bool(record.subtitle) and without_article(title) == self._exact)
        )
        fields = (
            title.split(),
            _words_of(list(map(name_key, record.authors))),
            _words_of(list(map(fold, record.subjects))),
            _words_of([fold(record.publisher), fold(record.edition), *record.isbns]),
        )
        return _Facts(
            lengths=tuple(map(len, fields)),
            found=tuple([_occurrences(fields, searched, word) for searched, word in self._terms]),
            exact_title=exact,
            described=frozenset((_description(record),)),
            sources=frozenset((record.source,)),
            spread_boost=1.0,
            sort_title=sort_title,
            year=record.year,
        )

    def _grown(self, before: _Facts, joined: list[Record]) -> _Facts | None:
        # Copies of records it already had (the same cataloguing from other libraries,
        # the common case) change only where the cluster is held and how new it is.
        if not before.described.issuperset(map(_description, joined)):
            return None
        sources = before.sources.union([record.source for record in joined])
        years = [record.year for record in joined if record.year is not None]
        if before.year is not None:
            years.append(before.year)
        return _Facts(
            lengths=before.lengths,
            found=before.found,
            exact_title=before.exact_title,
            described=before.described,
            sources=sources,
            spread_boost=_spread_boost(sources),
            sort_title=before.sort_title,
            year=max(years, default=None),
        )

    def _score(
        self, clusters: list[Cluster], facts: list[_Facts], weights: Mapping[str, float]
    ) -> None:
        count = len(facts) or 1
        # Per field, the factor that turns a length into BM25's length normalisation.
        totals = map(sum, zip(*(fact.lengths for fact in facts), strict=True))
        slopes = [_B / ((total / count) or 1.0) for total in totals]
        # Per cluster, per query term: the field-weighted, length-normalised frequency.
        frequencies: list[list[float]] = []
        matching = [0] * len(self._terms)
        for fact in facts:
            row = []
            for i, occurrences in enumerate(fact.found):
                tf = 0.0
                for field, found in occurrences:
                    tf += (
                        _FIELD_WEIGHTS[field]
                        * found
                        / (1 - _B + slopes[field] * fact.lengths[field])
                    )
                if tf:
                    matching[i] += 1
                row.append(tf)
            frequencies.append(row)
        idfs = [math.log(1 + (count - n + 0.5) / (n + 0.5)) for n in matching]
        for cluster, fact, row in zip(clusters, facts, frequencies, strict=True):
            score = 0.0
            for idf, tf in zip(idfs, row, strict=True):
                if tf:
                    score += idf * tf * (_K1 + 1) / (tf + _K1)
            if score and fact.exact_title:
                score *= 1 + _EXACT_TITLE_BOOST
            score *= fact.spread_boost
            if weights:
                score *= max(weights.get(source, 1.0) for source in fact.sources)
            cluster.score = score


def _words_of(values: list[str]) -> list[str]:
    """The words of a field's distinct values."""
    return " ".join(dict.fromkeys(values) if len(values) > 1 else values).split()


def _spread_boost(sources: Collection[str]) -> float:
    """For being found at several sources."""
    return 1 + _SOURCES_BOOST * math.log(len(sources))


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


# Per field (title, author, subject, other): its words.
_Fields = tuple[list[str], ...]


def _occurrences(
    fields: _Fields, searched: tuple[int, ...], word: str
) -> tuple[tuple[int, int], ...]:
    """(field, times) for each of the ``searched`` fields in which ``word`` occurs."""
    return tuple([(field, times) for field in searched if (times := fields[field].count(word))])
