"""The journal writer (记账): open and lock accounts, write one entry and its postings.

Every operation ends here. Only `flush()`, never commit: the caller's unit of work commits; at
that COMMIT the database queues the entry for the hash chain, and the linker links it right
after (`ledger.service.linker`), so a commit waits on its accounts' locks only. Writes run inside a SAVEPOINT
and the deferred invariants are checked before it is released, so a refused entry (an
overdraft, an unbalanced entry) fails here, as a domain error, and leaves the caller's
transaction clean.

Locks: a posting locks its account's row (the balance trigger's UPDATE). An operation that must
read balances before it writes (a draw split across sources) locks every account it may touch
first, in account-id order, with SELECT … FOR UPDATE (`lock_balances`); postings then follow in
account-id order too. Since every writer takes account rows in the same order, two writers never
wait on each other in a cycle.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from uuid import UUID

from sqlalchemy import select, text, tuple_
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from ledger.errors import InsufficientFunds, UnknownSource
from ledger.models import Account, FundSource, JournalEntry, Posting
from ledger.schemas import EntryKind, EntryOut, PostingOut
from ledger.service import rules
from ledger.service.rules import AccountKey, Leg
from services.common.errors import IdempotencyConflict, NotFound

OVERDRAFT_CONSTRAINT = "ck_accounts_non_negative"
IDEMPOTENCY_CONSTRAINT = "uq_journal_entries_idempotency_key"
# The deferred invariants of the migrations, checked inside our savepoint before COMMIT. The
# chain trigger (`journal_entries_chain`) is left deferred on purpose: it draws the entry's
# queue ticket, which must come after every account lock the transaction takes.
DEFERRED_CHECKS = (
    "ledger.postings_balanced, ledger.journal_entries_balanced, ledger.reservations_funded,"
    " ledger.journal_entries_within_pledge"
)


@dataclass(frozen=True)
class EntrySpec:
    """An entry to write: its kind, its legs, and what it refers to."""

    kind: EntryKind
    idempotency_key: str
    digest: str
    legs: Sequence[Leg]
    actor: str
    memo: str | None = None
    appeal_id: UUID | None = None
    holder: tuple[str, str] | None = None
    reverses_id: UUID | None = None
    reservation_id: UUID | None = None
    pledge_id: UUID | None = None


async def post_entry(session: AsyncSession, spec: EntrySpec) -> EntryOut:
    """Write one entry inside a savepoint; translate what the database refuses."""
    entry = JournalEntry(
        kind=spec.kind,
        idempotency_key=spec.idempotency_key,
        request_hash=spec.digest,
        memo=spec.memo,
        appeal_id=spec.appeal_id,
        created_by=spec.actor,
        holder_type=spec.holder[0] if spec.holder else None,
        holder_code=spec.holder[1] if spec.holder else None,
        reverses_id=spec.reverses_id,
        reservation_id=spec.reservation_id,
        pledge_id=spec.pledge_id,
    )
    try:
        async with session.begin_nested():
            written = await _write(session, entry, spec.legs)
    except IntegrityError as exc:
        constraint = constraint_name(exc)
        if constraint == IDEMPOTENCY_CONSTRAINT:
            raise IdempotencyConflict(idempotency_key=spec.idempotency_key) from exc
        if constraint == OVERDRAFT_CONSTRAINT:
            raise await insufficient(session, spec.legs) from exc
        raise
    return _as_out(entry, written)


async def _write(
    session: AsyncSession, entry: JournalEntry, legs: Sequence[Leg]
) -> list[tuple[Leg, Posting]]:
    """Open the accounts, insert the entry and its postings, and have the database check it now."""
    ids = await ensure_accounts(session, (leg.account for leg in legs))
    session.add(entry)
    await session.flush()
    # Postings lock their accounts' rows; taking them in account-id order, whatever the entry's
    # own order, means two entries over the same accounts can never deadlock. (The batch INSERT
    # keeps the parameters' order; its RETURNING brings back each running balance.)
    written = [
        (leg, Posting(entry_id=entry.id, account_id=ids[leg.account], amount_fen=leg.amount_fen))
        for leg in sorted(legs, key=lambda leg: ids[leg.account])
    ]
    session.add_all([posting for _, posting in written])
    await session.flush()
    await check_now(session)
    return written


def _as_out(entry: JournalEntry, written: Sequence[tuple[Leg, Posting]]) -> EntryOut:
    """The entry just written, as `entry_out` would read it back (without reading it back)."""
    rows = sorted(written, key=lambda pair: (pair[1].amount_fen, pair[1].id))
    return EntryOut(
        id=entry.id,
        kind=entry.kind,
        idempotency_key=entry.idempotency_key,
        memo=entry.memo,
        appeal_id=entry.appeal_id,
        created_at=entry.created_at,
        created_by=entry.created_by,
        holder_type=entry.holder_type,
        holder_code=entry.holder_code,
        reverses_id=entry.reverses_id,
        reservation_id=entry.reservation_id,
        pledge_id=entry.pledge_id,
        postings=[
            PostingOut(
                holder_type=leg.account.holder_type,
                holder_code=leg.account.holder_code,
                source_code=leg.account.source_code,
                amount_fen=posting.amount_fen,
                balance_after_fen=posting.balance_after_fen,
            )
            for leg, posting in rows
        ],
    )


async def check_now(session: AsyncSession) -> None:
    """Run the deferred invariants now (and defer them again), so a bad write fails inside the
    caller's savepoint rather than in its COMMIT."""
    await session.execute(text(f"SET CONSTRAINTS {DEFERRED_CHECKS} IMMEDIATE"))
    await session.execute(text(f"SET CONSTRAINTS {DEFERRED_CHECKS} DEFERRED"))


@dataclass(frozen=True)
class SourceInfo:
    """A fund source as the operations need it."""

    code: str
    name: str
    income_holder_types: tuple[str, ...]


# Fund sources are seed data, written by migrations only: read each once per process.
_SOURCES: dict[str, SourceInfo] = {}


async def source(session: AsyncSession, code: str) -> SourceInfo:
    """A fund source, or `unknown_source`."""
    found = _SOURCES.get(code)
    if found is None:
        row = await session.get(FundSource, code)
        if row is None:
            raise UnknownSource(f"资金来源「{code}」不存在。", source_code=code)
        found = _SOURCES[code] = SourceInfo(row.code, row.name, tuple(row.income_holder_types))
    return found


async def ensure_accounts(session: AsyncSession, keys: Iterable[AccountKey]) -> dict[AccountKey, int]:
    """The ids of these accounts, opening those that do not exist yet (开户)."""
    wanted = sorted(set(keys))
    ids = await account_ids(session, wanted)
    missing = [key for key in wanted if key not in ids]
    if missing:
        # A concurrent request may open the same account: DO NOTHING, then read it back.
        await session.execute(
            pg_insert(Account)
            .values([key._asdict() for key in missing])
            .on_conflict_do_nothing(index_elements=["holder_type", "holder_code", "source_code"])
        )
        ids = await account_ids(session, wanted)
    return ids


async def account_ids(session: AsyncSession, keys: Sequence[AccountKey]) -> dict[AccountKey, int]:
    """The ids of those of these accounts that exist."""
    if not keys:
        return {}
    columns = (Account.holder_type, Account.holder_code, Account.source_code)
    rows = await session.execute(select(Account.id, *columns).where(tuple_(*columns).in_(keys)))
    return {AccountKey(r.holder_type, r.holder_code, r.source_code): r.id for r in rows}


async def lock_balances(session: AsyncSession, keys: Iterable[AccountKey]) -> dict[AccountKey, int]:
    """Open these accounts if needed, lock their rows in id order, and return their balances as
    they stand under the lock (the last committed value, whoever held the lock before)."""
    ids = await ensure_accounts(session, keys)
    by_id = {account_id: key for key, account_id in ids.items()}
    rows = await session.execute(
        select(Account.id, Account.balance_fen)
        .where(Account.id.in_(sorted(by_id)))
        .order_by(Account.id)
        .with_for_update()
    )
    return {by_id[row.id]: row.balance_fen for row in rows}


async def insufficient(session: AsyncSession, legs: Sequence[Leg]) -> InsufficientFunds:
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
            return await insufficient_for(session, leg.account, available, -leg.amount_fen)
    return InsufficientFunds()


async def insufficient_for(
    session: AsyncSession, account: AccountKey, available: int, required: int
) -> InsufficientFunds:
    """The refusal for one account of one source."""
    level = rules.LEVEL_NAMES.get(account.holder_type, "账户")
    fund = await source(session, account.source_code)
    return InsufficientFunds(
        f"{level}「{account.holder_code}」的{fund.name}资金余额不足"
        f"（可用 {available} 分，需 {required} 分），本次操作未执行。",
        **account._asdict(),
        available_fen=available,
        required_fen=required,
    )


def insufficient_total(
    holder: tuple[str, str], sources: Sequence[str], available: int, required: int
) -> InsufficientFunds:
    """The refusal of a draw over several sources (the disbursement order)."""
    level = rules.LEVEL_NAMES.get(holder[0], "账户")
    return InsufficientFunds(
        f"{level}「{holder[1]}」可用于本次支出的资金不足（可用 {available} 分，需 {required} 分），本次操作未执行。",
        holder_type=holder[0],
        holder_code=holder[1],
        source_codes=list(sources),
        available_fen=available,
        required_fen=required,
    )


async def entry_legs(session: AsyncSession, entry_id: UUID) -> list[Leg]:
    """An entry's legs as accounts and amounts, in posting order."""
    rows = await session.execute(
        select(Account.holder_type, Account.holder_code, Account.source_code, Posting.amount_fen)
        .join(Account, Account.id == Posting.account_id)
        .where(Posting.entry_id == entry_id)
        .order_by(Posting.id)
    )
    return [Leg(AccountKey(r.holder_type, r.holder_code, r.source_code), r.amount_fen) for r in rows]


async def get_entry(session: AsyncSession, entry_id: UUID) -> EntryOut:
    """One journal entry with its postings."""
    entry = await entry_out(session, entry_id)
    if entry is None:
        raise NotFound("没有找到该记账凭证。", entry_id=str(entry_id))
    return entry


async def entry_out(session: AsyncSession, entry_id: UUID) -> EntryOut | None:
    """An entry as the API shows it, or None."""
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
            "holder_type": entry.holder_type,
            "holder_code": entry.holder_code,
            "reverses_id": entry.reverses_id,
            "reservation_id": entry.reservation_id,
            "pledge_id": entry.pledge_id,
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
