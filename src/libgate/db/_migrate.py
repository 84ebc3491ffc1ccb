"""Database schema migrations (Alembic), and bringing a database up to date only when it
is not already."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from libgate.db._database import Database

if TYPE_CHECKING:
    from alembic.config import Config

_MIGRATIONS = Path(__file__).with_name("migrations")
# The newest migration's revision (a test checks it is Alembic's head). Every `libgate`
# command makes sure its database is up to date: finding a database already there takes
# one query, where loading Alembic to ask it takes a good part of a second.
HEAD_REVISION = "0004"


def alembic_config(url: str) -> Config:
    from alembic.config import Config  # here, not above: only when migrating

    config = Config()
    config.set_main_option("script_location", str(_MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url)
    return config


def _upgrade(url: str) -> None:
    from alembic import command  # here, not above: only when migrating

    command.upgrade(alembic_config(url), "head")


async def upgrade_to_latest(url: str) -> None:
    """Bring the database at ``url`` to the newest schema (idempotent)."""
    # Alembic's env runs its own event loop, so it needs a thread of its own here.
    await asyncio.to_thread(_upgrade, url)


async def ensure_latest(database: Database) -> None:
    """Upgrade ``database`` to the newest schema unless it is there already."""
    if await schema_revision(database) != HEAD_REVISION:
        await upgrade_to_latest(database.url)


async def schema_revision(database: Database) -> str | None:
    """The revision of ``database``'s schema; None before the first migration."""
    try:
        async with database.read() as connection:
            found = await connection.execute(text("SELECT version_num FROM alembic_version"))
            return found.scalar()
    except SQLAlchemyError:
        return None  # no alembic_version table: nothing migrated yet
