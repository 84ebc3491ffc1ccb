from __future__ import annotations

import time
from dataclasses import dataclass

from sqlalchemy import bindparam, delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from libgate.db import Database, Unit
from libgate.db.tables import consents

# Scopes a resident is never asked about: signing in at all is the consent to "openid".
IMPLIED_SCOPES = frozenset({"openid"})

_THIS_CONSENT = (consents.c.card == bindparam("of_card")) & (
    consents.c.client_id == bindparam("for_client")
)
_GRANTED_SCOPES = select(consents.c.scopes).where(_THIS_CONSENT)
_GRANTED_SCOPES_FOR_UPDATE = _GRANTED_SCOPES.with_for_update()
_NEW_CONSENT = insert(consents)
_WIDEN_CONSENT = (
    update(consents)
    .where(_THIS_CONSENT)
    .values(scopes=bindparam("merged_scopes"), granted_at=bindparam("granted_time"))
)


@dataclass(frozen=True)
class Consent:
    client_id: str
    scopes: frozenset[str]
    granted_at: float


class ConsentStore:
    """What each resident agreed to share with each service, remembered until withdrawn."""

    def __init__(self, database: Database) -> None:
        self._database = database

    async def missing(self, card: str, client_id: str, scopes: frozenset[str]) -> frozenset[str]:
        wanted = scopes - IMPLIED_SCOPES
        if not wanted:
            return frozenset()
        async with self._database.unit(atomic=False) as unit:
            granted = await unit.scalar(_GRANTED_SCOPES, {"of_card": card, "for_client": client_id})
        return wanted - frozenset(granted or ())

    async def grant(self, unit: Unit, card: str, client_id: str, scopes: frozenset[str]) -> None:
        this = {"of_card": card, "for_client": client_id}
        existing = await unit.scalar(_GRANTED_SCOPES_FOR_UPDATE, this)
        merged = sorted(frozenset(existing or ()) | (scopes - IMPLIED_SCOPES))
        if existing is None:
            await unit.run(
                _NEW_CONSENT,
                {"card": card, "client_id": client_id, "scopes": merged, "granted_at": time.time()},
            )
        else:
            await unit.run(
                _WIDEN_CONSENT, {**this, "merged_scopes": merged, "granted_time": time.time()}
            )

    async def list_for(self, card: str) -> list[Consent]:
        async with self._database.read() as connection:
            rows = (
                await connection.execute(
                    select(consents).where(consents.c.card == card).order_by(consents.c.granted_at)
                )
            ).all()
        return [Consent(r.client_id, frozenset(r.scopes), r.granted_at) for r in rows]

    async def withdraw(self, connection: AsyncConnection, card: str, client_id: str) -> bool:
        result = await connection.execute(
            delete(consents).where(consents.c.card == card, consents.c.client_id == client_id)
        )
        return bool(result.rowcount)
