from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from sqlalchemy import bindparam, delete, func, insert, select, update

from libgate.config import ThrottleSettings
from libgate.db import Database, Row, Unit
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


# Statements built once: units of work compile each statement once (see libgate.db).
_ACTIVE_LOCKOUT = (
    select(lockouts)
    .where(
        lockouts.c.key.in_([bindparam("card_key"), bindparam("ip_key")]),
        lockouts.c.until > bindparam("now"),
    )
    .order_by(lockouts.c.until.desc())
    .limit(1)
)
_FAILURE = insert(pin_failures)
_RECENT_FAILURES = (
    select(func.count())
    .select_from(pin_failures)
    .where(pin_failures.c.key == bindparam("failed_key"), pin_failures.c.at > bindparam("since"))
)
_LOCKOUT_FOR_UPDATE = (
    select(lockouts).where(lockouts.c.key == bindparam("lock_key")).with_for_update()
)
_RENEW_LOCKOUT = (
    update(lockouts)
    .where(lockouts.c.key == bindparam("lock_key"))
    .values(until=bindparam("new_until"), level=bindparam("new_level"), created_at=bindparam("now"))
)
_NEW_LOCKOUT = insert(lockouts)
_FORGET_FAILURES = delete(pin_failures).where(pin_failures.c.key == bindparam("forget_key"))


def _lockout(row: Row) -> Lockout:
    return Lockout(row["key"], row["until"], row["level"], row["until"] - row["created_at"])


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

    async def active_lockout(self, card: str, ip: str) -> Lockout | None:
        """The lockout, on the card or on the address, that ends last."""
        async with self._database.unit(atomic=False) as unit:
            row = await unit.row(
                _ACTIVE_LOCKOUT,
                {"card_key": card_key(card), "ip_key": ip_key(ip), "now": self._clock()},
            )
        return None if row is None else _lockout(row)

    async def record_failure(self, unit: Unit, keys: Sequence[str]) -> list[Lockout]:
        """Count one failure against each key; return the lockouts this failure started."""
        now = self._clock()
        window_start = now - self._settings.window_seconds
        started: list[Lockout] = []
        for key in keys:
            await unit.run(_FAILURE, {"key": key, "at": now})
            failures = await unit.scalar(
                _RECENT_FAILURES, {"failed_key": key, "since": window_start}
            )
            if (failures or 0) >= self._limit(key):
                started.append(await self._lock(unit, key, now))
        return started

    async def _lock(self, unit: Unit, key: str, now: float) -> Lockout:
        previous = await unit.row(_LOCKOUT_FOR_UPDATE, {"lock_key": key})
        # A repeat offence soon after the last lockout doubles the wait.
        repeat = previous is not None and now - previous["until"] < _REPEAT_WINDOW
        level = previous["level"] + 1 if previous is not None and repeat else 0
        duration = min(
            self._settings.lockout_seconds * 2**level, self._settings.max_lockout_seconds
        )
        until = now + duration
        if previous is not None:
            await unit.run(
                _RENEW_LOCKOUT,
                {"lock_key": key, "new_until": until, "new_level": level, "now": now},
            )
        else:
            await unit.run(
                _NEW_LOCKOUT, {"key": key, "until": until, "level": level, "created_at": now}
            )
        # The lockout now speaks for these failures; counting restarts after it.
        await self.forget_failures(unit, key)
        return Lockout(key, until, level, duration)

    async def forget_failures(self, unit: Unit, key: str) -> None:
        """A right PIN wipes the card's recent failures (not its lockout history)."""
        await unit.run(_FORGET_FAILURES, {"forget_key": key})

    async def list_active(self) -> list[Lockout]:
        async with self._database.read() as connection:
            rows = (
                await connection.execute(
                    select(lockouts)
                    .where(lockouts.c.until > self._clock())
                    .order_by(lockouts.c.until)
                )
            ).all()
        return [_lockout(r._mapping) for r in rows]

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
