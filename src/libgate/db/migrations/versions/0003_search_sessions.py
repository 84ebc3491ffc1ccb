"""Federated search: search sessions and each target's results

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "search_sessions",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("cache_key", sa.String(length=64), nullable=False),
        sa.Column("query", sa.Text(), nullable=False),
        sa.Column("targets", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.Column("deadline_at", sa.Float(), nullable=False),
        sa.Column("expires_at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_search_sessions")),
    )
    with op.batch_alter_table("search_sessions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_search_sessions_cache_key"), ["cache_key"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_search_sessions_expires_at"), ["expires_at"], unique=False
        )
    op.create_table(
        "search_results",
        sa.Column("session_id", sa.String(length=32), nullable=False),
        sa.Column("target", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("hits", sa.Integer(), nullable=False),
        sa.Column("latency_ms", sa.Float(), nullable=True),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("diagnostics", sa.JSON(), nullable=False),
        sa.Column("records", sa.Text(), nullable=False),
        sa.Column("updated_at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("session_id", "target", name=op.f("pk_search_results")),
    )


def downgrade() -> None:
    op.drop_table("search_results")
    with op.batch_alter_table("search_sessions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_search_sessions_expires_at"))
        batch_op.drop_index(batch_op.f("ix_search_sessions_cache_key"))
    op.drop_table("search_sessions")
