"""Alembic environment: runs migrations over libgate's async engine."""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy import text
from sqlalchemy.engine import Connection

from libgate.db._database import Database
from libgate.db.tables import metadata

# Any fixed number: several instances starting at once take turns to migrate.
_MIGRATION_LOCK = 4_208_113


def _run(connection: Connection) -> None:
    if connection.dialect.name == "postgresql":
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _MIGRATION_LOCK})
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()


async def _run_async(url: str) -> None:
    database = Database(url)
    try:
        async with database.engine.connect() as connection:
            await connection.run_sync(_run)
            await connection.commit()
    finally:
        await database.dispose()


url = context.config.get_main_option("sqlalchemy.url")
assert url is not None
asyncio.run(_run_async(url))
