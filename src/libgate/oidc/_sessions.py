from __future__ import annotations

import hashlib
import secrets
import time
from dataclasses import dataclass

from sqlalchemy import bindparam, delete, insert, select, update

from libgate.config import SessionSettings
from libgate.db import Database, Unit
from libgate.db.tables import browser_sessions

# The idle timer is refreshed at most this often, sparing a write on every page.
_TOUCH_SECONDS = 60

_NEW_SESSION = insert(browser_sessions)
_SESSION = select(browser_sessions).where(browser_sessions.c.id_hash == bindparam("cookie_hash"))
_END_SESSION = delete(browser_sessions).where(
    browser_sessions.c.id_hash == bindparam("cookie_hash")
)
_TOUCH_SESSION = (
    update(browser_sessions)
    .where(browser_sessions.c.id_hash == bindparam("cookie_hash"))
    .values(last_seen=bindparam("seen_at"))
)


def _hash(cookie_value: str) -> str:
    return hashlib.sha256(cookie_value.encode()).hexdigest()


@dataclass(frozen=True)
class BrowserSession:
    sid: str
    card: str
    auth_time: float


class SessionStore:
    """Signed-in browsers. The cookie holds a random value; the database only its hash."""

    def __init__(self, database: Database, settings: SessionSettings) -> None:
        self._database = database
        self._settings = settings

    async def create(self, unit: Unit, card: str) -> tuple[str, BrowserSession]:
        """A new session for ``card``, in the caller's transaction; returns the cookie value."""
        cookie_value = secrets.token_urlsafe(32)
        now = time.time()
        session = BrowserSession(sid=secrets.token_urlsafe(16), card=card, auth_time=now)
        await unit.run(
            _NEW_SESSION,
            {
                "id_hash": _hash(cookie_value),
                "sid": session.sid,
                "card": card,
                "auth_time": now,
                "last_seen": now,
                "expires_at": now + self._settings.absolute_timeout,
            },
        )
        return cookie_value, session

    async def get(self, cookie_value: str | None) -> BrowserSession | None:
        """The live session behind a cookie, refreshing its idle timer; None when absent,
        idle too long or past its absolute lifetime."""
        if not cookie_value:
            return None
        now = time.time()
        id_hash = _hash(cookie_value)
        async with self._database.unit(atomic=False) as unit:
            row = await unit.row(_SESSION, {"cookie_hash": id_hash})
            if row is None:
                return None
            last_seen = row["last_seen"]
            expired = row["expires_at"] < now or last_seen + self._settings.idle_timeout < now
            if expired:
                await unit.run(_END_SESSION, {"cookie_hash": id_hash})
                return None
            if now - last_seen > _TOUCH_SECONDS:
                await unit.run(_TOUCH_SESSION, {"cookie_hash": id_hash, "seen_at": now})
        return BrowserSession(sid=row["sid"], card=row["card"], auth_time=row["auth_time"])

    async def end(self, *, cookie_value: str | None = None, sid: str | None = None) -> str | None:
        """End a session by cookie or by sid; returns the card it belonged to."""
        condition = (
            browser_sessions.c.id_hash == _hash(cookie_value)
            if cookie_value
            else browser_sessions.c.sid == sid
        )
        async with self._database.transaction() as connection:
            card = await connection.scalar(select(browser_sessions.c.card).where(condition))
            await connection.execute(delete(browser_sessions).where(condition))
        return card

    async def purge_expired(self) -> None:
        now = time.time()
        async with self._database.transaction() as connection:
            await connection.execute(
                delete(browser_sessions).where(
                    (browser_sessions.c.expires_at < now)
                    | (browser_sessions.c.last_seen < now - self._settings.idle_timeout)
                )
            )
