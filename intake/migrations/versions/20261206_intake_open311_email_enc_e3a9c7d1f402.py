"""intake open311 e-mail encrypted

An Open311 request's e-mail was kept in plain text in the appeal's `channel_extra.open311.email`.
New appeals carry `email_enc` (Fernet, GUANJIA_PII_KEY) and `email_masked`; this migration does the
same to the rows already there. Rows to convert need the key: without it the migration stops
rather than leave the addresses readable or lose them.

Revision ID: e3a9c7d1f402
Revises: c7d8e9f0a1b2
Create Date: 2026-12-06 13:45:00.000000
"""

from __future__ import annotations

import json
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "e3a9c7d1f402"
down_revision: str | Sequence[str] | None = "c7d8e9f0a1b2"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_PLAIN = sa.text(
    "SELECT id, channel_extra->'open311'->>'email' AS email FROM intake.appeals "
    "WHERE channel_extra->'open311' ? 'email'"
)
_SET = sa.text(
    "UPDATE intake.appeals SET channel_extra = jsonb_set(channel_extra, '{open311}', "
    "(channel_extra->'open311') - 'email' || CAST(:fields AS jsonb)) WHERE id = :id"
)


def upgrade() -> None:
    from services.common.crypto import encrypt_pii_text
    from services.common.personal import mask_email

    bind = op.get_bind()
    for row in bind.execute(_PLAIN).all():
        email = row.email
        fields = {
            "email_masked": mask_email(email) if email else None,
            "email_enc": encrypt_pii_text(email) if email else None,
        }
        bind.execute(_SET, {"id": row.id, "fields": json.dumps(fields)})


def downgrade() -> None:
    # The plain addresses are not written back: decrypting them into the table is what this undid.
    pass
