"""Reservations (资金预留) for approved plans: pending → posted in disbursements → the rest released.

- `reserve` draws the amount from the holder's fund accounts (disbursement order, or the one
  source the plan names) into `reservation` accounts of the same sources: the money is no longer
  available to anyone else, and the holder's non-negative CHECK is what refuses a reservation
  larger than what is available.
- `disburse_reserved` pays part or all of it to the payee; the last fen resolves it as `posted`.
- `release` gives back what is left and resolves it as `released`.
- How reservations end without a command (completion, the appeal ending, expiry) is in
  `ledger.service.settlement`.

A reservation resolves once; the database refuses any second change of state (see the
migration). Every operation locks the reservation row first, then accounts in id order.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Literal

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from ledger.errors import (
    InsufficientFunds,
    InvalidExpiry,
    ReservationExists,
    ReservationNotFound,
    ReservationResolved,
)
from ledger.models import Account, JournalEntry, Posting, Reservation
from ledger.schemas import (
    EntryOut,
    Payee,
    ReleaseCommand,
    ReservationCommand,
    ReservationOut,
    ReservedDisbursementCommand,
    SourceAmount,
)
from ledger.service import rules
from ledger.service.commands import Effect, Outcome, run_command
from ledger.service.draws import credited, draw, funds_event, transfer
from ledger.service.journal import EntrySpec, constraint_name, lock_balances, post_entry, source
from ledger.service.rules import AccountKey
from services.common.errors import DomainError
from services.common.messaging import utcnow
from services.contracts.events import Event

DEFAULT_HOLD = timedelta(days=90)
OPEN_APPEAL_CONSTRAINT = "uq_reservations_open_appeal"
Resolution = Literal["posted", "released", "expired"]


async def reserve(
    session: AsyncSession, cmd: ReservationCommand, *, idempotency_key: str, actor: str
) -> Outcome:
    """Reserve money for an approved plan; `funds.reserved`, or `funds.insufficient` when short."""
    holder = (cmd.holder.holder_type, cmd.holder.holder_code)

    async def execute(digest: str) -> Effect:
        rules.validate_holder(*holder)
        rules.validate_reference_code(cmd.payee.payee_type, cmd.payee.payee_code)
        if cmd.source_code is not None:
            await source(session, cmd.source_code)
        now = utcnow()
        expires_at = cmd.expires_at or now + DEFAULT_HOLD
        if expires_at <= now:
            raise InvalidExpiry(expires_at=expires_at.isoformat())
        reservation = await _open(session, cmd, holder, expires_at, actor)
        rid = str(reservation.id)
        sources = rules.paying_sources(cmd.source_code)
        parts = await draw(session, holder, sources, cmd.amount_fen, payee=None)
        entry = await post_entry(
            session,
            EntrySpec(
                kind="reservation",
                idempotency_key=idempotency_key,
                digest=digest,
                legs=transfer(holder, ("reservation", rid), parts),
                actor=actor,
                memo=cmd.memo,
                appeal_id=cmd.appeal_id,
                holder=holder,
                reservation_id=reservation.id,
            ),
        )
        events = funds_event(
            "funds.reserved",
            appeal_id=cmd.appeal_id,
            amount_fen=cmd.amount_fen,
            reference=rid,
            entry=entry,
            sources=dict(parts),
            reservation_id=reservation.id,
            holder=holder,
            expires_at=expires_at.isoformat(),
        )
        return Effect(await reservation_out(session, reservation, entry), events)

    async def on_failure(error: DomainError) -> list[Event]:
        if not isinstance(error, InsufficientFunds):
            return []
        return funds_event(
            "funds.insufficient",
            appeal_id=cmd.appeal_id,
            amount_fen=cmd.amount_fen,
            reference=cmd.plan_id or idempotency_key,
            holder=holder,
            available_fen=error.extra.get("available_fen"),
        )

    return await run_command(
        session,
        operation="reservation",
        key=idempotency_key,
        command=cmd,
        actor=actor,
        execute=execute,
        on_failure=on_failure,
    )


async def _open(
    session: AsyncSession, cmd: ReservationCommand, holder: tuple[str, str], expires_at: datetime, actor: str
) -> Reservation:
    reservation = Reservation(
        id=uuid.uuid4(),
        holder_type=holder[0],
        holder_code=holder[1],
        payee_type=cmd.payee.payee_type,
        payee_code=cmd.payee.payee_code,
        amount_fen=cmd.amount_fen,
        source_code=cmd.source_code,
        appeal_id=cmd.appeal_id,
        plan_id=cmd.plan_id,
        state="pending",
        expires_at=expires_at,
        memo=cmd.memo,
        created_by=actor,
    )
    try:
        async with session.begin_nested():
            session.add(reservation)
            await session.flush()
    except IntegrityError as exc:
        if constraint_name(exc) == OPEN_APPEAL_CONSTRAINT:
            raise ReservationExists(appeal_id=str(cmd.appeal_id)) from exc
        raise
    return reservation


async def disburse_reserved(
    session: AsyncSession,
    reservation_id: uuid.UUID,
    cmd: ReservedDisbursementCommand,
    *,
    idempotency_key: str,
    actor: str,
) -> Outcome:
    """Pay part of a reservation to its payee (拨付); `funds.disbursed`."""

    async def execute(digest: str) -> Effect:
        reservation = await lock_pending(session, reservation_id)
        return await pay(session, reservation, cmd.amount_fen, cmd.memo, idempotency_key, digest, actor)

    return await run_command(
        session,
        operation="reservation.disbursement",
        key=idempotency_key,
        command={"reservation_id": str(reservation_id), **cmd.model_dump(mode="json")},
        actor=actor,
        execute=execute,
    )


async def release(
    session: AsyncSession, reservation_id: uuid.UUID, cmd: ReleaseCommand, *, idempotency_key: str, actor: str
) -> Outcome:
    """Release what a reservation still holds (释放); it resolves as `released`."""

    async def execute(digest: str) -> Effect:
        reservation = await lock_pending(session, reservation_id)
        return await give_back(session, reservation, "released", cmd.memo, idempotency_key, digest, actor)

    return await run_command(
        session,
        operation="reservation.release",
        key=idempotency_key,
        command={"reservation_id": str(reservation_id), **cmd.model_dump(mode="json")},
        actor=actor,
        execute=execute,
    )


# -- steps -------------------------------------------------------------------------------------


async def lock_pending(session: AsyncSession, reservation_id: uuid.UUID) -> Reservation:
    """The reservation, locked, if it is still pending; else `reservation_resolved` / not found."""
    # The row lock serialises every operation on one reservation; populate_existing re-reads it
    # under the lock, whatever this session saw before.
    reservation = await session.scalar(
        select(Reservation)
        .where(Reservation.id == reservation_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    if reservation is None:
        raise ReservationNotFound(reservation_id=str(reservation_id))
    if reservation.state != "pending":
        raise ReservationResolved(reservation_id=str(reservation_id), state=reservation.state)
    return reservation


def _ordered(sources: list[str]) -> list[str]:
    order = {s: i for i, s in enumerate(rules.DISBURSEMENT_ORDER)}
    return sorted(sources, key=lambda s: (order.get(s, len(order)), s))


async def _accounts(session: AsyncSession, reservation: Reservation) -> list[AccountKey]:
    rid = str(reservation.id)
    codes = (
        await session.scalars(
            select(Account.source_code).where(
                Account.holder_type == "reservation", Account.holder_code == rid
            )
        )
    ).all()
    return [AccountKey("reservation", rid, s) for s in _ordered(list(codes))]


async def holdings(session: AsyncSession, reservation: Reservation) -> dict[str, int]:
    """What the reservation still holds per source, in the disbursement order."""
    # Read without row locks: only the holder of the reservation's own lock moves its money.
    rows = await session.execute(
        select(Account.source_code, Account.balance_fen).where(
            Account.holder_type == "reservation", Account.holder_code == str(reservation.id)
        )
    )
    found = {row.source_code: row.balance_fen for row in rows}
    return {s: found[s] for s in _ordered(list(found))}


async def pay(
    session: AsyncSession,
    reservation: Reservation,
    amount_fen: int,
    memo: str | None,
    key: str,
    digest: str,
    actor: str,
) -> Effect:
    """Post `amount_fen` of a locked, pending reservation to its payee; the last fen resolves it."""
    rid = str(reservation.id)
    payee = (reservation.payee_type, reservation.payee_code)
    held = await holdings(session, reservation)
    parts = rules.split_amount(amount_fen, list(held.items()))
    if parts is None or amount_fen <= 0:
        available = sum(held.values())
        raise InsufficientFunds(
            f"资金预留的剩余金额不足（剩余 {available} 分，需 {amount_fen} 分），本次操作未执行。",
            reservation_id=rid,
            available_fen=available,
            required_fen=amount_fen,
        )
    used = [s for s, _ in parts]
    await lock_balances(
        session,
        [AccountKey("reservation", rid, s) for s in used] + [AccountKey(payee[0], payee[1], s) for s in used],
    )
    entry = await post_entry(
        session,
        EntrySpec(
            kind="disbursement",
            idempotency_key=key,
            digest=digest,
            legs=transfer(("reservation", rid), payee, parts),
            actor=actor,
            memo=memo,
            appeal_id=reservation.appeal_id,
            holder=(reservation.holder_type, reservation.holder_code),
            reservation_id=reservation.id,
        ),
    )
    if sum(held.values()) == amount_fen:
        await _resolve(session, reservation, "posted")
    events = funds_event(
        "funds.disbursed",
        appeal_id=reservation.appeal_id,
        amount_fen=amount_fen,
        reference=rid,
        entry=entry,
        sources=credited(entry, [payee[0]]),
        reservation_id=reservation.id,
        holder=(reservation.holder_type, reservation.holder_code),
        payee_type=payee[0],
    )
    return Effect(await reservation_out(session, reservation, entry), events)


async def give_back(
    session: AsyncSession,
    reservation: Reservation,
    state: Resolution,
    memo: str | None,
    key: str,
    digest: str,
    actor: str,
) -> Effect:
    """Give what a locked, pending reservation still holds back to its holder; resolve it as `state`."""
    rid = str(reservation.id)
    holder = (reservation.holder_type, reservation.holder_code)
    keys = await _accounts(session, reservation)
    balances = await lock_balances(
        session, keys + [AccountKey(holder[0], holder[1], k.source_code) for k in keys]
    )
    parts = [(k.source_code, balances[k]) for k in keys if balances[k] > 0]
    entry: EntryOut | None = None
    if parts:
        entry = await post_entry(
            session,
            EntrySpec(
                kind="release",
                idempotency_key=key,
                digest=digest,
                legs=transfer(("reservation", rid), holder, parts),
                actor=actor,
                memo=memo,
                appeal_id=reservation.appeal_id,
                holder=holder,
                reservation_id=reservation.id,
            ),
        )
    await _resolve(session, reservation, state)
    released = sum(amount for _, amount in parts)
    events = funds_event(
        "funds.released",
        appeal_id=reservation.appeal_id,
        amount_fen=released,
        reference=rid,
        entry=entry,
        sources=dict(parts),
        reservation_id=reservation.id,
        holder=holder,
        reason=state,
    )
    return Effect(await reservation_out(session, reservation, entry), events)


async def _resolve(session: AsyncSession, reservation: Reservation, state: Resolution) -> None:
    reservation.state = state
    reservation.resolved_at = utcnow()
    await session.flush()


async def get_reservation(session: AsyncSession, reservation_id: uuid.UUID) -> ReservationOut:
    """One reservation and where its money stands."""
    reservation = await session.get(Reservation, reservation_id)
    if reservation is None:
        raise ReservationNotFound(reservation_id=str(reservation_id))
    return await reservation_out(session, reservation, None)


async def reservation_out(
    session: AsyncSession, reservation: Reservation, entry: EntryOut | None
) -> ReservationOut:
    """Reserved = disbursed + released + remaining, read from the reservation's accounts."""
    rid = str(reservation.id)
    rows = (
        await session.execute(
            select(Account.source_code, Account.balance_fen)
            .where(Account.holder_type == "reservation", Account.holder_code == rid)
            .order_by(Account.source_code)
        )
    ).all()
    released = await session.scalar(
        select(func.coalesce(-func.sum(Posting.amount_fen), 0))
        .join(Account, Account.id == Posting.account_id)
        .join(JournalEntry, JournalEntry.id == Posting.entry_id)
        .where(
            Account.holder_type == "reservation", Account.holder_code == rid, JournalEntry.kind == "release"
        )
    )
    remaining = sum(row.balance_fen for row in rows)
    released_fen = int(released or 0)
    return ReservationOut(
        id=reservation.id,
        state=reservation.state,
        holder_type=reservation.holder_type,
        holder_code=reservation.holder_code,
        payee=Payee(payee_type=reservation.payee_type, payee_code=reservation.payee_code),
        amount_fen=reservation.amount_fen,
        disbursed_fen=reservation.amount_fen - remaining - released_fen,
        released_fen=released_fen,
        remaining_fen=remaining,
        remaining_by_source=[SourceAmount(source_code=r.source_code, amount_fen=r.balance_fen) for r in rows],
        appeal_id=reservation.appeal_id,
        plan_id=reservation.plan_id,
        expires_at=reservation.expires_at,
        created_at=reservation.created_at,
        resolved_at=reservation.resolved_at,
        entry=entry,
    )
