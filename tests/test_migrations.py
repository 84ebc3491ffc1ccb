"""The Alembic migrations build exactly the schema ``libgate.db.tables`` describes, on
SQLite and on PostgreSQL; a database is migrated when it is behind, and only then."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory

from libgate.db import (
    HEAD_REVISION,
    Database,
    _migrate,
    alembic_config,
    ensure_latest,
    metadata,
    schema_revision,
)
from tests.conftest import admin_sql


def _differences(connection: Any) -> list[Any]:
    return list(compare_metadata(MigrationContext.configure(connection), metadata))


async def test_migrations_match_the_tables(database_url: str) -> None:
    database = Database(database_url)  # the fixture's database is migrated to the latest
    try:
        async with database.engine.connect() as connection:
            assert await connection.run_sync(_differences) == []
    finally:
        await database.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database with nothing in it yet."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'empty.db'}"
        return
    server = request.getfixturevalue("postgres_ready").rsplit("/", 1)[0]
    name = f"libgate_empty_{secrets.token_hex(4)}"
    asyncio.run(admin_sql(f'CREATE DATABASE "{name}"'))
    yield f"{server}/{name}"
    asyncio.run(admin_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def test_the_revision_libgate_expects_is_the_newest_migration() -> None:
    scripts = ScriptDirectory.from_config(alembic_config("sqlite://"))
    assert scripts.get_current_head() == HEAD_REVISION


async def test_a_new_database_gets_the_whole_schema(empty_database_url: str) -> None:
    database = Database(empty_database_url)
    try:
        assert await schema_revision(database) is None
        await ensure_latest(database)
        assert await schema_revision(database) == HEAD_REVISION
        async with database.engine.connect() as connection:
            assert await connection.run_sync(_differences) == []
    finally:
        await database.dispose()


async def test_a_database_left_at_an_older_schema_is_brought_up_to_date(
    empty_database_url: str,
) -> None:
    await asyncio.to_thread(command.upgrade, alembic_config(empty_database_url), "0003")
    database = Database(empty_database_url)
    try:
        assert await schema_revision(database) == "0003"
        await ensure_latest(database)
        assert await schema_revision(database) == HEAD_REVISION
    finally:
        await database.dispose()


async def test_a_database_with_the_newest_schema_is_not_migrated_again(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def refuse(url: str) -> None:
        raise AssertionError("migrated a database that was up to date")

    monkeypatch.setattr(_migrate, "upgrade_to_latest", refuse)
    database = Database(database_url)
    try:
        await ensure_latest(database)
    finally:
        await database.dispose()
