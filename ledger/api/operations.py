"""Ledger commands: income, allocation, matching, reservations, disbursements, donors, reversal."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Path, Response

from ledger import service
from ledger.api.common import LedgerCommand, command_responses
from ledger.errors import (
    AlreadyReversed,
    ClaimAlreadyPledged,
    InsufficientFunds,
    InvalidAllocation,
    InvalidExpiry,
    InvalidHolder,
    InvalidIncomeTarget,
    NotReversible,
    PledgeExceeded,
    PledgeNotFound,
    ReservationExists,
    ReservationNotFound,
    ReservationResolved,
    UnknownSource,
)
from ledger.schemas import (
    AllocationCommand,
    DisbursementCommand,
    EntryOut,
    IncomeCommand,
    MatchingCommand,
    MatchingOut,
    MatchingRatioCommand,
    MatchingStatus,
    PledgeCommand,
    PledgeOut,
    ReceiptCommand,
    ReceiptOut,
    ReleaseCommand,
    ReservationCommand,
    ReservationOut,
    ReservedDisbursementCommand,
    ReversalCommand,
)
from services.common.auth import InternalCaller, author_of
from services.common.db import DbSession
from services.common.errors import InvalidInput, NotFound, Unauthorized, problem_responses

router = APIRouter()
TownCode = Annotated[str, Path(min_length=12, max_length=12, pattern=r"^\d{12}$")]


@router.post(
    "/income",
    status_code=201,
    summary="Record income from a fund source (收入)",
    responses=command_responses(EntryOut, UnknownSource, InvalidHolder, InvalidIncomeTarget),
)
async def post_income(body: IncomeCommand, call: LedgerCommand) -> Response:
    """Book money arriving from outside into a city, town or village account of its source."""
    return await call.run(service.record_income, body, batcher=service.PROCESS_BATCHER)


@router.post(
    "/allocations",
    status_code=201,
    summary="Allocate funds one level down (下拨)",
    responses=command_responses(EntryOut, InsufficientFunds, UnknownSource, InvalidHolder, InvalidAllocation),
)
async def post_allocation(body: AllocationCommand, call: LedgerCommand) -> Response:
    """Move money of one source from the city to a town, or from a town to one of its villages."""
    return await call.run(service.allocate, body, batcher=service.PROCESS_BATCHER)


@router.post(
    "/matching",
    status_code=201,
    summary="Record a town's matching money (镇街配套)",
    responses=command_responses(MatchingOut, InvalidHolder),
)
async def post_matching(body: MatchingCommand, call: LedgerCommand) -> Response:
    """Income of `town_matching` to the town; answers with what its ratio requires and it paid."""
    return await call.run(service.record_matching, body)


@router.get(
    "/towns/{town_code}/matching",
    summary="A town's matching: ratio, required and received",
    responses=problem_responses(Unauthorized, InvalidInput, InvalidHolder),
)
async def get_matching(town_code: TownCode, caller: InternalCaller, db: DbSession) -> MatchingStatus:
    """Required = ratio × city money allocated to the town; received = its matching income."""
    return await service.matching_status(db, town_code)


@router.put(
    "/towns/{town_code}/matching",
    summary="Set a town's matching ratio (1:1 or 1:0.5)",
    responses=problem_responses(Unauthorized, InvalidInput, InvalidHolder),
)
async def put_matching(
    town_code: TownCode, body: MatchingRatioCommand, caller: InternalCaller, db: DbSession
) -> MatchingStatus:
    """A setting, not money: set (or change) the ratio; answers with the matching under it."""
    return await service.set_matching_ratio(db, town_code, body.ratio, actor=author_of(caller))


@router.post(
    "/reservations",
    status_code=201,
    summary="Reserve funds for an approved plan (资金预留)",
    responses=command_responses(
        ReservationOut, InsufficientFunds, ReservationExists, InvalidExpiry, UnknownSource, InvalidHolder
    ),
)
async def post_reservation(body: ReservationCommand, call: LedgerCommand) -> Response:
    """Take the amount from the holder's funds (disbursement order) into the reservation."""
    return await call.run(service.reserve, body)


@router.get(
    "/reservations/{reservation_id}",
    summary="One reservation and where its money stands",
    responses=problem_responses(Unauthorized, ReservationNotFound),
)
async def get_reservation(reservation_id: UUID, caller: InternalCaller, db: DbSession) -> ReservationOut:
    """Reserved = disbursed + released + remaining."""
    return await service.get_reservation(db, reservation_id)


@router.post(
    "/reservations/{reservation_id}/disbursements",
    status_code=201,
    summary="Post part of a reservation to its payee (拨付)",
    responses=command_responses(ReservationOut, InsufficientFunds, ReservationNotFound, ReservationResolved),
)
async def post_reserved_disbursement(
    reservation_id: UUID, body: ReservedDisbursementCommand, call: LedgerCommand
) -> Response:
    """The last fen posted resolves the reservation as `posted`."""
    return await call.run(service.disburse_reserved, reservation_id, body)


@router.post(
    "/reservations/{reservation_id}/release",
    status_code=201,
    summary="Release what a reservation still holds (释放)",
    responses=command_responses(ReservationOut, ReservationNotFound, ReservationResolved),
)
async def post_release(reservation_id: UUID, body: ReleaseCommand, call: LedgerCommand) -> Response:
    """The rest goes back to the holder's fund accounts; the reservation resolves as `released`."""
    return await call.run(service.release, reservation_id, body)


@router.post(
    "/disbursements",
    status_code=201,
    summary="Pay a project or beneficiary from a holder's funds (拨付)",
    responses=command_responses(EntryOut, InsufficientFunds, UnknownSource, InvalidHolder),
)
async def post_disbursement(body: DisbursementCommand, call: LedgerCommand) -> Response:
    """Sources pay in the disbursement order (donation, city charity, city finance, town matching,
    village collective), or only the one named."""
    return await call.run(service.disburse, body)


@router.post(
    "/pledges",
    status_code=201,
    summary="Record a donor's pledge (认捐)",
    responses=command_responses(PledgeOut, ClaimAlreadyPledged, InvalidHolder),
)
async def post_pledge(body: PledgeCommand, call: LedgerCommand) -> Response:
    """A promise: no money moves until a receipt."""
    return await call.run(service.pledge, body)


@router.get(
    "/pledges/{pledge_id}",
    summary="One pledge and how much of it arrived",
    responses=problem_responses(Unauthorized, PledgeNotFound),
)
async def get_pledge(pledge_id: UUID, caller: InternalCaller, db: DbSession) -> PledgeOut:
    """Received is net of reversed receipts."""
    return await service.get_pledge(db, pledge_id)


@router.post(
    "/pledges/{pledge_id}/receipts",
    status_code=201,
    summary="Record money of a pledge arriving (到账)",
    responses=command_responses(ReceiptOut, PledgeNotFound, PledgeExceeded),
)
async def post_receipt(pledge_id: UUID, body: ReceiptCommand, call: LedgerCommand) -> Response:
    """Income of `donation` from the donor to the pledge's recipient; never beyond the pledge."""
    return await call.run(service.receive, pledge_id, body)


@router.post(
    "/entries/{entry_id}/reversal",
    status_code=201,
    summary="Reverse a posted entry (冲正)",
    responses=command_responses(EntryOut, NotFound, NotReversible, AlreadyReversed, InsufficientFunds),
)
async def post_reversal(entry_id: UUID, body: ReversalCommand, call: LedgerCommand) -> Response:
    """A new entry with every leg negated, naming the original; once per entry."""
    return await call.run(service.reverse, entry_id, body)
