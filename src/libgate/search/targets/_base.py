"""What every search target offers: one method wide, so SRU, Z39.50, the local index and
JSON services sit behind the same seam."""

from __future__ import annotations

from typing import Protocol

from libgate.search._model import TargetAnswer
from libgate.search.query import Query


class Target(Protocol):
    async def search(self, query: Query, *, limit: int) -> TargetAnswer:
        """Up to ``limit`` records for ``query``. Raises TargetError in plain words, or
        TimeoutError when the target is too slow."""
        ...

    async def aclose(self) -> None: ...
