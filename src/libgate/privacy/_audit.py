from __future__ import annotations

import hashlib
import json
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from libgate.db import Database
from libgate.db.tables import audit_head, audit_log

GENESIS = "0" * 64
_HEAD_ID = 1
# Words that must never be written into the audit trail, whatever a caller passes.
_FORBIDDEN_DETAIL_KEYS = frozenset({"pin", "password", "secret", "client_secret", "code"})


@dataclass(frozen=True)
class AuditEntry:
    seq: int
    at: float
    event: str
    patron_ref: str | None
    client_id: str | None
    ip: str | None
    detail_text: str
    prev_hash: str
    hash: str

    @property
    def detail(self) -> dict[str, Any]:
        parsed: dict[str, Any] = json.loads(self.detail_text)
        return parsed


@dataclass(frozen=True)
class ChainBreak:
    """Where verification failed: the first entry whose link or content does not check out."""

    seq: int
    reason: str


def _entry_hash(
    prev_hash: str,
    seq: int,
    at: float,
    event: str,
    patron_ref: str | None,
    client_id: str | None,
    ip: str | None,
    detail: str,
) -> str:
    canonical = json.dumps(
        [prev_hash, seq, repr(at), event, patron_ref, client_id, ip, detail],
        separators=(",", ":"),
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


class AuditTrail:
    """Append-only, hash-chained record of sign-ins, tokens, disclosures and consents.

    Appends happen inside the caller's transaction, so an event is recorded if and only if
    what it describes was committed. The chain head row serialises appenders across
    processes.
    """

    def __init__(self, database: Database) -> None:
        self._database = database

    async def record(
        self,
        connection: AsyncConnection,
        event: str,
        *,
        patron_ref: str | None = None,
        client_id: str | None = None,
        ip: str | None = None,
        **detail: Any,
    ) -> int:
        leaked = _FORBIDDEN_DETAIL_KEYS.intersection(detail)
        if leaked:
            raise ValueError(f"audit detail may not carry {sorted(leaked)}")
        detail_text = json.dumps(detail, sort_keys=True, separators=(",", ":"))
        head = await self._lock_head(connection)
        if head is None:  # the very first entry: two writers may race to create the head
            try:
                async with connection.begin_nested():
                    await connection.execute(
                        insert(audit_head).values(id=_HEAD_ID, seq=0, hash=GENESIS)
                    )
            except IntegrityError:
                pass
            head = await self._lock_head(connection)
            assert head is not None
        prev_seq: int = head.seq
        prev_hash: str = head.hash
        seq = prev_seq + 1
        at = time.time()
        digest = _entry_hash(prev_hash, seq, at, event, patron_ref, client_id, ip, detail_text)
        await connection.execute(
            insert(audit_log).values(
                seq=seq,
                at=at,
                event=event,
                patron_ref=patron_ref,
                client_id=client_id,
                ip=ip,
                detail=detail_text,
                prev_hash=prev_hash,
                hash=digest,
            )
        )
        await connection.execute(
            update(audit_head).where(audit_head.c.id == _HEAD_ID).values(seq=seq, hash=digest)
        )
        return seq

    @staticmethod
    async def _lock_head(connection: AsyncConnection) -> Any:
        return (
            await connection.execute(
                select(audit_head.c.seq, audit_head.c.hash)
                .where(audit_head.c.id == _HEAD_ID)
                .with_for_update()
            )
        ).first()

    async def entries(self, *, batch: int = 5000) -> AsyncIterator[AuditEntry]:
        last = 0
        while True:
            async with self._database.read() as connection:
                rows = (
                    await connection.execute(
                        select(audit_log)
                        .where(audit_log.c.seq > last)
                        .order_by(audit_log.c.seq)
                        .limit(batch)
                    )
                ).all()
            if not rows:
                return
            for row in rows:
                yield AuditEntry(
                    seq=row.seq,
                    at=row.at,
                    event=row.event,
                    patron_ref=row.patron_ref,
                    client_id=row.client_id,
                    ip=row.ip,
                    detail_text=row.detail,
                    prev_hash=row.prev_hash,
                    hash=row.hash,
                )
                last = row.seq

    async def verify(self) -> tuple[int, ChainBreak | None]:
        """Walk the chain from the start; return how many entries checked out and the first
        break, if any. A deleted entry shows as a gap; an edited one as a hash mismatch; a
        deleted last entry as a head that points past the end. Entries appended while the
        check runs are left for the next check."""
        async with self._database.read() as connection:
            head = (await connection.execute(select(audit_head))).first()
        head_seq, head_hash = (head.seq, head.hash) if head else (0, GENESIS)
        expected_prev, expected_seq, count = GENESIS, 1, 0
        async for entry in self.entries():
            if entry.seq > head_seq:
                break
            if entry.seq != expected_seq:
                return count, ChainBreak(expected_seq, "entry missing (deleted)")
            if entry.prev_hash != expected_prev:
                return count, ChainBreak(entry.seq, "does not link to the entry before it")
            recomputed = _entry_hash(
                entry.prev_hash,
                entry.seq,
                entry.at,
                entry.event,
                entry.patron_ref,
                entry.client_id,
                entry.ip,
                entry.detail_text,
            )
            if recomputed != entry.hash:
                return count, ChainBreak(entry.seq, "content changed after it was written")
            expected_prev, expected_seq, count = entry.hash, entry.seq + 1, count + 1
        if head_seq != count or head_hash != expected_prev:
            return count, ChainBreak(count + 1, "entry missing (deleted from the end)")
        return count, None
