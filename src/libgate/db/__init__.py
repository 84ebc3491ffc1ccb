"""Storage: one async SQLAlchemy engine over SQLite (embedded default) or PostgreSQL."""

from libgate.db._database import Database, async_url
from libgate.db._migrate import (
    HEAD_REVISION,
    alembic_config,
    ensure_latest,
    schema_revision,
    upgrade_to_latest,
)
from libgate.db._reach import DatabaseUnreachable, is_connection_failure, reaching
from libgate.db._units import Row, Unit, as_unit
from libgate.db.tables import metadata

__all__ = [
    "HEAD_REVISION",
    "Database",
    "DatabaseUnreachable",
    "Row",
    "Unit",
    "alembic_config",
    "as_unit",
    "async_url",
    "ensure_latest",
    "is_connection_failure",
    "metadata",
    "reaching",
    "schema_revision",
    "upgrade_to_latest",
]
