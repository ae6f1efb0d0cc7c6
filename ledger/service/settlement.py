"""How reservations end without a staff command: completion, the appeal ending, expiry.

- `settle` is what completion of the appeal (办结) does: a reservation nothing was paid from
  yet is posted in full (the plan was carried out at its approved amount); otherwise what is
  left is released.
- `release_for_appeal`: the appeal ended without the work (rejected, withdrawn, merged).
- `expire_due` releases reservations past `expires_at` (state `expired`), reading only those
  that are due (a partial index on pending reservations' `expires_at`).
"""

from __future__ import annotations

import uuid
from datetime import datetime

import structlog
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from ledger.models import JournalEntry, Reservation, messaging
from ledger.schemas import ReleaseCommand
from ledger.service import rules
from ledger.service.commands import Effect, Outcome, run_command
from ledger.service.reservations import give_back, holdings, lock_pending, pay, release
from services.common.errors import DomainError
from services.common.messaging import emit, utcnow

log = structlog.get_logger(__name__)


async def settle(
    session: AsyncSession, appeal_id: uuid.UUID, *, idempotency_key: str, actor: str
) -> Outcome | None:
    """On completion (办结): post the whole reservation if nothing was paid yet, else release the rest.

    None when the appeal has no open reservation (a policy-track appeal, or already resolved).
    """
    rid = await session.scalar(
        select(Reservation.id).where(Reservation.appeal_id == appeal_id, Reservation.state == "pending")
    )
    if rid is None:
        return None

    async def execute(digest: str) -> Effect:
        reservation = await lock_pending(session, rid)
        paid = await session.scalar(
            select(func.count())
            .select_from(JournalEntry)
            .where(JournalEntry.reservation_id == rid, JournalEntry.kind == "disbursement")
        )
        memo = "诉求办结，按预留金额拨付" if not paid else "诉求办结，释放未拨付的预留资金"
        if not paid:
            remaining = sum((await holdings(session, reservation)).values())
            return await pay(session, reservation, remaining, memo, idempotency_key, digest, actor)
        return await give_back(session, reservation, "released", memo, idempotency_key, digest, actor)

    return await run_command(
        session,
        operation="reservation.settle",
        key=idempotency_key,
        command={"reservation_id": str(rid), "appeal_id": str(appeal_id)},
        actor=actor,
        execute=execute,
    )


async def release_for_appeal(
    session: AsyncSession, appeal_id: uuid.UUID, *, idempotency_key: str, actor: str, memo: str
) -> Outcome | None:
    """Release an appeal's open reservation (the appeal ended without the plan being carried out)."""
    rid = await session.scalar(
        select(Reservation.id).where(Reservation.appeal_id == appeal_id, Reservation.state == "pending")
    )
    if rid is None:
        return None
    return await release(
        session, rid, ReleaseCommand(memo=memo), idempotency_key=idempotency_key, actor=actor
    )


async def expire_due(
    session: AsyncSession, *, now: datetime | None = None, limit: int = 100
) -> list[uuid.UUID]:
    """Release every pending reservation past its expiry (到期释放); reads only what is due.

    SKIP LOCKED lets several workers share the work and skips a reservation someone is paying
    from right now. Each expiry is its own savepoint, so one failure does not hold up the rest.
    """
    moment = now or utcnow()
    due = (
        await session.scalars(
            select(Reservation)
            .where(Reservation.state == "pending", Reservation.expires_at <= moment)
            .order_by(Reservation.expires_at)
            .limit(limit)
            .with_for_update(skip_locked=True)
            .execution_options(populate_existing=True)
        )
    ).all()
    expired: list[uuid.UUID] = []
    for reservation in due:
        key = f"job expiry:{reservation.id}"  # a space: never a client's key
        digest = rules.request_hash("expiry", {"reservation_id": str(reservation.id)})
        try:
            async with session.begin_nested():
                effect = await give_back(
                    session, reservation, "expired", "预留到期，自动释放", key, digest, "ledger/expiry"
                )
                await emit(session, messaging, *effect.events)
        except (DomainError, IntegrityError) as exc:
            log.warning("ledger_expiry_refused", reservation_id=str(reservation.id), error=repr(exc))
            continue
        expired.append(reservation.id)
    return expired
