"""What a search works out from each edition, kept while the edition stays as it is."""

from __future__ import annotations

from typing import Generic, TypeVar

from libgate.search._model import Cluster

T = TypeVar("T")


class PerEdition(Generic[T]):
    """What :meth:`_work_out` makes of each cluster, remembered by the cluster's key and
    worked out again when records have joined it (clusters only ever grow)."""

    def __init__(self) -> None:
        self._kept: dict[str, tuple[int, T]] = {}

    def of(self, cluster: Cluster) -> T:
        kept = self._kept.get(cluster.key)
        if kept is None or kept[0] != len(cluster.records):
            kept = self._kept[cluster.key] = (len(cluster.records), self._work_out(cluster))
        return kept[1]

    def _work_out(self, cluster: Cluster) -> T:
        raise NotImplementedError
