"""intake duplicate feedback and time-bucketed keys

Staff decisions on duplicate suggestions keep the pair's features (`duplicate_links.features`)
and feed recomputed thresholds (`duplicate_thresholds`, newest in force). Fingerprint keys now
carry a 10-day time bucket and new place scopes (`intake.service.duplicates.lsh`): the keys of the
fingerprints that can still be in a lookup's window are recomputed here, from what the
fingerprints table keeps; older ones keep their old keys, which no new lookup asks for.

Revision ID: b4c1d2e3f5a6
Revises: 5e8f1a2c9d47
Create Date: 2026-12-06 11:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "b4c1d2e3f5a6"
down_revision: str | Sequence[str] | None = "5e8f1a2c9d47"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

REKEY_DAYS = 400  # the longest window a setting allows (365) and a margin


def upgrade() -> None:
    op.add_column(
        "duplicate_links",
        sa.Column("features", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        schema="intake",
    )
    op.create_table(
        "duplicate_thresholds",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("link_at", sa.Float(), nullable=False),
        sa.Column("suggest_at", sa.Float(), nullable=False),
        sa.Column("decisions", sa.Integer(), nullable=False),
        sa.Column("pairs", sa.Integer(), nullable=False),
        sa.Column("figures", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("computed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("computed_by", sa.String(length=100), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_duplicate_thresholds")),
        schema="intake",
    )
    _rekey()


def _rekey() -> None:
    from intake.service.duplicates import lsh
    from intake.service.duplicates.similarity import doc_from_stored

    conn = op.get_bind()
    rows = conn.execute(
        sa.text(
            "SELECT f.appeal_id, f.received_at, f.tokens, f.text, a.town_code, a.village_code,"
            " a.lat, a.lng, a.datum FROM intake.fingerprints f JOIN intake.appeals a ON a.id = f.appeal_id"
            " WHERE f.received_at >= now() - make_interval(days => :days)"
        ),
        {"days": REKEY_DAYS},
    ).all()
    for r in rows:
        doc = doc_from_stored(
            r.tokens,
            r.text,
            town_code=r.town_code,
            village_code=r.village_code,
            lat=r.lat,
            lng=r.lng,
            datum=r.datum or "wgs84",
        )
        conn.execute(
            sa.text("UPDATE intake.fingerprints SET keys = :keys WHERE appeal_id = :id"),
            {"keys": lsh.keys(doc, r.received_at), "id": r.appeal_id},
        )


def downgrade() -> None:
    op.drop_table("duplicate_thresholds", schema="intake")
    op.drop_column("duplicate_links", "features", schema="intake")
