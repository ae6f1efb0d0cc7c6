"""The ledger's domain operations (记账): income, allocation, balances, statements.

Only `flush()`, never commit: the caller's unit of work commits. Every write runs inside a
SAVEPOINT, so a refused entry (insufficient funds, a concurrent duplicate) leaves the caller's
transaction clean and usable, e.g. for a job that then records `funds.insufficient`.

The database is the final judge of the invariants (see the migration): this module checks the
rules a person can be told about (levels, sources, codes) and translates what the database
refuses (an overdraft) into a domain error.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from uuid import UUID

from sqlalchemy import and_, func, select, text, tuple_
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from ledger import rules
from ledger.errors import InsufficientFunds, UnknownSource
from ledger.models import Account, FundSource, JournalEntry, Posting
from ledger.rules import AccountKey, Leg
from ledger.schemas import (
    AllocationCommand,
    EntryKind,
    EntryOut,
    HolderBalances,
    HolderType,
    IncomeCommand,
    PostingOut,
    SourceBalance,
    Statement,
    StatementLine,
)
from services.common.errors import IdempotencyConflict, NotFound

OVERDRAFT_CONSTRAINT = "ck_accounts_non_negative"
IDEMPOTENCY_CONSTRAINT = "uq_journal_entries_idempotency_key"
# The deferred balance triggers of the migration.
BALANCE_TRIGGERS = "ledger.postings_balanced, ledger.journal_entries_balanced"


@dataclass(frozen=True)
class Recorded:
    """The result of a command: the entry, and whether it was a replay of an earlier request."""

    entry: EntryOut
    replayed: bool


async def record_income(
    session: AsyncSession, cmd: IncomeCommand, *, idempotency_key: str, actor: str
) -> Recorded:
    """Record income (收入) from a fund source (资金来源) into a city, town or village account."""
    digest = rules.request_hash("income", cmd.model_dump(mode="json"))
    if (replay := await _replay(session, idempotency_key, digest)) is not None:
        return replay
    source = await _source(session, cmd.source_code)
    rules.check_income_target(source.code, source.income_holder_types, cmd.holder)
    return await _post(
        session,
        kind="income",
        idempotency_key=idempotency_key,
        digest=digest,
        legs=rules.income_legs(cmd),
        memo=cmd.memo,
        appeal_id=cmd.appeal_id,
        actor=actor,
    )


async def allocate(
    session: AsyncSession, cmd: AllocationCommand, *, idempotency_key: str, actor: str
) -> Recorded:
    """Allocate (下拨) money of one source one level down; refuses an overdraft."""
    digest = rules.request_hash("allocation", cmd.model_dump(mode="json"))
    if (replay := await _replay(session, idempotency_key, digest)) is not None:
        return replay
    await _source(session, cmd.source_code)
    rules.check_allocation(cmd.from_holder, cmd.to_holder)
    return await _post(
        session,
        kind="allocation",
        idempotency_key=idempotency_key,
        digest=digest,
        legs=rules.allocation_legs(cmd),
        memo=cmd.memo,
        appeal_id=cmd.appeal_id,
        actor=actor,
    )


async def get_entry(session: AsyncSession, entry_id: UUID) -> EntryOut:
    """One journal entry with its postings."""
    entry = await _entry_out(session, entry_id)
    if entry is None:
        raise NotFound("没有找到该记账凭证。", entry_id=str(entry_id))
    return entry


async def balances(session: AsyncSession, holder_type: HolderType, holder_code: str) -> HolderBalances:
    """A holder's balance in every fund source (zero where it never had money)."""
    rules.validate_holder(holder_type, holder_code)
    rows = (
        await session.execute(
            select(FundSource.code, FundSource.name, func.coalesce(Account.balance_fen, 0))
            .outerjoin(
                Account,
                and_(
                    Account.source_code == FundSource.code,
                    Account.holder_type == holder_type,
                    Account.holder_code == holder_code,
                ),
            )
            .order_by(FundSource.display_order)
        )
    ).all()
    sources = [SourceBalance(source_code=code, source_name=name, balance_fen=fen) for code, name, fen in rows]
    return HolderBalances(
        holder_type=holder_type,
        holder_code=holder_code,
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
    rules.validate_holder(holder_type, holder_code)
    await _source(session, source_code)
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


# -- steps -----------------------------------------------------------------------------------


async def _post(
    session: AsyncSession,
    *,
    kind: EntryKind,
    idempotency_key: str,
    digest: str,
    legs: Sequence[Leg],
    memo: str | None,
    appeal_id: UUID | None,
    actor: str,
) -> Recorded:
    """Write one entry inside a savepoint; translate what the database refuses."""
    entry = JournalEntry(
        kind=kind,
        idempotency_key=idempotency_key,
        request_hash=digest,
        memo=memo,
        appeal_id=appeal_id,
        created_by=actor,
    )
    try:
        async with session.begin_nested():
            await _write(session, entry, legs)
    except IntegrityError as exc:
        constraint = constraint_name(exc)
        if constraint == IDEMPOTENCY_CONSTRAINT:
            # A concurrent request with the same key committed first: answer as its replay.
            replay = await _replay(session, idempotency_key, digest)
            if replay is not None:
                return replay
        if constraint == OVERDRAFT_CONSTRAINT:
            raise await _insufficient(session, legs) from exc
        raise
    out = await _entry_out(session, entry.id)
    assert out is not None  # just written in this transaction
    return Recorded(entry=out, replayed=False)


async def _write(session: AsyncSession, entry: JournalEntry, legs: Sequence[Leg]) -> None:
    """Open the accounts, insert the entry and its postings, and have the database check it now."""
    ids = await _ensure_accounts(session, (leg.account for leg in legs))
    session.add(entry)
    await session.flush()
    # Postings lock their accounts' rows; taking them in account-id order, whatever the entry's
    # own order, means two entries over the same accounts can never deadlock.
    for leg in sorted(legs, key=lambda leg: ids[leg.account]):
        session.add(Posting(entry_id=entry.id, account_id=ids[leg.account], amount_fen=leg.amount_fen))
    await session.flush()
    # The balance triggers are deferred to COMMIT; run them here as well, so that a bad entry
    # fails inside our savepoint rather than in the caller's commit.
    await session.execute(text(f"SET CONSTRAINTS {BALANCE_TRIGGERS} IMMEDIATE"))
    await session.execute(text(f"SET CONSTRAINTS {BALANCE_TRIGGERS} DEFERRED"))


async def _replay(session: AsyncSession, idempotency_key: str, digest: str) -> Recorded | None:
    """The first answer for this key, or None; the key with another body is a conflict."""
    row = (
        await session.execute(
            select(JournalEntry.id, JournalEntry.request_hash).where(
                JournalEntry.idempotency_key == idempotency_key
            )
        )
    ).first()
    if row is None:
        return None
    if row.request_hash != digest:
        raise IdempotencyConflict(idempotency_key=idempotency_key)
    entry = await _entry_out(session, row.id)
    assert entry is not None  # entries are never deleted
    return Recorded(entry=entry, replayed=True)


async def _source(session: AsyncSession, code: str) -> FundSource:
    source = await session.get(FundSource, code)
    if source is None:
        raise UnknownSource(f"资金来源「{code}」不存在。", source_code=code)
    return source


async def _ensure_accounts(session: AsyncSession, keys: Iterable[AccountKey]) -> dict[AccountKey, int]:
    """The ids of these accounts, opening those that do not exist yet (开户)."""
    wanted = sorted(set(keys))
    ids = await _account_ids(session, wanted)
    missing = [key for key in wanted if key not in ids]
    if missing:
        # A concurrent request may open the same account: DO NOTHING, then read it back.
        await session.execute(
            pg_insert(Account)
            .values([key._asdict() for key in missing])
            .on_conflict_do_nothing(index_elements=["holder_type", "holder_code", "source_code"])
        )
        ids = await _account_ids(session, wanted)
    return ids


async def _account_ids(session: AsyncSession, keys: Sequence[AccountKey]) -> dict[AccountKey, int]:
    columns = (Account.holder_type, Account.holder_code, Account.source_code)
    rows = await session.execute(select(Account.id, *columns).where(tuple_(*columns).in_(keys)))
    return {AccountKey(r.holder_type, r.holder_code, r.source_code): r.id for r in rows}


async def _insufficient(session: AsyncSession, legs: Sequence[Leg]) -> InsufficientFunds:
    """Name the paying account that could not cover its leg, with what it holds now."""
    for leg in legs:
        if leg.amount_fen >= 0 or leg.account.holder_type == "external":
            continue
        available = (
            await session.execute(
                select(Account.balance_fen).where(
                    Account.holder_type == leg.account.holder_type,
                    Account.holder_code == leg.account.holder_code,
                    Account.source_code == leg.account.source_code,
                )
            )
        ).scalar_one_or_none() or 0
        if available < -leg.amount_fen:
            level = rules.LEVEL_NAMES.get(leg.account.holder_type, "账户")
            source = await _source(session, leg.account.source_code)
            return InsufficientFunds(
                f"{level}「{leg.account.holder_code}」的{source.name}资金余额不足"
                f"（可用 {available} 分，需 {-leg.amount_fen} 分），本次操作未执行。",
                **leg.account._asdict(),
                available_fen=available,
                required_fen=-leg.amount_fen,
            )
    return InsufficientFunds()


async def _entry_out(session: AsyncSession, entry_id: UUID) -> EntryOut | None:
    entry = await session.get(JournalEntry, entry_id)
    if entry is None:
        return None
    rows = await session.execute(
        select(
            Account.holder_type,
            Account.holder_code,
            Account.source_code,
            Posting.amount_fen,
            Posting.balance_after_fen,
        )
        .join(Account, Account.id == Posting.account_id)
        .where(Posting.entry_id == entry_id)
        # Payers first, then payees: reads as the money flows (written order is lock order).
        .order_by(Posting.amount_fen, Posting.id)
    )
    return EntryOut.model_validate(
        {
            "id": entry.id,
            "kind": entry.kind,
            "idempotency_key": entry.idempotency_key,
            "memo": entry.memo,
            "appeal_id": entry.appeal_id,
            "created_at": entry.created_at,
            "created_by": entry.created_by,
            "postings": [PostingOut.model_validate(row, from_attributes=True) for row in rows],
        }
    )


def constraint_name(exc: IntegrityError) -> str | None:
    """The constraint PostgreSQL names in an integrity error (asyncpg's, under SQLAlchemy's)."""
    for candidate in (exc.orig, getattr(exc.orig, "__cause__", None)):
        name = getattr(candidate, "constraint_name", None)
        if isinstance(name, str):
            return name
    return None
