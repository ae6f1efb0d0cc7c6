"""The ledger's tables (schema `ledger`): fund sources, accounts, the double-entry journal.

The invariants that make this a ledger live in the database, not only here: the migration adds
triggers that keep every entry balanced per source, keep each account's balance equal to the sum
of its postings, stop a fund account from going below zero, and refuse any UPDATE or DELETE of a
posted row. See `ledger/migrations/versions/*_ledger_initial.py`.

Reservations, disbursements and reversals are further entry kinds over the same tables. A
reservation (预留) moves money from a holder's fund accounts to `reservation` accounts of the
same sources (one per reservation), so "a reservation never exceeds what is available" is the
same non-negative check; a disbursement (拨付) moves it on to a `project` or `beneficiary`
account, a release (释放) back to the holder. The journal is hash-chained (`ChainLink`) at
COMMIT by a deferred trigger, and every external command is journalled with its answer
(`Command`), so a replay, even of a failure, gets the first answer.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

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
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from services.common.db import UTCDateTime, service_metadata
from services.common.messaging import messaging_tables, utcnow

# The city holder has one code, `city`, as in every service (revision b8d2f4a61c37).
CITY_IS_CITY = "{t} IS DISTINCT FROM 'city' OR {c} = 'city'"


class Base(DeclarativeBase):
    """The ledger's declarative base."""

    metadata = service_metadata("ledger")


messaging = messaging_tables(Base.metadata)

HOLDER_TYPES = ("city", "town", "village", "project", "beneficiary", "donor", "external", "reservation")
ENTRY_KINDS = (
    "income",
    "allocation",
    "matching",
    "reservation",
    "disbursement",
    "release",
    "receipt",
    "reversal",
)
FUND_HOLDER_TYPES = ("city", "town", "village")
PAYEE_TYPES = ("project", "beneficiary")
RESERVATION_STATES = ("pending", "posted", "released", "expired")
COMMAND_STATES = ("pending", "succeeded", "failed")
MATCHING_RATIOS = ("1:1", "1:0.5")
GENESIS_HASH = "0" * 64


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
        CheckConstraint(CITY_IS_CITY.format(t="holder_type", c="holder_code"), name="city_code"),
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
        CheckConstraint("(reverses_id IS NULL) = (kind <> 'reversal')", name="reversal_reference"),
        CheckConstraint(CITY_IS_CITY.format(t="holder_type", c="holder_code"), name="city_code"),
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
    # The fund holder whose money the entry moves (payer, reserving or receiving unit): reports
    # per town and village read it. Null only on entries written before it existed.
    holder_type: Mapped[str | None] = mapped_column(String(16))
    holder_code: Mapped[str | None] = mapped_column(String(64))
    # A reversal (冲正) names the entry it reverses; UNIQUE, so nothing is reversed twice.
    reverses_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("ledger.journal_entries.id"), unique=True
    )
    reservation_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("ledger.reservations.id"), index=True)
    pledge_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("ledger.pledges.id"), index=True)


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


class Reservation(Base):
    """A reservation (资金预留) for an approved plan: pending → posted / released / expired, once.

    Its money sits in `reservation` accounts (holder code = the reservation id) of each source it
    took; the migration checks at COMMIT that those accounts received exactly `amount_fen`, that
    a resolved reservation's accounts are empty, and that the state changes only once.
    """

    __tablename__ = "reservations"
    __table_args__ = (
        CheckConstraint("amount_fen > 0", name="amount_positive"),
        CheckConstraint(_in("state", RESERVATION_STATES), name="state"),
        CheckConstraint(_in("holder_type", FUND_HOLDER_TYPES), name="holder_type"),
        CheckConstraint(CITY_IS_CITY.format(t="holder_type", c="holder_code"), name="city_code"),
        CheckConstraint(_in("payee_type", PAYEE_TYPES), name="payee_type"),
        CheckConstraint("(state = 'pending') = (resolved_at IS NULL)", name="resolved_at"),
        # The expiry job reads only what is due.
        Index("ix_reservations_due", "expires_at", postgresql_where=text("state = 'pending'")),
        # One open reservation per appeal: a second plan waits until the first resolves.
        Index(
            "uq_reservations_open_appeal",
            "appeal_id",
            unique=True,
            postgresql_where=text("state = 'pending' AND appeal_id IS NOT NULL"),
        ),
        Index("ix_reservations_holder", "holder_type", "holder_code"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    holder_type: Mapped[str] = mapped_column(String(16))
    holder_code: Mapped[str] = mapped_column(String(64))
    payee_type: Mapped[str] = mapped_column(String(16))
    payee_code: Mapped[str] = mapped_column(String(64))
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    # Only this source, when the plan names one; else the disbursement order of `ledger.service.rules`.
    source_code: Mapped[str | None] = mapped_column(ForeignKey("ledger.fund_sources.code"))
    appeal_id: Mapped[uuid.UUID | None] = mapped_column(index=True)
    plan_id: Mapped[str | None] = mapped_column(String(64))
    state: Mapped[str] = mapped_column(String(16), server_default=text("'pending'"))
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    memo: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, server_default=func.now())
    created_by: Mapped[str] = mapped_column(String(128))
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Pledge(Base):
    """A donor's pledge (认捐): a promise, not money. Receipts (到账) are journal entries naming it.

    Immutable: what was received is summed from its receipt entries (and their reversals).
    """

    __tablename__ = "pledges"
    __table_args__ = (
        CheckConstraint("amount_fen > 0", name="amount_positive"),
        CheckConstraint(_in("recipient_type", FUND_HOLDER_TYPES), name="recipient_type"),
        CheckConstraint(CITY_IS_CITY.format(t="recipient_type", c="recipient_code"), name="city_code"),
        CheckConstraint("donor_code <> ''", name="donor_code"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    donor_code: Mapped[str] = mapped_column(String(64), index=True)
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    recipient_type: Mapped[str] = mapped_column(String(16))
    recipient_code: Mapped[str] = mapped_column(String(64))
    appeal_id: Mapped[uuid.UUID | None] = mapped_column()
    # The routing claim (认领) it came from: one pledge per claim.
    claim_id: Mapped[str | None] = mapped_column(String(64), unique=True)
    memo: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, server_default=func.now())
    created_by: Mapped[str] = mapped_column(String(128))


class Command(Base):
    """An external command and its first answer (幂等记录), success or failure.

    Inserted `pending` before the command runs (a concurrent request with the same key waits on
    the primary key), settled once in the same transaction, never changed afterwards.
    """

    __tablename__ = "commands"
    __table_args__ = (
        CheckConstraint(_in("state", COMMAND_STATES), name="state"),
        CheckConstraint("request_hash ~ '^[0-9a-f]{64}$'", name="request_hash"),
        CheckConstraint("idempotency_key <> ''", name="idempotency_key"),
    )

    idempotency_key: Mapped[str] = mapped_column(String(200), primary_key=True)
    operation: Mapped[str] = mapped_column(String(32))
    request_hash: Mapped[str] = mapped_column(String(64))
    state: Mapped[str] = mapped_column(String(16), server_default=text("'pending'"))
    status_code: Mapped[int | None] = mapped_column(SmallInteger)
    response: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, server_default=func.now())
    created_by: Mapped[str] = mapped_column(String(128))


class ChainLink(Base):
    """One link of the journal's hash chain (哈希链): hash = sha256(prev_hash ‖ entry content).

    Written only by the linker `ledger.chain_link()` right after the entry's COMMIT, in the order
    of `ChainQueue.ticket`, under one advisory lock, so concurrent linkers cannot fork the chain;
    `chained_at` is taken under that lock and so grows with `seq` (point-in-time balances read it).
    """

    __tablename__ = "chain"
    __table_args__ = (
        CheckConstraint("hash ~ '^[0-9a-f]{64}$'", name="hash"),
        CheckConstraint("prev_hash ~ '^[0-9a-f]{64}$'", name="prev_hash"),
        Index("ix_chain_chained_at", "chained_at"),
    )

    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    entry_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("ledger.journal_entries.id"), unique=True)
    prev_hash: Mapped[str] = mapped_column(String(64), unique=True)
    hash: Mapped[str] = mapped_column(String(64), unique=True)
    chained_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ChainQueue(Base):
    """An entry committed and not linked yet (the deferred trigger `journal_entries_chain` queues
    it at COMMIT; the linker deletes the row as it links the entry, in the same transaction).

    The ticket is drawn at COMMIT, when the writer holds every account lock it took, so entries
    that share an account are queued in the order they changed it.
    """

    __tablename__ = "chain_queue"

    ticket: Mapped[int] = mapped_column(BigInteger, Identity(always=True), primary_key=True)
    entry_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("ledger.journal_entries.id"), unique=True)
    queued_at: Mapped[datetime] = mapped_column(UTCDateTime, server_default=text("clock_timestamp()"))


class ChainHead(Base):
    """The chain's head: one row, moved only by the linker, onto a link of the chain."""

    __tablename__ = "chain_head"
    __table_args__ = (CheckConstraint("id = 1", name="single_row"),)

    id: Mapped[int] = mapped_column(SmallInteger, primary_key=True, autoincrement=False)
    seq: Mapped[int] = mapped_column(BigInteger)
    hash: Mapped[str] = mapped_column(String(64))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, server_default=func.now())


class TownMatching(Base):
    """A town's matching ratio (镇街配套比例): 1:1 or 1:0.5 of the city money allocated to it."""

    __tablename__ = "town_matching"
    __table_args__ = (CheckConstraint(_in("ratio", MATCHING_RATIOS), name="ratio"),)

    town_code: Mapped[str] = mapped_column(String(12), primary_key=True)
    ratio: Mapped[str] = mapped_column(String(8))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, server_default=func.now())
    updated_by: Mapped[str] = mapped_column(String(128))
