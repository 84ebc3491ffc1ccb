"""How libgate's units of work share the database: reads never hold up writers."""

from __future__ import annotations

import asyncio
import contextlib
import gc

from sqlalchemy import func, insert, select, text

from libgate.db.tables import instance_secrets
from libgate.services import Services

# A statement that keeps the database busy for a while (both SQLite and PostgreSQL).
_A_SECOND_OF_WORK = (
    "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 3000000) "
    "SELECT count(*) FROM n"
)


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


async def test_a_unit_of_work_cancelled_mid_statement_lets_go_of_its_locks(
    services: Services,
) -> None:
    database = services.database
    started = asyncio.Event()

    async def long_write() -> None:
        async with database.transaction() as connection:
            await connection.execute(insert(instance_secrets).values(name="first", value=b"1"))
            started.set()
            await connection.execute(text(_A_SECOND_OF_WORK))

    task = asyncio.create_task(long_write())
    await started.wait()
    await asyncio.sleep(0.1)  # the slow statement is running
    task.cancel()
    # What a cancelled statement leaves behind is freed by the garbage collector, which a
    # long-running libgate calls seldom (see gc_tuning): no lock may wait for it.
    gc.disable()
    try:
        with contextlib.suppress(asyncio.CancelledError):
            await task

        async def write() -> None:
            async with database.transaction() as connection:
                await connection.execute(insert(instance_secrets).values(name="n", value=b"v"))

        await asyncio.wait_for(write(), timeout=5)
    finally:
        gc.enable()
    async with database.read() as connection:
        names = set(await connection.scalars(select(instance_secrets.c.name)))
    assert "n" in names and "first" not in names  # and the cancelled one was undone
