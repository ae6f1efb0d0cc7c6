"""intake duplicate candidates: the lookup as one function call

The lookup an arrival makes (`duplicates.service.find_candidates`) must go through the GIN index
with no JIT and no parallel workers: a plan made for one arrival's keys misjudges how many rows
share them and would otherwise read the whole table (README, Duplicate lookup). It set those
three settings in a statement of its own and put them back in a third, which read `pg_settings`
(every setting of the server): three round trips where one does, each of them a wait for the
server's turn on a busy machine. Here the same statement is a function whose own `SET` clauses
hold those settings while it runs (planning included) and restore them when it returns.

The body is the statement the lookup sent, unchanged: per tier, the fingerprints sharing a key in
the window, newest first, capped; their union; the columns scoring needs. A tier without keys
(`'{}'`) matches no row. Parameters are positional (`$1` … `$7`), so the benchmark can PREPARE
the body as it stands to show its plan.

Revision ID: 5c3e8a1d9b27
Revises: 4fae27c7ee73
Create Date: 2026-12-06 20:10:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "5c3e8a1d9b27"
down_revision: str | Sequence[str] | None = "4fae27c7ee73"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# PL/pgSQL, not SQL: it keeps the statement's plan for the session (generic after five runs, as
# the prepared statement did); a SQL function with SET clauses is planned again on every call.
FUNCTION = """
CREATE FUNCTION intake.duplicate_candidates(
    fine bigint[], fine_cap integer, coarse bigint[], coarse_cap integer,
    since timestamptz, until timestamptz, arrival uuid
) RETURNS TABLE (
    id uuid, received_at timestamptz, town_code varchar, village_code varchar,
    lat double precision, lng double precision, datum varchar, tokens text[], text text
)
LANGUAGE plpgsql STABLE
SET enable_seqscan = off SET jit = off SET max_parallel_workers_per_gather = 0
AS $body$
BEGIN
RETURN QUERY
SELECT a.id, a.received_at, a.town_code, a.village_code, a.lat, a.lng, a.datum, f.tokens, f.text
FROM intake.appeals a JOIN intake.fingerprints f ON f.appeal_id = a.id
WHERE a.id IN (
    (SELECT t.appeal_id FROM intake.fingerprints t
     WHERE t.keys && $1 AND t.received_at >= $5 AND t.received_at <= $6 AND t.appeal_id <> $7
     ORDER BY t.received_at DESC LIMIT $2)
    UNION
    (SELECT t.appeal_id FROM intake.fingerprints t
     WHERE t.keys && $3 AND t.received_at >= $5 AND t.received_at <= $6 AND t.appeal_id <> $7
     ORDER BY t.received_at DESC LIMIT $4)
);
END
$body$
"""


def upgrade() -> None:
    op.execute(FUNCTION)


def downgrade() -> None:
    op.execute(
        "DROP FUNCTION intake.duplicate_candidates(bigint[], integer, bigint[], integer, "
        "timestamptz, timestamptz, uuid)"
    )
