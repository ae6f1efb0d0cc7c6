"""Reading the ledger: balances (now or as of a moment), account statements.

Point in time (时点余额): an entry counts from the moment it was chained, which the linker takes
under its lock right after the entry's COMMIT, so `as_of` sees exactly a prefix of the chain: the
journal as it stood then, never half of a transaction.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import and_, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from ledger.models import Account, ChainLink, FundSource, JournalEntry, Posting
from ledger.schemas import HolderBalances, HolderType, SourceBalance, Statement, StatementLine
from ledger.service import rules
from ledger.service.journal import source


async def balances(
    session: AsyncSession, holder_type: HolderType, holder_code: str, *, as_of: datetime | None = None
) -> HolderBalances:
    """A holder's balance in every fund source (zero where it never had money), now or `as_of`."""
    holder_code = rules.canonical_code(holder_type, holder_code)
    rules.validate_holder(holder_type, holder_code)
    funds = (
        await session.execute(select(FundSource.code, FundSource.name).order_by(FundSource.display_order))
    ).all()
    mine = and_(Account.holder_type == holder_type, Account.holder_code == holder_code)
    if as_of is None:
        query = select(Account.source_code, Account.balance_fen).where(mine)
    else:
        query = (
            select(Account.source_code, func.sum(Posting.amount_fen))
            .join(Posting, Posting.account_id == Account.id)
            .join(ChainLink, ChainLink.entry_id == Posting.entry_id)
            .where(mine, ChainLink.chained_at <= as_of)
            .group_by(Account.source_code)
        )
    held = {code: int(fen or 0) for code, fen in (await session.execute(query)).all()}
    sources = [
        SourceBalance(source_code=code, source_name=name, balance_fen=held.get(code, 0))
        for code, name in funds
    ]
    return HolderBalances(
        holder_type=holder_type,
        holder_code=holder_code,
        as_of=as_of,
        total_fen=sum(s.balance_fen for s in sources),
        sources=sources,
    )


async def account_statement(
    session: AsyncSession,
    holder_type: HolderType,
    holder_code: str,
    source_code: str,
    *,
    limit: int = 50,
    before: int | None = None,
) -> Statement:
    """An account's statement (账户明细): its postings newest first, paged by posting id."""
    holder_code = rules.canonical_code(holder_type, holder_code)
    rules.validate_holder(holder_type, holder_code)
    await source(session, source_code)
    account = (
        await session.execute(
            select(Account.id, Account.balance_fen).where(
                Account.holder_type == holder_type,
                Account.holder_code == holder_code,
                Account.source_code == source_code,
            )
        )
    ).first()
    lines: list[StatementLine] = []
    if account is not None:
        query = (
            select(
                Posting.id.label("posting_id"),
                Posting.entry_id,
                JournalEntry.kind,
                Posting.amount_fen,
                Posting.balance_after_fen,
                JournalEntry.memo,
                JournalEntry.appeal_id,
                JournalEntry.created_at,
            )
            .join(JournalEntry, JournalEntry.id == Posting.entry_id)
            .where(Posting.account_id == account.id)
            .order_by(Posting.id.desc())
            .limit(limit + 1)
        )
        if before is not None:
            query = query.where(Posting.id < before)
        rows = (await session.execute(query)).all()
        lines = [StatementLine.model_validate(row, from_attributes=True) for row in rows]
    more = len(lines) > limit
    lines = lines[:limit]
    return Statement(
        holder_type=holder_type,
        holder_code=holder_code,
        source_code=source_code,
        balance_fen=account.balance_fen if account is not None else 0,
        lines=lines,
        next_before=lines[-1].posting_id if more else None,
    )
