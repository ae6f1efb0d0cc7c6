"""deadlines.commands: extension keys move to the kernel's idempotency table

The key a holding unit sent with an extension request lived on the request's row
(`extensions.idempotency_key`, unique per clock). It now lives in the kernel's command table
(`deadlines.commands`, as `extension:<clock>:<key>` → the request's id). Existing keys are copied,
with their fingerprint recomputed in the kernel's form, so a replay of an old key still answers
its request (issue 13.5).

Revision ID: b2e4f6a8c0d1
Revises: d16c0a7e1f02
Create Date: 2026-12-06 15:00:00.000000
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "b2e4f6a8c0d1"
down_revision: str | Sequence[str] | None = "d16c0a7e1f02"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _kernel_hash(operation: str, command: dict[str, Any]) -> str:
    # Frozen copy of services.common.idempotency.request_hash as of this revision.
    text = json.dumps(
        {"operation": operation, "command": command},
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
        allow_nan=False,
    )
    return hashlib.sha256(text.encode()).hexdigest()


def _old_hash(command: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(command, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


def upgrade() -> None:
    op.create_table(
        "commands",
        sa.Column("idempotency_key", sa.String(length=200), nullable=False),
        sa.Column("operation", sa.String(length=32), nullable=False),
        sa.Column("request_hash", sa.String(length=64), nullable=False),
        sa.Column("state", sa.String(length=16), server_default=sa.text("'pending'"), nullable=False),
        sa.Column("status_code", sa.SmallInteger(), nullable=True),
        sa.Column("response", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("created_by", sa.String(length=128), nullable=False),
        sa.CheckConstraint("state IN ('pending', 'succeeded', 'failed')", name=op.f("ck_commands_state")),
        sa.CheckConstraint("request_hash ~ '^[0-9a-f]{64}$'", name=op.f("ck_commands_request_hash")),
        sa.CheckConstraint("idempotency_key <> ''", name=op.f("ck_commands_idempotency_key")),
        sa.PrimaryKeyConstraint("idempotency_key", name=op.f("pk_commands")),
        schema="deadlines",
    )
    bind = op.get_bind()
    rows = bind.execute(
        sa.text(
            "SELECT id, clock_id, idempotency_key, request_hash, days, reason, requested_at, requested_by"
            " FROM deadlines.extensions WHERE idempotency_key IS NOT NULL"
        )
    ).all()
    commands = sa.table(
        "commands",
        sa.column("idempotency_key"),
        sa.column("operation"),
        sa.column("request_hash"),
        sa.column("state"),
        sa.column("status_code"),
        sa.column("response", postgresql.JSONB),
        sa.column("created_at"),
        sa.column("created_by"),
        schema="deadlines",
    )
    copied = []
    for row in rows:
        command = {"days": row.days, "reason": row.reason}
        # The row holds its whole request, so the old fingerprint always reproduces; should it not,
        # the old one is kept: the same body then reads as another request (409), never as a
        # silent replay of something else.
        digest = (
            _kernel_hash("extension", command) if _old_hash(command) == row.request_hash else row.request_hash
        )
        copied.append(
            {
                "idempotency_key": f"extension:{row.clock_id}:{row.idempotency_key}",
                "operation": "extension",
                "request_hash": digest,
                "state": "succeeded",
                "status_code": 201,
                "response": {"id": str(row.id)},
                "created_at": row.requested_at,
                "created_by": row.requested_by,
            }
        )
    if copied:
        op.bulk_insert(commands, copied)
    op.drop_constraint(
        op.f("uq_extensions_clock_id_idempotency_key"), "extensions", schema="deadlines", type_="unique"
    )
    op.drop_column("extensions", "idempotency_key", schema="deadlines")
    op.drop_column("extensions", "request_hash", schema="deadlines")


def downgrade() -> None:
    op.add_column(
        "extensions", sa.Column("idempotency_key", sa.String(length=100), nullable=True), schema="deadlines"
    )
    op.add_column("extensions", sa.Column("request_hash", sa.String(length=64), nullable=True), schema="deadlines")
    # Keys come back; fingerprints stay in the kernel's form (a replay of an old key after a
    # downgrade answers 409 rather than replaying: safe, never a second request).
    op.execute(
        """
        UPDATE deadlines.extensions e
           SET idempotency_key = substr(k.idempotency_key, length('extension:' || e.clock_id::text || ':') + 1),
               request_hash = k.request_hash
          FROM deadlines.commands k
         WHERE k.operation = 'extension' AND k.response ->> 'id' = e.id::text
        """
    )
    op.execute("UPDATE deadlines.extensions SET request_hash = repeat('0', 64) WHERE request_hash IS NULL")
    op.alter_column("extensions", "request_hash", nullable=False, schema="deadlines")
    op.create_unique_constraint(
        op.f("uq_extensions_clock_id_idempotency_key"),
        "extensions",
        ["clock_id", "idempotency_key"],
        schema="deadlines",
    )
    op.drop_table("commands", schema="deadlines")
