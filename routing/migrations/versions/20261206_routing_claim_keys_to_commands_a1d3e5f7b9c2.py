"""routing.commands: donors' claim keys move to the kernel's idempotency table

The key a donor sent with a claim lived on the claim row (`claims.idempotency_key`, unique per
donor). It now lives in the kernel's command table (`routing.commands`, as `claim:<donor>:<key>`
→ the claim's id). Existing claims' keys are copied, with their fingerprint recomputed in the
kernel's form, so a replay of an old key still answers its claim (issue 13.5).

Revision ID: a1d3e5f7b9c2
Revises: d5e7a1c3b9f2
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

revision: str = "a1d3e5f7b9c2"
down_revision: str | Sequence[str] | None = "d5e7a1c3b9f2"
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
    return hashlib.sha256(json.dumps(command, sort_keys=True).encode()).hexdigest()


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
        schema="routing",
    )
    bind = op.get_bind()
    rows = bind.execute(
        sa.text(
            "SELECT id, donor_id, idempotency_key, request_hash, appeal_id, kind, amount_fen, service,"
            " note, pledged_at FROM routing.claims"
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
        schema="routing",
    )
    copied = []
    for row in rows:
        command = {
            "appeal_id": str(row.appeal_id),
            "kind": row.kind,
            "amount_fen": row.amount_fen,
            "service": row.service,
            "note": row.note,
        }
        # The row reproduces its request exactly when the old fingerprint says so; otherwise (a
        # service claim sent with a stray amount) the old fingerprint is kept: the same body
        # then reads as another request (409), never as a silent replay of something else.
        digest = _kernel_hash("claim", command) if _old_hash(command) == row.request_hash else row.request_hash
        copied.append(
            {
                "idempotency_key": f"claim:{row.donor_id}:{row.idempotency_key}",
                "operation": "claim",
                "request_hash": digest,
                "state": "succeeded",
                "status_code": 201,
                "response": {"id": str(row.id)},
                "created_at": row.pledged_at,
                "created_by": f"donor:{row.donor_id}",
            }
        )
    if copied:
        op.bulk_insert(commands, copied)
    op.drop_constraint(op.f("uq_claims_donor_id_idempotency_key"), "claims", schema="routing", type_="unique")
    op.drop_column("claims", "idempotency_key", schema="routing")
    op.drop_column("claims", "request_hash", schema="routing")


def downgrade() -> None:
    op.add_column("claims", sa.Column("idempotency_key", sa.String(length=128), nullable=True), schema="routing")
    op.add_column("claims", sa.Column("request_hash", sa.String(length=64), nullable=True), schema="routing")
    # Keys come back; fingerprints stay in the kernel's form (a replay of an old key after a
    # downgrade answers 409 rather than replaying: safe, never a second claim).
    op.execute(
        """
        UPDATE routing.claims c
           SET idempotency_key = substr(k.idempotency_key, length('claim:' || c.donor_id::text || ':') + 1),
               request_hash = k.request_hash
          FROM routing.commands k
         WHERE k.operation = 'claim' AND k.response ->> 'id' = c.id::text
        """
    )
    op.execute("UPDATE routing.claims SET idempotency_key = id::text WHERE idempotency_key IS NULL")
    op.execute("UPDATE routing.claims SET request_hash = repeat('0', 64) WHERE request_hash IS NULL")
    op.alter_column("claims", "idempotency_key", nullable=False, schema="routing")
    op.alter_column("claims", "request_hash", nullable=False, schema="routing")
    op.create_unique_constraint(
        op.f("uq_claims_donor_id_idempotency_key"), "claims", ["donor_id", "idempotency_key"], schema="routing"
    )
    op.drop_table("commands", schema="routing")
