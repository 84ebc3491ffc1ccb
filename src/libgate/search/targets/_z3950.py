"""A catalogue searched over Z39.50 with YAZ's ZOOM API (libyaz5), records as MARC 21."""

from __future__ import annotations

import asyncio
import math
from concurrent.futures import ThreadPoolExecutor

import pymarc

from libgate.config import TargetSettings
from libgate.search._model import Record, TargetAnswer, TargetError
from libgate.search.query import Query, to_pqf
from libgate.search.records import record_from_marc
from libgate.search.targets import _yaz

DEFAULT_DATABASE = "Default"
DEFAULT_PORT = 210
YAZ_MISSING = "Z39.50 needs the YAZ library (Debian package libyaz5)"


class Z3950Target:
    """Searches one Z39.50 server. ZOOM's calls block, so each search runs in a worker
    thread of this target's own pool of ``settings.max_concurrent`` threads: that bounds
    the searches sent to it at once, and a slow target cannot take threads from others."""

    def __init__(self, name: str, settings: TargetSettings) -> None:
        self.name = name
        self.settings = settings
        self.title = settings.title or name
        address, _, database = settings.url.partition("/")
        self._host = address if ":" in address else f"{address}:{DEFAULT_PORT}"
        self._options = {
            "databaseName": database or DEFAULT_DATABASE,
            "preferredRecordSyntax": "usmarc",
            "elementSetName": "F",
            # Character set negotiation: without it servers may read the terms as Latin-1.
            "charset": "UTF-8",
            # ZOOM counts whole seconds; asyncio.timeout below holds the exact limit.
            "timeout": str(max(1, math.ceil(settings.timeout_seconds))),
        }
        if settings.username:
            self._options |= {"user": settings.username, "password": settings.password}
        self._pool = ThreadPoolExecutor(settings.max_concurrent, f"z3950-{name}")

    async def search(self, query: Query, *, limit: int) -> TargetAnswer:
        """The hit count and up to ``limit`` records for ``query``, or TargetError."""
        if not _yaz.available():
            raise TargetError(YAZ_MISSING)
        translation = to_pqf(query, self.settings.indexes)
        count = min(limit, self.settings.records)
        timeout = self.settings.timeout_seconds
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(timeout):
                # Cancelling a search still queued here withdraws it; one already running
                # ends at ZOOM's own timeout.
                hits, records, skipped = await loop.run_in_executor(
                    self._pool, self._search, translation.text, count
                )
        except TimeoutError:
            raise TargetError(f"{self.title} did not answer within {timeout:g} s") from None
        notes = list(translation.diagnostics)
        if skipped:
            notes.append(f"{skipped} of its records could not be read and were left out")
        return TargetAnswer(hits, records, tuple(notes))

    async def aclose(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)

    def _search(self, pqf: str, count: int) -> tuple[int, tuple[Record, ...], int]:
        try:
            answer = _yaz.search(self._host, self._options, pqf, count)
        except _yaz.ZoomError as exc:
            raise self._error(exc) from None
        records = [
            record
            for raw in answer.records
            if not isinstance(raw, _yaz.ZoomError) and (record := self._record(raw)) is not None
        ]
        return answer.hits, tuple(records), len(answer.records) - len(records)

    def _record(self, raw: bytes) -> Record | None:
        # pymarc reads the leader: UTF-8 when position 9 says so, else MARC-8.
        try:
            marc = pymarc.Record(data=raw, to_unicode=True, utf8_handling="replace")
            return record_from_marc(marc, source=self.name)
        # One odd record (or a converter's blind spot) must not cost the whole answer.
        except Exception:
            return None

    def _error(self, error: _yaz.ZoomError) -> TargetError:
        if error.code == _yaz.ERROR_CONNECT:
            return TargetError(f"could not connect to {self.title} ({self._host}); is it running?")
        if error.code == _yaz.ERROR_TIMEOUT:
            return TargetError(
                f"{self.title} did not answer within {self.settings.timeout_seconds:g} s"
            )
        if error.code == _yaz.ERROR_CONNECTION_LOST:
            return TargetError(f"{self.title} broke off the connection before answering")
        return TargetError(f"{self.title} could not run the search: {error}")
