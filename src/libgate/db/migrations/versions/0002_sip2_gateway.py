"""SIP2 gateway: vendor accounts and the offline lending journal

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sip2_journal",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("idempotency_key", sa.String(length=64), nullable=False),
        sa.Column("vendor", sa.String(length=64), nullable=False),
        sa.Column("code", sa.String(length=2), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("card", sa.String(length=64), nullable=False),
        sa.Column("item", sa.String(length=64), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.Column("replayed_at", sa.Float(), nullable=True),
        sa.Column("outcome", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sip2_journal")),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_sip2_journal_idempotency_key")),
    )
    with op.batch_alter_table("sip2_journal", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_sip2_journal_card"), ["card"], unique=False)
        batch_op.create_index(batch_op.f("ix_sip2_journal_state"), ["state"], unique=False)

    op.create_table(
        "sip2_vendors",
        sa.Column("login", sa.String(length=64), nullable=False),
        sa.Column("secret_hash", sa.String(length=64), nullable=False),
        sa.Column("policy", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("login", name=op.f("pk_sip2_vendors")),
    )


def downgrade() -> None:
    op.drop_table("sip2_vendors")
    with op.batch_alter_table("sip2_journal", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_sip2_journal_state"))
        batch_op.drop_index(batch_op.f("ix_sip2_journal_card"))

    op.drop_table("sip2_journal")
