"""ledger batches: every entry of a batch in one INSERT, every posting in one INSERT.

Issue 14.5, fourth round, measured on a quiet machine (`auto_explain` of one batch of 8
hot-account allocations with its nested statements, `pg_stat_user_functions`, the bench's time
per batch): `ledger.write_commands` wrote each command's entry and its postings in statements
of their own, sixteen for a batch of 8, and under `auto_explain` each postings statement cost
about 0.6 ms besides its triggers (its plan's start and end, its CTE, its answer built per
command). Written at once: 9.7–10.1 → 7.3–7.6 ms per batch of 8 in the database call, of it
`write_commands`' own statements 4.2 → 2.6–3.3 ms.

1. `ledger.write_commands(items)` now writes the batch's entries in one INSERT, its postings in
   one INSERT (in command order, and within a command in account-id order, as before: the
   balance trigger runs row by row in that order, so each posting's `balance_after_fen` is the
   running balance command after command, as it was) and builds every answer in the same
   statement. Everything else is as revision a7c4e2f19b63 made it: the accounts opened first,
   the keys claimed in one INSERT, every account locked once in id order with the overdrafts
   judged first (`LB001`, nothing written), one UPDATE settling every claim, the deferred
   checks run once at the batch's end.
2. Each entry's balance is still checked once (revision e3a91c5d7f20): a posting written while
   its entry's own check is still to come queues none of its own. `ledger.unchecked_entry` may
   now name several entries (their ids separated by spaces): `write_commands` names every
   entry of its batch before it writes their postings and clears the setting once their
   checks ran. The postings' trigger skips a posting whose entry the setting names; with one
   id it reads as before.

Revision ID: d4b8e61f0a25
Revises: a7c4e2f19b63
Create Date: 2026-12-07 00:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "d4b8e61f0a25"
down_revision: str | Sequence[str] | None = "a7c4e2f19b63"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The SQLSTATE of a whole batch undone for a refusal (`ledger.service.journal.BATCH_REFUSED`).
BATCH_REFUSED = "LB001"


def _write_commands(entries: str) -> str:
    """`ledger.write_commands`, with `entries` writing the claimed commands' entries and
    postings and filling `v_answers`, `v_keys` and `v_bodies`."""
    return f"""
    CREATE OR REPLACE FUNCTION ledger.write_commands(p_items jsonb) RETURNS jsonb
    LANGUAGE plpgsql AS $$
    DECLARE
        v_item record;
        v_claimed bigint[];
        v_leg_n bigint[];
        v_leg_account bigint[];
        v_leg_amount bigint[];
        v_leg_key jsonb[];
        v_postings jsonb;
        v_ns bigint[];
        v_answers jsonb[] := array_fill(NULL::jsonb, ARRAY[jsonb_array_length(p_items)]);
        v_keys text[] := '{{}}';
        v_bodies jsonb[] := '{{}}';
    BEGIN
        -- Accounts first, before any account lock, in key order (see revision a7c4e2f19b63).
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
        {entries}
        UPDATE ledger.commands c
           SET state = 'succeeded', status_code = 201, response = s.body
          FROM unnest(v_keys, v_bodies) AS s(idempotency_key, body)
         WHERE c.idempotency_key = s.idempotency_key;
        -- The deferred invariants, once for the batch; a failure fails the batch, whose
        -- commands are then written again one by one.
        PERFORM ledger.check_entries_now();
        -- Every entry of the batch is checked: a posting added to one from now on (none is,
        -- in this call) queues its own check.
        PERFORM set_config('ledger.unchecked_entry', '', true);
        RETURN (SELECT jsonb_agg(coalesce(a, '{{"replay": true}}'::jsonb) ORDER BY n)
                  FROM unnest(v_answers) WITH ORDINALITY AS t(a, n));
    END $$
    """


# Every claimed command's entry in one INSERT, their postings in one INSERT, the answers built
# from what the postings' INSERT returns.
ENTRIES_AT_ONCE = """
        INSERT INTO ledger.journal_entries
            (id, kind, idempotency_key, request_hash, memo, appeal_id, created_at, created_by,
             holder_type, holder_code, reverses_id, reservation_id, pledge_id)
        SELECT (e->>'id')::uuid, e->>'kind', e->>'idempotency_key', e->>'request_hash',
               e->>'memo', (e->>'appeal_id')::uuid, (e->>'created_at')::timestamptz,
               e->>'created_by', e->>'holder_type', e->>'holder_code',
               (e->>'reverses_id')::uuid, (e->>'reservation_id')::uuid, (e->>'pledge_id')::uuid
          FROM (SELECT t.n, t.item->'entry' AS e
                  FROM jsonb_array_elements(p_items) WITH ORDINALITY AS t(item, n)
                 WHERE t.n = ANY (v_claimed)) AS x
         ORDER BY x.n;
        -- Each entry's own check (deferred, at the batch's end) covers its postings: name
        -- them all, so their postings queue no check of their own (revision e3a91c5d7f20).
        PERFORM set_config('ledger.unchecked_entry',
                           (SELECT string_agg(t.item->'entry'->>'id', ' ' ORDER BY t.n)
                              FROM jsonb_array_elements(p_items) WITH ORDINALITY AS t(item, n)
                             WHERE t.n = ANY (v_claimed)), true);
        -- The postings in command order, and within a command in account-id order: the
        -- balance trigger runs row by row in that order, so `balance_after_fen` is each
        -- account's running balance command after command.
        WITH items AS (
            SELECT t.n, t.item, (t.item->'entry'->>'id')::uuid AS entry_id
              FROM jsonb_array_elements(p_items) WITH ORDINALITY AS t(item, n)
             WHERE t.n = ANY (v_claimed)
        ), written AS (
            INSERT INTO ledger.postings (entry_id, account_id, amount_fen)
            SELECT i.entry_id, g.account, g.amount
              FROM unnest(v_leg_n, v_leg_account, v_leg_amount) AS g(n, account, amount)
              JOIN items i ON i.n = g.n
             ORDER BY g.n, g.account
            RETURNING id, entry_id, account_id, amount_fen, balance_after_fen
        ), legs AS (
            SELECT DISTINCT g.n, g.account, g.leg
              FROM unnest(v_leg_n, v_leg_account, v_leg_key) AS g(n, account, leg)
        ), bodies AS (
            -- Payers first, then payees, as `entry_out` reads an entry back.
            SELECT i.n, i.item->'command'->>'idempotency_key' AS key,
                   i.item->'body' || jsonb_build_object('postings', coalesce(
                       (SELECT jsonb_agg(l.leg || jsonb_build_object(
                                   'amount_fen', w.amount_fen, 'balance_after_fen', w.balance_after_fen)
                                   ORDER BY w.amount_fen, w.id)
                          FROM written w
                          JOIN legs l ON l.n = i.n AND l.account = w.account_id
                         WHERE w.entry_id = i.entry_id), '[]'::jsonb)) AS body
              FROM items i
        )
        SELECT coalesce(array_agg(b.n ORDER BY b.n), '{}'),
               coalesce(array_agg(b.key ORDER BY b.n), '{}'),
               coalesce(array_agg(b.body ORDER BY b.n), '{}')
          INTO v_ns, v_keys, v_bodies
          FROM bodies b;
        FOR i IN 1 .. cardinality(v_ns) LOOP
            v_answers[v_ns[i]] := jsonb_build_object('status', 201, 'body', v_bodies[i]);
        END LOOP;"""

# As revision a7c4e2f19b63 wrote them: each command's entry and postings in statements of
# their own.
ENTRIES_ONE_BY_ONE = """
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
        END LOOP;"""


def _postings_balanced(when: str) -> list[str]:
    return [
        "DROP TRIGGER postings_balanced ON ledger.postings",
        f"""
        CREATE CONSTRAINT TRIGGER postings_balanced AFTER INSERT ON ledger.postings
        DEFERRABLE INITIALLY DEFERRED
        FOR EACH ROW
        WHEN ({when})
        EXECUTE FUNCTION ledger.posting_entry_balanced()
        """,
    ]


# A posting queues its own check unless the setting names its entry (one id, or several
# separated by spaces: an id has no space, so it is found only whole).
NAMED_IN_LIST = (
    "position(NEW.entry_id::text IN coalesce(current_setting('ledger.unchecked_entry', true), '')) = 0"
)
NAMED_ALONE = "NEW.entry_id::text IS DISTINCT FROM current_setting('ledger.unchecked_entry', true)"


def upgrade() -> None:
    for statement in _postings_balanced(NAMED_IN_LIST):
        op.execute(statement)
    op.execute(_write_commands(ENTRIES_AT_ONCE))


def downgrade() -> None:
    op.execute(_write_commands(ENTRIES_ONE_BY_ONE))
    for statement in _postings_balanced(NAMED_ALONE):
        op.execute(statement)
