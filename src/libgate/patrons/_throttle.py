from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from libgate.config import ThrottleSettings
from libgate.db import Database
from libgate.db.tables import lockouts, pin_failures

# How long after a lockout ends a new one still counts as a repeat (and doubles).
_REPEAT_WINDOW = 86_400


@dataclass(frozen=True)
class Lockout:
    key: str
    until: float
    level: int
    duration: float = 0.0

    @property
    def kind(self) -> str:
        return self.key.split(":", 1)[0]

    @property
    def subject(self) -> str:
        return self.key.split(":", 1)[1]


def _lockout(row: Any) -> Lockout:
    return Lockout(row.key, row.until, row.level, row.until - row.created_at)


def card_key(card: str) -> str:
    return f"card:{card}"


def ip_key(ip: str) -> str:
    return f"ip:{ip}"


class PinGuard:
    """Counts failed PINs per card and per client address in a sliding window and locks
    either out for a while once the limit is reached. Lockouts grow (doubling) for repeat
    offenders but are capped, so nobody can lock a resident out for good."""

    def __init__(
        self,
        database: Database,
        settings: ThrottleSettings,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._database = database
        self._settings = settings
        self._clock = clock

    def _limit(self, key: str) -> int:
        if key.startswith("card:"):
            return self._settings.max_failures_per_card
        return self._settings.max_failures_per_ip

    async def active_lockout(self, keys: Sequence[str]) -> Lockout | None:
        async with self._database.read() as connection:
            row = (
                await connection.execute(
                    select(lockouts)
                    .where(lockouts.c.key.in_(keys), lockouts.c.until > self._clock())
                    .order_by(lockouts.c.until.desc())
                    .limit(1)
                )
            ).first()
        return None if row is None else _lockout(row)

    async def record_failure(
        self, connection: AsyncConnection, keys: Sequence[str]
    ) -> list[Lockout]:
        """Count one failure against each key; return the lockouts this failure started."""
        now = self._clock()
        window_start = now - self._settings.window_seconds
        started: list[Lockout] = []
        await connection.execute(insert(pin_failures), [{"key": k, "at": now} for k in keys])
        for key in keys:
            failures = await connection.scalar(
                select(func.count())
                .select_from(pin_failures)
                .where(pin_failures.c.key == key, pin_failures.c.at > window_start)
            )
            if (failures or 0) >= self._limit(key):
                started.append(await self._lock(connection, key, now))
        return started

    async def _lock(self, connection: AsyncConnection, key: str, now: float) -> Lockout:
        previous = (
            await connection.execute(
                select(lockouts).where(lockouts.c.key == key).with_for_update()
            )
        ).first()
        # A repeat offence soon after the last lockout doubles the wait.
        level = previous.level + 1 if previous and now - previous.until < _REPEAT_WINDOW else 0
        duration = min(
            self._settings.lockout_seconds * 2**level, self._settings.max_lockout_seconds
        )
        until = now + duration
        if previous:
            await connection.execute(
                update(lockouts)
                .where(lockouts.c.key == key)
                .values(until=until, level=level, created_at=now)
            )
        else:
            await connection.execute(
                insert(lockouts).values(key=key, until=until, level=level, created_at=now)
            )
        # The lockout now speaks for these failures; counting restarts after it.
        await connection.execute(delete(pin_failures).where(pin_failures.c.key == key))
        return Lockout(key, until, level, duration)

    async def forget_failures(self, connection: AsyncConnection, key: str) -> None:
        """A right PIN wipes the card's recent failures (not its lockout history)."""
        await connection.execute(delete(pin_failures).where(pin_failures.c.key == key))

    async def list_active(self) -> list[Lockout]:
        async with self._database.read() as connection:
            rows = (
                await connection.execute(
                    select(lockouts)
                    .where(lockouts.c.until > self._clock())
                    .order_by(lockouts.c.until)
                )
            ).all()
        return [_lockout(r) for r in rows]

    async def clear(self, key: str) -> bool:
        """Lift a lockout and forget its history and failures; True when there was one."""
        async with self._database.transaction() as connection:
            removed = await connection.execute(delete(lockouts).where(lockouts.c.key == key))
            await connection.execute(delete(pin_failures).where(pin_failures.c.key == key))
        return bool(removed.rowcount)

    async def purge_expired(self) -> None:
        """Forget failures outside the window and lockouts too old to count as repeats."""
        now = self._clock()
        async with self._database.transaction() as connection:
            await connection.execute(
                delete(pin_failures).where(pin_failures.c.at < now - self._settings.window_seconds)
            )
            await connection.execute(
                delete(lockouts).where(lockouts.c.until < now - _REPEAT_WINDOW)
            )
