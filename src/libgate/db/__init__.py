"""Storage: one async SQLAlchemy engine over SQLite (embedded default) or PostgreSQL."""

from libgate.db._database import Database, async_url
from libgate.db._migrate import alembic_config, upgrade_to_latest
from libgate.db._units import Row, Unit, as_unit
from libgate.db.tables import metadata

__all__ = [
    "Database",
    "Row",
    "Unit",
    "alembic_config",
    "as_unit",
    "async_url",
    "metadata",
    "upgrade_to_latest",
]
