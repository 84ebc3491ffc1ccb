from __future__ import annotations

import datetime as dt

from sqlalchemy import bindparam, select, update

from libgate.db import Database, Row
from libgate.db.tables import patrons
from libgate.patrons._directory import AuthFailure, Patron
from libgate.patrons._pins import PinHasher

_PATRON = select(patrons).where(patrons.c.card == bindparam("card"))


def _patron(row: Row) -> Patron:
    return Patron(
        card=row["card"],
        name=row["name"],
        email=row["email"],
        expires=dt.date.fromisoformat(row["expires"]) if row["expires"] else None,
        branch=row["branch"],
        category=row["category"],
        blocked=row["blocked"],
    )


class LocalDirectory:
    """Patrons imported from CSV into libgate's own database; PINs held as Argon2id hashes.
    Serves the demo and small services that have no LMS to ask."""

    def __init__(self, database: Database, hasher: PinHasher) -> None:
        self._database = database
        self._hasher = hasher

    async def _row(self, card: str) -> Row | None:
        async with self._database.unit(atomic=False) as unit:
            return await unit.row(_PATRON, {"card": card})

    async def authenticate(self, card: str, pin: str) -> Patron | AuthFailure:
        row = await self._row(card)
        if row is None:
            await self._hasher.verify(None, pin)
            return AuthFailure.UNKNOWN_CARD
        if not await self._hasher.verify(row["pin_hash"], pin) or not pin:
            return AuthFailure.BAD_PIN
        if self._hasher.needs_rehash(row["pin_hash"]):
            async with self._database.transaction() as connection:
                await connection.execute(
                    update(patrons)
                    .where(patrons.c.card == card)
                    .values(pin_hash=self._hasher.hash(pin))
                )
        return _patron(row).may_sign_in()

    async def lookup(self, card: str) -> Patron | None:
        row = await self._row(card)
        return None if row is None else _patron(row)
