"""Federated search: who started a search (a keyed hash of the address), for the limit

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("search_sessions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("requester", sa.String(length=64), nullable=True))
        batch_op.create_index(
            batch_op.f("ix_search_sessions_requester"), ["requester"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("search_sessions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_search_sessions_requester"))
        batch_op.drop_column("requester")
