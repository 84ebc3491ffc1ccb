from __future__ import annotations

import asyncio
from pathlib import Path

from alembic import command
from alembic.config import Config

_MIGRATIONS = Path(__file__).with_name("migrations")


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(_MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url)
    return config


def _upgrade(url: str) -> None:
    command.upgrade(alembic_config(url), "head")


async def upgrade_to_latest(url: str) -> None:
    """Bring the database at ``url`` to the newest schema (idempotent)."""
    # Alembic's env runs its own event loop, so it needs a thread of its own here.
    await asyncio.to_thread(_upgrade, url)
