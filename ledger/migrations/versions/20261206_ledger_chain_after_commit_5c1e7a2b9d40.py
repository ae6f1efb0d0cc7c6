"""ledger chain after commit: entries queue at COMMIT, a linker appends them to the hash chain.

Until now the deferred trigger `journal_entries_chain` appended each entry to the chain at
COMMIT under the single chain-head row's lock, so every ledger commit in the city waited for
every other one, whatever accounts they touched (issue 14.5). Now:

1. At COMMIT the trigger only queues the entry in `ledger.chain_queue`, drawing its `ticket`
   from a sequence. A sequence never waits, and the ticket is drawn when every account lock of
   the transaction is held: two entries that share an account get tickets in the order the
   account passed between them (the second cannot reach its COMMIT before the first released
   the lock), so ticket order is commit order wherever order matters to a balance.
2. `ledger.chain_link(limit)` appends queued entries to the chain in ticket order, many per
   transaction, under a transaction-level advisory lock (linkers only wait on each other, and a
   linker that finds nothing to do writes nothing). Chain rows and the queue row's deletion
   commit together, so a linker killed midway links nothing and one run twice links nothing
   twice (`uq_chain_entry_id` refuses it anyway). The hash is unchanged:
   sha256(prev_hash || '\\n' || ledger.entry_content(id)).
3. The chain head may move only forward onto a link that exists with that very hash (it used to
   check the trigger depth, which no longer says who is calling).

Revision ID: 5c1e7a2b9d40
Revises: 813d671e2d96
Create Date: 2026-12-06 13:40:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "5c1e7a2b9d40"
down_revision: str | Sequence[str] | None = "813d671e2d96"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# hashtext('ledger.chain'): the advisory lock every linker takes; any constant would do, as
# long as every linker uses the same one.
LINKER_LOCK = "hashtext('ledger.chain')"

UPGRADE = [
    """
    CREATE OR REPLACE FUNCTION ledger.chain_entry() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
        INSERT INTO ledger.chain_queue (entry_id) VALUES (NEW.id);
        RETURN NULL;
    END $$
    """,
    f"""
    CREATE FUNCTION ledger.chain_link(p_limit integer) RETURNS integer
    LANGUAGE plpgsql AS $$
    DECLARE
        head_seq bigint;
        head_hash text;
        new_hash text;
        queued record;
        linked integer := 0;
    BEGIN
        -- Nothing queued: answer without taking the lock, so an idle check costs no write.
        IF NOT EXISTS (SELECT 1 FROM ledger.chain_queue) THEN
            RETURN 0;
        END IF;
        PERFORM pg_advisory_xact_lock({LINKER_LOCK});
        SELECT seq, hash INTO head_seq, head_hash FROM ledger.chain_head WHERE id = 1;
        -- A new statement, so a new snapshot: what the linker before us linked is gone.
        FOR queued IN
            SELECT ticket, entry_id FROM ledger.chain_queue ORDER BY ticket LIMIT p_limit
        LOOP
            new_hash := encode(sha256(convert_to(
                head_hash || E'\\n' || ledger.entry_content(queued.entry_id), 'UTF8')), 'hex');
            head_seq := head_seq + 1;
            INSERT INTO ledger.chain (seq, entry_id, prev_hash, hash, chained_at)
            VALUES (head_seq, queued.entry_id, head_hash, new_hash, clock_timestamp());
            DELETE FROM ledger.chain_queue WHERE ticket = queued.ticket;
            head_hash := new_hash;
            linked := linked + 1;
        END LOOP;
        IF linked > 0 THEN
            UPDATE ledger.chain_head
               SET seq = head_seq, hash = head_hash, updated_at = clock_timestamp()
             WHERE id = 1;
        END IF;
        RETURN linked;
    END $$
    """,
    """
    CREATE OR REPLACE FUNCTION ledger.guard_chain_head() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
        IF TG_OP = 'DELETE' OR NEW.id <> OLD.id OR NEW.seq < OLD.seq
           OR NOT EXISTS (SELECT 1 FROM ledger.chain WHERE seq = NEW.seq AND hash = NEW.hash) THEN
            RAISE EXCEPTION 'the chain head moves only forward, onto a link of the chain (% refused)', TG_OP
                USING ERRCODE = 'restrict_violation', CONSTRAINT = 'chain_head_immutable';
        END IF;
        RETURN NEW;
    END $$
    """,
    """
    CREATE TRIGGER chain_queue_no_truncate BEFORE TRUNCATE ON ledger.chain_queue
    FOR EACH STATEMENT EXECUTE FUNCTION ledger.refuse_change()
    """,
]

DOWNGRADE = [
    # Link whatever is still queued, so the old at-COMMIT trigger finds a complete chain.
    "SELECT ledger.chain_link(2147483647)",
    """
    CREATE OR REPLACE FUNCTION ledger.chain_entry() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
        PERFORM ledger.chain_append(NEW.id);
        RETURN NULL;
    END $$
    """,
    """
    CREATE OR REPLACE FUNCTION ledger.guard_chain_head() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
        IF TG_OP = 'DELETE' OR pg_trigger_depth() < 2 THEN
            RAISE EXCEPTION 'the chain head moves only when an entry is chained (% refused)', TG_OP
                USING ERRCODE = 'restrict_violation', CONSTRAINT = 'chain_head_immutable';
        END IF;
        RETURN NEW;
    END $$
    """,
    "DROP FUNCTION ledger.chain_link(integer)",
]


def upgrade() -> None:
    op.create_table(
        "chain_queue",
        sa.Column("ticket", sa.BigInteger(), sa.Identity(always=True), nullable=False),
        sa.Column("entry_id", sa.Uuid(), nullable=False),
        sa.Column("queued_at", sa.DateTime(timezone=True), server_default=sa.text("clock_timestamp()"), nullable=False),
        sa.ForeignKeyConstraint(
            ["entry_id"], ["ledger.journal_entries.id"], name=op.f("fk_chain_queue_entry_id_journal_entries")
        ),
        sa.PrimaryKeyConstraint("ticket", name=op.f("pk_chain_queue")),
        sa.UniqueConstraint("entry_id", name=op.f("uq_chain_queue_entry_id")),
        schema="ledger",
    )
    for statement in UPGRADE:
        op.execute(statement)


def downgrade() -> None:
    for statement in DOWNGRADE:
        op.execute(statement)
    op.drop_table("chain_queue", schema="ledger")
