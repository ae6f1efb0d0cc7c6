"""intake duplicate candidates: the lookup as one function call, newest buckets first

The lookup an arrival makes (`duplicates.service.find_candidates`) must go through the GIN index
with no JIT and no parallel workers: a plan made for one arrival's keys misjudges how many rows
share them and would otherwise read the whole table (README, Duplicate lookup). It set those
three settings in a statement of its own and put them back in a third, which read `pg_settings`
(every setting of the server): three round trips where one does. Here the lookup is a function
whose own `SET` clauses hold those settings while it runs (planning included) and restore them
when it returns.

What it returns is what the statement returned: per tier of keys (fine, coarse), the newest
`cap` fingerprints within the window sharing a key, their union, with the columns scoring needs.
How it finds them: a key carries the 10-day bucket of its appeal's arrival (`lsh`), so the rows
one bucket's keys find all arrived within that bucket, later than any an older bucket's keys
find. The newest `cap` of a tier are therefore the newest of its newest bucket, then of the
next, until `cap` are found; older buckets are not read at all. At 1,000,000 appeals the
town-wide keys of a common need match thousands of rows over a window (5,475 for one arrival of
the benchmark, 28 ms to read and sort) where the newest bucket holds a fraction of them.

The keys come newest bucket first, flattened, with the position of each bucket's last key
(`*_ends`), since an array of arrays must be rectangular.

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

# PL/pgSQL: its statements keep their plans for the session (generic after five runs, as the
# prepared statement did), and it can stop once a tier has its newest `cap`.
NEWEST = """
CREATE FUNCTION intake.duplicate_newest(
    wanted bigint[], ends integer[], cap integer, since timestamptz, until timestamptz, arrival uuid
) RETURNS uuid[]
LANGUAGE plpgsql STABLE
AS $body$
DECLARE
    found uuid[] := '{}';
    part uuid[];
    lo integer := 1;
    hi integer;
BEGIN
    FOREACH hi IN ARRAY ends LOOP
        EXIT WHEN cardinality(found) >= cap;
        SELECT array_agg(s.appeal_id) INTO part FROM (
            SELECT t.appeal_id FROM intake.fingerprints t
            WHERE t.keys && wanted[lo:hi] AND t.received_at >= since AND t.received_at <= until
              AND t.appeal_id <> arrival
            ORDER BY t.received_at DESC LIMIT cap - cardinality(found)
        ) s;
        found := found || coalesce(part, '{}');
        lo := hi + 1;
    END LOOP;
    RETURN found;
END
$body$
"""

CANDIDATES = """
CREATE FUNCTION intake.duplicate_candidates(
    fine bigint[], fine_ends integer[], fine_cap integer,
    coarse bigint[], coarse_ends integer[], coarse_cap integer,
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
WHERE a.id = ANY (
    intake.duplicate_newest(fine, fine_ends, fine_cap, since, until, arrival)
    || intake.duplicate_newest(coarse, coarse_ends, coarse_cap, since, until, arrival)
);
END
$body$
"""


def upgrade() -> None:
    op.execute(NEWEST)
    op.execute(CANDIDATES)


def downgrade() -> None:
    op.execute(
        "DROP FUNCTION intake.duplicate_candidates(bigint[], integer[], integer, bigint[], integer[], "
        "integer, timestamptz, timestamptz, uuid)"
    )
    op.execute(
        "DROP FUNCTION intake.duplicate_newest(bigint[], integer[], integer, timestamptz, timestamptz, uuid)"
    )
