"""Reversal (冲正): a new entry with every leg of the original negated, naming the original.

The journal never changes; a mistake is corrected by its mirror image. Once per entry: the
database's UNIQUE(reverses_id) refuses a second reversal even when two race. Not reversible:
a reversal (post the entry anew instead) and a reservation's own entries (reserve, release),
which resolve through the reservation. A disbursement paid out of a reservation that has since
resolved returns to its holder's fund accounts (the reservation's accounts are closed); while
the reservation is pending it returns to the reservation.

Reversing a disbursement of an appeal emits `funds.disbursed` with negative amounts, so a
consumer that sums what an appeal used per source stays right.
"""

from __future__ import annotations

import uuid

from sqlalchemy import exists, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from ledger.errors import AlreadyReversed, NotReversible
from ledger.models import JournalEntry, Reservation
from ledger.schemas import ReversalCommand
from ledger.service import rules
from ledger.service.commands import Effect, Outcome, run_command
from ledger.service.draws import funds_event
from ledger.service.journal import EntrySpec, constraint_name, entry_legs, lock_balances, post_entry
from ledger.service.rules import AccountKey
from services.common.errors import NotFound

REVERSED_CONSTRAINT = "uq_journal_entries_reverses_id"
NOT_REVERSIBLE = frozenset({"reversal", "reservation", "release"})


async def reverse(
    session: AsyncSession, entry_id: uuid.UUID, cmd: ReversalCommand, *, idempotency_key: str, actor: str
) -> Outcome:
    """Reverse a posted entry once."""

    async def execute(digest: str) -> Effect:
        original = await session.get(JournalEntry, entry_id)
        if original is None:
            raise NotFound("没有找到要冲正的记账凭证。", entry_id=str(entry_id))
        if original.kind in NOT_REVERSIBLE:
            raise NotReversible(entry_id=str(entry_id), kind=original.kind)
        if await session.scalar(select(exists().where(JournalEntry.reverses_id == entry_id))):
            raise AlreadyReversed(entry_id=str(entry_id))
        redirect: dict[AccountKey, AccountKey] = {}
        if original.reservation_id is not None:
            # The reservation's lock first, as every reservation operation takes it.
            reservation = await session.scalar(
                select(Reservation)
                .where(Reservation.id == original.reservation_id)
                .with_for_update()
                .execution_options(populate_existing=True)
            )
            assert reservation is not None  # foreign key
            if reservation.state != "pending":
                holder = (reservation.holder_type, reservation.holder_code)
                for leg in await entry_legs(session, entry_id):
                    if leg.account.holder_type == "reservation":
                        redirect[leg.account] = AccountKey(holder[0], holder[1], leg.account.source_code)
        legs = rules.reversal_legs(await entry_legs(session, entry_id), redirect)
        await lock_balances(session, [leg.account for leg in legs])
        spec = EntrySpec(
            kind="reversal",
            idempotency_key=idempotency_key,
            digest=digest,
            legs=legs,
            actor=actor,
            memo=cmd.memo,
            appeal_id=original.appeal_id,
            holder=(original.holder_type, original.holder_code)
            if original.holder_type and original.holder_code
            else None,
            reverses_id=original.id,
            reservation_id=original.reservation_id,
            pledge_id=original.pledge_id,
        )
        try:
            entry = await post_entry(session, spec)
        except IntegrityError as exc:
            if constraint_name(exc) == REVERSED_CONSTRAINT:
                raise AlreadyReversed(entry_id=str(entry_id)) from exc
            raise
        events = []
        if original.kind == "disbursement":
            taken: dict[str, int] = {}
            for leg in legs:
                if leg.account.holder_type in ("project", "beneficiary"):
                    taken[leg.account.source_code] = taken.get(leg.account.source_code, 0) + leg.amount_fen
            events = funds_event(
                "funds.disbursed",
                appeal_id=original.appeal_id,
                amount_fen=sum(taken.values()),
                reference=str(original.id),
                entry=entry,
                sources=taken,
                reservation_id=original.reservation_id,
                holder=spec.holder,
                reversal=True,
            )
        return Effect(entry, events)

    return await run_command(
        session,
        operation="reversal",
        key=idempotency_key,
        command={"entry_id": str(entry_id), **cmd.model_dump(mode="json")},
        actor=actor,
        execute=execute,
    )
