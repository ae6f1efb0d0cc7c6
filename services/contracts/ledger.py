"""The ledger's REST shapes: commands in (strict, `extra="forbid"`), results out.

Reports, audits and the public disclosure have their own module, `ledger.report_schemas`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

HolderType = Literal["city", "town", "village", "project", "beneficiary", "donor", "external", "reservation"]
# The levels that hold fund money (专项资金) and take part in income and allocation.
FundHolderType = Literal["city", "town", "village"]
PayeeType = Literal["project", "beneficiary"]
EntryKind = Literal[
    "income", "allocation", "matching", "reservation", "disbursement", "release", "receipt", "reversal"
]
ReservationState = Literal["pending", "posted", "released", "expired"]
MatchingRatio = Literal["1:1", "1:0.5"]

# A trillion yuan in fen: far above any real amount, far below bigint, so no sum can overflow.
MAX_AMOUNT_FEN = 10**14

AmountFen = Annotated[int, Field(strict=True, gt=0, le=MAX_AMOUNT_FEN, description="金额，单位：分")]
SourceCode = Annotated[str, Field(min_length=1, max_length=32, pattern=r"^[a-z][a-z_]*$")]
HolderCode = Annotated[str, Field(min_length=1, max_length=64)]
# An opaque reference (project, beneficiary, donor, plan, claim): never a name or an ID number.
ReferenceCode = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9:._-]*$")]
Memo = Annotated[str | None, Field(max_length=500)]


class _Command(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


CITY_CODE = "city"
# The ledger's old spelling of the city holder, still accepted and read as `city`.
LEGACY_CITY_CODE = "441900000000"


class FundHolder(_Command):
    """A unit that holds fund money: the city, a town (镇街) or a village / community (村/社区)."""

    holder_type: FundHolderType
    holder_code: HolderCode = Field(
        description="`city` for the city; else the 12-digit area code, e.g. 441900121000 for a town"
    )

    @model_validator(mode="before")
    @classmethod
    def _one_city_code(cls, data: Any) -> Any:
        # One code for the city, as every service says it; the old spelling still reads.
        if (
            isinstance(data, dict)
            and data.get("holder_type") == "city"
            and data.get("holder_code") == LEGACY_CITY_CODE
        ):
            return {**data, "holder_code": CITY_CODE}
        return data


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


class Payee(_Command):
    """Who a disbursement pays: a project (微实事项目) or a beneficiary (受助对象), by reference."""

    payee_type: PayeeType
    payee_code: ReferenceCode = Field(description="opaque reference, e.g. the appeal id; never a name")


class MatchingCommand(_Command):
    """A town's matching money (镇街配套资金) arriving: income of `town_matching` to the town."""

    town_code: HolderCode = Field(description="12-digit town code, e.g. 441900121000")
    amount_fen: AmountFen
    memo: Memo = None


class MatchingRatioCommand(_Command):
    """Set a town's matching ratio: 1:1 or 1:0.5 of the city money allocated to it."""

    ratio: MatchingRatio


class ReservationCommand(_Command):
    """Reserve (预留) a holder's money for an approved plan (two-phase: pending, then posted or
    released). Sources follow the disbursement order unless `source_code` names one."""

    holder: FundHolder
    payee: Payee
    amount_fen: AmountFen
    source_code: SourceCode | None = None
    appeal_id: UUID | None = None
    plan_id: ReferenceCode | None = None
    expires_at: AwareDatetime | None = Field(default=None, description="default: 90 days from now")
    memo: Memo = None


class ReservedDisbursementCommand(_Command):
    """Post (拨付) part or all of what a reservation holds to its payee."""

    amount_fen: AmountFen
    memo: Memo = None


class ReleaseCommand(_Command):
    """Release (释放) what a reservation still holds back to its holder; the reservation resolves."""

    memo: Memo = None


class DisbursementCommand(_Command):
    """Pay (拨付) a project or beneficiary straight from a holder's fund accounts, by the
    disbursement order unless `source_code` names one source."""

    holder: FundHolder
    payee: Payee
    amount_fen: AmountFen
    source_code: SourceCode | None = None
    appeal_id: UUID | None = None
    memo: Memo = None


class PledgeCommand(_Command):
    """A donor's pledge (认捐) to a city, town or village pool, or to one appeal (莞家直达)."""

    donor_code: ReferenceCode
    amount_fen: AmountFen
    recipient: FundHolder = Field(
        default_factory=lambda: FundHolder(holder_type="city", holder_code=CITY_CODE)
    )
    appeal_id: UUID | None = None
    claim_id: ReferenceCode | None = None
    memo: Memo = None


class ReceiptCommand(_Command):
    """Money of a pledge arriving (到账): income of `donation` from the donor to the recipient."""

    amount_fen: AmountFen
    memo: Memo = None


class ReversalCommand(_Command):
    """Reverse (冲正) a posted entry: a new entry with every leg negated. Once per entry."""

    memo: Annotated[str, Field(min_length=1, max_length=500, description="why it is reversed")]


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
    holder_type: HolderType | None = None
    holder_code: str | None = None
    reverses_id: UUID | None = None
    reservation_id: UUID | None = None
    pledge_id: UUID | None = None
    postings: list[PostingOut]


class SourceAmount(BaseModel):
    """An amount of one fund source."""

    source_code: str
    amount_fen: int


class ReservationOut(BaseModel):
    """A reservation and where its money stands: reserved = disbursed + released + remaining."""

    id: UUID
    state: ReservationState
    holder_type: FundHolderType
    holder_code: str
    payee: Payee
    amount_fen: int
    disbursed_fen: int
    released_fen: int
    remaining_fen: int
    remaining_by_source: list[SourceAmount]
    appeal_id: UUID | None
    plan_id: str | None
    expires_at: datetime
    created_at: datetime
    resolved_at: datetime | None
    entry: EntryOut | None = Field(default=None, description="the entry this command wrote")


class MatchingStatus(BaseModel):
    """A town's matching (配套): what the ratio requires of the city money it got, and what came."""

    town_code: str
    ratio: MatchingRatio
    ratio_configured: bool
    city_allocated_fen: int
    required_fen: int
    received_fen: int
    shortfall_fen: int
    met: bool


class MatchingOut(BaseModel):
    """Matching money booked, and the town's matching after it."""

    entry: EntryOut
    matching: MatchingStatus


class PledgeOut(BaseModel):
    """A pledge and how much of it has arrived."""

    id: UUID
    donor_code: str
    amount_fen: int
    received_fen: int
    outstanding_fen: int
    fulfilled: bool
    recipient: FundHolder
    appeal_id: UUID | None
    claim_id: str | None
    memo: str | None
    created_at: datetime


class ReceiptOut(BaseModel):
    """A receipt (到账) booked: its entry and the pledge after it. The receipt document
    (捐赠收据, with its chain hash) is `GET /internal/ledger/receipts/{entry_id}`."""

    entry: EntryOut
    pledge: PledgeOut


class SourceBalance(BaseModel):
    """A holder's balance in one fund source."""

    source_code: str
    source_name: str
    balance_fen: int


class HolderBalances(BaseModel):
    """A holder's balances, one per fund source (every source listed, zero when untouched);
    with `as_of`, as the journal stood at that moment (entries chained by then)."""

    holder_type: HolderType
    holder_code: str
    as_of: datetime | None = None
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


# -- query parameters of the public reads -----------------------------------------------------------


class BalancesQuery(BaseModel):
    """Whose balances, and when."""

    holder_type: HolderType
    holder_code: HolderCode
    as_of: datetime | None = Field(
        default=None, description="ISO 8601 with offset: the balance as the journal stood then"
    )


class StatementQuery(BaseModel):
    """One account's statement, newest first, paged by `before`."""

    holder_type: HolderType
    holder_code: HolderCode
    source_code: SourceCode
    limit: int = Field(default=50, ge=1, le=500)
    before: int | None = Field(default=None, ge=1, description="`next_before` of the previous page")
