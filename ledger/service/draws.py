"""Drawing on a holder's money across sources (the disbursement order), and the `funds.*` events.

A draw reads balances before it writes, so it must hold them still: it locks the payer's
accounts of every candidate source, and the payee's accounts of the sources it will use, in
one account-id ordered SELECT … FOR UPDATE (`journal.lock_balances`), then splits the amount
by `rules.split_amount`. Which payee accounts are needed depends on the split; a first guess
from unlocked balances is checked under the locks, and tried again in the rare case that a
concurrent writer changed which sources pay.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any
from uuid import UUID

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from ledger.models import Account
from ledger.schemas import EntryOut
from ledger.service import rules
from ledger.service.journal import account_ids, insufficient_total, lock_balances
from ledger.service.rules import AccountKey, Leg
from services.contracts.events import Event, EventType, FundsEvent, make_event

_ATTEMPTS = 3


async def draw(
    session: AsyncSession,
    payer: tuple[str, str],
    sources: Sequence[str],
    amount_fen: int,
    payee: Callable[[str], AccountKey] | None,
) -> list[tuple[str, int]]:
    """Lock and split: which sources pay how much of `amount_fen`, or `insufficient_funds`.

    `payee(source)` names the receiving account of a source when it is shared with other writers
    (a project, a beneficiary); None when it is new and only ours (a reservation's accounts).
    """
    payer_keys = [AccountKey(payer[0], payer[1], s) for s in sources]
    guess = rules.split_amount(
        amount_fen, list(zip(sources, await _unlocked(session, payer_keys), strict=True))
    )
    used = {s for s, _ in guess} if guess else set(sources)
    for attempt in range(_ATTEMPTS):
        if attempt == _ATTEMPTS - 1:
            used = set(sources)
        wanted = list(payer_keys)
        if payee is not None:
            wanted += [payee(s) for s in sources if s in used]
        balances = await lock_balances(session, wanted)
        available = [(s, balances[key]) for s, key in zip(sources, payer_keys, strict=True)]
        parts = rules.split_amount(amount_fen, available)
        if parts is None:
            raise insufficient_total(payer, sources, sum(max(b, 0) for _, b in available), amount_fen)
        if payee is None or {s for s, _ in parts} <= used:
            return parts
        used |= {s for s, _ in parts}
    raise AssertionError("unreachable: the last attempt locks every source")


async def _unlocked(session: AsyncSession, keys: Sequence[AccountKey]) -> list[int]:
    ids = await account_ids(session, keys)
    if not ids:
        return [0] * len(keys)
    rows = await session.execute(select(Account.id, Account.balance_fen).where(Account.id.in_(ids.values())))
    by_id = {row.id: row.balance_fen for row in rows}
    return [by_id.get(ids[key], 0) if key in ids else 0 for key in keys]


def credited(entry: EntryOut, holder_types: Iterable[str]) -> dict[str, int]:
    """What an entry put into accounts of these holder types, per source."""
    wanted = set(holder_types)
    out: dict[str, int] = {}
    for posting in entry.postings:
        if posting.holder_type in wanted and posting.amount_fen > 0:
            out[posting.source_code] = out.get(posting.source_code, 0) + posting.amount_fen
    return out


def funds_event(
    type_: EventType,
    *,
    appeal_id: UUID | None,
    amount_fen: int,
    reference: str,
    entry: EntryOut | None = None,
    sources: dict[str, int] | None = None,
    reservation_id: UUID | None = None,
    holder: tuple[str, str] | None = None,
    **detail: Any,
) -> list[Event]:
    """A `funds.*` event for an appeal, or nothing when the money concerns no appeal."""
    if appeal_id is None:
        return []
    if sources:
        # Intake's projection reads `detail.by_source`; `sources` is the same, typed.
        detail = {**detail, "by_source": sources}
    data = FundsEvent(
        amount_fen=amount_fen,
        reference=reference,
        detail=detail,
        sources=sources or {},
        entry_id=entry.id if entry is not None else None,
        reservation_id=reservation_id,
        holder_type=holder[0] if holder else None,
        holder_code=holder[1] if holder else None,
    )
    return [make_event(type_, "ledger", data, appeal_id=appeal_id)]


def transfer(payer: tuple[str, str], payee: tuple[str, str], parts: Iterable[tuple[str, int]]) -> list[Leg]:
    """The legs of a draw: re-exported for the operations' readability."""
    return rules.transfer_legs(payer, payee, parts)
