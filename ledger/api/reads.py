"""Ledger reads: balances (also as of a moment), statements, entries, reports, receipts, audits."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Path, Query

from ledger import service
from ledger.errors import InvalidHolder, UnknownSource
from ledger.schemas import EntryOut, HolderBalances, HolderType, PayeeType, SourceCode, Statement
from ledger.service.report_schemas import (
    ChainReport,
    DonorReport,
    HolderReport,
    PayeeReport,
    PublicFunds,
    ReceiptDocument,
    ReconcileReport,
    SourcesReport,
)
from services.common.auth import InternalCaller
from services.common.db import DbSession
from services.common.errors import InvalidInput, NotFound, Unauthorized, problem_responses

router = APIRouter()
HolderCodeQuery = Annotated[str, Query(min_length=1, max_length=64)]
AreaCode = Annotated[str, Path(min_length=12, max_length=12, pattern=r"^\d{12}$")]
Reference = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9:._-]*$")]


@router.get(
    "/balances",
    summary="A holder's balance per fund source, now or as of a moment",
    responses=problem_responses(Unauthorized, InvalidInput, InvalidHolder),
)
async def get_balances(
    caller: InternalCaller,
    db: DbSession,
    holder_type: Annotated[HolderType, Query()],
    holder_code: HolderCodeQuery,
    as_of: Annotated[
        datetime | None, Query(description="ISO 8601 with offset: the balance as the journal stood then")
    ] = None,
) -> HolderBalances:
    """Every fund source with the holder's balance in it (时点余额 with `as_of`)."""
    if as_of is not None and as_of.tzinfo is None:
        raise InvalidInput("as_of 必须带时区，例如 2026-01-01T00:00:00+08:00。", field="as_of")
    return await service.balances(db, holder_type, holder_code, as_of=as_of)


@router.get(
    "/statement",
    summary="An account's postings, newest first",
    responses=problem_responses(Unauthorized, InvalidInput, InvalidHolder, UnknownSource),
)
async def get_statement(
    caller: InternalCaller,
    db: DbSession,
    holder_type: Annotated[HolderType, Query()],
    holder_code: HolderCodeQuery,
    source_code: Annotated[SourceCode, Query()],
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    before: Annotated[int | None, Query(ge=1, description="`next_before` of the previous page")] = None,
) -> Statement:
    """One account's statement (账户明细), paged backwards by posting id."""
    return await service.account_statement(
        db, holder_type, holder_code, source_code, limit=limit, before=before
    )


@router.get(
    "/entries/{entry_id}",
    summary="One journal entry with its postings",
    responses=problem_responses(Unauthorized, NotFound),
)
async def get_entry(entry_id: UUID, caller: InternalCaller, db: DbSession) -> EntryOut:
    """A posted entry (记账凭证), as it was written: entries never change."""
    return await service.get_entry(db, entry_id)


@router.get("/reports/sources", summary="Per fund source: received = held + reserved + disbursed")
async def get_sources_report(caller: InternalCaller, db: DbSession) -> SourcesReport:
    """资金来源报表."""
    return await service.sources_report(db)


@router.get(
    "/reports/towns/{town_code}",
    summary="A town's funds, its villages' and its matching",
    responses=problem_responses(Unauthorized, InvalidInput, InvalidHolder),
)
async def get_town_report(town_code: AreaCode, caller: InternalCaller, db: DbSession) -> HolderReport:
    """镇街资金报表 (its villages included)."""
    return await service.holder_report(db, "town", town_code)


@router.get(
    "/reports/villages/{village_code}",
    summary="A village's funds",
    responses=problem_responses(Unauthorized, InvalidInput, InvalidHolder),
)
async def get_village_report(village_code: AreaCode, caller: InternalCaller, db: DbSession) -> HolderReport:
    """村（社区）资金报表."""
    return await service.holder_report(db, "village", village_code)


@router.get(
    "/reports/payees/{payee_type}/{payee_code}",
    summary="What a project or beneficiary received",
    responses=problem_responses(Unauthorized, InvalidInput, InvalidHolder),
)
async def get_payee_report(
    payee_type: PayeeType, payee_code: Reference, caller: InternalCaller, db: DbSession
) -> PayeeReport:
    """项目资金明细: per source and entry by entry (staff only: it names the payee)."""
    return await service.payee_report(db, payee_type, payee_code)


@router.get(
    "/donors/{donor_code}/report",
    summary="A donor's pledges and receipts",
    responses=problem_responses(Unauthorized, InvalidInput, InvalidHolder),
)
async def get_donor_report(donor_code: Reference, caller: InternalCaller, db: DbSession) -> DonorReport:
    """捐赠情况: what the donor pledged, what arrived, in capital figures."""
    return await service.donor_report(db, donor_code)


@router.get(
    "/receipts/{entry_id}",
    summary="The donation receipt (捐赠收据) of a receipt entry",
    responses=problem_responses(Unauthorized, NotFound),
)
async def get_receipt(entry_id: UUID, caller: InternalCaller, db: DbSession) -> ReceiptDocument:
    """With the amount in capital figures and the entry's link in the hash chain."""
    return await service.receipt_document(db, entry_id)


@router.get("/audit/verify", summary="Verify the journal's hash chain")
async def get_verify(caller: InternalCaller, db: DbSession) -> ChainReport:
    """Walk the chain from genesis; every edited row, gap or unchained entry is reported. Entries
    committed a moment ago are linked first, so the walk covers every committed entry."""
    await service.PROCESS_LINKER.settle()
    return await service.verify_chain(db)


@router.get("/audit/reconcile", summary="Rebuild every balance from the journal and compare")
async def get_reconcile(caller: InternalCaller, db: DbSession) -> ReconcileReport:
    """Balances, running balances, entry sums, reservations and pledges against the journal."""
    await service.PROCESS_LINKER.settle()
    return await service.reconcile(db)


@router.get("/public/funds", summary="Public, anonymised funds disclosure (资金公开)")
async def get_public_funds(caller: InternalCaller, db: DbSession) -> PublicFunds:
    """Per source and per town, aggregated; no beneficiary, payee or donor is named."""
    return await service.public_funds(db)
