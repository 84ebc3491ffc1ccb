"""Audit entries for high-rate exchanges (SIP2 kiosks), written in batches off the
request's path."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from libgate.db import is_connection_failure
from libgate.privacy._audit import AuditTrail, audit_row

log = logging.getLogger("libgate.audit")


class BufferedAudit:
    """Collects entries and appends them every ``interval`` seconds in one transaction, so
    a disclosure costs its requester no database round trip. The price: entries made less
    than ``interval`` before a crash of the process are lost (``close`` writes the rest on
    an orderly stop). A write that fails because the database cannot be reached is retried
    with the next batch; only if it stays unreachable for ``max_pending`` entries are the
    oldest dropped (and logged). An entry the database refuses is dropped and logged alone."""

    def __init__(self, trail: AuditTrail, *, interval: float = 0.05, max_pending: int = 100_000):
        self._trail = trail
        self._interval = interval
        self._max_pending = max_pending
        self._pending: list[dict[str, Any]] = []
        self._writer: asyncio.Task[None] | None = None
        self._closing = asyncio.Event()

    def add(self, event: str, **fields: Any) -> None:
        self._pending.append(audit_row(event, **fields))
        if self._writer is None:
            self._writer = asyncio.get_running_loop().create_task(self._write_forever())

    async def flush(self) -> None:
        rows, self._pending = self._pending, []
        try:
            await self._trail.record_rows(rows)
        except Exception as exc:
            if not is_connection_failure(exc):
                # The database refused something in the batch: one entry it cannot take
                # must not hold back all the others, now and at every retry.
                rows = await self._one_at_a_time(rows)
            if rows:
                self._keep(rows)
                raise

    async def _one_at_a_time(self, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Write ``rows`` one by one, dropping (and logging) each the database refuses;
        those still to write if it cannot be reached meanwhile."""
        for index, row in enumerate(rows):
            try:
                await self._trail.record_rows([row])
            except Exception as exc:
                if is_connection_failure(exc):
                    return rows[index:]
                log.error(
                    "audit entry refused by the database",
                    extra={"event": row.get("event"), "error": type(exc).__name__},
                )
        return []

    def _keep(self, rows: list[dict[str, Any]]) -> None:
        # For the next attempt (the database may be restarting), within bounds.
        kept = rows + self._pending
        if len(kept) > self._max_pending:
            log.error("audit entries dropped", extra={"dropped": len(kept) - self._max_pending})
        self._pending = kept[-self._max_pending :]

    async def _write_forever(self) -> None:
        while not self._closing.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._closing.wait(), self._interval)
            try:
                await self.flush()
            except Exception:
                log.exception("audit entries not written yet; retrying")

    async def close(self) -> None:
        """Write what is pending and stop. A batch being written is finished, not cut off:
        cancelled half-way, its transaction could keep SQLite's write lock from the last."""
        self._closing.set()
        if self._writer is not None:
            await self._writer
            self._writer = None
        await self.flush()
