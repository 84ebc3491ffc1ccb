"""The Alembic migrations build exactly the schema ``libgate.db.tables`` describes, on
SQLite and on PostgreSQL."""

from __future__ import annotations

from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from libgate.db import Database, metadata


def _differences(connection: Any) -> list[Any]:
    return list(compare_metadata(MigrationContext.configure(connection), metadata))


async def test_migrations_match_the_tables(database_url: str) -> None:
    database = Database(database_url)  # the fixture's database is migrated to the latest
    try:
        async with database.engine.connect() as connection:
            assert await connection.run_sync(_differences) == []
    finally:
        await database.dispose()
