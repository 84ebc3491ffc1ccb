"""How libgate's units of work share the database: reads never hold up writers."""

from __future__ import annotations

import asyncio

from sqlalchemy import func, insert, select

from libgate.db.tables import instance_secrets
from libgate.services import Services


async def test_a_write_goes_ahead_while_a_read_is_open(services: Services) -> None:
    database = services.database
    async with database.read() as reading:
        await reading.scalar(select(func.count()).select_from(instance_secrets))

        async def write() -> None:
            async with database.transaction() as connection:
                await connection.execute(insert(instance_secrets).values(name="n", value=b"v"))

        # Were the read holding a lock, the write would wait for it (SQLite: 30 s).
        await asyncio.wait_for(write(), timeout=5)
        written = await reading.scalar(
            select(instance_secrets.c.value).where(instance_secrets.c.name == "n")
        )
    assert written == b"v"  # and the open read sees it: it is no snapshot
