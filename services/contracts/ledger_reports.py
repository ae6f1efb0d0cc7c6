"""What the ledger reports: per source, holder, project and donor; receipts; audits; disclosure.

Staff reports name holders and payees by their codes; the public summary (`PublicFunds`) only
aggregates, and never names a beneficiary or a donor.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal
from uuid import UUID

from pydantic import BaseModel, Field

from services.contracts.ledger import (
    EntryKind,
    FundHolder,
    FundHolderType,
    MatchingStatus,
    PayeeType,
    PledgeOut,
    SourceAmount,
)


class SourceReport(BaseModel):
    """One fund source end to end: what came in = what is held + reserved + disbursed."""

    source_code: str
    source_name: str
    received_fen: int = Field(description="net income from outside (receipts, matching included)")
    held_city_fen: int
    held_town_fen: int
    held_village_fen: int
    reserved_fen: int
    disbursed_fen: int
    balanced: bool


class SourcesReport(BaseModel):
    """Every fund source (资金来源), as of the report's moment."""

    generated_at: datetime
    sources: list[SourceReport]
    received_fen: int
    disbursed_fen: int


class HolderSourceLine(BaseModel):
    """A holder's money of one source: on hand, reserved for plans, paid out by it."""

    source_code: str
    source_name: str
    balance_fen: int
    reserved_fen: int
    disbursed_fen: int


class VillageLine(BaseModel):
    """One village of a town, in total over its sources."""

    village_code: str
    balance_fen: int
    reserved_fen: int
    disbursed_fen: int


class HolderReport(BaseModel):
    """A town's or village's funds (镇街 / 村（社区）资金报表)."""

    holder_type: FundHolderType
    holder_code: str
    generated_at: datetime
    sources: list[HolderSourceLine]
    open_reservations: int
    villages: list[VillageLine] = Field(default_factory=list, description="a town's villages")
    matching: MatchingStatus | None = Field(default=None, description="a town's matching")


class PayeeLine(BaseModel):
    """One movement of money to (or back from) a project or beneficiary."""

    entry_id: UUID
    kind: EntryKind
    source_code: str
    amount_fen: int
    paid_by_type: FundHolderType | None
    paid_by_code: str | None
    appeal_id: UUID | None
    created_at: datetime


class PayeeReport(BaseModel):
    """What a project (or beneficiary) received, per source and entry by entry."""

    payee_type: PayeeType
    payee_code: str
    total_fen: int
    by_source: list[SourceAmount]
    lines: list[PayeeLine]


class ReceiptLine(BaseModel):
    """One receipt of a donor's money."""

    entry_id: UUID
    pledge_id: UUID
    amount_fen: int
    received_at: datetime
    reversed: bool


class DonorReport(BaseModel):
    """A donor's statement (捐赠情况): pledges, receipts, and what arrived in capital figures."""

    donor_code: str
    pledged_fen: int
    received_fen: int
    outstanding_fen: int
    received_in_words: str
    pledges: list[PledgeOut]
    receipts: list[ReceiptLine]


class ReceiptDocument(BaseModel):
    """A donation receipt (捐赠收据), tied to its journal entry and chain link."""

    receipt_no: str
    entry_id: UUID
    donor_code: str
    recipient: FundHolder
    amount_fen: int
    amount_yuan: str
    amount_in_words: str
    pledge_id: UUID
    appeal_id: UUID | None
    received_at: datetime
    chain_seq: int | None
    chain_hash: str | None
    reversed: bool
    issuer: str


class ChainBreak(BaseModel):
    """Where the hash chain does not hold."""

    seq: int | None
    entry_id: UUID | None
    problem: Literal["gap", "broken_link", "missing_entry", "content_mismatch", "unchained", "head_mismatch"]
    detail: str


class ChainReport(BaseModel):
    """The result of walking the chain from genesis (`guanjia ledger verify`)."""

    ok: bool
    checked: int
    head_seq: int
    head_hash: str
    breaks: list[ChainBreak]


class Mismatch(BaseModel):
    """A stored figure that the journal does not support."""

    problem: Literal[
        "balance", "running_balance", "unbalanced_entry", "reservation", "negative_balance", "pledge"
    ]
    reference: str
    expected_fen: int | None
    found_fen: int | None
    detail: str


class ReconcileReport(BaseModel):
    """Every balance rebuilt from the journal and compared (`guanjia ledger reconcile`)."""

    ok: bool
    accounts_checked: int
    entries_checked: int
    reservations_checked: int
    mismatches: list[Mismatch]


class PublicSource(BaseModel):
    """One source in the public disclosure."""

    source_code: str
    source_name: str
    received_fen: int
    held_fen: int
    reserved_fen: int
    disbursed_fen: int


class PublicTown(BaseModel):
    """One town in the public disclosure: aggregated, never a beneficiary."""

    town_code: str
    town_name: str | None
    held_fen: int
    reserved_fen: int
    disbursed_fen: int
    projects_paid: int
    beneficiaries_helped: int


class PublicFunds(BaseModel):
    """资金公开: where the programme's money came from and where it went, aggregated and anonymised."""

    generated_at: datetime
    unit: Literal["fen"] = "fen"
    sources: list[PublicSource]
    towns: list[PublicTown]
    donors: int
    projects_paid: int
    beneficiaries_helped: int
