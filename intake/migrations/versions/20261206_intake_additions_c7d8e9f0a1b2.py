"""intake additions (补充材料)

What a reporter adds to their own open appeal a moment after filing it (a photo after a voice
appeal on the official account): once per (channel, channel_ref).

Revision ID: c7d8e9f0a1b2
Revises: 9d16a1f0c2b3
Create Date: 2026-12-06 14:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "c7d8e9f0a1b2"
down_revision: str | Sequence[str] | None = "9d16a1f0c2b3"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "additions",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("appeal_id", sa.Uuid(), nullable=False),
        sa.Column("channel", sa.String(length=32), nullable=False),
        sa.Column("channel_ref", sa.String(length=128), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("attachments", sa.Integer(), nullable=False),
        sa.Column("address", sa.String(length=300), nullable=True),
        sa.Column("lat", sa.Float(), nullable=True),
        sa.Column("lng", sa.Float(), nullable=True),
        sa.Column("datum", sa.String(length=8), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(
            ["appeal_id"], ["intake.appeals.id"], name=op.f("fk_additions_appeal_id_appeals")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_additions")),
        sa.UniqueConstraint("channel", "channel_ref", name=op.f("uq_additions_channel_channel_ref")),
        schema="intake",
    )
    op.create_index(op.f("ix_intake_additions_appeal_id"), "additions", ["appeal_id"], unique=False, schema="intake")


def downgrade() -> None:
    op.drop_index(op.f("ix_intake_additions_appeal_id"), table_name="additions", schema="intake")
    op.drop_table("additions", schema="intake")
