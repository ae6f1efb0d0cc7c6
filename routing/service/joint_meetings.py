"""联席会议: a case no single department owns goes on the agenda of the town's or the city's joint
meeting of departments; the meeting's decision names the lead unit (and those assisting) and
assigns the case, bindingly."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from routing.errors import NotInQueue
from routing.models import AgendaItem, JointMeeting, TriageResult
from routing.service import dispositions, handover
from routing.service import triage as triage_service
from routing.service.common import check_unit, may_decide_for, require_decider
from routing.service.dispatch import Holder
from services.common.auth import Principal
from services.common.errors import Conflict, Forbidden, InvalidInput, NotFound
from services.common.messaging import utcnow


def _org_of(level: str, triage: TriageResult) -> str:
    if level == "city":
        return "city"
    if triage.town_code is None:
        raise InvalidInput("地点不明的诉求只能提交市级联席会议。")
    return triage.town_code


async def submit(
    session: AsyncSession, principal: Principal, appeal_id: uuid.UUID, level: str, reason: str
) -> AgendaItem:
    """Put an appeal waiting for a decision on a joint meeting's agenda."""
    triage = await session.get(TriageResult, appeal_id)
    if triage is None or not await dispositions.sees_appeal(session, principal, appeal_id):
        raise NotFound()  # outside one's scope an appeal does not exist
    item = await triage_service.open_item(session, appeal_id)
    if item is None:
        raise NotInQueue("只有等待分拣决定的诉求可以提交联席会议。")
    require_decider(principal, item.level, triage.town_code)
    if level == "town" and item.level == "city":
        raise InvalidInput("已上报市级的诉求只能提交市级联席会议。")
    agenda = AgendaItem(
        appeal_id=appeal_id,
        level=level,
        org_code=_org_of(level, triage),
        reason=reason,
        submitted_by=principal.username,
    )
    try:
        async with session.begin_nested():
            session.add(agenda)
            await session.flush()
    except IntegrityError as exc:
        raise Conflict("该诉求已在联席会议议程上。") from exc
    await triage_service.resolve_for_agenda(session, appeal_id, principal.username)
    return agenda


def _may_convene(principal: Principal, level: str, org_code: str) -> bool:
    return may_decide_for(principal, level, org_code)


async def create_meeting(
    session: AsyncSession, principal: Principal, level: str, org_code: str, title: str, held_on: date
) -> JointMeeting:
    """Record a joint meeting of the town (its code) or the city (``city``)."""
    if level == "city" and org_code != "city":
        raise InvalidInput("市级联席会议的单位编码为 city。")
    if not _may_convene(principal, level, org_code):
        raise Forbidden()
    meeting = JointMeeting(
        level=level, org_code=org_code, title=title, held_on=held_on, created_by=principal.username
    )
    session.add(meeting)
    await session.flush()
    return meeting


async def agenda(session: AsyncSession, principal: Principal, level: str, org_code: str) -> list[AgendaItem]:
    """The pending agenda of a town's or the city's joint meeting."""
    if not _may_convene(principal, level, org_code) and principal.role != "auditor":
        raise Forbidden()
    rows = await session.scalars(
        select(AgendaItem)
        .where(AgendaItem.level == level, AgendaItem.org_code == org_code, AgendaItem.state == "pending")
        .order_by(AgendaItem.submitted_at)
    )
    return list(rows.all())


async def decide(
    session: AsyncSession,
    principal: Principal,
    meeting_id: uuid.UUID,
    appeal_id: uuid.UUID,
    *,
    lead: tuple[str, str],
    assisting: list[tuple[str, str]],
    decision: str,
) -> AgendaItem:
    """The meeting's decision on one agenda item: it assigns the case to the lead unit, bindingly."""
    meeting = await session.get(JointMeeting, meeting_id)
    if meeting is None:
        raise NotFound()
    if not _may_convene(principal, meeting.level, meeting.org_code):
        raise Forbidden()
    item = await session.scalar(
        select(AgendaItem)
        .where(AgendaItem.appeal_id == appeal_id, AgendaItem.state == "pending")
        .with_for_update()
    )
    if item is None or (item.level, item.org_code) != (meeting.level, meeting.org_code):
        raise NotFound("该诉求不在本次联席会议的议程上。")
    for unit_type, unit_code in (lead, *assisting):
        await check_unit(session, unit_type, unit_code)
    triage = await session.get(TriageResult, appeal_id, with_for_update=True)
    assert triage is not None
    assisting_units: list[dict[str, Any]] = [{"unit_type": t, "unit_code": c} for t, c in assisting]
    purpose = "consult" if triage.kind == "micro_project" and lead[0] in ("village", "town") else "handle"
    triage.state, triage.needs_manual, triage.updated_at = "confirmed", False, utcnow()
    await handover.announce(session, triage)
    await handover.assign(
        session,
        triage,
        Holder(lead[0], lead[1], purpose),  # type: ignore[arg-type]
        binding=True,
        decided_by="joint_meeting",
        assisting=assisting_units,
        note=decision,
        by=principal.username,
    )
    item.state, item.meeting_id, item.decided_at = "decided", meeting.id, utcnow()
    item.lead_unit_type, item.lead_unit_code = lead
    item.assisting_units, item.decision = assisting_units, decision
    await session.flush()
    return item
