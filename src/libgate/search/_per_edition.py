"""What a search works out from each edition, kept while the edition stays as it is."""

from __future__ import annotations

from typing import Generic, TypeVar

from libgate.search._model import Cluster, Record

T = TypeVar("T")


class PerEdition(Generic[T]):
    """What :meth:`_work_out` makes of each cluster, remembered by the cluster's key and
    brought up to date when records have joined it (clusters only ever grow, at the end)."""

    def __init__(self) -> None:
        self._kept: dict[str, tuple[int, T]] = {}

    def of(self, cluster: Cluster) -> T:
        count = len(cluster.records)
        kept = self._kept.get(cluster.key)
        if kept is not None and kept[0] == count:
            return kept[1]
        value = None if kept is None else self._grown(kept[1], cluster.records[kept[0] :])
        if value is None:
            value = self._work_out(cluster)
        self._kept[cluster.key] = (count, value)
        return value

    def _work_out(self, cluster: Cluster) -> T:
        raise NotImplementedError

    def _grown(self, before: T, joined: list[Record]) -> T | None:
        """``before`` with ``joined`` (the records that have just joined its cluster) taken
        in, when that is quicker than working the cluster out again; else None."""
        return None
