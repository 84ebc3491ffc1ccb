"""Housekeeping deletes what has expired and keeps what is still live."""

from __future__ import annotations

import time

import httpx
from sqlalchemy import func, select, update

from libgate.db.tables import auth_codes, browser_sessions, grants, refresh_tokens
from libgate.services import Services
from tests.conftest import RegisteredClient, Resident
from tests.support.flow import tokens_for


async def _count(services: Services, table) -> int:  # type: ignore[no-untyped-def]
    async with services.database.read() as connection:
        return int(await connection.scalar(select(func.count()).select_from(table)) or 0)


async def test_expired_tokens_sessions_and_codes_are_deleted_live_ones_kept(
    http: httpx.AsyncClient, portal: RegisteredClient, patron: Resident, services: Services
) -> None:
    await tokens_for(http, portal, patron)
    await services.purge_expired()
    assert [
        await _count(services, t) for t in (auth_codes, refresh_tokens, browser_sessions, grants)
    ] == [1, 1, 1, 1]

    long_ago = time.time() - 10**8
    async with services.database.transaction() as connection:
        await connection.execute(update(auth_codes).values(expires_at=long_ago))
        await connection.execute(update(refresh_tokens).values(expires_at=long_ago))
        await connection.execute(update(browser_sessions).values(expires_at=long_ago))
        await connection.execute(update(grants).values(created_at=long_ago))
    await services.purge_expired()
    assert [
        await _count(services, t) for t in (auth_codes, refresh_tokens, browser_sessions, grants)
    ] == [0, 0, 0, 0]
