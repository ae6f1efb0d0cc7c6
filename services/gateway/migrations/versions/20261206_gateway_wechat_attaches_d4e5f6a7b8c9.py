"""gateway wechat_pushes.attaches

A bare photo, location or file (or a voice note) from the official account joins the sender's
open appeal instead of filing a new one (issue 16.6): `attaches` marks such a push, and the
sender's recent pushes are found by (openid, sent_at).

Revision ID: d4e5f6a7b8c9
Revises: c3f81e52d94a
Create Date: 2026-12-06 14:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "d4e5f6a7b8c9"
down_revision: str | Sequence[str] | None = "c3f81e52d94a"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "wechat_pushes",
        sa.Column("attaches", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        schema="gateway",
    )
    op.create_index(
        "ix_wechat_pushes_openid_sent_at", "wechat_pushes", ["openid", "sent_at"], unique=False, schema="gateway"
    )
    op.create_index(
        "ix_wechat_pushes_unjoined",
        "wechat_pushes",
        ["received_at"],
        unique=False,
        schema="gateway",
        postgresql_where=sa.text("attaches AND deferred AND appeal_id IS NULL"),
    )


def downgrade() -> None:
    op.drop_index("ix_wechat_pushes_unjoined", table_name="wechat_pushes", schema="gateway")
    op.drop_index("ix_wechat_pushes_openid_sent_at", table_name="wechat_pushes", schema="gateway")
    op.drop_column("wechat_pushes", "attaches", schema="gateway")
