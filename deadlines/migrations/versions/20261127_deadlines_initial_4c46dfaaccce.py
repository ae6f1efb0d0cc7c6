"""deadlines initial: clocks, calendar years, tracked appeals, outbox / inbox / dead letters.

Revision ID: 4c46dfaaccce
Revises:
Create Date: 2026-11-27 18:46:03.432659
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "4c46dfaaccce"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = ("deadlines",)
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute("CREATE SCHEMA IF NOT EXISTS deadlines")
    op.create_table(
        "calendar_years",
        sa.Column("year", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("holidays", postgresql.ARRAY(sa.Date()), nullable=False),
        sa.Column("workdays", postgresql.ARRAY(sa.Date()), nullable=False),
        sa.Column("uploaded_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("uploaded_by", sa.String(length=64), nullable=False),
        sa.CheckConstraint("year BETWEEN 2000 AND 2099", name=op.f("ck_calendar_years_year")),
        sa.PrimaryKeyConstraint("year", name=op.f("pk_calendar_years")),
        schema="deadlines",
    )
    op.create_table(
        "clocks",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("appeal_id", sa.Uuid(), nullable=False),
        sa.Column("clock", sa.String(length=16), nullable=False),
        sa.Column("hop", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("unit_type", sa.String(length=16), nullable=True),
        sa.Column("unit_code", sa.String(length=64), nullable=True),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("due_date", sa.Date(), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("original_due_date", sa.Date(), nullable=False),
        sa.Column("provisional", sa.Boolean(), nullable=False),
        sa.Column("rule_version", sa.String(length=32), nullable=False),
        sa.Column("limit_kind", sa.String(length=16), nullable=False),
        sa.Column("limit_value", sa.Integer(), nullable=False),
        sa.Column("paused_days", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("warn_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("warned_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("overdue_notified_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("met_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("paused_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("stopped_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint(
            "clock IN ('triage', 'sign_off', 'handling', 'consultation', 'works', 'feedback')",
            name=op.f("ck_clocks_clock"),
        ),
        sa.CheckConstraint("limit_kind IN ('working_days', 'months')", name=op.f("ck_clocks_limit_kind")),
        sa.CheckConstraint(
            "state IN ('running', 'paused', 'met', 'overdue', 'stopped')", name=op.f("ck_clocks_state")
        ),
        sa.CheckConstraint("hop >= 0", name=op.f("ck_clocks_hop")),
        sa.CheckConstraint("limit_value >= 1", name=op.f("ck_clocks_limit_value")),
        sa.CheckConstraint("paused_days >= 0", name=op.f("ck_clocks_paused_days")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_clocks")),
        sa.UniqueConstraint("appeal_id", "clock", "hop", name=op.f("uq_clocks_appeal_id_clock_hop")),
        schema="deadlines",
    )
    op.create_index(
        "ix_clocks_due_active",
        "clocks",
        ["due_at"],
        unique=False,
        schema="deadlines",
        postgresql_where=sa.text("state IN ('running', 'overdue')"),
    )
    op.create_index(
        "ix_clocks_warn_pending",
        "clocks",
        ["warn_at"],
        unique=False,
        schema="deadlines",
        postgresql_where=sa.text("warned_at IS NULL AND state = 'running'"),
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
        schema="deadlines",
    )
    op.create_table(
        "inbox",
        sa.Column("event_id", sa.UUID(), nullable=False),
        sa.Column("consumer", sa.String(length=64), nullable=False),
        sa.Column("type", sa.String(length=64), nullable=False),
        sa.Column("handled_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("event_id", "consumer", name=op.f("pk_inbox")),
        schema="deadlines",
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
        schema="deadlines",
    )
    op.create_index(
        "ix_deadlines_outbox_unpublished",
        "outbox",
        ["seq"],
        unique=False,
        schema="deadlines",
        postgresql_where=sa.text("published_at IS NULL"),
    )
    op.create_table(
        "tracked_appeals",
        sa.Column("appeal_id", sa.Uuid(), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("kind", sa.String(length=16), nullable=True),
        sa.Column("held_since", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint("kind IN ('micro_project', 'micro_wish')", name=op.f("ck_tracked_appeals_kind")),
        sa.PrimaryKeyConstraint("appeal_id", name=op.f("pk_tracked_appeals")),
        schema="deadlines",
    )


def downgrade() -> None:
    op.drop_table("tracked_appeals", schema="deadlines")
    op.drop_index(
        "ix_deadlines_outbox_unpublished",
        table_name="outbox",
        schema="deadlines",
        postgresql_where=sa.text("published_at IS NULL"),
    )
    op.drop_table("outbox", schema="deadlines")
    op.drop_table("inbox", schema="deadlines")
    op.drop_table("dead_letters", schema="deadlines")
    op.drop_index(
        "ix_clocks_warn_pending",
        table_name="clocks",
        schema="deadlines",
        postgresql_where=sa.text("warned_at IS NULL AND state = 'running'"),
    )
    op.drop_index(
        "ix_clocks_due_active",
        table_name="clocks",
        schema="deadlines",
        postgresql_where=sa.text("state IN ('running', 'overdue')"),
    )
    op.drop_table("clocks", schema="deadlines")
    op.drop_table("calendar_years", schema="deadlines")
    # Not CASCADE: anything else found in the schema is not ours to destroy.
    op.execute("DROP SCHEMA IF EXISTS deadlines")
