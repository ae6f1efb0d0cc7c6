"""The journal writer (记账): open and lock accounts, write one entry and its postings.

Every operation ends here, in one call of `ledger.post_entry()` (migration `5c1e7a2b9d40`): it
opens the accounts, writes the entry and its postings and runs the deferred invariants in one
round trip, so a refused entry (an overdraft, an unbalanced entry) fails here, as a domain
error, and undoes itself, leaving the caller's transaction clean. Never commit: the caller's
unit of work commits; at that COMMIT the database queues the entry for the hash chain, and the
linker links it right after (`ledger.service.linker`), so a commit waits on its accounts' locks
only.

Locks: a posting locks its account's row (the balance trigger's UPDATE). An operation that must
read balances before it writes (a draw split across sources) locks every account it may touch
first, in account-id order, with SELECT … FOR UPDATE (`lock_balances`); postings then follow in
account-id order too. Since every writer takes account rows in the same order, two writers never
wait on each other in a cycle.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from sqlalchemy import select, text, tuple_
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from ledger.errors import InsufficientFunds, UnknownSource
from ledger.models import Account, FundSource, JournalEntry, Posting
from ledger.schemas import EntryKind, EntryOut, PostingOut
from ledger.service import rules
from ledger.service.rules import AccountKey, Leg
from services.common.errors import DomainError, IdempotencyConflict, NotFound
from services.common.messaging import utcnow

OVERDRAFT_CONSTRAINT = "ck_accounts_non_negative"
IDEMPOTENCY_CONSTRAINT = "uq_journal_entries_idempotency_key"


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


def _entry_row(spec: EntrySpec) -> dict[str, Any]:
    """The entry's columns as `ledger.post_entry` takes them (a new id, stamped now)."""
    return {
        "id": str(uuid.uuid4()),
        "kind": spec.kind,
        "idempotency_key": spec.idempotency_key,
        "request_hash": spec.digest,
        "memo": spec.memo,
        "appeal_id": _text(spec.appeal_id),
        "created_at": utcnow().isoformat(),
        "created_by": spec.actor,
        "holder_type": spec.holder[0] if spec.holder else None,
        "holder_code": spec.holder[1] if spec.holder else None,
        "reverses_id": _text(spec.reverses_id),
        "reservation_id": _text(spec.reservation_id),
        "pledge_id": _text(spec.pledge_id),
    }


def _legs(spec: EntrySpec) -> str:
    return json.dumps([{**leg.account._asdict(), "amount_fen": leg.amount_fen} for leg in spec.legs])


async def refusal(session: AsyncSession, spec: EntrySpec, answer: dict[str, Any]) -> DomainError:
    """What `ledger.post_entry` refused, as the domain error it means; a refusal no rule
    foresaw is raised as the integrity error it is."""
    constraint = answer.get("constraint") or None
    if constraint == IDEMPOTENCY_CONSTRAINT:
        return IdempotencyConflict(idempotency_key=spec.idempotency_key)
    if constraint == OVERDRAFT_CONSTRAINT:
        return await insufficient(session, spec.legs)
    raise IntegrityError("ledger.post_entry", None, Refused(str(answer.get("message")), constraint))


def command_item(spec: EntrySpec, command: dict[str, str]) -> dict[str, Any]:
    """One one-entry command as `ledger.run_entry_command(s)` takes it: the command row, the
    entry's columns, its legs, and its answer but for the postings."""
    entry = _entry_row(spec)
    body = _as_out(entry, []).model_dump(mode="json")
    del body["postings"]
    legs = [{**leg.account._asdict(), "amount_fen": leg.amount_fen} for leg in spec.legs]
    return {"command": command, "entry": entry, "legs": legs, "body": body}


async def post_command_entries(
    session: AsyncSession, items: Sequence[dict[str, Any]], *, chain: bool = False
) -> list[dict[str, Any]]:
    """Claim each command's key, post its one entry and settle it, in order, in one round trip
    (`ledger.run_entry_commands`): per item `{"status", "body"}`, `{"replay": true}` or
    `{"error", …}` (its claim left pending for the caller to settle).

    `chain`: also chain the entries in this transaction when no linker is at work
    (`ledger.write_batch`), for a transaction that ends right after, as the batcher's does."""
    function = "write_batch" if chain else "run_entry_commands"
    answers = await session.scalar(
        text(f"SELECT ledger.{function}(CAST(:items AS jsonb))"),
        {"items": json.dumps(list(items), ensure_ascii=False)},
    )
    assert isinstance(answers, list) and len(answers) == len(items)
    return answers


BATCH_REFUSED = "LB001"
"""The SQLSTATE of `ledger.write_batch(items, true)` undone for a refused command."""

AUTOCOMMIT = {"isolation_level": "AUTOCOMMIT"}
"""A session's connection on which each statement is its own transaction (one round trip
instead of BEGIN, the statement and COMMIT)."""


async def post_command_batch(
    session: AsyncSession, items: Sequence[dict[str, Any]]
) -> list[dict[str, Any]] | None:
    """Write these commands and chain their entries as one transaction of one statement
    (`ledger.write_batch(items, true)`, autocommit); None, with nothing written, if a command
    was refused: its claim must be settled in the transaction that claims it, so the caller
    writes them again in a transaction of its own (`post_command_entries`). `session` must
    not have begun, or have begun here (the batcher keeps one for batches that follow each
    other)."""
    # A session kept for batches that follow each other holds its autocommit connection already.
    if session.in_transaction():
        connection = await session.connection()
    else:
        connection = await session.connection(execution_options=AUTOCOMMIT)
    try:
        answers = await connection.scalar(
            text("SELECT ledger.write_batch(CAST(:items AS jsonb), true)"),
            {"items": json.dumps(list(items), ensure_ascii=False)},
        )
    except DBAPIError as exc:
        if getattr(exc.orig, "sqlstate", None) == BATCH_REFUSED:
            return None
        raise
    assert isinstance(answers, list) and len(answers) == len(items)
    return answers


async def post_entry(session: AsyncSession, spec: EntrySpec) -> EntryOut:
    """Write one entry and its postings (`ledger.post_entry`, one round trip); translate what
    the database refuses. A refusal leaves the caller's transaction as it was."""
    entry = _entry_row(spec)
    answer = await session.scalar(
        text("SELECT ledger.post_entry(CAST(:entry AS jsonb), CAST(:legs AS jsonb))"),
        {"entry": json.dumps(entry, ensure_ascii=False), "legs": _legs(spec)},
    )
    assert isinstance(answer, dict)
    if "error" in answer:
        raise await refusal(session, spec, answer)
    return _as_out(entry, answer["postings"])


class Refused(Exception):
    """What the database refused inside `ledger.post_entry`, named as asyncpg names it, so
    `constraint_name` reads it the same way."""

    def __init__(self, message: str, constraint: str | None) -> None:
        super().__init__(message)
        self.constraint_name = constraint


def _text(value: UUID | None) -> str | None:
    return None if value is None else str(value)


def _as_out(entry: dict[str, Any], postings: Sequence[dict[str, Any]]) -> EntryOut:
    """The entry just written, as `entry_out` would read it back (without reading it back)."""
    rows = sorted(postings, key=lambda p: (p["amount_fen"], p["id"]))
    return EntryOut.model_validate(
        {
            **{k: v for k, v in entry.items() if k != "request_hash"},
            "postings": [
                PostingOut(
                    holder_type=p["holder_type"],
                    holder_code=p["holder_code"],
                    source_code=p["source_code"],
                    amount_fen=p["amount_fen"],
                    balance_after_fen=p["balance_after_fen"],
                )
                for p in rows
            ],
        }
    )


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
