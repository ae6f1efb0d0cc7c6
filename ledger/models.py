"""The ledger's tables (schema `ledger`): fund sources, accounts, the double-entry journal.

The invariants that make this a ledger live in the database, not only here: the migration adds
triggers that keep every entry balanced per source, keep each account's balance equal to the sum
of its postings, stop a fund account from going below zero, and refuse any UPDATE or DELETE of a
posted row. See `ledger/migrations/versions/*_ledger_initial.py`.

Reservations, disbursements and reversals (a later issue) fit these tables as further entry
kinds: a reservation moves money from a village's fund account to a `project` account of the
same source, so "a reservation never exceeds what is available" is the same non-negative check.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    FetchedValue,
    ForeignKey,
    Identity,
    Index,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from services.common.db import UTCDateTime, service_metadata
from services.common.messaging import messaging_tables, utcnow


class Base(DeclarativeBase):
    """The ledger's declarative base."""

    metadata = service_metadata("ledger")


messaging = messaging_tables(Base.metadata)

HOLDER_TYPES = ("city", "town", "village", "project", "beneficiary", "donor", "external")
ENTRY_KINDS = ("income", "allocation")


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class FundSource(Base):
    """A source of money (资金来源): 市财政, 市慈善会, 镇街配套, 村集体, 社会捐赠. Seeded data."""

    __tablename__ = "fund_sources"

    code: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(64))
    # Which holders may receive this source's money directly from outside; everything else
    # reaches a holder only by allocation, so the trail from source to spending stays unbroken.
    income_holder_types: Mapped[list[str]] = mapped_column(ARRAY(String(16)))
    display_order: Mapped[int] = mapped_column(SmallInteger)


class Account(Base):
    """One holder's money of one source (账户). `external` accounts stand for the outside world.

    `balance_fen` is maintained only by the posting trigger; nothing else may change it.
    """

    __tablename__ = "accounts"
    __table_args__ = (
        UniqueConstraint("holder_type", "holder_code", "source_code"),
        CheckConstraint(_in("holder_type", HOLDER_TYPES), name="holder_type"),
        CheckConstraint("holder_code <> ''", name="holder_code"),
        # A fund account never goes below zero; only the outside world's accounts do, since
        # money entering the system is a debit there.
        CheckConstraint("balance_fen >= 0 OR holder_type = 'external'", name="non_negative"),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    holder_type: Mapped[str] = mapped_column(String(16))
    holder_code: Mapped[str] = mapped_column(String(64))
    source_code: Mapped[str] = mapped_column(ForeignKey("ledger.fund_sources.code"))
    balance_fen: Mapped[int] = mapped_column(BigInteger, server_default=text("0"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, server_default=func.now())


class JournalEntry(Base):
    """One transaction of the journal (记账凭证): its postings sum to zero, per source."""

    __tablename__ = "journal_entries"
    __table_args__ = (
        CheckConstraint(_in("kind", ENTRY_KINDS), name="kind"),
        CheckConstraint("idempotency_key <> ''", name="idempotency_key"),
        CheckConstraint("request_hash ~ '^[0-9a-f]{64}$'", name="request_hash"),
        Index("ix_journal_entries_appeal_id", "appeal_id", postgresql_where=text("appeal_id IS NOT NULL")),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    kind: Mapped[str] = mapped_column(String(16))
    idempotency_key: Mapped[str] = mapped_column(String(200), unique=True)
    # sha256 of the command's canonical JSON: a replay must carry the same body.
    request_hash: Mapped[str] = mapped_column(String(64))
    memo: Mapped[str | None] = mapped_column(Text)
    appeal_id: Mapped[uuid.UUID | None] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, server_default=func.now())
    created_by: Mapped[str] = mapped_column(String(128))
    # The writing transaction (set by a trigger): postings may join an entry only in the
    # transaction that created it, so a posted entry cannot gain legs later.
    txid: Mapped[int] = mapped_column(BigInteger, server_default=FetchedValue())


class Posting(Base):
    """One leg of an entry (分录): positive increases the account's balance."""

    __tablename__ = "postings"
    __table_args__ = (
        CheckConstraint("amount_fen <> 0", name="non_zero"),
        # An account's statement reads its postings newest first.
        Index("ix_postings_account_id_id", "account_id", "id"),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    entry_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("ledger.journal_entries.id"), index=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("ledger.accounts.id"))
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    # Set by the balance trigger from the account row it just updated (under that row's lock),
    # so a statement shows the true running balance even under concurrent postings.
    balance_after_fen: Mapped[int] = mapped_column(BigInteger, server_default=FetchedValue())
