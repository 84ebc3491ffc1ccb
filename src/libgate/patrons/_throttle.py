from __future__ import annotations

import ipaddress
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
_FAILURE = insert(pin_failures).returning(pin_failures.c.id)
_FORGET_ONE = delete(pin_failures).where(pin_failures.c.id == bindparam("failure_id"))
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


@dataclass(frozen=True)
class Admission:
    """:meth:`PinGuard.admit`'s answer: the lockout in the way, or the failures counted
    for this attempt (one per key, by id) until its PIN has been checked."""

    refused: Lockout | None = None
    counted: tuple[int, ...] = ()
    keys: tuple[str, ...] = ()


def _lockout(row: Row) -> Lockout:
    return Lockout(row["key"], row["until"], row["level"], row["until"] - row["created_at"])


def card_key(card: str) -> str:
    return f"card:{card}"


def ip_key(ip: str) -> str:
    """The key an address's failures count against. An IPv6 address counts as its /64
    network: a home or phone is given a whole /64 and can use any address in it, so one
    address at a time would be no limit. An IPv4-mapped address counts as its IPv4."""
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return f"ip:{ip}"
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return f"ip:{address.ipv4_mapped}"
        return f"ip:{ipaddress.IPv6Network((address, 64), strict=False)}"
    return f"ip:{address}"


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

    async def admit(self, keys: Sequence[str]) -> Admission:
        """Whether a PIN may be checked for ``keys`` (the card's and the address's): not
        while either is locked out or has as many failures as allowed. The attempt counts
        as a failure at once, until :meth:`settle` says otherwise, so attempts made while
        its PIN is being checked see it: a burst of guesses at once gets no more checks
        than the limit."""
        now = self._clock()
        window_start = now - self._settings.window_seconds
        async with self._database.unit() as unit:
            await self._one_at_a_time(unit, keys)
            row = await unit.row(
                _ACTIVE_LOCKOUT, {"card_key": keys[0], "ip_key": keys[-1], "now": now}
            )
            if row is not None:
                return Admission(refused=_lockout(row))
            for key in keys:
                failures = await unit.scalar(
                    _RECENT_FAILURES, {"failed_key": key, "since": window_start}
                )
                if (failures or 0) >= self._limit(key):
                    # Attempts still being checked have used up the allowance: their
                    # failures will start the lockout.
                    until = now + self._settings.lockout_seconds
                    return Admission(refused=Lockout(key, until, 0))
            counted = [await unit.scalar(_FAILURE, {"key": key, "at": now}) for key in keys]
        return Admission(counted=tuple(counted), keys=tuple(keys))

    async def _one_at_a_time(self, unit: Unit, keys: Sequence[str]) -> None:
        await self._database.one_at_a_time(unit, [f"pin attempts {key}" for key in keys])

    async def settle(self, unit: Unit, admission: Admission, *, guess: bool) -> list[Lockout]:
        """The attempt's outcome: a wrong guess stays counted (and may start lockouts, which
        are returned); anything else (the right PIN, a blocked card, the LMS unreachable) is
        no guess and is taken back."""
        if not guess:
            for failure_id in admission.counted:
                await unit.run(_FORGET_ONE, {"failure_id": failure_id})
            return []
        await self._one_at_a_time(unit, admission.keys)
        now = self._clock()
        window_start = now - self._settings.window_seconds
        started: list[Lockout] = []
        for key in admission.keys:
            failures = await unit.scalar(
                _RECENT_FAILURES, {"failed_key": key, "since": window_start}
            )
            if (failures or 0) >= self._limit(key):
                lockout = await self._lock(unit, key, now)
                if lockout is not None:
                    started.append(lockout)
        return started

    async def right_pin(self, unit: Unit, admission: Admission) -> None:
        """The PIN was right: the attempt is taken back, and the card's recent failures
        (the attempt's own among them) are wiped; not its lockout history."""
        for key, failure_id in zip(admission.keys, admission.counted, strict=True):
            if key.startswith("card:"):
                await self._forget_failures(unit, key)
            else:
                await unit.run(_FORGET_ONE, {"failure_id": failure_id})

    async def _lock(self, unit: Unit, key: str, now: float) -> Lockout | None:
        """Lock ``key`` out, unless a lockout is already running (another attempt of the
        same burst started it): then only its failures are forgotten."""
        previous = await unit.row(_LOCKOUT_FOR_UPDATE, {"lock_key": key})
        if previous is not None and previous["until"] > now:
            await self._forget_failures(unit, key)
            return None
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
        await self._forget_failures(unit, key)
        return Lockout(key, until, level, duration)

    async def _forget_failures(self, unit: Unit, key: str) -> None:
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
