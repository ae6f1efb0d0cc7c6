"""Money entering the programme and moving down the levels: income (收入), allocation (下拨),
and a town's matching (配套) with the ratio it owes.

Matching: a town owes `ratio` × the city money (`city_finance`) allocated to it, 1:1 or 1:0.5
(per town, `town_matching` table; 1:1 until configured). What it owes and what it paid are
reported (`matching_status`); the ledger does not stop a town from spending while it is short,
since that is for the city to decide, but every report shows the shortfall.
"""

from __future__ import annotations

from sqlalchemy import and_, exists, func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from ledger.models import Account, Posting, TownMatching
from ledger.schemas import (
    AllocationCommand,
    FundHolder,
    IncomeCommand,
    MatchingCommand,
    MatchingOut,
    MatchingRatio,
    MatchingStatus,
)
from ledger.service import rules
from ledger.service.commands import Effect, EntryBatcher, Outcome, run_command, run_entry_command
from ledger.service.journal import EntrySpec, post_entry, source
from services.common.messaging import utcnow


async def record_income(
    session: AsyncSession,
    cmd: IncomeCommand,
    *,
    idempotency_key: str,
    actor: str,
    batcher: EntryBatcher | None = None,
) -> Outcome:
    """Record income (收入) from a fund source (资金来源) into a city, town or village account."""

    async def spec_for(digest: str) -> EntrySpec:
        fund = await source(session, cmd.source_code)
        rules.check_income_target(fund.code, fund.income_holder_types, cmd.holder)
        return EntrySpec(
            kind="income",
            idempotency_key=idempotency_key,
            digest=digest,
            legs=rules.income_legs(cmd),
            actor=actor,
            memo=cmd.memo,
            appeal_id=cmd.appeal_id,
            holder=(cmd.holder.holder_type, cmd.holder.holder_code),
        )

    return await run_entry_command(
        session,
        operation="income",
        key=idempotency_key,
        command=cmd,
        actor=actor,
        spec_for=spec_for,
        batcher=batcher,
    )


async def allocate(
    session: AsyncSession,
    cmd: AllocationCommand,
    *,
    idempotency_key: str,
    actor: str,
    batcher: EntryBatcher | None = None,
) -> Outcome:
    """Allocate (下拨) money of one source one level down; refuses an overdraft."""

    async def spec_for(digest: str) -> EntrySpec:
        await source(session, cmd.source_code)
        rules.check_allocation(cmd.from_holder, cmd.to_holder)
        return EntrySpec(
            kind="allocation",
            idempotency_key=idempotency_key,
            digest=digest,
            legs=rules.allocation_legs(cmd),
            actor=actor,
            memo=cmd.memo,
            appeal_id=cmd.appeal_id,
            holder=(cmd.from_holder.holder_type, cmd.from_holder.holder_code),
        )

    return await run_entry_command(
        session,
        operation="allocation",
        key=idempotency_key,
        command=cmd,
        actor=actor,
        spec_for=spec_for,
        batcher=batcher,
    )


async def record_matching(
    session: AsyncSession, cmd: MatchingCommand, *, idempotency_key: str, actor: str
) -> Outcome:
    """Book a town's matching money (配套资金到位) and answer with its matching after it."""

    async def execute(digest: str) -> Effect:
        town = FundHolder(holder_type="town", holder_code=cmd.town_code)
        rules.validate_holder("town", cmd.town_code)
        legs = rules.transfer_legs(
            ("external", rules.EXTERNAL_CODE), ("town", cmd.town_code), [("town_matching", cmd.amount_fen)]
        )
        spec = EntrySpec(
            kind="matching",
            idempotency_key=idempotency_key,
            digest=digest,
            legs=legs,
            actor=actor,
            memo=cmd.memo,
            holder=(town.holder_type, town.holder_code),
        )
        entry = await post_entry(session, spec)
        return Effect(MatchingOut(entry=entry, matching=await matching_status(session, cmd.town_code)))

    return await run_command(
        session, operation="matching", key=idempotency_key, command=cmd, actor=actor, execute=execute
    )


async def set_matching_ratio(
    session: AsyncSession, town_code: str, ratio: MatchingRatio, *, actor: str
) -> MatchingStatus:
    """Configure a town's matching ratio (a setting, not money: PUT semantics, no key needed)."""
    rules.validate_holder("town", town_code)
    values = {"ratio": ratio, "updated_at": utcnow(), "updated_by": actor}
    await session.execute(
        pg_insert(TownMatching)
        .values(town_code=town_code, **values)
        .on_conflict_do_update(index_elements=[TownMatching.town_code], set_=values)
    )
    return await matching_status(session, town_code)


async def matching_status(session: AsyncSession, town_code: str) -> MatchingStatus:
    """What the town owes in matching and what it has paid (both net of reversals)."""
    rules.validate_holder("town", town_code)
    configured = await session.scalar(select(TownMatching.ratio).where(TownMatching.town_code == town_code))
    ratio: MatchingRatio = configured if configured in ("1:1", "1:0.5") else "1:1"  # type: ignore[assignment]
    # City money the town got: postings on its city_finance account in entries that also
    # touch the city's city_finance account (allocations, and reversals of them).
    allocated = await _flow(session, ("town", town_code, "city_finance"), counterpart_type="city")
    # Matching it paid: postings on its town_matching account in entries with an outside leg.
    received = await _flow(session, ("town", town_code, "town_matching"), counterpart_type="external")
    required = rules.matching_required(allocated, ratio)
    return MatchingStatus(
        town_code=town_code,
        ratio=ratio,
        ratio_configured=configured is not None,
        city_allocated_fen=allocated,
        required_fen=required,
        received_fen=received,
        shortfall_fen=max(required - received, 0),
        met=received >= required,
    )


async def _flow(session: AsyncSession, account: tuple[str, str, str], *, counterpart_type: str) -> int:
    """Net postings on one account in entries that have a leg on a `counterpart_type` account
    of the same source."""
    mine, other = aliased(Account), aliased(Account)
    other_posting = aliased(Posting)
    crossing = exists().where(
        other_posting.entry_id == Posting.entry_id,
        other_posting.account_id == other.id,
        other.holder_type == counterpart_type,
        other.source_code == mine.source_code,
    )
    total = await session.scalar(
        select(func.coalesce(func.sum(Posting.amount_fen), 0))
        .join(mine, mine.id == Posting.account_id)
        .where(
            and_(
                mine.holder_type == account[0], mine.holder_code == account[1], mine.source_code == account[2]
            ),
            crossing,
        )
    )
    return int(total or 0)
