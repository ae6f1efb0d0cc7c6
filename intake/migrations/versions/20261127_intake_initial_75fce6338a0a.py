"""intake initial

Revision ID: 75fce6338a0a
Revises:
Create Date: 2026-11-27 18:39:16.841644
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "75fce6338a0a"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = ("intake",)
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute("CREATE SCHEMA IF NOT EXISTS intake")
    op.execute(sa.schema.CreateSequence(sa.Sequence("ticket_seq", schema="intake")))
    op.create_table(
        "appeals",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("ticket_no", sa.String(length=32), nullable=False),
        sa.Column("query_code", sa.String(length=12), nullable=False),
        sa.Column("channel", sa.String(length=32), nullable=False),
        sa.Column("channel_ref", sa.String(length=128), nullable=False),
        sa.Column("draft_hash", sa.String(length=64), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reported_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("held_from", sa.String(length=16), nullable=True),
        sa.Column("status_changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=True),
        sa.Column("category", sa.String(length=32), nullable=True),
        sa.Column("track", sa.String(length=16), nullable=True),
        sa.Column("urgency", sa.String(length=16), nullable=False),
        sa.Column("holder_type", sa.String(length=16), nullable=True),
        sa.Column("holder_code", sa.String(length=32), nullable=True),
        sa.Column("title", sa.String(length=200), nullable=True),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("transcript", sa.Text(), nullable=True),
        sa.Column("address", sa.String(length=300), nullable=True),
        sa.Column("town_code", sa.String(length=12), nullable=True),
        sa.Column("village_code", sa.String(length=12), nullable=True),
        sa.Column("lat", sa.Float(), nullable=True),
        sa.Column("lng", sa.Float(), nullable=True),
        sa.Column("datum", sa.String(length=8), nullable=False),
        sa.Column("grid_code", sa.String(length=40), nullable=True),
        sa.Column("beneficiary_count", sa.Integer(), nullable=True),
        sa.Column("beneficiary_group", sa.String(length=50), nullable=True),
        sa.Column("help_requested", sa.Text(), nullable=True),
        sa.Column("estimated_amount_fen", sa.BigInteger(), nullable=True),
        sa.Column("category_hint", sa.String(length=100), nullable=True),
        sa.Column("callback_requested", sa.Boolean(), nullable=False),
        sa.Column("channel_extra", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("duplicate_of", sa.Uuid(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(
            ["duplicate_of"], ["intake.appeals.id"], name=op.f("fk_appeals_duplicate_of_appeals")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_appeals")),
        sa.UniqueConstraint("channel", "channel_ref", name=op.f("uq_appeals_channel_channel_ref")),
        sa.UniqueConstraint("ticket_no", name=op.f("uq_appeals_ticket_no")),
        schema="intake",
    )
    op.create_index("ix_appeals_received_at", "appeals", ["received_at"], unique=False, schema="intake")
    op.create_index(
        "ix_appeals_status_town", "appeals", ["status", "town_code"], unique=False, schema="intake"
    )
    op.create_table(
        "dead_letters",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("job_name", sa.String(length=128), nullable=False),
        sa.Column("job_id", sa.String(length=200), nullable=True),
        sa.Column("args", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("error", sa.Text(), nullable=False),
        sa.Column("tries", sa.Integer(), nullable=False),
        sa.Column("failed_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dead_letters")),
        schema="intake",
    )
    op.create_table(
        "inbox",
        sa.Column("event_id", sa.UUID(), nullable=False),
        sa.Column("consumer", sa.String(length=64), nullable=False),
        sa.Column("type", sa.String(length=64), nullable=False),
        sa.Column("handled_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("event_id", "consumer", name=op.f("pk_inbox")),
        schema="intake",
    )
    op.create_table(
        "outbox",
        sa.Column("seq", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("event_id", sa.UUID(), nullable=False),
        sa.Column("type", sa.String(length=64), nullable=False),
        sa.Column("appeal_id", sa.UUID(), nullable=True),
        sa.Column("payload", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("attempts", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_outbox")),
        sa.UniqueConstraint("event_id", name=op.f("uq_outbox_event_id")),
        schema="intake",
    )
    op.create_index(
        "ix_intake_outbox_unpublished",
        "outbox",
        ["seq"],
        unique=False,
        schema="intake",
        postgresql_where=sa.text("published_at IS NULL"),
    )
    op.create_table(
        "appeal_deadlines",
        sa.Column("clock_id", sa.Uuid(), nullable=False),
        sa.Column("appeal_id", sa.Uuid(), nullable=False),
        sa.Column("clock", sa.String(length=32), nullable=False),
        sa.Column("unit_type", sa.String(length=16), nullable=True),
        sa.Column("unit_code", sa.String(length=32), nullable=True),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("due_date", sa.Date(), nullable=True),
        sa.Column("original_due_date", sa.Date(), nullable=True),
        sa.Column("provisional", sa.Boolean(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("as_of", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["appeal_id"], ["intake.appeals.id"], name=op.f("fk_appeal_deadlines_appeal_id_appeals")
        ),
        sa.PrimaryKeyConstraint("clock_id", name=op.f("pk_appeal_deadlines")),
        schema="intake",
    )
    op.create_index(
        op.f("ix_intake_appeal_deadlines_appeal_id"),
        "appeal_deadlines",
        ["appeal_id"],
        unique=False,
        schema="intake",
    )
    op.create_table(
        "attachments",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("appeal_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("uri", sa.String(length=500), nullable=False),
        sa.Column("media_type", sa.String(length=100), nullable=False),
        sa.Column("size_bytes", sa.BigInteger(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(
            ["appeal_id"], ["intake.appeals.id"], name=op.f("fk_attachments_appeal_id_appeals")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_attachments")),
        schema="intake",
    )
    op.create_index(
        op.f("ix_intake_attachments_appeal_id"), "attachments", ["appeal_id"], unique=False, schema="intake"
    )
    op.create_table(
        "reporters",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("appeal_id", sa.Uuid(), nullable=False),
        sa.Column("relation", sa.String(length=16), nullable=False),
        sa.Column("name", sa.String(length=50), nullable=True),
        sa.Column("phone_enc", sa.LargeBinary(), nullable=True),
        sa.Column("phone_hash", sa.String(length=64), nullable=True),
        sa.Column("phone_masked", sa.String(length=24), nullable=True),
        sa.Column("id_number_enc", sa.LargeBinary(), nullable=True),
        sa.Column("id_number_hash", sa.String(length=64), nullable=True),
        sa.Column("id_number_masked", sa.String(length=24), nullable=True),
        sa.Column("openid", sa.String(length=64), nullable=True),
        sa.Column("hukou_local", sa.Boolean(), nullable=True),
        sa.Column("anonymous", sa.Boolean(), nullable=False),
        sa.Column("confidential", sa.Boolean(), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.ForeignKeyConstraint(
            ["appeal_id"], ["intake.appeals.id"], name=op.f("fk_reporters_appeal_id_appeals")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reporters")),
        schema="intake",
    )
    op.create_index(
        op.f("ix_intake_reporters_appeal_id"), "reporters", ["appeal_id"], unique=False, schema="intake"
    )
    op.create_index("ix_reporters_openid", "reporters", ["openid"], unique=False, schema="intake")
    op.create_index("ix_reporters_phone_hash", "reporters", ["phone_hash"], unique=False, schema="intake")
    op.create_table(
        "timeline",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("appeal_id", sa.Uuid(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("from_status", sa.String(length=16), nullable=True),
        sa.Column("to_status", sa.String(length=16), nullable=False),
        sa.Column("actor", sa.String(length=100), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("event_id", sa.Uuid(), nullable=True),
        sa.Column("public_description", sa.String(length=300), nullable=False),
        sa.Column("public", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["appeal_id"], ["intake.appeals.id"], name=op.f("fk_timeline_appeal_id_appeals")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_timeline")),
        schema="intake",
    )
    op.create_index("ix_timeline_appeal_at", "timeline", ["appeal_id", "at"], unique=False, schema="intake")


def downgrade() -> None:
    op.drop_index("ix_timeline_appeal_at", table_name="timeline", schema="intake")
    op.drop_table("timeline", schema="intake")
    op.drop_index("ix_reporters_phone_hash", table_name="reporters", schema="intake")
    op.drop_index("ix_reporters_openid", table_name="reporters", schema="intake")
    op.drop_index(op.f("ix_intake_reporters_appeal_id"), table_name="reporters", schema="intake")
    op.drop_table("reporters", schema="intake")
    op.drop_index(op.f("ix_intake_attachments_appeal_id"), table_name="attachments", schema="intake")
    op.drop_table("attachments", schema="intake")
    op.drop_index(
        op.f("ix_intake_appeal_deadlines_appeal_id"), table_name="appeal_deadlines", schema="intake"
    )
    op.drop_table("appeal_deadlines", schema="intake")
    op.drop_index(
        "ix_intake_outbox_unpublished",
        table_name="outbox",
        schema="intake",
        postgresql_where=sa.text("published_at IS NULL"),
    )
    op.drop_table("outbox", schema="intake")
    op.drop_table("inbox", schema="intake")
    op.drop_table("dead_letters", schema="intake")
    op.drop_index("ix_appeals_status_town", table_name="appeals", schema="intake")
    op.drop_index("ix_appeals_received_at", table_name="appeals", schema="intake")
    op.drop_table("appeals", schema="intake")
    op.execute(sa.schema.DropSequence(sa.Sequence("ticket_seq", schema="intake")))
