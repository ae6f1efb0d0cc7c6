"""The ledger's REST shapes: commands in (strict, `extra="forbid"`), results out."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

HolderType = Literal["city", "town", "village", "project", "beneficiary", "donor", "external"]
# The levels that hold fund money (专项资金) and take part in income and allocation.
FundHolderType = Literal["city", "town", "village"]
EntryKind = Literal["income", "allocation"]

# A trillion yuan in fen: far above any real amount, far below bigint, so no sum can overflow.
MAX_AMOUNT_FEN = 10**14

AmountFen = Annotated[int, Field(strict=True, gt=0, le=MAX_AMOUNT_FEN, description="金额，单位：分")]
SourceCode = Annotated[str, Field(min_length=1, max_length=32, pattern=r"^[a-z][a-z_]*$")]
HolderCode = Annotated[str, Field(min_length=1, max_length=64)]
Memo = Annotated[str | None, Field(max_length=500)]


class _Command(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class FundHolder(_Command):
    """A unit that holds fund money: the city, a town (镇街) or a village / community (村/社区)."""

    holder_type: FundHolderType
    holder_code: HolderCode = Field(description="12-digit area code, e.g. 441900121000 for a town")


class IncomeCommand(_Command):
    """Record income (收入) from a fund source to a holder: the outside world → the holder."""

    source_code: SourceCode
    holder: FundHolder
    amount_fen: AmountFen
    memo: Memo = None
    appeal_id: UUID | None = None


class AllocationCommand(_Command):
    """Allocate (下拨) money of one source one level down: city → town, or town → its village."""

    source_code: SourceCode
    from_holder: FundHolder
    to_holder: FundHolder
    amount_fen: AmountFen
    memo: Memo = None
    appeal_id: UUID | None = None


class PostingOut(BaseModel):
    """One leg of an entry, with the account's balance right after it."""

    holder_type: HolderType
    holder_code: str
    source_code: str
    amount_fen: int
    balance_after_fen: int


class EntryOut(BaseModel):
    """A posted journal entry (记账凭证)."""

    id: UUID
    kind: EntryKind
    idempotency_key: str
    memo: str | None
    appeal_id: UUID | None
    created_at: datetime
    created_by: str
    postings: list[PostingOut]


class SourceBalance(BaseModel):
    """A holder's balance in one fund source."""

    source_code: str
    source_name: str
    balance_fen: int


class HolderBalances(BaseModel):
    """A holder's balances, one per fund source (every source listed, zero when untouched)."""

    holder_type: HolderType
    holder_code: str
    total_fen: int
    sources: list[SourceBalance]


class StatementLine(BaseModel):
    """One posting on an account's statement (账户明细)."""

    posting_id: int
    entry_id: UUID
    kind: EntryKind
    amount_fen: int
    balance_after_fen: int
    memo: str | None
    appeal_id: UUID | None
    created_at: datetime


class Statement(BaseModel):
    """An account's postings, newest first; `next_before` pages further back."""

    holder_type: HolderType
    holder_code: str
    source_code: str
    balance_fen: int
    lines: list[StatementLine]
    next_before: int | None
