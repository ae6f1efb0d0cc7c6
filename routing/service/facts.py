"""What intake tells routing about an appeal that limits who may hold it and what may be done.

- 保密 (issue 15.3): the unit an appeal complains about never holds it. Whoever would hand it to
  that unit hands it one level up instead (a village's or a station's town, a town's or a
  department's city): `holder_for`.
- An appeal that ended without the work (merged into another, withdrawn, rejected; issue 15.8):
  its active hop is closed (state ``ended``), a plan on public notice is cancelled, and every
  routing command on it is a `409 appeal_ended` (`ensure_open`).
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from routing.models import AppealFact, Assignment, Consultation, Station
from routing.service.dispatch import Holder
from services.common import scope
from services.common.errors import AppealEnded
from services.common.messaging import utcnow

ENDED_WITHOUT_WORK = frozenset({"merged", "withdrawn", "rejected"})
ENDED_HOP = "ended"
CANCELLED = "cancelled"


async def _upsert(session: AsyncSession, appeal_id: uuid.UUID, **values: object) -> None:
    now = utcnow()
    stmt = insert(AppealFact).values(appeal_id=appeal_id, updated_at=now, **values)
    await session.execute(
        stmt.on_conflict_do_update(index_elements=[AppealFact.appeal_id], set_={**values, "updated_at": now})
    )


async def note_complaint(
    session: AsyncSession, appeal_id: uuid.UUID, unit_type: str | None, unit_code: str | None
) -> None:
    """Remember the unit the appeal complains about (idempotent: the latest note wins)."""
    await _upsert(session, appeal_id, complained_unit_type=unit_type, complained_unit_code=unit_code)


async def complained_unit(session: AsyncSession, appeal_id: uuid.UUID) -> tuple[str, str] | None:
    """The unit the appeal complains about, if staff recorded one."""
    fact = await session.get(AppealFact, appeal_id, populate_existing=True)
    if fact is None or fact.complained_unit_type is None or fact.complained_unit_code is None:
        return None
    return fact.complained_unit_type, fact.complained_unit_code


async def above(session: AsyncSession, unit_type: str, unit_code: str) -> tuple[str, str]:
    """The unit one level above: a village's or a station's town; the city for everything else."""
    # A village the reference data does not list yet still lies in its town (by its code).
    if unit_type == "village" and (town_code := scope.town_of_village(unit_code)):
        return "town", town_code
    if unit_type == "station":
        town = await session.scalar(select(Station.town_code).where(Station.code == unit_code))
        if town:
            return "town", town
    return "city", "city"


async def holder_for(session: AsyncSession, appeal_id: uuid.UUID, holder: Holder) -> Holder:
    """The holder to assign: `holder` unless it is (or sits under) nobody but the unit complained
    about, in which case the unit above it takes the appeal, for the same purpose."""
    # The fact row is claimed (inserted if missing) before it is read: a complaint being noted
    # at this moment holds that row, so this waits for it and reads it, or else the complaint's
    # handler waits for this hand-over and then finds the hop to move (`handover.note_complaint`).
    await session.execute(
        insert(AppealFact).values(appeal_id=appeal_id, updated_at=utcnow()).on_conflict_do_nothing()
    )
    complained = await complained_unit(session, appeal_id)
    if complained is None or (holder.unit_type, holder.unit_code) != complained or complained[0] == "city":
        return holder
    unit_type, unit_code = await above(session, *complained)
    return Holder(unit_type, unit_code, holder.purpose)  # type: ignore[arg-type]


async def end(session: AsyncSession, appeal_id: uuid.UUID, status: str, at: datetime) -> list[uuid.UUID]:
    """The appeal ended without the work: close its active hop and any plan on notice.

    Idempotent (a replayed event finds nothing active). Returns the consultations whose notice
    it cancelled: their public notice must say so (``consultation.changed``).
    """
    if status not in ENDED_WITHOUT_WORK:
        return []
    await _upsert(session, appeal_id, ended_as=status, ended_at=at)
    await session.execute(
        update(Assignment)
        .where(Assignment.appeal_id == appeal_id, Assignment.state.in_(("assigned", "signed_off")))
        .values(state=ENDED_HOP, returned_at=at, reason_code=status)
    )
    cancelled = await session.scalars(
        update(Consultation)
        .where(Consultation.appeal_id == appeal_id, Consultation.state == "notice")
        .values(state=CANCELLED, reason=_cancelled_reason(status))
        .returning(Consultation.id)
        .execution_options(synchronize_session=False)
    )
    return list(cancelled.all())


async def reopen(session: AsyncSession, appeal_id: uuid.UUID) -> list[uuid.UUID] | None:
    """A merge undone (the link was wrong): the appeal is open again, the hop `end` closed is
    active again and a plan it cancelled is back on notice (approved by the worker if the notice
    ran out meanwhile). Idempotent. Returns the consultations back on notice, or None when the
    appeal had not been ended by a merge."""
    fact = await session.get(AppealFact, appeal_id, with_for_update=True)
    if fact is None or fact.ended_as != "merged":
        return None
    fact.ended_as, fact.ended_at, fact.updated_at = None, None, utcnow()
    for hop in (
        await session.scalars(
            select(Assignment).where(
                Assignment.appeal_id == appeal_id,
                Assignment.state == ENDED_HOP,
                Assignment.reason_code == "merged",
            )
        )
    ).all():
        hop.state = "signed_off" if hop.signed_off_at is not None else "assigned"
        hop.returned_at, hop.reason_code = None, None
    back = await session.scalars(
        update(Consultation)
        .where(
            Consultation.appeal_id == appeal_id,
            Consultation.state == CANCELLED,
            Consultation.reason == _cancelled_reason("merged"),
        )
        .values(state="notice", reason=None)
        .returning(Consultation.id)
        .execution_options(synchronize_session=False)
    )
    return list(back.all())


def _cancelled_reason(status: str) -> str:
    return f"诉求已{_ENDED_NAMES[status]}，公示中的方案作废"


_ENDED_NAMES = {"merged": "合并到其他诉求办理", "withdrawn": "撤回", "rejected": "不予受理"}


async def ended(session: AsyncSession, appeal_id: uuid.UUID) -> str | None:
    """How the appeal ended without the work, or None while it is open."""
    return await session.scalar(select(AppealFact.ended_as).where(AppealFact.appeal_id == appeal_id))


async def ensure_open(session: AsyncSession, appeal_id: uuid.UUID) -> None:
    """Refuse a command on an appeal that ended without the work (`409 appeal_ended`)."""
    how = await ended(session, appeal_id)
    if how is not None:
        raise AppealEnded(ended_as=how)
