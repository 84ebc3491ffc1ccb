"""libgate's own catalogue index as a search target. SQLite blocks, so each search runs in
a worker thread (with that thread's own connection) and the event loop stays free."""

from __future__ import annotations

import asyncio
import sqlite3

from libgate.config import TargetSettings
from libgate.search._model import TargetAnswer, TargetError
from libgate.search.index import LocalIndex
from libgate.search.query import Query

_EMPTY = "the library's catalogue index is empty: import records with libgate catalogue import"


class LocalTarget:
    """Searches ``index``; its records come back with this target's ``name`` as source."""

    def __init__(self, name: str, settings: TargetSettings, index: LocalIndex) -> None:
        self.name = name
        self.settings = settings
        self._index = index

    async def search(self, query: Query, *, limit: int) -> TargetAnswer:
        try:
            hits, records = await asyncio.to_thread(
                self._index.search, query, limit=limit, source=self.name
            )
            empty = hits == 0 and await asyncio.to_thread(self._index.count) == 0
        except sqlite3.Error as exc:
            raise TargetError(
                f"the catalogue index {self._index.path} could not be searched ({exc})"
            ) from None
        return TargetAnswer(
            hits=hits, records=tuple(records), diagnostics=(_EMPTY,) if empty else ()
        )

    async def aclose(self) -> None:
        await asyncio.to_thread(self._index.close)
