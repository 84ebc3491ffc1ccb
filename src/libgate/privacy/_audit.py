from __future__ import annotations

import datetime as dt
import json
import logging
import time
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, nullcontext
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from libgate.db import Database, Unit, as_unit
from libgate.db.tables import AUDIT_CLIENT_ID_LENGTH, AUDIT_IP_LENGTH, audit_head, audit_log
from libgate.privacy._audit_filter import AuditFilter
from libgate.privacy._sealing import Seal, chain_hash, write_seals

log = logging.getLogger("libgate.audit")

GENESIS = "0" * 64
_HEAD_ID = 1
_APPEND = insert(audit_log)  # built once: appends are on every request's path
_BATCH = 5000
_NEWEST_SEALED = select(func.max(audit_log.c.seq))  # by the seq index, not a scan
# Words that must never be written into the audit trail, whatever a caller passes.
_FORBIDDEN_DETAIL_KEYS = frozenset({"pin", "password", "secret", "client_secret", "code"})
_EVERY_ENTRY = AuditFilter()
# Built once: json.dumps with any option set makes a new encoder at every call, and every
# entry's detail is written through it.
_DETAIL_JSON = json.JSONEncoder(sort_keys=True, separators=(",", ":"))


def _detail_text(detail: dict[str, Any]) -> str:
    """How an entry's detail is stored and hashed: one canonical JSON text."""
    return _DETAIL_JSON.encode(detail)


@dataclass(frozen=True)
class AuditEntry:
    id: int
    seq: int | None
    at: float
    event: str
    patron_ref: str | None
    client_id: str | None
    ip: str | None
    detail_text: str
    prev_hash: str | None
    hash: str | None

    @property
    def detail(self) -> dict[str, Any]:
        parsed: dict[str, Any] = json.loads(self.detail_text)
        return parsed

    @property
    def sealed(self) -> bool:
        """Chained yet: entries are sealed about a second after they are written."""
        return self.hash is not None

    @property
    def when(self) -> dt.datetime:
        return dt.datetime.fromtimestamp(self.at, dt.UTC)

    def as_record(self) -> dict[str, Any]:
        """The entry for export as JSON: everything its hash covers (``at`` exactly as
        stored), so that a copy can be checked against the chain; ``time`` is for people."""
        return {
            "id": self.id,
            "seq": self.seq,
            "sealed": self.sealed,
            "at": self.at,
            "time": self.when.isoformat(timespec="seconds"),
            "event": self.event,
            "patron_ref": self.patron_ref,
            "client_id": self.client_id,
            "ip": self.ip,
            "detail": self.detail,
            "prev_hash": self.prev_hash,
            "hash": self.hash,
        }

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> AuditEntry:
        """An entry read back from :meth:`as_record`, to check an export's hashes."""
        return cls(
            id=record["id"],
            seq=record["seq"],
            at=record["at"],
            event=record["event"],
            patron_ref=record["patron_ref"],
            client_id=record["client_id"],
            ip=record["ip"],
            detail_text=_detail_text(record["detail"]),
            prev_hash=record["prev_hash"],
            hash=record["hash"],
        )

    def expected_hash(self, seq: int, prev_hash: str) -> str:
        """The hash this entry holds when sealed at ``seq`` after an entry hashing to
        ``prev_hash``."""
        return chain_hash(
            prev_hash,
            seq,
            self.at,
            self.event,
            self.patron_ref,
            self.client_id,
            self.ip,
            self.detail_text,
        )


@dataclass(frozen=True)
class ChainBreak:
    """Where verification failed: the first entry whose link or content does not check out,
    or (``seq`` None) the head, the record of the newest sealed entry."""

    seq: int | None
    reason: str

    @property
    def where(self) -> str:
        return "the head" if self.seq is None else f"entry {self.seq}"


@dataclass(frozen=True)
class Verification:
    """What ``verify`` found: how many entries checked out, the first break if any, and
    the head it checked them against (seq 0 and :data:`GENESIS` before the first seal)."""

    count: int
    broken: ChainBreak | None
    head_seq: int
    head_hash: str


class _ChainWalk:
    """Follows sealed entries in seq order against the head read with them: each must come
    next in the chain, link to the one before it, hash to what it holds, and lie within the
    head. Anything else sealed was forged, or the head moved."""

    def __init__(self, head: Any) -> None:
        self.head = head
        self.count = 0
        self.last_hash = GENESIS

    def check(self, entry: AuditEntry) -> ChainBreak | None:
        assert entry.seq is not None
        expected_seq = self.count + 1
        if entry.seq < 1:
            return ChainBreak(entry.seq, "numbered outside the chain (added by hand)")
        if self.head is not None and entry.seq > self.head.seq:
            return ChainBreak(entry.seq, "sealed after the head (added by hand, or head moved)")
        if entry.seq != expected_seq:
            return ChainBreak(expected_seq, "entry missing (deleted)")
        if entry.prev_hash != self.last_hash:
            return ChainBreak(entry.seq, "does not link to the entry before it")
        if entry.expected_hash(entry.seq, self.last_hash) != entry.hash:
            return ChainBreak(entry.seq, "content changed after it was written")
        self.count, self.last_hash = entry.seq, entry.hash
        return None

    def finish(self) -> ChainBreak | None:
        """What is wrong with the head, once every sealed entry checked out."""
        if self.head is None:
            # Only sealing creates the head, before it seals anything, and never deletes it.
            return ChainBreak(None, "missing (deleted)") if self.count else None
        if self.head.seq != self.count:  # entries past the head were caught in ``check``
            return ChainBreak(self.count + 1, "entry missing (deleted from the end)")
        if self.head.hash != self.last_hash:
            return ChainBreak(None, "does not match the newest entry (head rewritten)")
        return None

    def result(self, broken: ChainBreak | None) -> Verification:
        head_seq, head_hash = (self.head.seq, self.head.hash) if self.head else (0, GENESIS)
        return Verification(self.count, broken, head_seq, head_hash)


def _entry(row: Any) -> AuditEntry:
    return AuditEntry(
        id=row.id,
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


def audit_row(
    event: str,
    *,
    patron_ref: str | None = None,
    client_id: str | None = None,
    ip: str | None = None,
    **detail: Any,
) -> dict[str, Any]:
    """An audit entry as it is stored (before sealing), timestamped now."""
    leaked = _FORBIDDEN_DETAIL_KEYS.intersection(detail)
    if leaked:
        raise ValueError(f"audit detail may not carry {sorted(leaked)}")
    return {
        "at": time.time(),
        "event": event,
        "patron_ref": patron_ref,
        # Who and where can come from the other side (a login tried at the gateway): cut
        # to what their columns hold, or one entry too long would fail its whole batch.
        "client_id": None if client_id is None else client_id[:AUDIT_CLIENT_ID_LENGTH],
        "ip": None if ip is None else ip[:AUDIT_IP_LENGTH],
        "detail": _detail_text(detail),
    }


class AuditTrail:
    """Append-only, hash-chained record of sign-ins, tokens, disclosures and consents.

    Appending is one INSERT inside the caller's transaction, so an event is recorded if and
    only if what it describes was committed, and appenders never wait for each other. The
    sealer (run every second by each instance, and by ``audit verify``) then chains new
    entries in the order they were written: each sealed entry holds the hash of the one
    before it.
    """

    def __init__(self, database: Database) -> None:
        self._database = database

    async def record(
        self,
        connection: Unit | AsyncConnection,
        event: str,
        *,
        patron_ref: str | None = None,
        client_id: str | None = None,
        ip: str | None = None,
        **detail: Any,
    ) -> None:
        await as_unit(connection).run(
            _APPEND, audit_row(event, patron_ref=patron_ref, client_id=client_id, ip=ip, **detail)
        )

    async def record_rows(self, rows: list[dict[str, Any]]) -> None:
        """Append rows made by :func:`audit_row`, in one transaction of their own."""
        if rows:
            async with self._database.unit() as unit:
                await unit.run_many(_APPEND, rows)

    async def seal(self) -> int:
        """Chain every entry not yet sealed; return how many this call sealed. When another
        instance is sealing at the same moment this one leaves the work to it."""
        sealed = 0
        while True:
            async with self._database.transaction() as connection:
                head = await self._lock_head(connection)
                if head is None or not await self._head_is_newest(connection, head.seq):
                    return sealed
                rows = (
                    await connection.execute(
                        select(audit_log)
                        .where(audit_log.c.seq.is_(None))
                        .order_by(audit_log.c.id)
                        .limit(_BATCH)
                    )
                ).all()
                if not rows:
                    return sealed
                seq: int = head.seq
                prev_hash: str = head.hash
                seals: list[Seal] = []
                for row in rows:
                    seq += 1
                    digest = chain_hash(
                        prev_hash,
                        seq,
                        row.at,
                        row.event,
                        row.patron_ref,
                        row.client_id,
                        row.ip,
                        row.detail,
                    )
                    seals.append((row.id, seq, prev_hash, digest))
                    prev_hash = digest
                await write_seals(connection, seals, postgres=not self._database.is_sqlite)
                await connection.execute(
                    update(audit_head)
                    .where(audit_head.c.id == _HEAD_ID)
                    .values(seq=seq, hash=prev_hash)
                )
            sealed += len(rows)
            if len(rows) < _BATCH:
                return sealed

    @staticmethod
    async def _lock_head(connection: AsyncConnection) -> Any:
        """The chain head, locked for this transaction; None when another sealer holds it."""
        query = (
            select(audit_head.c.seq, audit_head.c.hash)
            .where(audit_head.c.id == _HEAD_ID)
            .with_for_update(skip_locked=True)
        )
        head = (await connection.execute(query)).first()
        if head is not None:
            return head
        if await connection.scalar(select(audit_head.c.id).where(audit_head.c.id == _HEAD_ID)):
            return None
        newest = await connection.scalar(_NEWEST_SEALED)
        if newest is not None:
            # A new head at 0 would reseal from 1 over the sealed entries and hide the
            # deletion: leave entries unsealed until people have looked (audit verify).
            log.error(
                "audit entries not sealed: the chain's head is missing", extra={"newest": newest}
            )
            return None
        try:  # the very first seal creates the head; two instances may race to
            async with connection.begin_nested():
                await connection.execute(
                    insert(audit_head).values(id=_HEAD_ID, seq=0, hash=GENESIS)
                )
        except IntegrityError:
            return None
        return (await connection.execute(query)).first()

    @staticmethod
    async def _head_is_newest(connection: AsyncConnection, head_seq: int) -> bool:
        """False (and logged) when an entry is sealed past the head: sealing on would give
        its seq to another entry, so entries are left unsealed until people have looked."""
        newest: int | None = await connection.scalar(_NEWEST_SEALED)
        if newest is None or newest <= head_seq:
            return True
        log.error(
            "audit entries not sealed: an entry is sealed past the chain's head",
            extra={"head": head_seq, "newest": newest},
        )
        return False

    async def entries(self, selection: AuditFilter = _EVERY_ENTRY) -> AsyncIterator[AuditEntry]:
        """The entries ``selection`` matches (every entry by default) in the order they were
        written, sealed or not yet. Read in batches, so a long trail is never all in memory."""
        conditions = selection.conditions()
        after = 0
        if selection.newest is not None:
            after = await self._id_before_newest(conditions, selection.newest)
        read = 0
        async for entry in _in_order(self._database.read, audit_log.c.id, *conditions, after=after):
            if read == selection.newest:  # never when None
                return  # entries written since the walk began are newer than the newest N
            read += 1
            yield entry

    async def _id_before_newest(self, conditions: list[ColumnElement[bool]], newest: int) -> int:
        """The id to read after to get the ``newest`` matching entries (0: fewer match)."""
        oldest_wanted = (
            select(audit_log.c.id)
            .where(*conditions)
            .order_by(audit_log.c.id.desc())
            .offset(newest - 1)
            .limit(1)
        )
        async with self._database.read() as connection:
            found: int | None = await connection.scalar(oldest_wanted)
        return 0 if found is None else found - 1

    async def verify(self) -> Verification:
        """Seal what is pending, then walk every sealed entry in order and check the chain
        and the head against each other; return how many entries checked out and the first
        break, if any. A deleted entry shows as a gap; an edited one as a hash mismatch; a
        deleted last entry as a head that points past the end; a forged or moved head, or
        an entry sealed outside the chain, as a break of its own. Entries sealed while the
        check runs are left for the next check: it reads one snapshot throughout."""
        await self.seal()  # never (re)creates the head while entries are sealed
        async with self._database.snapshot() as connection:
            head = (
                await connection.execute(
                    select(audit_head.c.seq, audit_head.c.hash).where(audit_head.c.id == _HEAD_ID)
                )
            ).first()
            walk = _ChainWalk(head)
            sealed = _in_order(
                lambda: nullcontext(connection),
                audit_log.c.seq,
                audit_log.c.seq.is_not(None),
            )
            async for entry in sealed:
                broken = walk.check(entry)
                if broken is not None:
                    return walk.result(broken)
        return walk.result(walk.finish())


async def _in_order(
    connect: Callable[[], AbstractAsyncContextManager[AsyncConnection]],
    order: Any,
    *conditions: ColumnElement[bool],
    after: int | None = None,
) -> AsyncIterator[AuditEntry]:
    """Entries in ``order`` (a unique column) from just after ``after`` (None: from the
    first, whatever its value), in batches, each read on a connection from ``connect``:
    a short read of its own, so no transaction stays open while the caller works through
    them, or one snapshot throughout."""
    last = after
    while True:
        query = select(audit_log).where(*conditions)
        if last is not None:
            query = query.where(order > last)
        async with connect() as connection:
            rows = (await connection.execute(query.order_by(order).limit(_BATCH))).all()
        if not rows:
            return
        for row in rows:
            yield _entry(row)
        last = getattr(rows[-1], order.key)
