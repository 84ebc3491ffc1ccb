"""A search as residents and scripts see it: every record that has come so far merged into
editions, ranked, faceted, narrowed and paged, with each target's progress."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from typing import Any

from libgate.search._facets import FacetValues, facets, narrow
from libgate.search._merge import Merger, work_key
from libgate.search._model import Cluster, Record
from libgate.search._rank import Ranking, Sort
from libgate.search._sessions import SessionState
from libgate.search._summary import summary
from libgate.search.query import Query, parse

SORTS: tuple[Sort, ...] = ("relevance", "year", "title")


class Gathered:
    """A search's records merged as each target's arrive, and the per-edition work that
    ranking and facets need done then too: when the last target answers, what is left is
    scoring and counting."""

    def __init__(self, query: Query) -> None:
        self.targets: set[str] = set()
        self._merger = Merger()
        self.ranking = Ranking(query)
        self.facet_values = FacetValues()

    def add(self, target: str, records: Iterable[Record]) -> None:
        for cluster in self._merger.add(records):
            self.ranking.of(cluster)
            self.facet_values.of(cluster)
        self.targets.add(target)

    def clusters(self) -> list[Cluster]:
        return self._merger.clusters()

    @classmethod
    def of(cls, state: SessionState) -> Gathered:
        """``state``'s records merged again, in the order the targets answered: editions
        keep the keys (and so the links) they had while the search ran."""
        gathered = cls(parse(state.query))
        for name, result in sorted(state.results.items(), key=lambda item: item[1].updated_at):
            gathered.add(name, result.records)
        return gathered


def present(
    state: SessionState,
    *,
    gathered: Gathered | None = None,
    titles: Mapping[str, str] | None = None,
    weights: Mapping[str, float] | None = None,
    sort: Sort = "relevance",
    selections: Mapping[str, Collection[str]] | None = None,
    offset: int = 0,
    limit: int = 20,
) -> dict[str, Any]:
    """The view of ``state``; ``gathered``: its records already merged (by whoever followed
    the targets as they answered), else they are merged here."""
    merged = gathered or Gathered.of(state)
    ranked = merged.ranking.rank(merged.clusters(), weights=weights, sort=sort)
    counted = facets(
        ranked,
        hits_by_source={name: result.hits for name, result in state.results.items()},
        fetched_by_source={name: len(result.records) for name, result in state.results.items()},
        values=merged.facet_values,
    )
    shown = narrow(ranked, selections, merged.facet_values) if selections else ranked
    return {
        "id": state.id,
        "query": state.query,
        "complete": state.complete,
        "sort": sort,
        "selected": {name: sorted(values) for name, values in (selections or {}).items()},
        "targets": [
            {
                "name": name,
                "title": (titles or {}).get(name, name),
                "status": result.status,
                "hits": result.hits,
                "fetched": len(result.records),
                "latency_ms": result.latency_ms,
                "message": result.message,
                "diagnostics": result.diagnostics,
            }
            for name, result in state.results.items()
        ],
        "total": len(shown),
        "offset": offset,
        "records": [_record(cluster, titles or {}) for cluster in shown[offset : offset + limit]],
        "facets": {
            name: [
                {"value": value.value, "count": value.count, "estimate": value.estimate}
                for value in values
            ]
            for name, values in counted.items()
        },
    }


def edition(
    state: SessionState,
    key: str,
    *,
    gathered: Gathered | None = None,
    titles: Mapping[str, str] | None = None,
) -> dict[str, Any] | None:
    """One edition of ``state``'s results, with every source record and holding; None when
    there is no edition ``key``."""
    clusters = (gathered or Gathered.of(state)).clusters()
    found = next((cluster for cluster in clusters if cluster.key == key), None)
    return None if found is None else _record(found, titles or {})


def _record(cluster: Cluster, titles: Mapping[str, str]) -> dict[str, Any]:
    described = summary(cluster)
    sources = dict.fromkeys(source["source"] for source in described["sources"])
    return {
        **described,
        "holdings": [
            {**holding, "library": titles.get(holding["source"], holding["source"])}
            for holding in described["holdings"]
        ],
        "held_at": [titles.get(source, source) for source in sources],
        "work": work_key(cluster),  # the same for every edition of one work: to group them
        "score": round(cluster.score, 4),
    }
