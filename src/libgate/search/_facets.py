"""Facets over the merged results (a cluster counts once per value), scaled up where a
target matched more records than it sent, and narrowing the results to chosen values."""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from functools import lru_cache
from operator import attrgetter

from libgate.search._keys import fold, language_key, name_key
from libgate.search._model import Cluster, Record

FACETS = ("format", "year", "author", "subject", "language", "source")
_TOP = {"author": 20, "subject": 20}


@dataclass(frozen=True, slots=True)
class FacetValue:
    """One value of a facet and how many results have it. ``estimate``: the count was
    scaled up from a sample, because a target had more hits than it sent."""

    value: str
    count: int
    estimate: bool = False


@dataclass(slots=True)
class _Tally:
    shown: str
    count: float = 0.0
    estimate: bool = False
    last: int = -1  # the last cluster counted: each counts once per value


def _same(value: str) -> str:
    return value


@lru_cache(maxsize=1 << 10)
def _decade(year: int) -> str:
    if year < 1900:
        return "before 1900"
    start = year // 10 * 10
    return f"{start}\u2013{start + 9}"


# How a chosen value is compared with a cluster's values.
_KEYS: dict[str, Callable[[str], str]] = {
    "format": _same,
    "year": _same,
    "author": name_key,
    "subject": fold,
    "language": language_key,
    "source": _same,
}

_Values = tuple[tuple[str, str, str], ...]  # (facet, comparison key, value as shown)


@lru_cache(maxsize=1 << 13)
def _described(
    form: str, year: int | None, language: str, authors: tuple[str, ...], subjects: tuple[str, ...]
) -> _Values:
    """The facet values of a record (all but its source). Remembered, as the same
    description comes from several targets and again at every poll."""
    values = [("format", form, form)]
    if year is not None:
        values.append(("year", _decade(year), _decade(year)))
    values.extend(("author", name_key(name), name) for name in authors)
    values.extend(("subject", fold(subject), subject) for subject in subjects)
    if language_key(language):
        values.append(("language", language_key(language), language_key(language)))
    return tuple(values)


def _values_of(record: Record) -> _Values:
    return _described(record.format, record.year, record.language, record.authors, record.subjects)


def facets(
    clusters: list[Cluster],
    *,
    hits_by_source: Mapping[str, int],
    fetched_by_source: Mapping[str, int],
) -> dict[str, list[FacetValue]]:
    """Counts per facet value over ``clusters``. A cluster found only at sources that sent
    a sample of their hits stands for hits/fetched clusters (the smallest such ratio among
    its sources: whatever a complete source sent is counted as it is)."""
    scale = {
        source: hits / fetched_by_source[source]
        for source, hits in hits_by_source.items()
        if fetched_by_source.get(source, 0) and hits > fetched_by_source[source]
    }
    tables: dict[str, dict[str, _Tally]] = {facet: {} for facet in FACETS}
    sources = tables["source"]
    for n, cluster in enumerate(clusters):
        share = min(scale.get(record.source, 1.0) for record in cluster.records)
        for record in cluster.records:
            _count(sources, record.source, record.source, n, scale.get(record.source, 1.0))
            for facet, key, shown in _values_of(record):
                _count(tables[facet], key, shown, n, share)
    for source, hits in hits_by_source.items():
        # A target that matched records but sent none is still a place to look.
        if hits and not fetched_by_source.get(source):
            sources.setdefault(source, _Tally(source, hits, estimate=True))
    return {facet: _ordered(facet, table) for facet, table in tables.items()}


def _count(table: dict[str, _Tally], key: str, shown: str, cluster: int, weight: float) -> None:
    tally = table.get(key)
    if tally is None:
        tally = table[key] = _Tally(shown)
    if tally.last != cluster:
        tally.last = cluster
        tally.count += weight
        tally.estimate = tally.estimate or weight > 1.0


def _ordered(facet: str, table: dict[str, _Tally]) -> list[FacetValue]:
    # Two stable sorts on attributes rather than one on built tuples: facets of a large
    # result have thousands of authors and subjects, of which twenty are shown.
    tallies = sorted(table.values(), key=attrgetter("shown"))
    if facet == "year":
        # Newest decade first; "before 1900" sorts after every decade.
        tallies.reverse()
        tallies.sort(key=lambda t: not t.shown[0].isdigit())
    else:
        tallies.sort(key=attrgetter("count"), reverse=True)
    shown = tallies[: _TOP[facet]] if facet in _TOP else tallies
    return [FacetValue(t.shown, round(t.count), t.estimate) for t in shown]


def narrow(clusters: list[Cluster], selections: Mapping[str, Collection[str]]) -> list[Cluster]:
    """The clusters having, for every facet in ``selections``, one of its chosen values
    (a facet with nothing chosen does not narrow). Raises ValueError for an unknown facet."""
    wanted: dict[str, set[str]] = {}
    for facet, chosen in selections.items():
        if facet not in _KEYS:
            raise ValueError(f"unknown facet {facet!r}; the facets are {', '.join(FACETS)}")
        if chosen:
            wanted[facet] = {_KEYS[facet](value) for value in chosen}
    if not wanted:
        return list(clusters)
    kept = []
    for cluster in clusters:
        keys: dict[str, set[str]] = {facet: set() for facet in wanted}
        for record in cluster.records:
            if "source" in keys:
                keys["source"].add(record.source)
            for facet, key, _ in _values_of(record):
                if facet in keys:
                    keys[facet].add(key)
        if all(not chosen.isdisjoint(keys[facet]) for facet, chosen in wanted.items()):
            kept.append(cluster)
    return kept
