"""ledger operations, hash chain and command journal: the new entry kinds and their invariants in SQL.

The tables come from autogenerate; the SQL below extends the first revision's invariants to the
operations of issue 7 (DESIGN §6):

1. Entry kinds: matching, reservation, disbursement, release, receipt, reversal; a `reservation`
   holder type for the accounts a reservation's money waits in. A reversal names the entry it
   reverses, and UNIQUE(reverses_id) refuses a second reversal.
2. Reservations: at COMMIT, a new reservation's accounts must have received exactly its amount
   from its reservation entry (so it never exceeds what was available: the money really moved,
   under the payer's non-negative CHECK); a reservation changes state once, pending → posted /
   released / expired, and its accounts are empty when it resolves; it is never deleted.
3. Pledges are immutable; the receipts of a pledge never exceed it (checked at COMMIT).
4. Commands (the idempotency journal) are settled once, in the transaction that inserted them:
   a pending command cannot commit, a settled one never changes.
5. The hash chain: a deferred trigger appends every journal entry at COMMIT under the lock of
   the single chain-head row: hash = sha256(prev_hash || '\n' || ledger.entry_content(id)).
   Chain rows are append-only; the head moves only through the trigger. Existing entries are
   chained here, in the order they were written.

`ledger.entry_content()` is the canonical text of an entry (format `ledger-entry-v1`); the
verifier in `ledger/chain.py` rebuilds the same text from the rows in Python, independently.

Revision ID: 813d671e2d96
Revises: 742de9af6340
Create Date: 2026-11-27 19:49:47.939350
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = '813d671e2d96'
down_revision: str | Sequence[str] | None = '742de9af6340'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

GENESIS_HASH = "0" * 64
ENTRY_KINDS = "'income', 'allocation', 'matching', 'reservation', 'disbursement', 'release', 'receipt', 'reversal'"
HOLDER_TYPES = "'city', 'town', 'village', 'project', 'beneficiary', 'donor', 'external', 'reservation'"

CHECKS = [
    "ALTER TABLE ledger.journal_entries DROP CONSTRAINT ck_journal_entries_kind",
    f"ALTER TABLE ledger.journal_entries ADD CONSTRAINT ck_journal_entries_kind CHECK (kind IN ({ENTRY_KINDS}))",
    "ALTER TABLE ledger.journal_entries ADD CONSTRAINT ck_journal_entries_reversal_reference"
    " CHECK ((reverses_id IS NULL) = (kind <> 'reversal'))",
    "ALTER TABLE ledger.accounts DROP CONSTRAINT ck_accounts_holder_type",
    f"ALTER TABLE ledger.accounts ADD CONSTRAINT ck_accounts_holder_type CHECK (holder_type IN ({HOLDER_TYPES}))",
]

CHAIN = [
    # The canonical content of an entry: one field per line, text hex-encoded (UTF-8), times in
    # microseconds since the epoch, postings in id order. Nothing here depends on locale or
    # on how PostgreSQL prints JSON, so the Python verifier can rebuild it byte for byte.
    """
    CREATE FUNCTION ledger.entry_content(p_entry uuid) RETURNS text
    LANGUAGE sql STABLE AS $$
    SELECT concat_ws(E'\n',
        'ledger-entry-v1',
        'id=' || e.id::text,
        'kind=' || e.kind,
        'key=' || encode(convert_to(e.idempotency_key, 'UTF8'), 'hex'),
        'request=' || e.request_hash,
        'memo=' || coalesce(encode(convert_to(e.memo, 'UTF8'), 'hex'), '-'),
        'appeal=' || coalesce(e.appeal_id::text, '-'),
        'created_at=' || ((extract(epoch FROM e.created_at) * 1000000)::bigint)::text,
        'created_by=' || encode(convert_to(e.created_by, 'UTF8'), 'hex'),
        'holder=' || coalesce(e.holder_type || ':' || encode(convert_to(e.holder_code, 'UTF8'), 'hex'), '-'),
        'reverses=' || coalesce(e.reverses_id::text, '-'),
        'reservation=' || coalesce(e.reservation_id::text, '-'),
        'pledge=' || coalesce(e.pledge_id::text, '-'),
        (SELECT string_agg(
                    format('posting=%s,%s,%s,%s,%s,%s', p.id, a.holder_type,
                           encode(convert_to(a.holder_code, 'UTF8'), 'hex'), a.source_code,
                           p.amount_fen, p.balance_after_fen),
                    E'\n' ORDER BY p.id)
           FROM ledger.postings p JOIN ledger.accounts a ON a.id = p.account_id
          WHERE p.entry_id = e.id))
      FROM ledger.journal_entries e
     WHERE e.id = p_entry
    $$
    """,
    """
    CREATE FUNCTION ledger.chain_append(p_entry uuid) RETURNS void
    LANGUAGE plpgsql AS $$
    DECLARE
        head_seq bigint;
        head_hash text;
        new_hash text;
    BEGIN
        -- The head row's lock serialises appends: a second writer waits here, then reads the
        -- head the first one left, so the chain can never fork.
        SELECT seq, hash INTO head_seq, head_hash FROM ledger.chain_head WHERE id = 1 FOR UPDATE;
        new_hash := encode(sha256(convert_to(head_hash || E'\n' || ledger.entry_content(p_entry), 'UTF8')),
                           'hex');
        INSERT INTO ledger.chain (seq, entry_id, prev_hash, hash, chained_at)
        VALUES (head_seq + 1, p_entry, head_hash, new_hash, clock_timestamp());
        UPDATE ledger.chain_head
           SET seq = head_seq + 1, hash = new_hash, updated_at = clock_timestamp()
         WHERE id = 1;
    END $$
    """,
    """
    CREATE FUNCTION ledger.chain_entry() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
        PERFORM ledger.chain_append(NEW.id);
        RETURN NULL;
    END $$
    """,
]

BACKFILL = [
    f"INSERT INTO ledger.chain_head (id, seq, hash) VALUES (1, 0, '{GENESIS_HASH}')",
    """
    DO $$
    DECLARE
        entry record;
    BEGIN
        FOR entry IN SELECT id FROM ledger.journal_entries ORDER BY created_at, id LOOP
            PERFORM ledger.chain_append(entry.id);
        END LOOP;
    END $$
    """,
]

INVARIANTS = [
    # -- 5. the chain: appended at COMMIT, when every posting of the entry is written.
    """
    CREATE CONSTRAINT TRIGGER journal_entries_chain AFTER INSERT ON ledger.journal_entries
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION ledger.chain_entry()
    """,
    """
    CREATE TRIGGER chain_immutable BEFORE UPDATE OR DELETE ON ledger.chain
    FOR EACH ROW EXECUTE FUNCTION ledger.refuse_change()
    """,
    """
    CREATE TRIGGER chain_no_truncate BEFORE TRUNCATE ON ledger.chain
    FOR EACH STATEMENT EXECUTE FUNCTION ledger.refuse_change()
    """,
    """
    CREATE FUNCTION ledger.guard_chain_head() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
        -- Depth 2 is the UPDATE issued by chain_append() inside the chain trigger.
        IF TG_OP = 'DELETE' OR pg_trigger_depth() < 2 THEN
            RAISE EXCEPTION 'the chain head moves only when an entry is chained (% refused)', TG_OP
                USING ERRCODE = 'restrict_violation', CONSTRAINT = 'chain_head_immutable';
        END IF;
        RETURN NEW;
    END $$
    """,
    """
    CREATE TRIGGER chain_head_guard BEFORE UPDATE OR DELETE ON ledger.chain_head
    FOR EACH ROW EXECUTE FUNCTION ledger.guard_chain_head()
    """,
    """
    CREATE TRIGGER chain_head_no_truncate BEFORE TRUNCATE ON ledger.chain_head
    FOR EACH STATEMENT EXECUTE FUNCTION ledger.refuse_change()
    """,
    # -- 3. pledges: a promise never changes; its receipts never exceed it.
    """
    CREATE TRIGGER pledges_immutable BEFORE UPDATE OR DELETE ON ledger.pledges
    FOR EACH ROW EXECUTE FUNCTION ledger.refuse_change()
    """,
    """
    CREATE TRIGGER pledges_no_truncate BEFORE TRUNCATE ON ledger.pledges
    FOR EACH STATEMENT EXECUTE FUNCTION ledger.refuse_change()
    """,
    """
    CREATE FUNCTION ledger.entry_within_pledge() RETURNS trigger
    LANGUAGE plpgsql AS $$
    DECLARE
        pledged bigint;
        received bigint;
    BEGIN
        SELECT amount_fen INTO pledged FROM ledger.pledges WHERE id = NEW.pledge_id;
        -- What entered from outside for this pledge: minus the external legs of its entries.
        SELECT coalesce(-sum(p.amount_fen), 0) INTO received
          FROM ledger.postings p
          JOIN ledger.accounts a ON a.id = p.account_id
          JOIN ledger.journal_entries e ON e.id = p.entry_id
         WHERE e.pledge_id = NEW.pledge_id AND a.holder_type = 'external';
        IF received < 0 OR received > pledged THEN
            RAISE EXCEPTION 'pledge % would have received % fen of % pledged', NEW.pledge_id, received, pledged
                USING ERRCODE = 'check_violation', CONSTRAINT = 'pledge_receipts';
        END IF;
        RETURN NULL;
    END $$
    """,
    """
    CREATE CONSTRAINT TRIGGER journal_entries_within_pledge AFTER INSERT ON ledger.journal_entries
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW WHEN (NEW.pledge_id IS NOT NULL) EXECUTE FUNCTION ledger.entry_within_pledge()
    """,
    # -- 2. reservations.
    """
    CREATE FUNCTION ledger.guard_reservation() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
        IF TG_OP = 'DELETE' THEN
            RAISE EXCEPTION 'reservations are never deleted (reservation %)', OLD.id
                USING ERRCODE = 'restrict_violation', CONSTRAINT = 'reservation_immutable';
        END IF;
        IF OLD.state <> 'pending' THEN
            RAISE EXCEPTION 'reservation % is already %; it resolves only once', OLD.id, OLD.state
                USING ERRCODE = 'restrict_violation', CONSTRAINT = 'reservation_resolved';
        END IF;
        IF (NEW.id, NEW.holder_type, NEW.holder_code, NEW.payee_type, NEW.payee_code, NEW.amount_fen,
            NEW.source_code, NEW.appeal_id, NEW.plan_id, NEW.expires_at, NEW.memo, NEW.created_at,
            NEW.created_by)
           IS DISTINCT FROM
           (OLD.id, OLD.holder_type, OLD.holder_code, OLD.payee_type, OLD.payee_code, OLD.amount_fen,
            OLD.source_code, OLD.appeal_id, OLD.plan_id, OLD.expires_at, OLD.memo, OLD.created_at,
            OLD.created_by) THEN
            RAISE EXCEPTION 'only the state of reservation % may change', OLD.id
                USING ERRCODE = 'restrict_violation', CONSTRAINT = 'reservation_immutable';
        END IF;
        RETURN NEW;
    END $$
    """,
    """
    CREATE TRIGGER reservations_guard BEFORE UPDATE OR DELETE ON ledger.reservations
    FOR EACH ROW EXECUTE FUNCTION ledger.guard_reservation()
    """,
    """
    CREATE TRIGGER reservations_no_truncate BEFORE TRUNCATE ON ledger.reservations
    FOR EACH STATEMENT EXECUTE FUNCTION ledger.refuse_change()
    """,
    """
    CREATE FUNCTION ledger.reservation_funded() RETURNS trigger
    LANGUAGE plpgsql AS $$
    DECLARE
        held bigint;
    BEGIN
        IF TG_OP = 'INSERT' THEN
            -- What its own reservation entry moved into its accounts: exactly the amount.
            SELECT coalesce(sum(p.amount_fen), 0) INTO held
              FROM ledger.postings p
              JOIN ledger.accounts a ON a.id = p.account_id
              JOIN ledger.journal_entries e ON e.id = p.entry_id
             WHERE a.holder_type = 'reservation' AND a.holder_code = NEW.id::text
               AND e.kind = 'reservation' AND e.reservation_id = NEW.id;
            IF held <> NEW.amount_fen THEN
                RAISE EXCEPTION 'reservation % of % fen holds % fen', NEW.id, NEW.amount_fen, held
                    USING ERRCODE = 'check_violation', CONSTRAINT = 'reservation_funded';
            END IF;
        ELSIF NEW.state <> 'pending' THEN
            SELECT coalesce(sum(balance_fen), 0) INTO held
              FROM ledger.accounts WHERE holder_type = 'reservation' AND holder_code = NEW.id::text;
            IF held <> 0 THEN
                RAISE EXCEPTION 'reservation % resolved as % still holds % fen', NEW.id, NEW.state, held
                    USING ERRCODE = 'check_violation', CONSTRAINT = 'reservation_funded';
            END IF;
        END IF;
        RETURN NULL;
    END $$
    """,
    """
    CREATE CONSTRAINT TRIGGER reservations_funded AFTER INSERT OR UPDATE ON ledger.reservations
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION ledger.reservation_funded()
    """,
    # -- 4. commands: settled once, in the transaction that inserted them.
    """
    CREATE FUNCTION ledger.guard_command() RETURNS trigger
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
    """,
    """
    CREATE TRIGGER commands_guard BEFORE UPDATE OR DELETE ON ledger.commands
    FOR EACH ROW EXECUTE FUNCTION ledger.guard_command()
    """,
    """
    CREATE TRIGGER commands_no_truncate BEFORE TRUNCATE ON ledger.commands
    FOR EACH STATEMENT EXECUTE FUNCTION ledger.refuse_change()
    """,
    """
    CREATE FUNCTION ledger.command_settled() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
        IF EXISTS (SELECT 1 FROM ledger.commands
                    WHERE idempotency_key = NEW.idempotency_key AND state = 'pending') THEN
            RAISE EXCEPTION 'command % would commit without its answer', NEW.idempotency_key
                USING ERRCODE = 'check_violation', CONSTRAINT = 'command_settled';
        END IF;
        RETURN NULL;
    END $$
    """,
    """
    CREATE CONSTRAINT TRIGGER commands_settled AFTER INSERT ON ledger.commands
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION ledger.command_settled()
    """,
]

FUNCTIONS = (
    "command_settled()",
    "guard_command()",
    "reservation_funded()",
    "guard_reservation()",
    "entry_within_pledge()",
    "guard_chain_head()",
    "chain_entry()",
    "chain_append(uuid)",
    "entry_content(uuid)",
)
TRIGGERS = (
    ("journal_entries_chain", "journal_entries"),
    ("journal_entries_within_pledge", "journal_entries"),
)


def upgrade() -> None:
    # ### commands auto generated by Alembic - please adjust! ###
    op.create_table('chain_head',
    sa.Column('id', sa.SmallInteger(), autoincrement=False, nullable=False),
    sa.Column('seq', sa.BigInteger(), nullable=False),
    sa.Column('hash', sa.String(length=64), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint('id = 1', name=op.f('ck_chain_head_single_row')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_chain_head')),
    schema='ledger'
    )
    op.create_table('commands',
    sa.Column('idempotency_key', sa.String(length=200), nullable=False),
    sa.Column('operation', sa.String(length=32), nullable=False),
    sa.Column('request_hash', sa.String(length=64), nullable=False),
    sa.Column('state', sa.String(length=16), server_default=sa.text("'pending'"), nullable=False),
    sa.Column('status_code', sa.SmallInteger(), nullable=True),
    sa.Column('response', postgresql.JSONB(astext_type=sa.Text()), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('created_by', sa.String(length=128), nullable=False),
    sa.CheckConstraint("idempotency_key <> ''", name=op.f('ck_commands_idempotency_key')),
    sa.CheckConstraint("request_hash ~ '^[0-9a-f]{64}$'", name=op.f('ck_commands_request_hash')),
    sa.CheckConstraint("state IN ('pending', 'succeeded', 'failed')", name=op.f('ck_commands_state')),
    sa.PrimaryKeyConstraint('idempotency_key', name=op.f('pk_commands')),
    schema='ledger'
    )
    op.create_table('pledges',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('donor_code', sa.String(length=64), nullable=False),
    sa.Column('amount_fen', sa.BigInteger(), nullable=False),
    sa.Column('recipient_type', sa.String(length=16), nullable=False),
    sa.Column('recipient_code', sa.String(length=64), nullable=False),
    sa.Column('appeal_id', sa.Uuid(), nullable=True),
    sa.Column('claim_id', sa.String(length=64), nullable=True),
    sa.Column('memo', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('created_by', sa.String(length=128), nullable=False),
    sa.CheckConstraint("donor_code <> ''", name=op.f('ck_pledges_donor_code')),
    sa.CheckConstraint("recipient_type IN ('city', 'town', 'village')", name=op.f('ck_pledges_recipient_type')),
    sa.CheckConstraint('amount_fen > 0', name=op.f('ck_pledges_amount_positive')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_pledges')),
    sa.UniqueConstraint('claim_id', name=op.f('uq_pledges_claim_id')),
    schema='ledger'
    )
    op.create_index(op.f('ix_ledger_pledges_donor_code'), 'pledges', ['donor_code'], unique=False, schema='ledger')
    op.create_table('town_matching',
    sa.Column('town_code', sa.String(length=12), nullable=False),
    sa.Column('ratio', sa.String(length=8), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_by', sa.String(length=128), nullable=False),
    sa.CheckConstraint("ratio IN ('1:1', '1:0.5')", name=op.f('ck_town_matching_ratio')),
    sa.PrimaryKeyConstraint('town_code', name=op.f('pk_town_matching')),
    schema='ledger'
    )
    op.create_table('reservations',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('holder_type', sa.String(length=16), nullable=False),
    sa.Column('holder_code', sa.String(length=64), nullable=False),
    sa.Column('payee_type', sa.String(length=16), nullable=False),
    sa.Column('payee_code', sa.String(length=64), nullable=False),
    sa.Column('amount_fen', sa.BigInteger(), nullable=False),
    sa.Column('source_code', sa.String(length=32), nullable=True),
    sa.Column('appeal_id', sa.Uuid(), nullable=True),
    sa.Column('plan_id', sa.String(length=64), nullable=True),
    sa.Column('state', sa.String(length=16), server_default=sa.text("'pending'"), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('memo', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('created_by', sa.String(length=128), nullable=False),
    sa.Column('resolved_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("(state = 'pending') = (resolved_at IS NULL)", name=op.f('ck_reservations_resolved_at')),
    sa.CheckConstraint("holder_type IN ('city', 'town', 'village')", name=op.f('ck_reservations_holder_type')),
    sa.CheckConstraint("payee_type IN ('project', 'beneficiary')", name=op.f('ck_reservations_payee_type')),
    sa.CheckConstraint("state IN ('pending', 'posted', 'released', 'expired')", name=op.f('ck_reservations_state')),
    sa.CheckConstraint('amount_fen > 0', name=op.f('ck_reservations_amount_positive')),
    sa.ForeignKeyConstraint(['source_code'], ['ledger.fund_sources.code'], name=op.f('fk_reservations_source_code_fund_sources')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_reservations')),
    schema='ledger'
    )
    op.create_index(op.f('ix_ledger_reservations_appeal_id'), 'reservations', ['appeal_id'], unique=False, schema='ledger')
    op.create_index('ix_reservations_due', 'reservations', ['expires_at'], unique=False, schema='ledger', postgresql_where=sa.text("state = 'pending'"))
    op.create_index('ix_reservations_holder', 'reservations', ['holder_type', 'holder_code'], unique=False, schema='ledger')
    op.create_index('uq_reservations_open_appeal', 'reservations', ['appeal_id'], unique=True, schema='ledger', postgresql_where=sa.text("state = 'pending' AND appeal_id IS NOT NULL"))
    op.create_table('chain',
    sa.Column('seq', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('entry_id', sa.Uuid(), nullable=False),
    sa.Column('prev_hash', sa.String(length=64), nullable=False),
    sa.Column('hash', sa.String(length=64), nullable=False),
    sa.Column('chained_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("hash ~ '^[0-9a-f]{64}$'", name=op.f('ck_chain_hash')),
    sa.CheckConstraint("prev_hash ~ '^[0-9a-f]{64}$'", name=op.f('ck_chain_prev_hash')),
    sa.ForeignKeyConstraint(['entry_id'], ['ledger.journal_entries.id'], name=op.f('fk_chain_entry_id_journal_entries')),
    sa.PrimaryKeyConstraint('seq', name=op.f('pk_chain')),
    sa.UniqueConstraint('entry_id', name=op.f('uq_chain_entry_id')),
    sa.UniqueConstraint('hash', name=op.f('uq_chain_hash')),
    sa.UniqueConstraint('prev_hash', name=op.f('uq_chain_prev_hash')),
    schema='ledger'
    )
    op.create_index('ix_chain_chained_at', 'chain', ['chained_at'], unique=False, schema='ledger')
    op.add_column('journal_entries', sa.Column('holder_type', sa.String(length=16), nullable=True), schema='ledger')
    op.add_column('journal_entries', sa.Column('holder_code', sa.String(length=64), nullable=True), schema='ledger')
    op.add_column('journal_entries', sa.Column('reverses_id', sa.Uuid(), nullable=True), schema='ledger')
    op.add_column('journal_entries', sa.Column('reservation_id', sa.Uuid(), nullable=True), schema='ledger')
    op.add_column('journal_entries', sa.Column('pledge_id', sa.Uuid(), nullable=True), schema='ledger')
    op.create_index(op.f('ix_ledger_journal_entries_pledge_id'), 'journal_entries', ['pledge_id'], unique=False, schema='ledger')
    op.create_index(op.f('ix_ledger_journal_entries_reservation_id'), 'journal_entries', ['reservation_id'], unique=False, schema='ledger')
    op.create_unique_constraint(op.f('uq_journal_entries_reverses_id'), 'journal_entries', ['reverses_id'], schema='ledger')
    op.create_foreign_key(op.f('fk_journal_entries_pledge_id_pledges'), 'journal_entries', 'pledges', ['pledge_id'], ['id'], source_schema='ledger', referent_schema='ledger')
    op.create_foreign_key(op.f('fk_journal_entries_reservation_id_reservations'), 'journal_entries', 'reservations', ['reservation_id'], ['id'], source_schema='ledger', referent_schema='ledger')
    op.create_foreign_key(op.f('fk_journal_entries_reverses_id_journal_entries'), 'journal_entries', 'journal_entries', ['reverses_id'], ['id'], source_schema='ledger', referent_schema='ledger')
    # ### end Alembic commands ###
    for statement in CHECKS + CHAIN + BACKFILL + INVARIANTS:
        op.execute(statement)


def downgrade() -> None:
    # Tables dropped below take their own triggers; journal_entries keeps its table.
    for trigger, table in TRIGGERS:
        op.execute(f"DROP TRIGGER IF EXISTS {trigger} ON ledger.{table}")
    op.execute("ALTER TABLE ledger.journal_entries DROP CONSTRAINT ck_journal_entries_reversal_reference")
    op.execute("ALTER TABLE ledger.journal_entries DROP CONSTRAINT ck_journal_entries_kind")
    op.execute("ALTER TABLE ledger.journal_entries ADD CONSTRAINT ck_journal_entries_kind"
               " CHECK (kind IN ('income', 'allocation'))")
    op.execute("ALTER TABLE ledger.accounts DROP CONSTRAINT ck_accounts_holder_type")
    op.execute("ALTER TABLE ledger.accounts ADD CONSTRAINT ck_accounts_holder_type CHECK (holder_type IN"
               " ('city', 'town', 'village', 'project', 'beneficiary', 'donor', 'external'))")
    # ### commands auto generated by Alembic - please adjust! ###
    op.drop_constraint(op.f('fk_journal_entries_reverses_id_journal_entries'), 'journal_entries', schema='ledger', type_='foreignkey')
    op.drop_constraint(op.f('fk_journal_entries_reservation_id_reservations'), 'journal_entries', schema='ledger', type_='foreignkey')
    op.drop_constraint(op.f('fk_journal_entries_pledge_id_pledges'), 'journal_entries', schema='ledger', type_='foreignkey')
    op.drop_constraint(op.f('uq_journal_entries_reverses_id'), 'journal_entries', schema='ledger', type_='unique')
    op.drop_index(op.f('ix_ledger_journal_entries_reservation_id'), table_name='journal_entries', schema='ledger')
    op.drop_index(op.f('ix_ledger_journal_entries_pledge_id'), table_name='journal_entries', schema='ledger')
    op.drop_column('journal_entries', 'pledge_id', schema='ledger')
    op.drop_column('journal_entries', 'reservation_id', schema='ledger')
    op.drop_column('journal_entries', 'reverses_id', schema='ledger')
    op.drop_column('journal_entries', 'holder_code', schema='ledger')
    op.drop_column('journal_entries', 'holder_type', schema='ledger')
    op.drop_index('ix_chain_chained_at', table_name='chain', schema='ledger')
    op.drop_table('chain', schema='ledger')
    op.drop_index('uq_reservations_open_appeal', table_name='reservations', schema='ledger', postgresql_where=sa.text("state = 'pending' AND appeal_id IS NOT NULL"))
    op.drop_index('ix_reservations_holder', table_name='reservations', schema='ledger')
    op.drop_index('ix_reservations_due', table_name='reservations', schema='ledger', postgresql_where=sa.text("state = 'pending'"))
    op.drop_index(op.f('ix_ledger_reservations_appeal_id'), table_name='reservations', schema='ledger')
    op.drop_table('reservations', schema='ledger')
    op.drop_table('town_matching', schema='ledger')
    op.drop_index(op.f('ix_ledger_pledges_donor_code'), table_name='pledges', schema='ledger')
    op.drop_table('pledges', schema='ledger')
    op.drop_table('commands', schema='ledger')
    op.drop_table('chain_head', schema='ledger')
    # ### end Alembic commands ###
    for function in FUNCTIONS:
        op.execute(f"DROP FUNCTION IF EXISTS ledger.{function}")
