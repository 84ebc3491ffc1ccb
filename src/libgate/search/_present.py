"""A search as residents and scripts see it: every record that has come so far merged into
editions, ranked, faceted, narrowed and paged, with each target's progress."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any, Literal

from libgate.search._facets import facets, narrow
from libgate.search._merge import Merger
from libgate.search._model import Cluster
from libgate.search._rank import rank
from libgate.search._sessions import SessionState
from libgate.search._summary import summary
from libgate.search.query import parse

Sort = Literal["relevance", "year", "title"]
SORTS: tuple[Sort, ...] = ("relevance", "year", "title")


def present(
    state: SessionState,
    *,
    titles: Mapping[str, str] | None = None,
    weights: Mapping[str, float] | None = None,
    sort: Sort = "relevance",
    selections: Mapping[str, Collection[str]] | None = None,
    offset: int = 0,
    limit: int = 20,
) -> dict[str, Any]:
    merger = Merger()
    for result in state.results.values():
        merger.add(result.records)
    ranked = rank(merger.clusters(), parse(state.query), weights=weights, sort=sort)
    counted = facets(
        ranked,
        hits_by_source={name: result.hits for name, result in state.results.items()},
        fetched_by_source={name: len(result.records) for name, result in state.results.items()},
    )
    shown = narrow(ranked, selections) if selections else ranked
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


def _record(cluster: Cluster, titles: Mapping[str, str]) -> dict[str, Any]:
    described = summary(cluster)
    sources = dict.fromkeys(source["source"] for source in described["sources"])
    return {
        **described,
        "held_at": [titles.get(source, source) for source in sources],
        "score": round(cluster.score, 4),
    }
