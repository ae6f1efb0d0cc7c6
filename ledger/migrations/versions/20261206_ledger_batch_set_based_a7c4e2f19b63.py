"""ledger batches written set-wise, accounts locked once in id order, links appended in bulk.

Issue 14.5, third round, measured in the database (`pg_stat_user_functions`, one connection
writing batches of 8 hot-account allocations): of about 2.4 ms per entry, `write_entry` took
0.85 (one overdraft check, one account lookup and insert, one entry and one postings statement
per command, each re-reading the command's legs from JSON), `run_entry_command` 0.3 (a claim
and a settling UPDATE per command), `chain_link` 0.7 (of which `ledger.entry_content` 0.3: a
SQL function is planned again at every call; the rest an INSERT and a DELETE per entry).

1. `ledger.write_commands(items)`, what `ledger.write_batch(items, true)` now runs: the batch's
   missing accounts opened first, before any account lock (in key order; every batch does so,
   so two batches never wait on each other's new account while holding an account lock), the
   keys claimed in one INSERT, every account of the batch locked once, in id order (FOR NO KEY
   UPDATE, the lock the balance trigger takes anyway), and the overdrafts judged at once for
   the whole batch (a running balance per account, command after command): a refusal raises
   `LB001` with nothing written, as before. Each leg's account is looked up once for the batch;
   then each command's entry and its postings (two statements: a posting's check is still the
   entry's own, once; the postings written from the looked-up ids, the answer built from the
   same lookup) and one UPDATE settling every claim. The same triggers and constraints judge every row: the CHECK on accounts, the
   balance per source at the batch's end, immutability, the claim settled before COMMIT.
   `write_batch(items, false)` (a batch written again to settle its refusals) is unchanged.
2. `ledger.entry_content` is PL/pgSQL around the very same query (its text is taken from the
   function as it stands), so its plan is kept for the session; its output is unchanged.
3. `ledger.chain_link` reads the queued entries' contents in one query and writes their links
   in one INSERT and their queue rows' deletion in one DELETE; hashes, order and the
   one-linker-at-a-time lock are unchanged. A batch that finds nothing queued (it holds the
   linkers' lock and all its account locks) appends its entries to the chain directly, without
   passing them through the queue; the COMMIT trigger queues no entry already chained.
4. `write_batch` and `chain_link` run with `enable_seqscan = off`. Every row they read they
   find by key, but PL/pgSQL keeps each statement's plan for the session, and a plan made
   while `ledger.accounts` was a page or two (a new database, or legs read from JSON, which
   the planner guesses at 100 rows) scans the table whole for each lookup: on a hot account,
   whose row leaves a dead version per posting until pruning catches up, that cost grew with
   every batch (5.8 to 10.2 ms of backend CPU per batch of 8 over 300 batches; 4 to 5.5 ms
   and flat with the setting). Each read of a hot account row still walks the row's versions
   that pruning has not removed yet; a long transaction anywhere in the cluster (another
   database's included) keeps the backends from pruning them (`VACUUM` still can), which is
   why a batch reads each account as few times as it can.

Revision ID: a7c4e2f19b63
Revises: e3a91c5d7f20
Create Date: 2026-12-06 20:10:00
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "a7c4e2f19b63"
down_revision: str | Sequence[str] | None = "e3a91c5d7f20"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The linkers' advisory lock (revision 5c1e7a2b9d40).
LINKER_LOCK = "hashtext('ledger.chain')"
# The SQLSTATE of a whole batch undone for a refusal (`ledger.service.journal.BATCH_REFUSED`).
BATCH_REFUSED = "LB001"

# Every row a batch or a linker reads it finds by key (see the migration, 4.).
KEYED = "SET enable_seqscan = off"

WRITE_COMMANDS = f"""
    CREATE FUNCTION ledger.write_commands(p_items jsonb) RETURNS jsonb
    LANGUAGE plpgsql AS $$
    DECLARE
        v_item record;
        v_claimed bigint[];
        v_leg_n bigint[];
        v_leg_account bigint[];
        v_leg_amount bigint[];
        v_leg_key jsonb[];
        v_postings jsonb;
        v_answers jsonb[] := array_fill(NULL::jsonb, ARRAY[jsonb_array_length(p_items)]);
        v_keys text[] := '{{}}';
        v_bodies jsonb[] := '{{}}';
    BEGIN
        -- Accounts first, before any account lock, in key order (see the migration).
        INSERT INTO ledger.accounts (holder_type, holder_code, source_code)
        SELECT DISTINCT l->>'holder_type', l->>'holder_code', l->>'source_code'
          FROM jsonb_array_elements(p_items) AS i, jsonb_array_elements(i->'legs') AS l
         WHERE NOT EXISTS (SELECT 1 FROM ledger.accounts a
                            WHERE a.holder_type = l->>'holder_type' AND a.holder_code = l->>'holder_code'
                              AND a.source_code = l->>'source_code')
         ORDER BY 1, 2, 3
        ON CONFLICT (holder_type, holder_code, source_code) DO NOTHING;
        -- The claims, in one statement. A key already claimed (committed, or by a concurrent
        -- request, which we wait for) is a replay, and so is a key's second command in the
        -- batch: its caller reads the key's answer back once this commits.
        WITH claimed AS (
            INSERT INTO ledger.commands (idempotency_key, operation, request_hash, created_by)
            SELECT i->'command'->>'idempotency_key', i->'command'->>'operation',
                   i->'command'->>'request_hash', i->'command'->>'created_by'
              FROM jsonb_array_elements(p_items) WITH ORDINALITY AS t(i, n)
             ORDER BY n
            ON CONFLICT (idempotency_key) DO NOTHING
            RETURNING idempotency_key
        )
        SELECT coalesce(array_agg(f.n ORDER BY f.n), '{{}}')
          INTO v_claimed
          FROM (SELECT min(t.n) AS n
                  FROM claimed c
                  JOIN jsonb_array_elements(p_items) WITH ORDINALITY AS t(i, n)
                    ON t.i->'command'->>'idempotency_key' = c.idempotency_key
                 GROUP BY c.idempotency_key) AS f;
        -- The claimed commands' legs with their accounts' ids, looked up once for the batch.
        SELECT coalesce(array_agg(g.n ORDER BY g.n, g.account), '{{}}'),
               coalesce(array_agg(g.account ORDER BY g.n, g.account), '{{}}'),
               coalesce(array_agg(g.amount ORDER BY g.n, g.account), '{{}}'),
               coalesce(array_agg(g.leg ORDER BY g.n, g.account), '{{}}')
          INTO v_leg_n, v_leg_account, v_leg_amount, v_leg_key
          FROM (SELECT b.n, a.id AS account, (l->>'amount_fen')::bigint AS amount,
                       jsonb_build_object('holder_type', a.holder_type, 'holder_code', a.holder_code,
                                          'source_code', a.source_code) AS leg
                  FROM jsonb_array_elements(p_items) WITH ORDINALITY AS b(item, n)
                  CROSS JOIN jsonb_array_elements(b.item->'legs') AS l
                  JOIN ledger.accounts a
                    ON a.holder_type = l->>'holder_type' AND a.holder_code = l->>'holder_code'
                   AND a.source_code = l->>'source_code'
                 WHERE b.n = ANY (v_claimed)) AS g;
        -- Every account of the batch locked once, in id order (every writer's order), and the
        -- overdrafts judged command after command; a refusal undoes the call (nothing written).
        IF EXISTS (
            WITH locked AS MATERIALIZED (
                SELECT a.id, a.holder_type, a.balance_fen FROM ledger.accounts a
                 WHERE a.id = ANY (v_leg_account)
                 ORDER BY a.id
                   FOR NO KEY UPDATE
            ), running AS (
                SELECT locked.holder_type,
                       locked.balance_fen + sum(g.amount) OVER (
                           PARTITION BY g.account ORDER BY g.n RANGE UNBOUNDED PRECEDING) AS after_fen
                  FROM unnest(v_leg_n, v_leg_account, v_leg_amount) AS g(n, account, amount)
                  JOIN locked ON locked.id = g.account
            )
            SELECT 1 FROM running WHERE holder_type <> 'external' AND after_fen < 0
        ) THEN
            RAISE EXCEPTION 'a command of the batch was refused; nothing was written'
                USING ERRCODE = '{BATCH_REFUSED}', CONSTRAINT = 'ck_accounts_non_negative';
        END IF;
        FOR v_item IN
            SELECT t.n, t.item FROM jsonb_array_elements(p_items) WITH ORDINALITY AS t(item, n)
             WHERE t.n = ANY (v_claimed) ORDER BY t.n
        LOOP
            INSERT INTO ledger.journal_entries
                (id, kind, idempotency_key, request_hash, memo, appeal_id, created_at, created_by,
                 holder_type, holder_code, reverses_id, reservation_id, pledge_id)
            SELECT (e->>'id')::uuid, e->>'kind', e->>'idempotency_key', e->>'request_hash',
                   e->>'memo', (e->>'appeal_id')::uuid, (e->>'created_at')::timestamptz,
                   e->>'created_by', e->>'holder_type', e->>'holder_code',
                   (e->>'reverses_id')::uuid, (e->>'reservation_id')::uuid, (e->>'pledge_id')::uuid
              FROM (SELECT v_item.item->'entry' AS e) AS x;
            WITH written AS (
                INSERT INTO ledger.postings (entry_id, account_id, amount_fen)
                SELECT (v_item.item->'entry'->>'id')::uuid, g.account, g.amount
                  FROM unnest(v_leg_n, v_leg_account, v_leg_amount) AS g(n, account, amount)
                 WHERE g.n = v_item.n
                 ORDER BY g.account
                RETURNING id, account_id, amount_fen, balance_after_fen
            )
            -- Payers first, then payees, as `entry_out` reads an entry back.
            SELECT coalesce(jsonb_agg(k.leg || jsonb_build_object(
                       'amount_fen', w.amount_fen, 'balance_after_fen', w.balance_after_fen)
                       ORDER BY w.amount_fen, w.id), '[]'::jsonb)
              INTO v_postings
              FROM written w
              JOIN (SELECT DISTINCT g.account, g.leg
                      FROM unnest(v_leg_n, v_leg_account, v_leg_key) AS g(n, account, leg)
                     WHERE g.n = v_item.n) AS k ON k.account = w.account_id;
            v_keys := v_keys || (v_item.item->'command'->>'idempotency_key');
            v_bodies := v_bodies || (v_item.item->'body' || jsonb_build_object('postings', v_postings));
            v_answers[v_item.n] := jsonb_build_object('status', 201, 'body', v_bodies[cardinality(v_bodies)]);
        END LOOP;
        UPDATE ledger.commands c
           SET state = 'succeeded', status_code = 201, response = s.body
          FROM unnest(v_keys, v_bodies) AS s(idempotency_key, body)
         WHERE c.idempotency_key = s.idempotency_key;
        -- The deferred invariants, once for the batch; a failure fails the batch, whose
        -- commands are then written again one by one.
        PERFORM ledger.check_entries_now();
        RETURN (SELECT jsonb_agg(coalesce(a, '{{"replay": true}}'::jsonb) ORDER BY n)
                  FROM unnest(v_answers) WITH ORDINALITY AS t(a, n));
    END $$
    """


def _write_batch(whole: str, direct: bool) -> str:
    """`ledger.write_batch`: how a whole batch is written, and whether a batch that finds the
    queue empty chains its entries directly (else as revision e3a91c5d7f20 made it)."""
    if direct:
        chain = f"""v_locked := pg_try_advisory_xact_lock({LINKER_LOCK});
        IF v_locked AND p_whole AND NOT EXISTS (SELECT 1 FROM ledger.chain_queue) THEN
            -- Nothing committed waits to be chained, and every account lock of the batch is
            -- held: any entry sharing an account with ours is chained already or commits
            -- after us. Ours go to the chain's end directly, in the order they took the
            -- accounts, without passing through the queue (the COMMIT trigger queues no
            -- entry that is chained already).
            PERFORM ledger.chain_entries(ARRAY(
                SELECT (a->'body'->>'id')::uuid
                  FROM jsonb_array_elements(v_answers) WITH ORDINALITY AS t(a, n)
                 WHERE a ? 'status' ORDER BY n));
            v_chained := true;
        ELSE
            -- Queue the batch's entries now rather than at COMMIT: every account lock of the
            -- batch is held already (and kept to COMMIT), so the tickets keep the order in
            -- which the accounts passed, as at COMMIT.
            SET CONSTRAINTS ledger.journal_entries_chain IMMEDIATE;
            SET CONSTRAINTS ledger.journal_entries_chain DEFERRED;
            -- Chain them in this transaction, sharing its COMMIT, if no linker is at work;
            -- never wait for one (the after-commit round links what is left). A bounded
            -- round: a backlog is the linkers' work, not the account locks' holder's.
            IF v_locked THEN
                PERFORM ledger.chain_link(2 * jsonb_array_length(p_items));
                v_chained := NOT EXISTS (SELECT 1 FROM ledger.chain_queue);
            END IF;
        END IF;"""
    else:
        chain = f"""SET CONSTRAINTS ledger.journal_entries_chain IMMEDIATE;
        SET CONSTRAINTS ledger.journal_entries_chain DEFERRED;
        IF pg_try_advisory_xact_lock({LINKER_LOCK}) THEN
            PERFORM ledger.chain_link(2 * jsonb_array_length(p_items));
            v_chained := NOT EXISTS (SELECT 1 FROM ledger.chain_queue);
        END IF;"""
    return f"""
    CREATE OR REPLACE FUNCTION ledger.write_batch(p_items jsonb, p_whole boolean DEFAULT false) RETURNS jsonb
    LANGUAGE plpgsql {KEYED if direct else ""} AS $$
    DECLARE
        v_answers jsonb;
        v_locked boolean;
        v_chained boolean := false;
    BEGIN
        {whole}
        {chain}
        -- Nothing left queued: once this commits, every entry committed before it is
        -- chained, so its commands' callers need no linking round of their own.
        IF v_chained THEN
            SELECT jsonb_agg(CASE WHEN a ? 'status' THEN a || '{{"chained": true}}' ELSE a END
                             ORDER BY n)
              INTO v_answers
              FROM jsonb_array_elements(v_answers) WITH ORDINALITY AS t(a, n);
        END IF;
        RETURN v_answers;
    END $$
    """


WHOLE_BEFORE = f"""v_answers := ledger.run_entry_commands(p_items);
        -- Whole: the call is its own transaction (autocommit), so a refused command, whose
        -- claim the caller must settle in the same transaction, fails the call instead: nothing
        -- is written, and the caller writes the batch again in a transaction of its own.
        IF p_whole AND jsonb_path_exists(v_answers, '$[*].error') THEN
            RAISE EXCEPTION 'a command of the batch was refused; nothing was written'
                USING ERRCODE = '{BATCH_REFUSED}';
        END IF;"""

# Whole: the call is its own transaction (autocommit); a refusal fails it (`LB001`).
WHOLE = """IF p_whole THEN
            v_answers := ledger.write_commands(p_items);
        ELSE
            v_answers := ledger.run_entry_commands(p_items);
        END IF;"""

# Append entries to the chain's end, in the order given (the caller holds the linkers' lock):
# their contents in one query, their links in one INSERT, the head moved once.
CHAIN_ENTRIES = """
    CREATE FUNCTION ledger.chain_entries(p_entries uuid[]) RETURNS integer
    LANGUAGE plpgsql AS $$
    DECLARE
        head_seq bigint;
        head_hash text;
        new_hash text;
        queued record;
        v_seqs bigint[] := '{}';
        v_prevs text[] := '{}';
        v_hashes text[] := '{}';
    BEGIN
        IF cardinality(p_entries) = 0 THEN
            RETURN 0;
        END IF;
        SELECT seq, hash INTO head_seq, head_hash FROM ledger.chain_head WHERE id = 1;
        FOR queued IN
            SELECT t.entry_id, ledger.entry_content(t.entry_id) AS content
              FROM unnest(p_entries) WITH ORDINALITY AS t(entry_id, n)
             ORDER BY t.n
        LOOP
            new_hash := encode(sha256(convert_to(head_hash || E'\\n' || queued.content, 'UTF8')), 'hex');
            head_seq := head_seq + 1;
            v_seqs := v_seqs || head_seq;
            v_prevs := v_prevs || head_hash;
            v_hashes := v_hashes || new_hash;
            head_hash := new_hash;
        END LOOP;
        INSERT INTO ledger.chain (seq, entry_id, prev_hash, hash, chained_at)
        SELECT s, e, p, h, clock_timestamp()
          FROM unnest(v_seqs, p_entries, v_prevs, v_hashes) AS t(s, e, p, h)
         ORDER BY s;
        UPDATE ledger.chain_head
           SET seq = head_seq, hash = head_hash, updated_at = clock_timestamp()
         WHERE id = 1;
        RETURN cardinality(p_entries);
    END $$
    """

# The COMMIT trigger queues an entry unless its own transaction chained it already.
CHAIN_ENTRY = """
    CREATE OR REPLACE FUNCTION ledger.chain_entry() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
        IF NOT EXISTS (SELECT 1 FROM ledger.chain WHERE entry_id = NEW.id) THEN
            INSERT INTO ledger.chain_queue (entry_id) VALUES (NEW.id);
        END IF;
        RETURN NULL;
    END $$
    """
CHAIN_ENTRY_BEFORE = """
    CREATE OR REPLACE FUNCTION ledger.chain_entry() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
        INSERT INTO ledger.chain_queue (entry_id) VALUES (NEW.id);
        RETURN NULL;
    END $$
    """


def _chain_link(bulk: bool) -> str:
    """`ledger.chain_link`: through `ledger.chain_entries` (one content query, one INSERT, one
    DELETE), or as revision 5c1e7a2b9d40 made it (a statement of each per entry)."""
    if bulk:
        body = """SELECT array_agg(ticket ORDER BY ticket), array_agg(entry_id ORDER BY ticket)
          INTO v_tickets, v_entries
          FROM (SELECT ticket, entry_id FROM ledger.chain_queue ORDER BY ticket LIMIT p_limit) AS q;
        linked := ledger.chain_entries(coalesce(v_entries, '{}'));
        DELETE FROM ledger.chain_queue WHERE ticket = ANY (v_tickets);
        RETURN linked;"""
        declare = """v_tickets bigint[];
        v_entries uuid[];"""
    else:
        declare = """head_seq bigint;
        head_hash text;
        new_hash text;
        queued record;"""
        body = """SELECT seq, hash INTO head_seq, head_hash FROM ledger.chain_head WHERE id = 1;
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
        RETURN linked;"""
    return f"""
    CREATE OR REPLACE FUNCTION ledger.chain_link(p_limit integer) RETURNS integer
    LANGUAGE plpgsql {KEYED if bulk else ""} AS $$
    DECLARE
        linked integer := 0;
        {declare}
    BEGIN
        -- Nothing queued: answer without taking the lock, so an idle check costs no write.
        IF NOT EXISTS (SELECT 1 FROM ledger.chain_queue) THEN
            RETURN 0;
        END IF;
        PERFORM pg_advisory_xact_lock({LINKER_LOCK});
        -- A new statement, so a new snapshot: what the linker before us linked is gone.
        {body}
    END $$
    """


# The same query, in PL/pgSQL (its plan kept per session) or back in SQL; its text is read
# from the function as it stands, so the content cannot drift from what was hashed.
CONTENT_PLPGSQL = """
    DO $do$
    DECLARE
        v_body text := (SELECT prosrc FROM pg_proc WHERE oid = 'ledger.entry_content(uuid)'::regprocedure);
    BEGIN
        EXECUTE format('CREATE OR REPLACE FUNCTION ledger.entry_content(p_entry uuid) RETURNS text '
                       'LANGUAGE plpgsql STABLE AS %L', 'BEGIN RETURN (' || v_body || '); END');
    END $do$
    """
CONTENT_SQL = """
    DO $do$
    DECLARE
        v_body text := (SELECT prosrc FROM pg_proc WHERE oid = 'ledger.entry_content(uuid)'::regprocedure);
    BEGIN
        v_body := substr(v_body, length('BEGIN RETURN (') + 1);
        v_body := left(v_body, length(v_body) - length('); END'));
        EXECUTE format('CREATE OR REPLACE FUNCTION ledger.entry_content(p_entry uuid) RETURNS text '
                       'LANGUAGE sql STABLE AS %L', v_body);
    END $do$
    """


def upgrade() -> None:
    op.execute(WRITE_COMMANDS)
    op.execute(CONTENT_PLPGSQL)
    op.execute(CHAIN_ENTRIES)
    op.execute(_chain_link(bulk=True))
    op.execute(CHAIN_ENTRY)
    op.execute(_write_batch(WHOLE, direct=True))


def downgrade() -> None:
    op.execute(_write_batch(WHOLE_BEFORE, direct=False))
    op.execute(CHAIN_ENTRY_BEFORE)
    op.execute(_chain_link(bulk=False))
    op.execute("DROP FUNCTION ledger.chain_entries(uuid[])")
    op.execute(CONTENT_SQL)
    op.execute("DROP FUNCTION ledger.write_commands(jsonb)")
