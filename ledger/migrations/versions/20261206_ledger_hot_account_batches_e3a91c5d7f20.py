"""ledger hot account batches: no subtransactions, chained in the batch, each entry checked once.

Issue 14.5, measured (backend CPU time, `pg_stat_user_functions`, the bench's own timings):

1. `ledger.run_entry_commands` wrote each command of a batch through `ledger.post_entry`, whose
   PL/pgSQL exception block is a subtransaction. On a hot account every command of the batch
   updates the same account row from a subtransaction of its own, and every later statement
   judges each version of that row against the transaction's growing list of subtransactions:
   about 3.9 ms of database CPU per command of an 8-command batch, 0.75 ms without the blocks
   (and the linker's reads of those rows 0.55 against 0.2 ms per entry). Now a command of a
   batch is written by `ledger.write_entry(entry, legs)`: the same statements as `post_entry`,
   without an exception block. The refusal a batch foresees, an overdraft, is judged first,
   under the entry's account locks (taken in id order, every writer's order), and answered
   `{"error", "constraint": "ck_accounts_non_negative", …}` before anything is written. The
   CHECK on accounts still judges every posting and the deferred checks still run once for
   the batch, at its end; anything else the database refuses fails the whole batch, whose
   commands the API writes again one by one, each through `post_entry` as before. A command
   alone still goes through `post_entry`.
2. `ledger.write_batch(items, whole)`: the batch, then its entries queued for the chain (every
   account lock of the batch is held by then, and kept to COMMIT, so tickets keep the order in
   which the accounts passed, as at COMMIT) and chained in the same transaction when no linker
   holds the linkers' lock (`pg_try_advisory_xact_lock`: never waits), so a batch costs one
   WAL flush, not two. When nothing is left queued, each written command's answer says
   `"chained": true`, and its caller skips its linking round (`ChainLinker.settle`). `whole`: the call is its
   own transaction (autocommit, one round trip), so a refused command, whose claim must be
   settled in the transaction that claims it, fails the call (SQLSTATE `LB001`, nothing
   written) and the caller writes the batch again in a transaction of its own.
3. Each entry's balance is checked once, not once per posting and once more per entry (three
   times for a transfer): the entry's own deferred check covers every posting written before
   it runs, so a posting written while its entry's check is still to come (the entry
   `stamp_entry` last stamped, kept in the transaction-local setting `ledger.unchecked_entry`,
   cleared once that check ran) queues no check of its own. A posting added after its
   entry's check ran still queues one. (A client that set that setting by hand could spare a
   late posting its check, as one that disabled the triggers could: both are the ledger's own.)

Revision ID: e3a91c5d7f20
Revises: b8d2f4a61c37
Create Date: 2026-12-06 17:10:00
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "e3a91c5d7f20"
down_revision: str | Sequence[str] | None = "b8d2f4a61c37"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

WRITE_ENTRY = """
    CREATE FUNCTION ledger.write_entry(p_entry jsonb, p_legs jsonb) RETURNS jsonb
    LANGUAGE plpgsql AS $$
    DECLARE
        v_entry uuid := (p_entry->>'id')::uuid;
        v_postings jsonb;
    BEGIN
        -- The overdraft, judged under the accounts' locks (taken in id order, as every writer
        -- takes them) before anything is written, so it is answered rather than raised: a
        -- batch has no subtransaction to undo a half-written entry. An account not opened yet
        -- holds nothing. The CHECK on accounts still judges each posting below.
        IF EXISTS (
            WITH legs AS (
                SELECT l->>'holder_type' AS holder_type, l->>'holder_code' AS holder_code,
                       l->>'source_code' AS source_code, sum((l->>'amount_fen')::bigint) AS amount_fen
                  FROM jsonb_array_elements(p_legs) AS l
                 GROUP BY 1, 2, 3
            ), locked AS MATERIALIZED (
                SELECT a.holder_type, a.holder_code, a.source_code, a.balance_fen
                  FROM ledger.accounts a
                 WHERE (a.holder_type, a.holder_code, a.source_code) IN
                       (SELECT holder_type, holder_code, source_code FROM legs)
                 ORDER BY a.id
                   FOR UPDATE
            )
            SELECT 1
              FROM legs LEFT JOIN locked USING (holder_type, holder_code, source_code)
             WHERE legs.holder_type <> 'external'
               AND coalesce(locked.balance_fen, 0) + legs.amount_fen < 0
        ) THEN
            RETURN jsonb_build_object('error', '23514', 'constraint', 'ck_accounts_non_negative',
                                      'message', 'an account would go below zero; nothing was written');
        END IF;
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
        RETURN jsonb_build_object('postings', coalesce(v_postings, '[]'::jsonb));
    END $$
    """

RUN_ENTRY_COMMAND = """
    CREATE OR REPLACE FUNCTION ledger.run_entry_command(
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
        -- Alone: checked now, a refusal undone by post_entry's exception block. In a batch
        -- (checked once at its end): no subtransaction; what write_entry does not foresee
        -- fails the batch, whose commands are then written alone.
        IF p_check THEN
            v_posted := ledger.post_entry(p_entry, p_legs, true);
        ELSE
            v_posted := ledger.write_entry(p_entry, p_legs);
        END IF;
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
    """

# The linkers' advisory lock (revision 5c1e7a2b9d40).
LINKER_LOCK = "hashtext('ledger.chain')"
# The SQLSTATE of a whole batch undone for a refusal (`ledger.service.journal.BATCH_REFUSED`).
BATCH_REFUSED = "LB001"

WRITE_BATCH = f"""
    CREATE FUNCTION ledger.write_batch(p_items jsonb, p_whole boolean DEFAULT false) RETURNS jsonb
    LANGUAGE plpgsql AS $$
    DECLARE
        v_answers jsonb := ledger.run_entry_commands(p_items);
    BEGIN
        -- Whole: the call is its own transaction (autocommit), so a refused command, whose
        -- claim the caller must settle in the same transaction, fails the call instead: nothing
        -- is written, and the caller writes the batch again in a transaction of its own.
        IF p_whole AND jsonb_path_exists(v_answers, '$[*].error') THEN
            RAISE EXCEPTION 'a command of the batch was refused; nothing was written'
                USING ERRCODE = '{BATCH_REFUSED}';
        END IF;
        -- Queue the batch's entries now rather than at COMMIT: every account lock of the batch
        -- is held already (and kept to COMMIT), so the tickets keep the order in which the
        -- accounts passed, as at COMMIT. Later entries of the transaction queue at COMMIT.
        SET CONSTRAINTS ledger.journal_entries_chain IMMEDIATE;
        SET CONSTRAINTS ledger.journal_entries_chain DEFERRED;
        -- Chain them in this transaction, sharing its COMMIT, if no linker is at work; never
        -- wait for one (the after-commit round links what is left). A bounded round: a
        -- backlog is the linkers' work, not the account locks' holder's.
        IF pg_try_advisory_xact_lock({LINKER_LOCK}) THEN
            PERFORM ledger.chain_link(2 * jsonb_array_length(p_items));
            -- Nothing left queued: once this commits, every entry committed before it is
            -- chained, so its commands' callers need no linking round of their own.
            IF NOT EXISTS (SELECT 1 FROM ledger.chain_queue) THEN
                SELECT jsonb_agg(CASE WHEN a ? 'status' THEN a || '{{"chained": true}}' ELSE a END
                                 ORDER BY n)
                  INTO v_answers
                  FROM jsonb_array_elements(v_answers) WITH ORDINALITY AS t(a, n);
            END IF;
        END IF;
        RETURN v_answers;
    END $$
    """

RUN_ENTRY_COMMAND_BEFORE = """
    CREATE OR REPLACE FUNCTION ledger.run_entry_command(
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
    """


CHECK_ONCE = [
    # The entry being written, named for its postings' trigger (transaction-local, and undone
    # with a subtransaction that undoes the entry).
    """
    CREATE OR REPLACE FUNCTION ledger.stamp_entry() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
        NEW.txid := txid_current();
        PERFORM set_config('ledger.unchecked_entry', NEW.id::text, true);
        RETURN NEW;
    END $$
    """,
    """
    CREATE OR REPLACE FUNCTION ledger.entry_balanced() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
        PERFORM ledger.assert_entry_balanced(NEW.id);
        -- Checked: a posting added to it from now on queues its own check.
        IF current_setting('ledger.unchecked_entry', true) = NEW.id::text THEN
            PERFORM set_config('ledger.unchecked_entry', '', true);
        END IF;
        RETURN NULL;
    END $$
    """,
    "DROP TRIGGER postings_balanced ON ledger.postings",
    # A posting of the entry whose own check is still to come needs none of its own: that
    # check runs after it and covers every posting the entry has then.
    """
    CREATE CONSTRAINT TRIGGER postings_balanced AFTER INSERT ON ledger.postings
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW
    WHEN (NEW.entry_id::text IS DISTINCT FROM current_setting('ledger.unchecked_entry', true))
    EXECUTE FUNCTION ledger.posting_entry_balanced()
    """,
]

CHECK_ONCE_BEFORE = [
    """
    CREATE OR REPLACE FUNCTION ledger.stamp_entry() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
        NEW.txid := txid_current();
        RETURN NEW;
    END $$
    """,
    """
    CREATE OR REPLACE FUNCTION ledger.entry_balanced() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
        PERFORM ledger.assert_entry_balanced(NEW.id);
        RETURN NULL;
    END $$
    """,
    "DROP TRIGGER postings_balanced ON ledger.postings",
    """
    CREATE CONSTRAINT TRIGGER postings_balanced AFTER INSERT ON ledger.postings
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION ledger.posting_entry_balanced()
    """,
]


def upgrade() -> None:
    op.execute(WRITE_ENTRY)
    op.execute(RUN_ENTRY_COMMAND)
    op.execute(WRITE_BATCH)
    for statement in CHECK_ONCE:
        op.execute(statement)


def downgrade() -> None:
    for statement in CHECK_ONCE_BEFORE:
        op.execute(statement)
    op.execute("DROP FUNCTION ledger.write_batch(jsonb, boolean)")
    op.execute(RUN_ENTRY_COMMAND_BEFORE)
    op.execute("DROP FUNCTION ledger.write_entry(jsonb, jsonb)")
