"""Facets over the merged results (a cluster counts once per value), scaled up where a
target matched more records than it sent, and narrowing the results to chosen values."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from functools import lru_cache
from itertools import chain
from operator import itemgetter

from libgate.search._keys import fold, language_key, name_key
from libgate.search._model import Cluster, Record
from libgate.search._per_edition import PerEdition

FACETS = ("format", "year", "author", "subject", "language", "source")
_TOP = {"author": 20, "subject": 20}


@dataclass(frozen=True, slots=True)
class FacetValue:
    """One value of a facet and how many results have it. ``estimate``: the count was
    scaled up from a sample, because a target had more hits than it sent."""

    value: str
    count: int
    estimate: bool = False


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

# (facet, comparison key) -> value as shown, each (facet, key) once: a value as first written.
_Values = Mapping[tuple[str, str], str]


@lru_cache(maxsize=1 << 13)
def _described(
    form: str, year: int | None, language: str, authors: tuple[str, ...], subjects: tuple[str, ...]
) -> _Values:
    """The facet values of a record (all but its source). Remembered, as the same
    description comes from several targets and again at every poll; shared by every
    record with that description, so never changed."""
    values = {("format", form): form}
    if year is not None:
        decade = _decade(year)
        values[("year", decade)] = decade
    for name in authors:
        values.setdefault(("author", name_key(name)), name)
    for subject in subjects:
        values.setdefault(("subject", fold(subject)), subject)
    if code := language_key(language):
        values[("language", code)] = code
    return values


def _values_of(record: Record) -> _Values:
    return _described(record.format, record.year, record.language, record.authors, record.subjects)


@dataclass(slots=True)  # not frozen: made for every cluster as it grows, and never changed
class _ClusterValues:
    sources: tuple[str, ...]
    values: _Values  # for an edition found once, _described's own: shared, never changed


def _cluster_values(cluster: Cluster) -> _ClusterValues:
    if len(cluster.records) == 1:  # most editions are found at one source
        record = cluster.records[0]
        return _ClusterValues((record.source,), _values_of(record))
    values: dict[tuple[str, str], str] = {}
    # Backwards, so that each value stays as the first record to have it wrote it.
    for record in reversed(cluster.records):
        values.update(_values_of(record))
    sources = tuple(dict.fromkeys(record.source for record in cluster.records))
    return _ClusterValues(sources, values)


class FacetValues(PerEdition[_ClusterValues]):
    """Each cluster's facet values, kept between countings of one search: worked out as
    clusters grow while targets are still answering, so counting is all that is left."""

    def _work_out(self, cluster: Cluster) -> _ClusterValues:
        return _cluster_values(cluster)


def facets(
    clusters: list[Cluster],
    *,
    hits_by_source: Mapping[str, int],
    fetched_by_source: Mapping[str, int],
    values: FacetValues | None = None,
) -> dict[str, list[FacetValue]]:
    """Counts per facet value over ``clusters``. A cluster found only at sources that sent
    a sample of their hits stands for hits/fetched clusters (the smallest such ratio among
    its sources: whatever a complete source sent is counted as it is). ``values``: the
    search's own, to reuse what was worked out before."""
    scale = {
        source: hits / fetched_by_source[source]
        for source, hits in hits_by_source.items()
        if fetched_by_source.get(source, 0) and hits > fetched_by_source[source]
    }
    cache = values or FacetValues()
    described = [cache.of(cluster) for cluster in clusters]
    counts, estimated = _counted(described, scale)
    # Each value is shown as written in the first cluster (in rank order) to have it.
    shown: dict[tuple[str, str], str] = {}
    for found in reversed(described):
        shown.update(found.values)
    for source, hits in hits_by_source.items():
        # A target that matched records but sent none is still a place to look.
        key = ("source", source)
        if hits and not fetched_by_source.get(source) and key not in counts:
            counts[key] = hits
            estimated.add(key)
    tables: dict[str, list[_Tally]] = {facet: [] for facet in FACETS}
    for key, count in counts.items():
        tables[key[0]].append((shown.get(key, key[1]), count, key in estimated))
    return {facet: _ordered(facet, table) for facet, table in tables.items()}


def _counted(
    described: list[_ClusterValues], scale: Mapping[str, float]
) -> tuple[dict[tuple[str, str], float], set[tuple[str, str]]]:
    """How many clusters have each (facet, key), scaled; and which counts are estimates."""
    # Clusters grouped by the share each stands for (as many shares as there are sources
    # that sent samples, at most), so that the counting itself is done by Counter, in C.
    by_share: dict[float, list[_ClusterValues]] = defaultdict(list)
    for found in described:
        by_share[min(scale.get(s, 1.0) for s in found.sources) if scale else 1.0].append(found)
    counts: dict[tuple[str, str], float] = {}
    estimated: set[tuple[str, str]] = set()
    for share, group in by_share.items():
        tally = Counter(chain.from_iterable(found.values for found in group))
        for key, number in tally.items():
            counts[key] = counts.get(key, 0.0) + number * share
        if share > 1.0:
            estimated.update(tally)
    for source, number in Counter(chain.from_iterable(f.sources for f in described)).items():
        counts[("source", source)] = number * scale.get(source, 1.0)
        if source in scale:
            estimated.add(("source", source))
    return counts, estimated


_Tally = tuple[str, float, bool]  # value as shown, count, estimate


def _ordered(facet: str, table: list[_Tally]) -> list[FacetValue]:
    # Two stable sorts on one item each rather than one on built tuples: facets of a
    # large result have thousands of authors and subjects, of which twenty are shown.
    table.sort(key=itemgetter(0))
    if facet == "year":
        # Newest decade first; "before 1900" sorts after every decade.
        table.reverse()
        table.sort(key=lambda tally: not tally[0][0].isdigit())
    else:
        table.sort(key=itemgetter(1), reverse=True)
    shown = table[: _TOP[facet]] if facet in _TOP else table
    return [FacetValue(value, round(count), estimate) for value, count, estimate in shown]


def narrow(
    clusters: list[Cluster],
    selections: Mapping[str, Collection[str]],
    values: FacetValues | None = None,
) -> list[Cluster]:
    """The clusters having, for every facet in ``selections``, one of its chosen values
    (a facet with nothing chosen does not narrow). Raises ValueError for an unknown facet.
    ``values``: the search's own, to reuse what was worked out before."""
    wanted: dict[str, set[str]] = {}
    for facet, chosen in selections.items():
        if facet not in _KEYS:
            raise ValueError(f"unknown facet {facet!r}; the facets are {', '.join(FACETS)}")
        if chosen:
            wanted[facet] = {_KEYS[facet](value) for value in chosen}
    described = values or FacetValues()
    return [
        cluster
        for cluster in clusters
        if all(_has(described.of(cluster), facet, keys) for facet, keys in wanted.items())
    ]


def _has(found: _ClusterValues, facet: str, keys: set[str]) -> bool:
    if facet == "source":
        return not keys.isdisjoint(found.sources)
    return any((facet, key) in found.values for key in keys)
