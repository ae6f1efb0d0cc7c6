"""ledger city code and invalid keys: the city holder is `city`; a 422 does not consume a key.

Issue 16.9:
1. One code for the city holder, `city`, as every other service says it (the ledger said
   `441900000000`). Stored rows move to `city` (accounts, entries, reservations, pledges; the
   commands' recorded answers stay as they were first given), behind their immutability
   triggers, and a CHECK keeps every city row at `city`. The hash chain's content format keeps
   spelling the city `441900000000` (`ledger.entry_content`, and `ledger/service/chain.py` in
   Python), so every link hashed before this revision still verifies and nothing is rehashed.
2. A command refused as invalid input consumes no key: the transaction that claimed a key may
   withdraw its own pending claim (DELETE of a `pending` row); a settled command still never
   changes or goes.

Revision ID: b8d2f4a61c37
Revises: 5c1e7a2b9d40
Create Date: 2026-12-06 14:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "b8d2f4a61c37"
down_revision: str | Sequence[str] | None = "5c1e7a2b9d40"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NEW, OLD = "city", "441900000000"
# table, type column, code column
CITY_ROWS = [
    ("accounts", "holder_type", "holder_code"),
    ("journal_entries", "holder_type", "holder_code"),
    ("reservations", "holder_type", "holder_code"),
    ("pledges", "recipient_type", "recipient_code"),
]


def _entry_content(city: str) -> str:
    def code(type_col: str, code_col: str) -> str:
        return f"CASE WHEN {type_col} = 'city' AND {code_col} = 'city' THEN '{city}' ELSE {code_col} END"

    return f"""
    CREATE OR REPLACE FUNCTION ledger.entry_content(p_entry uuid) RETURNS text
    LANGUAGE sql STABLE AS $$
    SELECT concat_ws(E'\\n',
        'ledger-entry-v1',
        'id=' || e.id::text,
        'kind=' || e.kind,
        'key=' || encode(convert_to(e.idempotency_key, 'UTF8'), 'hex'),
        'request=' || e.request_hash,
        'memo=' || coalesce(encode(convert_to(e.memo, 'UTF8'), 'hex'), '-'),
        'appeal=' || coalesce(e.appeal_id::text, '-'),
        'created_at=' || ((extract(epoch FROM e.created_at) * 1000000)::bigint)::text,
        'created_by=' || encode(convert_to(e.created_by, 'UTF8'), 'hex'),
        'holder=' || coalesce(e.holder_type || ':'
            || encode(convert_to({code("e.holder_type", "e.holder_code")}, 'UTF8'), 'hex'), '-'),
        'reverses=' || coalesce(e.reverses_id::text, '-'),
        'reservation=' || coalesce(e.reservation_id::text, '-'),
        'pledge=' || coalesce(e.pledge_id::text, '-'),
        (SELECT string_agg(
                    format('posting=%s,%s,%s,%s,%s,%s', p.id, a.holder_type,
                           encode(convert_to({code("a.holder_type", "a.holder_code")}, 'UTF8'), 'hex'),
                           a.source_code, p.amount_fen, p.balance_after_fen),
                    E'\\n' ORDER BY p.id)
           FROM ledger.postings p JOIN ledger.accounts a ON a.id = p.account_id
          WHERE p.entry_id = e.id))
      FROM ledger.journal_entries e
     WHERE e.id = p_entry
    $$
    """


GUARD_COMMAND = """
    CREATE OR REPLACE FUNCTION ledger.guard_command() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
        -- A pending claim is visible to its own transaction only: withdrawing it (invalid
        -- input) leaves nothing behind. A settled answer never changes.
        IF TG_OP = 'DELETE' AND OLD.state = 'pending' THEN
            RETURN OLD;
        END IF;
        IF TG_OP = 'DELETE' OR OLD.state <> 'pending' OR NEW.state = 'pending'
           OR (NEW.idempotency_key, NEW.operation, NEW.request_hash, NEW.created_at, NEW.created_by)
              IS DISTINCT FROM
              (OLD.idempotency_key, OLD.operation, OLD.request_hash, OLD.created_at, OLD.created_by) THEN
            RAISE EXCEPTION 'command % is settled; its answer never changes (% refused)',
                OLD.idempotency_key, TG_OP
                USING ERRCODE = 'restrict_violation', CONSTRAINT = 'command_immutable';
        END IF;
        RETURN NEW;
    END $$
    """

GUARD_COMMAND_BEFORE = """
    CREATE OR REPLACE FUNCTION ledger.guard_command() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
        IF TG_OP = 'DELETE' OR OLD.state <> 'pending' OR NEW.state = 'pending'
           OR (NEW.idempotency_key, NEW.operation, NEW.request_hash, NEW.created_at, NEW.created_by)
              IS DISTINCT FROM
              (OLD.idempotency_key, OLD.operation, OLD.request_hash, OLD.created_at, OLD.created_by) THEN
            RAISE EXCEPTION 'command % is settled; its answer never changes (% refused)',
                OLD.idempotency_key, TG_OP
                USING ERRCODE = 'restrict_violation', CONSTRAINT = 'command_immutable';
        END IF;
        RETURN NEW;
    END $$
    """


def _move_city(old: str, new: str) -> None:
    for table, type_col, code_col in CITY_ROWS:
        # Behind the immutability triggers, as only a migration may: the city's name changes,
        # nothing it holds or did.
        op.execute(f"ALTER TABLE ledger.{table} DISABLE TRIGGER USER")
        op.execute(f"UPDATE ledger.{table} SET {code_col} = '{new}' WHERE {type_col} = 'city' AND {code_col} = '{old}'")
        op.execute(f"ALTER TABLE ledger.{table} ENABLE TRIGGER USER")


def upgrade() -> None:
    op.execute(GUARD_COMMAND)
    # The content keeps the old spelling first, so links hashed before still verify.
    op.execute(_entry_content(OLD))
    _move_city(OLD, NEW)
    for table, type_col, code_col in CITY_ROWS:
        op.execute(
            f"ALTER TABLE ledger.{table} ADD CONSTRAINT ck_{table}_city_code"
            f" CHECK ({type_col} IS DISTINCT FROM 'city' OR {code_col} = '{NEW}')"
        )


def downgrade() -> None:
    for table, _, _ in CITY_ROWS:
        op.execute(f"ALTER TABLE ledger.{table} DROP CONSTRAINT ck_{table}_city_code")
    _move_city(NEW, OLD)
    # Back to the original function text (no city mapping: the rows say 441900000000 again).
    op.execute(_entry_content(OLD).replace("CASE WHEN", "CASE WHEN false AND"))
    op.execute(GUARD_COMMAND_BEFORE)
