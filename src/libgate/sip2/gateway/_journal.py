"""Offline lending: while the LMS is down, kiosks allowed to keep lending have their
checkouts (11) and checkins (09) accepted, written to the database, and replayed in order
once the LMS answers again.

Each journaled transaction is sent to the LMS at most once. It is marked ``sending`` (and
committed) before it goes and ``applied`` or ``failed`` when the LMS has answered; one that
libgate stopped in the middle of sending is left as ``uncertain`` for staff to check in the
LMS, rather than risk lending or returning a book twice.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import fcntl
import os
import secrets
import time
from collections.abc import AsyncIterator, Collection, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import delete, func, insert, select, text, update

from libgate.db import Database
from libgate.db.tables import sip2_journal
from libgate.sip2._codec import Message, decode, encode, sip2_datetime
from libgate.sip2._connection import LmsError, LmsLoginRefused, LmsNotReached
from libgate.sip2._fields import SECRET_FIELDS
from libgate.sip2._pool import LmsPool

_LOAN_DAYS = 14
# Applied transactions are in the LMS by then; the journal's copy of who borrowed what goes.
KEEP_APPLIED_SECONDS = 30 * 86_400
_OFFLINE_NOTE = "Offline: recorded, and sent to the library system when it is back."
# Names "the journal replayer" among PostgreSQL advisory locks (any constant would do).
_REPLAY_LOCK = 5_192_002


class OfflineRefusal(Exception):
    """The transaction cannot be accepted offline; the message is for the resident."""


@dataclass(frozen=True)
class JournalEntry:
    id: int
    idempotency_key: str
    vendor: str
    code: str
    card: str
    item: str
    state: str
    created_at: float
    replayed_at: float | None
    outcome: str | None
    message: str


def _entry(row: Any) -> JournalEntry:
    return JournalEntry(
        row.id,
        row.idempotency_key,
        row.vendor,
        row.code,
        row.card,
        row.item,
        row.state,
        row.created_at,
        row.replayed_at,
        row.outcome,
        row.message,
    )


class Journal:
    """``terminal_password``: libgate's own (``[lms] terminal_password``), sent in the
    terminal password field (AC) of replayed transactions in place of the kiosk's."""

    def __init__(self, database: Database, *, terminal_password: str = "") -> None:
        self._database = database
        self._terminal_password = terminal_password
        self._replaying = asyncio.Lock()

    async def accept(self, vendor: str, request: Message, *, loans_per_patron: int) -> Message:
        """Journal a checkout or checkin and answer it as the LMS would have; a checkout
        only while the card has fewer than ``loans_per_patron`` waiting."""
        card = request.get("AA") or ""
        item = request.get("AB") or ""
        if not item or (request.code == "11" and not card):
            raise OfflineRefusal("Offline: this needs a card and an item.")
        # No secret is stored: the PIN (dropped) could not be checked offline anyway, and
        # the terminal password (emptied: the field is required) is libgate's at replay.
        kept = request.with_fields(
            [(c, "" if c in SECRET_FIELDS else v) for c, v in request.fields if c != "AD"]
        )
        message = encode(kept.with_error_detection(None), encoding="utf-8").decode("utf-8")
        async with self._database.transaction() as connection:
            if request.code == "11":
                # One kiosk at a time per card, or two could both see room for a loan.
                await self._database.one_at_a_time(connection, [f"offline loans {card}"])
                pending = await connection.scalar(
                    select(func.count())
                    .select_from(sip2_journal)
                    .where(
                        sip2_journal.c.card == card,
                        sip2_journal.c.code == "11",
                        sip2_journal.c.state == "pending",
                    )
                )
                if (pending or 0) >= loans_per_patron:
                    raise OfflineRefusal("Offline: no more loans on this card until we are back.")
            await connection.execute(
                insert(sip2_journal).values(
                    idempotency_key=secrets.token_hex(16),
                    vendor=vendor,
                    code=request.code,
                    message=message,
                    card=card,
                    item=item,
                    state="pending",
                    created_at=time.time(),
                )
            )
        return _offline_answer(request)

    async def waiting_for(self, card: str, item: str) -> bool:
        """Whether transactions journaled for this card or item are still to reach the LMS:
        a new one for them must go behind, or the LMS would see them out of order."""
        mentions = sip2_journal.c.item == item
        if card:
            mentions = mentions | (sip2_journal.c.card == card)
        async with self._database.read() as connection:
            found = await connection.scalar(
                select(sip2_journal.c.id)
                .where(sip2_journal.c.state.in_(("pending", "sending")), mentions)
                .limit(1)
            )
        return found is not None

    async def replay(self, lms: LmsPool) -> int:
        """Send pending transactions to the LMS, oldest first, until none are left or the
        LMS stops answering; returns how many were sent. Only one replayer runs at a time
        across every libgate instance."""
        sent = 0
        async with self._exclusive() as mine:
            if not mine:
                return 0
            await self._mark_interrupted()
            while True:
                entry = await self._claim_next()
                if entry is None:
                    return sent
                try:
                    answer = await lms.exchange(_replayable(entry, self._terminal_password))
                except (LmsNotReached, LmsLoginRefused):
                    await self._set_state(entry.id, "pending", None)  # never left: try again
                    return sent
                except LmsError as exc:
                    # It left, but no answer came back: it may or may not have been applied.
                    await self._set_state(entry.id, "uncertain", str(exc))
                    return sent
                applied = answer.fixed_value("ok") == "1"
                outcome = "; ".join(answer.get_all("AF")) or None
                await self._set_state(entry.id, "applied" if applied else "failed", outcome)
                sent += 1

    async def resolve(self, entry_ids: Collection[int]) -> list[int]:
        """Mark failed or uncertain transactions as put right by hand in the LMS, to be
        forgotten as applied ones are; returns the ids so marked (others are left as
        they are: pending ones will still be sent)."""
        async with self._database.transaction() as connection:
            marked = await connection.execute(
                update(sip2_journal)
                .where(
                    sip2_journal.c.id.in_(list(entry_ids)),
                    sip2_journal.c.state.in_(("failed", "uncertain")),
                )
                # replayed_at: when it was settled, which the purge counts from.
                .values(state="resolved", replayed_at=time.time())
                .returning(sip2_journal.c.id)
            )
            return sorted(marked.scalars())

    async def purge_applied(self, older_than: float = KEEP_APPLIED_SECONDS) -> None:
        """Forget transactions applied or resolved more than ``older_than`` seconds ago.
        Failed and uncertain ones stay until staff have resolved them."""
        async with self._database.transaction() as connection:
            await connection.execute(
                delete(sip2_journal).where(
                    sip2_journal.c.state.in_(("applied", "resolved")),
                    sip2_journal.c.replayed_at < time.time() - older_than,
                )
            )

    async def entries(self, states: tuple[str, ...] | None = None) -> list[JournalEntry]:
        query = select(sip2_journal).order_by(sip2_journal.c.id)
        if states:
            query = query.where(sip2_journal.c.state.in_(states))
        async with self._database.read() as connection:
            rows = (await connection.execute(query)).all()
        return [_entry(r) for r in rows]

    @asynccontextmanager
    async def _exclusive(self) -> AsyncIterator[bool]:
        if self._replaying.locked():
            yield False
            return
        async with self._replaying:
            if self._database.is_sqlite:
                with _locked_beside(self._database.sqlite_file) as got:
                    yield got
                return
            async with self._database.engine.connect() as connection:
                got = await connection.scalar(text(f"SELECT pg_try_advisory_lock({_REPLAY_LOCK})"))
                try:
                    yield bool(got)
                finally:
                    if got:
                        await connection.execute(text(f"SELECT pg_advisory_unlock({_REPLAY_LOCK})"))
                        await connection.commit()

    async def _mark_interrupted(self) -> None:
        """Entries left ``sending`` by a replayer that stopped mid-way: the LMS may or may
        not have applied them, so a person decides."""
        async with self._database.transaction() as connection:
            await connection.execute(
                update(sip2_journal)
                .where(sip2_journal.c.state == "sending")
                .values(state="uncertain", outcome="libgate stopped while sending this")
            )

    async def _claim_next(self) -> JournalEntry | None:
        async with self._database.transaction() as connection:
            row = (
                await connection.execute(
                    select(sip2_journal)
                    .where(sip2_journal.c.state == "pending")
                    .order_by(sip2_journal.c.id)
                    .limit(1)
                )
            ).first()
            if row is None:
                return None
            await connection.execute(
                update(sip2_journal).where(sip2_journal.c.id == row.id).values(state="sending")
            )
        return _entry(row)

    async def _set_state(self, entry_id: int, state: str, outcome: str | None) -> None:
        async with self._database.transaction() as connection:
            await connection.execute(
                update(sip2_journal)
                .where(sip2_journal.c.id == entry_id)
                .values(state=state, outcome=outcome, replayed_at=time.time())
            )


def _replayable(entry: JournalEntry, terminal_password: str) -> Message:
    """The journaled message, marked "no block" (SIP2's flag for a transaction the kiosk
    already completed offline, which the LMS must accept), dated when it happened, with
    libgate's terminal password."""
    message = decode(entry.message.encode("utf-8"), encoding="utf-8")
    happened = sip2_datetime(dt.datetime.fromtimestamp(entry.created_at, dt.UTC))
    message = message.with_fields(
        [(c, terminal_password if c == "AC" else v) for c, v in message.fields]
    )
    return message.with_fixed(no_block="Y", transaction_date=happened)


def _offline_answer(request: Message) -> Message:
    if request.code == "11":
        due = sip2_datetime(dt.datetime.now(dt.UTC) + dt.timedelta(days=_LOAN_DAYS))
        return Message.build(
            "12",
            {"ok": "1", "renewal_ok": "N", "magnetic_media": "U", "desensitize": "Y"},
            [
                ("AO", request.get("AO") or ""),
                ("AA", request.get("AA") or ""),
                ("AB", request.get("AB") or ""),
                ("AJ", ""),
                ("AH", due),
                ("AF", _OFFLINE_NOTE),
            ],
        )
    return Message.build(
        "10",
        {"ok": "1", "resensitize": "Y", "magnetic_media": "U", "alert": "N"},
        [
            ("AO", request.get("AO") or ""),
            ("AB", request.get("AB") or ""),
            ("AQ", ""),
            ("AF", _OFFLINE_NOTE),
        ],
    )


@contextmanager
def _locked_beside(database_file: Path | None) -> Iterator[bool]:
    """Whether this process holds the replayer's lock for a SQLite database: a lock on a
    file beside it, which every process on that file sees, and the system lets go of
    should the process die. (An in-memory database has one process.)"""
    if database_file is None:
        yield True
        return
    # Opened for reading only: a lock needs no more, whoever created the file.
    handle = os.open(f"{database_file}.replay-lock", os.O_RDONLY | os.O_CREAT, 0o666)
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        yield True  # closing the file lets go of the lock
    finally:
        os.close(handle)
