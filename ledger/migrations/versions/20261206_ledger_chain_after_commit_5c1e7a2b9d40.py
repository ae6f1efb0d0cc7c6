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
4. `ledger.post_entry(entry, legs)` writes one entry in one round trip: opens the accounts it
   needs, inserts the entry and its postings (in account-id order, the order every writer takes
   account locks in), runs the deferred balance checks now, and answers the postings. What the
   database refuses (an overdraft, an unbalanced entry, a reused key …) is answered as
   `{"error", "constraint", "message"}` with everything the call wrote undone (a PL/pgSQL
   exception block: a savepoint without the client's round trips), so the caller's transaction
   stays usable. The same triggers and constraints judge every row as before.
5. `ledger.run_entry_command(command, entry, legs, body)`: a one-entry command (income,
   allocation) in one round trip: claims the idempotency key in `ledger.commands` (a key already
   there answers `{"replay": true}`: the caller reads it back), posts the entry, and settles
   the command with the answer (`body`, completed with the postings). A refusal answers
   `{"error", …}` with the claim still pending, for the caller to settle with the refusal's
   problem body, exactly as `services.common.idempotency.run_command` does.
   `ledger.run_entry_commands(items)` runs many of them in order in one call: the API batches
   the one-entry commands that arrive together into one transaction (`EntryBatcher` in
   `ledger.service.commands`),
   so a hot account's commands share one COMMIT instead of waiting for one flush each.

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
    """
    CREATE FUNCTION ledger.check_entries_now() RETURNS void
    LANGUAGE plpgsql AS $$
    BEGIN
        SET CONSTRAINTS ledger.postings_balanced, ledger.journal_entries_balanced,
            ledger.reservations_funded, ledger.journal_entries_within_pledge IMMEDIATE;
        SET CONSTRAINTS ledger.postings_balanced, ledger.journal_entries_balanced,
            ledger.reservations_funded, ledger.journal_entries_within_pledge DEFERRED;
    END $$
    """,
    """
    CREATE FUNCTION ledger.post_entry(p_entry jsonb, p_legs jsonb, p_check boolean DEFAULT true)
    RETURNS jsonb
    LANGUAGE plpgsql AS $$
    DECLARE
        v_entry uuid := (p_entry->>'id')::uuid;
        v_postings jsonb;
        v_state text;
        v_constraint text;
        v_message text;
    BEGIN
        BEGIN
            INSERT INTO ledger.accounts (holder_type, holder_code, source_code)
            SELECT DISTINCT l->>'holder_type', l->>'holder_code', l->>'source_code'
              FROM jsonb_array_elements(p_legs) AS l
             WHERE NOT EXISTS (SELECT 1 FROM ledger.accounts a
                                WHERE a.holder_type = l->>'holder_type' AND a.holder_code = l->>'holder_code'
                                  AND a.source_code = l->>'source_code')
             ORDER BY 1, 2, 3
            ON CONFLICT (holder_type, holder_code, source_code) DO NOTHING;
            INSERT INTO ledger.journal_entries
                (id, kind, idempotency_key, request_hash, memo, appeal_id, created_at, created_by,
                 holder_type, holder_code, reverses_id, reservation_id, pledge_id)
            VALUES (v_entry, p_entry->>'kind', p_entry->>'idempotency_key', p_entry->>'request_hash',
                    p_entry->>'memo', (p_entry->>'appeal_id')::uuid, (p_entry->>'created_at')::timestamptz,
                    p_entry->>'created_by', p_entry->>'holder_type', p_entry->>'holder_code',
                    (p_entry->>'reverses_id')::uuid, (p_entry->>'reservation_id')::uuid,
                    (p_entry->>'pledge_id')::uuid);
            WITH written AS (
                INSERT INTO ledger.postings (entry_id, account_id, amount_fen)
                SELECT v_entry, a.id, (l.value->>'amount_fen')::bigint
                  FROM jsonb_array_elements(p_legs) AS l
                  JOIN ledger.accounts a
                    ON a.holder_type = l.value->>'holder_type' AND a.holder_code = l.value->>'holder_code'
                   AND a.source_code = l.value->>'source_code'
                 ORDER BY a.id
                RETURNING id, account_id, amount_fen, balance_after_fen
            )
            SELECT jsonb_agg(jsonb_build_object('id', w.id, 'holder_type', a.holder_type,
                                                'holder_code', a.holder_code, 'source_code', a.source_code,
                                                'amount_fen', w.amount_fen,
                                                'balance_after_fen', w.balance_after_fen))
              INTO v_postings
              FROM written w JOIN ledger.accounts a ON a.id = w.account_id;
            -- The deferred invariants, now, so a refusal is answered here (a batch checks
            -- once, at its end). Not the chain trigger: its queue ticket must be drawn at
            -- COMMIT, after every account lock.
            IF p_check THEN
                PERFORM ledger.check_entries_now();
            END IF;
        EXCEPTION WHEN integrity_constraint_violation THEN
            GET STACKED DIAGNOSTICS v_state = RETURNED_SQLSTATE, v_constraint = CONSTRAINT_NAME,
                                    v_message = MESSAGE_TEXT;
            RETURN jsonb_build_object('error', v_state, 'constraint', v_constraint, 'message', v_message);
        END;
        RETURN jsonb_build_object('postings', coalesce(v_postings, '[]'::jsonb));
    END $$
    """,
    """
    CREATE FUNCTION ledger.run_entry_command(
        p_command jsonb, p_entry jsonb, p_legs jsonb, p_body jsonb, p_check boolean DEFAULT true)
    RETURNS jsonb
    LANGUAGE plpgsql AS $$
    DECLARE
        v_key text := p_command->>'idempotency_key';
        v_posted jsonb;
        v_body jsonb;
    BEGIN
        -- A concurrent request with the same key waits here until the first one ends.
        INSERT INTO ledger.commands (idempotency_key, operation, request_hash, created_by)
        VALUES (v_key, p_command->>'operation', p_command->>'request_hash', p_command->>'created_by')
        ON CONFLICT (idempotency_key) DO NOTHING;
        IF NOT FOUND THEN
            RETURN jsonb_build_object('replay', true);
        END IF;
        v_posted := ledger.post_entry(p_entry, p_legs, p_check);
        IF v_posted ? 'error' THEN
            RETURN v_posted;
        END IF;
        -- Payers first, then payees, as `entry_out` reads an entry back.
        SELECT p_body || jsonb_build_object('postings', coalesce(jsonb_agg(p.value - 'id'
                   ORDER BY (p.value->>'amount_fen')::bigint, (p.value->>'id')::bigint), '[]'::jsonb))
          INTO v_body
          FROM jsonb_array_elements(v_posted->'postings') AS p;
        UPDATE ledger.commands SET state = 'succeeded', status_code = 201, response = v_body
         WHERE idempotency_key = v_key;
        RETURN jsonb_build_object('status', 201, 'body', v_body);
    END $$
    """,
    """
    CREATE FUNCTION ledger.run_entry_commands(p_items jsonb) RETURNS jsonb
    LANGUAGE plpgsql AS $$
    DECLARE
        v_item jsonb;
        v_answers jsonb := '[]'::jsonb;
        v_alone boolean := jsonb_array_length(p_items) = 1;
    BEGIN
        FOR v_item IN SELECT value FROM jsonb_array_elements(p_items) WITH ORDINALITY ORDER BY ordinality LOOP
            v_answers := v_answers || jsonb_build_array(ledger.run_entry_command(
                v_item->'command', v_item->'entry', v_item->'legs', v_item->'body', v_alone));
        END LOOP;
        -- A batch checks the deferred invariants once, for all its entries; one that fails
        -- fails the batch, whose commands are then written again one by one.
        IF NOT v_alone THEN
            PERFORM ledger.check_entries_now();
        END IF;
        RETURN v_answers;
    END $$
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
    "DROP FUNCTION ledger.run_entry_commands(jsonb)",
    "DROP FUNCTION ledger.run_entry_command(jsonb, jsonb, jsonb, jsonb, boolean)",
    "DROP FUNCTION ledger.post_entry(jsonb, jsonb, boolean)",
    "DROP FUNCTION ledger.check_entries_now()",
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
