"""Storage: one async SQLAlchemy engine over SQLite (embedded default) or PostgreSQL."""

from libgate.db._database import Database, async_url
from libgate.db._migrate import alembic_config, upgrade_to_latest
from libgate.db.tables import metadata

__all__ = ["Database", "alembic_config", "async_url", "metadata", "upgrade_to_latest"]
