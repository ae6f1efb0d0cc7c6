"""intake public revision: only public timeline rows

`public_rev_timeline` (migration c14d0c5a7e11) fired on every row of the timeline, so a staff-only
step (a 补充材料 photo, `public = false`) bumped `appeals.public_rev` and threw away the kept public
status, which shows public steps only. Now an insert or delete counts only for a public row, and an
update only when the row was or becomes public.

Revision ID: 4fae27c7ee73
Revises: 2b7e9c4d1a58
Create Date: 2026-12-06 17:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "4fae27c7ee73"
down_revision: str | Sequence[str] | None = "2b7e9c4d1a58"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The timeline's columns that appear in the public status (as in c14d0c5a7e11).
COLUMNS = ("appeal_id", "at", "to_status", "public_description", "public")
FUNCTION = "intake.public_rev_bump_parent()"


def _changed() -> str:
    return " OR ".join(f"OLD.{c} IS DISTINCT FROM NEW.{c}" for c in COLUMNS)


def upgrade() -> None:
    op.execute("DROP TRIGGER public_rev_timeline ON intake.timeline")
    op.execute("DROP TRIGGER public_rev_timeline_update ON intake.timeline")
    # A trigger's WHEN may name NEW only for inserts and OLD only for deletes: one trigger each.
    op.execute(
        f"""
        CREATE TRIGGER public_rev_timeline_insert AFTER INSERT ON intake.timeline
        FOR EACH ROW WHEN (NEW.public) EXECUTE FUNCTION {FUNCTION}
        """
    )
    op.execute(
        f"""
        CREATE TRIGGER public_rev_timeline_delete AFTER DELETE ON intake.timeline
        FOR EACH ROW WHEN (OLD.public) EXECUTE FUNCTION {FUNCTION}
        """
    )
    op.execute(
        f"""
        CREATE TRIGGER public_rev_timeline_update AFTER UPDATE ON intake.timeline
        FOR EACH ROW WHEN ((OLD.public OR NEW.public) AND ({_changed()})) EXECUTE FUNCTION {FUNCTION}
        """
    )


def downgrade() -> None:
    op.execute("DROP TRIGGER public_rev_timeline_update ON intake.timeline")
    op.execute("DROP TRIGGER public_rev_timeline_delete ON intake.timeline")
    op.execute("DROP TRIGGER public_rev_timeline_insert ON intake.timeline")
    op.execute(
        f"""
        CREATE TRIGGER public_rev_timeline AFTER INSERT OR DELETE ON intake.timeline
        FOR EACH ROW EXECUTE FUNCTION {FUNCTION}
        """
    )
    op.execute(
        f"""
        CREATE TRIGGER public_rev_timeline_update AFTER UPDATE ON intake.timeline
        FOR EACH ROW WHEN ({_changed()}) EXECUTE FUNCTION {FUNCTION}
        """
    )
