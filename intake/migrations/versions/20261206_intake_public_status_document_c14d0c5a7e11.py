"""intake public status as a document

Each appeal's public status (DESIGN §10: the body and its ETag) is kept as a document
(`intake.public_status`), so a poll is one indexed read. `appeals.public_rev` counts the changes
the public can see; triggers bump it in the very transaction of the change, whichever code path
makes it (the appeal's public columns, its public timeline, its clocks), so a document built at an
older revision is never served as current: the first poll after a change builds it again. The
triggers also note each change (ticket and revision) in a transaction-local setting, which intake
reads just before COMMIT to mark the ticket changed in Redis, where the gateway reads documents.

Revision ID: c14d0c5a7e11
Revises: f14a5d3e7c21
Create Date: 2026-12-06 13:50:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "c14d0c5a7e11"
down_revision: str | Sequence[str] | None = "f14a5d3e7c21"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The appeal's own columns that appear in its public status (or decide what does).
PUBLIC_COLUMNS = (
    "ticket_no",
    "query_code",
    "status",
    "kind",
    "category",
    "track",
    "town_code",
    "village_code",
    "received_at",
    "duplicate_of",
    "secondary_track",
)


# The columns of the timeline and of the clocks that appear in the public status.
CHILD_COLUMNS = {
    "timeline": ("at", "to_status", "public_description", "public"),
    "appeal_deadlines": ("clock", "due_at", "due_date", "provisional", "state"),
    # 公示: the notices shown on the public status (`intake.service.notices`).
    "appeal_notices": ("state", "held_at", "notice_ends_at", "data", "as_of"),
}


def upgrade() -> None:
    op.add_column(
        "appeals",
        sa.Column("public_rev", sa.BigInteger(), nullable=False, server_default="0"),
        schema="intake",
    )
    op.create_table(
        "public_status",
        sa.Column("appeal_id", sa.Uuid(), nullable=False),
        sa.Column("rev", sa.BigInteger(), nullable=False),
        sa.Column("etag", sa.String(length=40), nullable=False),
        sa.Column("body", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(
            ["appeal_id"], ["intake.appeals.id"], name=op.f("fk_public_status_appeal_id_appeals")
        ),
        sa.PrimaryKeyConstraint("appeal_id", name=op.f("pk_public_status")),
        schema="intake",
    )
    changed = " OR ".join(f"OLD.{c} IS DISTINCT FROM NEW.{c}" for c in PUBLIC_COLUMNS)
    # The transaction's changes, "ticket:rev," each, in a transaction-local setting: intake reads
    # it just before COMMIT and marks those tickets changed where the gateway reads documents
    # (`services.common.status_documents`).
    op.execute(
        """
        CREATE FUNCTION intake.public_change_noted(ticket text, rev bigint) RETURNS void
        LANGUAGE plpgsql AS $$
        BEGIN
            IF ticket IS NOT NULL AND rev IS NOT NULL THEN
                PERFORM set_config(
                    'guanjia.public_changes',
                    coalesce(current_setting('guanjia.public_changes', true), '') || ticket || ':' || rev || ',',
                    true
                );
            END IF;
        END $$
        """
    )
    op.execute(
        """
        CREATE FUNCTION intake.public_rev_bump_own() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            NEW.public_rev := OLD.public_rev + 1;
            PERFORM intake.public_change_noted(NEW.ticket_no, NEW.public_rev);
            RETURN NEW;
        END $$
        """
    )
    op.execute(
        f"""
        CREATE TRIGGER public_rev_own BEFORE UPDATE ON intake.appeals
        FOR EACH ROW WHEN ({changed}) EXECUTE FUNCTION intake.public_rev_bump_own()
        """
    )
    # A row of the timeline or of the clocks changed: its appeal's public status did.
    op.execute(
        """
        CREATE FUNCTION intake.public_rev_bump_parent() RETURNS trigger LANGUAGE plpgsql AS $$
        DECLARE
            ticket text;
            rev bigint;
        BEGIN
            IF TG_OP <> 'INSERT' THEN
                UPDATE intake.appeals SET public_rev = public_rev + 1 WHERE id = OLD.appeal_id
                RETURNING ticket_no, public_rev INTO ticket, rev;
                PERFORM intake.public_change_noted(ticket, rev);
            END IF;
            IF TG_OP <> 'DELETE' AND (TG_OP = 'INSERT' OR NEW.appeal_id IS DISTINCT FROM OLD.appeal_id) THEN
                UPDATE intake.appeals SET public_rev = public_rev + 1 WHERE id = NEW.appeal_id
                RETURNING ticket_no, public_rev INTO ticket, rev;
                PERFORM intake.public_change_noted(ticket, rev);
            END IF;
            RETURN NULL;
        END $$
        """
    )
    for table, columns in CHILD_COLUMNS.items():
        op.execute(
            f"""
            CREATE TRIGGER public_rev_{table} AFTER INSERT OR DELETE ON intake.{table}
            FOR EACH ROW EXECUTE FUNCTION intake.public_rev_bump_parent()
            """
        )
        # Only an update the public can see: the statistics marking a clock counted is none.
        changed_child = " OR ".join(f"OLD.{c} IS DISTINCT FROM NEW.{c}" for c in ("appeal_id", *columns))
        op.execute(
            f"""
            CREATE TRIGGER public_rev_{table}_update AFTER UPDATE ON intake.{table}
            FOR EACH ROW WHEN ({changed_child}) EXECUTE FUNCTION intake.public_rev_bump_parent()
            """
        )


def downgrade() -> None:
    for table in CHILD_COLUMNS:
        op.execute(f"DROP TRIGGER public_rev_{table}_update ON intake.{table}")
        op.execute(f"DROP TRIGGER public_rev_{table} ON intake.{table}")
    op.execute("DROP TRIGGER public_rev_own ON intake.appeals")
    op.execute("DROP FUNCTION intake.public_rev_bump_parent()")
    op.execute("DROP FUNCTION intake.public_rev_bump_own()")
    op.execute("DROP FUNCTION intake.public_change_noted(text, bigint)")
    op.drop_table("public_status", schema="intake")
    op.drop_column("appeals", "public_rev", schema="intake")
