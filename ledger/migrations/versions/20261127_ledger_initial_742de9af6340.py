"""ledger initial: fund sources, accounts, the double-entry journal, and its invariants in SQL.

The tables come from autogenerate; the triggers below are the point of this revision. They make
the database itself refuse what a ledger must never hold (DESIGN §6):

1. An entry whose postings do not sum to zero per fund source, or that has fewer than two
   postings, fails at COMMIT (deferred constraint triggers on postings and on journal_entries,
   the latter so that an entry without any posting is caught too).
2. Each account's balance is the running sum of its postings, maintained by a BEFORE INSERT
   trigger on postings; the CHECK `balance_fen >= 0 OR holder_type = 'external'` on accounts
   then refuses an overdraft. The UPDATE takes the account's row lock, so concurrent
   withdrawals serialise and each is judged against the balance the previous one left.
3. Posted rows are immutable: UPDATE, DELETE and TRUNCATE of postings and journal_entries
   raise; a posting may join an entry only in the transaction that created the entry; an
   account's identity never changes and its balance changes only through a posting.

Revision ID: 742de9af6340
Revises:
Create Date: 2026-11-27 18:40:22.802244
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "742de9af6340"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = ("ledger",)
depends_on: str | Sequence[str] | None = None

FUND_SOURCES = [
    # code, Chinese name, who may receive it from outside (all else arrives by allocation)
    ("city_finance", "市财政", ["city"], 1),
    ("city_charity", "市慈善会", ["city"], 2),
    ("town_matching", "镇街配套", ["town"], 3),
    ("village_collective", "村集体", ["village"], 4),
    ("donation", "社会捐赠", ["city", "town", "village"], 5),
]

INVARIANTS = [
    # -- 2. balances: every posting moves its account's balance, under the account's row lock.
    """
    CREATE FUNCTION ledger.apply_posting() RETURNS trigger
    LANGUAGE plpgsql AS $$
    DECLARE
        entry_txid bigint;
    BEGIN
        -- A posted entry never gains legs: only its own transaction may add postings to it.
        SELECT txid INTO entry_txid FROM ledger.journal_entries WHERE id = NEW.entry_id;
        IF FOUND AND entry_txid <> txid_current() THEN
            RAISE EXCEPTION 'journal entry % is already posted; postings cannot be added to it',
                NEW.entry_id
                USING ERRCODE = 'restrict_violation', CONSTRAINT = 'entry_immutable';
        END IF;
        -- The CHECK on accounts judges the new balance; the row lock serialises concurrent
        -- postings, so two withdrawals can never both spend the last fen.
        UPDATE ledger.accounts
           SET balance_fen = balance_fen + NEW.amount_fen
         WHERE id = NEW.account_id
        RETURNING balance_fen INTO NEW.balance_after_fen;
        IF NOT FOUND THEN
            RAISE EXCEPTION 'account % does not exist', NEW.account_id
                USING ERRCODE = 'foreign_key_violation',
                      CONSTRAINT = 'fk_postings_account_id_accounts';
        END IF;
        RETURN NEW;
    END $$
    """,
    """
    CREATE TRIGGER postings_apply BEFORE INSERT ON ledger.postings
    FOR EACH ROW EXECUTE FUNCTION ledger.apply_posting()
    """,
    """
    CREATE FUNCTION ledger.stamp_entry() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
        NEW.txid := txid_current();
        RETURN NEW;
    END $$
    """,
    """
    CREATE TRIGGER journal_entries_stamp BEFORE INSERT ON ledger.journal_entries
    FOR EACH ROW EXECUTE FUNCTION ledger.stamp_entry()
    """,
    """
    CREATE FUNCTION ledger.guard_account() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
        IF TG_OP = 'DELETE' THEN
            RAISE EXCEPTION 'ledger accounts are never deleted (account %)', OLD.id
                USING ERRCODE = 'restrict_violation', CONSTRAINT = 'account_immutable';
        END IF;
        IF (NEW.id, NEW.holder_type, NEW.holder_code, NEW.source_code, NEW.created_at)
           IS DISTINCT FROM
           (OLD.id, OLD.holder_type, OLD.holder_code, OLD.source_code, OLD.created_at) THEN
            RAISE EXCEPTION 'an account''s holder and source never change (account %)', OLD.id
                USING ERRCODE = 'restrict_violation', CONSTRAINT = 'account_immutable';
        END IF;
        -- Depth 2 is the UPDATE issued by apply_posting(); a direct UPDATE runs at depth 1.
        IF NEW.balance_fen IS DISTINCT FROM OLD.balance_fen AND pg_trigger_depth() < 2 THEN
            RAISE EXCEPTION 'balance_fen changes only through postings (account %)', OLD.id
                USING ERRCODE = 'restrict_violation', CONSTRAINT = 'account_immutable';
        END IF;
        RETURN NEW;
    END $$
    """,
    """
    CREATE TRIGGER accounts_guard BEFORE UPDATE OR DELETE ON ledger.accounts
    FOR EACH ROW EXECUTE FUNCTION ledger.guard_account()
    """,
    # -- 3. immutability: corrections are reversing entries, never edits.
    """
    CREATE FUNCTION ledger.refuse_change() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
        RAISE EXCEPTION 'ledger.% is append-only: % refused; correct with a reversing entry',
            TG_TABLE_NAME, TG_OP
            USING ERRCODE = 'restrict_violation', CONSTRAINT = TG_TABLE_NAME || '_immutable';
    END $$
    """,
    """
    CREATE TRIGGER postings_immutable BEFORE UPDATE OR DELETE ON ledger.postings
    FOR EACH ROW EXECUTE FUNCTION ledger.refuse_change()
    """,
    """
    CREATE TRIGGER journal_entries_immutable BEFORE UPDATE OR DELETE ON ledger.journal_entries
    FOR EACH ROW EXECUTE FUNCTION ledger.refuse_change()
    """,
    """
    CREATE TRIGGER postings_no_truncate BEFORE TRUNCATE ON ledger.postings
    FOR EACH STATEMENT EXECUTE FUNCTION ledger.refuse_change()
    """,
    """
    CREATE TRIGGER journal_entries_no_truncate BEFORE TRUNCATE ON ledger.journal_entries
    FOR EACH STATEMENT EXECUTE FUNCTION ledger.refuse_change()
    """,
    """
    CREATE TRIGGER accounts_no_truncate BEFORE TRUNCATE ON ledger.accounts
    FOR EACH STATEMENT EXECUTE FUNCTION ledger.refuse_change()
    """,
    # -- 1. balance: checked at COMMIT, when every leg of the entry has been written.
    """
    CREATE FUNCTION ledger.assert_entry_balanced(p_entry uuid) RETURNS void
    LANGUAGE plpgsql AS $$
    DECLARE
        legs integer;
        off_balance text;
    BEGIN
        SELECT count(*) INTO legs FROM ledger.postings WHERE entry_id = p_entry;
        IF legs < 2 THEN
            RAISE EXCEPTION 'journal entry % has % posting(s); a transaction needs at least two',
                p_entry, legs
                USING ERRCODE = 'check_violation', CONSTRAINT = 'entry_balanced';
        END IF;
        -- Per source, not only in total: money never changes its source inside the ledger,
        -- which is what lets every yuan spent be traced to where it came from.
        SELECT string_agg(format('%s %s', s.source_code, s.total), ', ') INTO off_balance
          FROM (SELECT a.source_code, sum(p.amount_fen) AS total
                  FROM ledger.postings p JOIN ledger.accounts a ON a.id = p.account_id
                 WHERE p.entry_id = p_entry
                 GROUP BY a.source_code
                HAVING sum(p.amount_fen) <> 0) AS s;
        IF off_balance IS NOT NULL THEN
            RAISE EXCEPTION 'journal entry % does not balance (per source: %)', p_entry, off_balance
                USING ERRCODE = 'check_violation', CONSTRAINT = 'entry_balanced';
        END IF;
    END $$
    """,
    """
    CREATE FUNCTION ledger.posting_entry_balanced() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
        PERFORM ledger.assert_entry_balanced(NEW.entry_id);
        RETURN NULL;
    END $$
    """,
    """
    CREATE FUNCTION ledger.entry_balanced() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
        PERFORM ledger.assert_entry_balanced(NEW.id);
        RETURN NULL;
    END $$
    """,
    """
    CREATE CONSTRAINT TRIGGER postings_balanced AFTER INSERT ON ledger.postings
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION ledger.posting_entry_balanced()
    """,
    """
    CREATE CONSTRAINT TRIGGER journal_entries_balanced AFTER INSERT ON ledger.journal_entries
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION ledger.entry_balanced()
    """,
]

FUNCTIONS = (
    "apply_posting()",
    "stamp_entry()",
    "guard_account()",
    "refuse_change()",
    "posting_entry_balanced()",
    "entry_balanced()",
    "assert_entry_balanced(uuid)",
)


def upgrade() -> None:
    op.execute("CREATE SCHEMA IF NOT EXISTS ledger")
    _create_tables()
    sources = sa.table(
        "fund_sources",
        sa.column("code", sa.String),
        sa.column("name", sa.String),
        sa.column("income_holder_types", postgresql.ARRAY(sa.String)),
        sa.column("display_order", sa.SmallInteger),
        schema="ledger",
    )
    op.bulk_insert(
        sources,
        [{"code": c, "name": n, "income_holder_types": h, "display_order": o} for c, n, h, o in FUND_SOURCES],
    )
    for statement in INVARIANTS:
        op.execute(statement)


def _create_tables() -> None:
    # ### commands auto generated by Alembic (then: txid added, FetchedValue default removed) ###
    op.create_table(
        "dead_letters",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("job_name", sa.String(length=128), nullable=False),
        sa.Column("job_id", sa.String(length=200), nullable=True),
        sa.Column("args", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("error", sa.Text(), nullable=False),
        sa.Column("tries", sa.Integer(), nullable=False),
        sa.Column("failed_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dead_letters")),
        schema="ledger",
    )
    op.create_table(
        "fund_sources",
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("income_holder_types", postgresql.ARRAY(sa.String(length=16)), nullable=False),
        sa.Column("display_order", sa.SmallInteger(), nullable=False),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_fund_sources")),
        schema="ledger",
    )
    op.create_table(
        "inbox",
        sa.Column("event_id", sa.UUID(), nullable=False),
        sa.Column("consumer", sa.String(length=64), nullable=False),
        sa.Column("type", sa.String(length=64), nullable=False),
        sa.Column("handled_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("event_id", "consumer", name=op.f("pk_inbox")),
        schema="ledger",
    )
    op.create_table(
        "journal_entries",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("idempotency_key", sa.String(length=200), nullable=False),
        sa.Column("request_hash", sa.String(length=64), nullable=False),
        sa.Column("memo", sa.Text(), nullable=True),
        sa.Column("appeal_id", sa.Uuid(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("created_by", sa.String(length=128), nullable=False),
        sa.Column("txid", sa.BigInteger(), nullable=False),
        sa.CheckConstraint("idempotency_key <> ''", name=op.f("ck_journal_entries_idempotency_key")),
        sa.CheckConstraint("kind IN ('income', 'allocation')", name=op.f("ck_journal_entries_kind")),
        sa.CheckConstraint("request_hash ~ '^[0-9a-f]{64}$'", name=op.f("ck_journal_entries_request_hash")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_journal_entries")),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_journal_entries_idempotency_key")),
        schema="ledger",
    )
    op.create_index(
        "ix_journal_entries_appeal_id",
        "journal_entries",
        ["appeal_id"],
        unique=False,
        schema="ledger",
        postgresql_where=sa.text("appeal_id IS NOT NULL"),
    )
    op.create_table(
        "outbox",
        sa.Column("seq", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("event_id", sa.UUID(), nullable=False),
        sa.Column("type", sa.String(length=64), nullable=False),
        sa.Column("appeal_id", sa.UUID(), nullable=True),
        sa.Column("payload", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("attempts", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_outbox")),
        sa.UniqueConstraint("event_id", name=op.f("uq_outbox_event_id")),
        schema="ledger",
    )
    op.create_index(
        "ix_ledger_outbox_unpublished",
        "outbox",
        ["seq"],
        unique=False,
        schema="ledger",
        postgresql_where=sa.text("published_at IS NULL"),
    )
    op.create_table(
        "accounts",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("holder_type", sa.String(length=16), nullable=False),
        sa.Column("holder_code", sa.String(length=64), nullable=False),
        sa.Column("source_code", sa.String(length=32), nullable=False),
        sa.Column("balance_fen", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint(
            "balance_fen >= 0 OR holder_type = 'external'", name=op.f("ck_accounts_non_negative")
        ),
        sa.CheckConstraint("holder_code <> ''", name=op.f("ck_accounts_holder_code")),
        sa.CheckConstraint(
            "holder_type IN ('city', 'town', 'village', 'project', 'beneficiary', 'donor', 'external')",
            name=op.f("ck_accounts_holder_type"),
        ),
        sa.ForeignKeyConstraint(
            ["source_code"], ["ledger.fund_sources.code"], name=op.f("fk_accounts_source_code_fund_sources")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_accounts")),
        sa.UniqueConstraint(
            "holder_type",
            "holder_code",
            "source_code",
            name=op.f("uq_accounts_holder_type_holder_code_source_code"),
        ),
        schema="ledger",
    )
    op.create_table(
        "postings",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("entry_id", sa.Uuid(), nullable=False),
        sa.Column("account_id", sa.BigInteger(), nullable=False),
        sa.Column("amount_fen", sa.BigInteger(), nullable=False),
        sa.Column("balance_after_fen", sa.BigInteger(), nullable=False),
        sa.CheckConstraint("amount_fen <> 0", name=op.f("ck_postings_non_zero")),
        sa.ForeignKeyConstraint(
            ["account_id"], ["ledger.accounts.id"], name=op.f("fk_postings_account_id_accounts")
        ),
        sa.ForeignKeyConstraint(
            ["entry_id"], ["ledger.journal_entries.id"], name=op.f("fk_postings_entry_id_journal_entries")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_postings")),
        schema="ledger",
    )
    op.create_index(
        op.f("ix_ledger_postings_entry_id"), "postings", ["entry_id"], unique=False, schema="ledger"
    )
    op.create_index(
        "ix_postings_account_id_id", "postings", ["account_id", "id"], unique=False, schema="ledger"
    )
    # ### end Alembic commands ###


def downgrade() -> None:
    # Dropping the tables drops their triggers; the functions and the schema go after them.
    op.drop_index("ix_postings_account_id_id", table_name="postings", schema="ledger")
    op.drop_index(op.f("ix_ledger_postings_entry_id"), table_name="postings", schema="ledger")
    op.drop_table("postings", schema="ledger")
    op.drop_table("accounts", schema="ledger")
    op.drop_index(
        "ix_ledger_outbox_unpublished",
        table_name="outbox",
        schema="ledger",
        postgresql_where=sa.text("published_at IS NULL"),
    )
    op.drop_table("outbox", schema="ledger")
    op.drop_index(
        "ix_journal_entries_appeal_id",
        table_name="journal_entries",
        schema="ledger",
        postgresql_where=sa.text("appeal_id IS NOT NULL"),
    )
    op.drop_table("journal_entries", schema="ledger")
    op.drop_table("inbox", schema="ledger")
    op.drop_table("fund_sources", schema="ledger")
    op.drop_table("dead_letters", schema="ledger")
    for function in FUNCTIONS:
        op.execute(f"DROP FUNCTION IF EXISTS ledger.{function}")
    op.execute("DROP SCHEMA IF EXISTS ledger")
