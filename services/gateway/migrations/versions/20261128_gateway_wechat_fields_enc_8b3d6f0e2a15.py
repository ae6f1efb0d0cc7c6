"""gateway wechat push fields encrypted

A push's XML fields were kept verbatim (`wechat_pushes.fields`), phone and ID numbers a resident
wrote included. Now `fields` keeps a masked copy and `fields_enc` the verbatim fields,
Fernet-encrypted, which only the follow-up job reads (to file an appeal intake never received).

Revision ID: 8b3d6f0e2a15
Revises: 272ca1b5ec21
Create Date: 2026-11-28 09:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "8b3d6f0e2a15"
down_revision: str | Sequence[str] | None = "272ca1b5ec21"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("wechat_pushes", sa.Column("fields_enc", sa.LargeBinary(), nullable=True), schema="gateway")


def downgrade() -> None:
    op.drop_column("wechat_pushes", "fields_enc", schema="gateway")
