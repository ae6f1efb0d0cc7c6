"""Public notices (公示) of community consultations: routing's `consultation.changed` projected
onto the appeal, read by disclosure, the public status and the public notice list (DESIGN §10).

A notice whose appeal staff withheld from disclosure is not listed. Routing's event carries the
text already public-safe (`services.common.public_text`); no attendee is ever named.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from intake.models import Appeal, AppealNotice
from services.common.messaging import utcnow
from services.common.reference import load_reference
from services.contracts.events import ConsultationChanged, Event
from services.contracts.notices import (
    BODY_NAMES,
    NOTICE_STATE_NAMES,
    POINT_NAMES,
    POINTS,
    NoticeAttendance,
    NoticeMeeting,
    NoticePage,
    NoticePeriod,
    NoticePlan,
    NoticeVote,
    PublicNotice,
)
from services.contracts.vocabulary import CONSULTATION_FORM_NAMES

MAX_PAGE_SIZE = 100
_FORMS: dict[str, str] = dict(CONSULTATION_FORM_NAMES.items())


def town_name(code: str | None) -> str | None:
    """A town's short name, or None (as `intake.service.public`, which reads this module)."""
    town = load_reference().town_by_code(code) if code else None
    return town.name if town else None


def village_name(code: str | None) -> str | None:
    """A village's name, or None."""
    village = load_reference().village_by_code(code) if code else None
    return village.name if village else None


async def project(session: AsyncSession, appeal: Appeal, event: Event) -> None:
    """Keep the newest snapshot of the consultation; an older, late event never overwrites it."""
    data = event.data_as(ConsultationChanged)
    values = {
        "appeal_id": appeal.id,
        "state": data.state,
        "town_code": data.town_code,
        "village_code": data.village_code,
        "held_at": data.held_at,
        "notice_ends_at": data.notice_ends_at,
        "data": data.model_dump(mode="json"),
        "as_of": event.occurred_at,
    }
    stmt = pg_insert(AppealNotice).values(consultation_id=data.consultation_id, **values)
    stmt = stmt.on_conflict_do_update(
        index_elements=[AppealNotice.consultation_id],
        set_=values,
        where=AppealNotice.as_of <= stmt.excluded.as_of,
    )
    # The public status shows its notices: the `public_rev_appeal_notices` triggers count the
    # change (an older event that changes nothing counts none), so its ETag follows.
    await session.execute(stmt)


def _period(data: ConsultationChanged) -> NoticePeriod | None:
    if data.notice_ends_at is None:
        return None
    starts = data.notice_starts_at or data.notice_ends_at
    outcome = {"notice": "running", "approved": "no_objection", "cancelled": "cancelled"}.get(
        data.state, "objected"
    )
    return NoticePeriod(
        starts_at=starts,
        ends_at=data.notice_ends_at,
        days=data.notice_days,
        objections=data.objections,
        outcome=outcome,
    )


def to_public(row: AppealNotice, ticket_no: str | None = None) -> PublicNotice:
    """The stored snapshot as the public reads it."""
    data = ConsultationChanged.model_validate(row.data)
    votes = []
    for point in POINTS:
        counted = data.votes.get(point)
        if counted is None:
            continue
        yes, no, abstain = counted.get("yes", 0), counted.get("no", 0), counted.get("abstain", 0)
        votes.append(
            NoticeVote(
                point=point,
                name=POINT_NAMES[point],
                yes=yes,
                no=no,
                abstain=abstain,
                # 过半数 of those present (consultation_rules); a meeting without quorum passed nothing.
                passed=data.quorum_met and 2 * yes > data.present_count,
            )
        )
    unit = (
        village_name(data.unit_code) if data.unit_type == "village" else town_name(data.unit_code)
    ) or None
    return PublicNotice(
        consultation_id=data.consultation_id,
        ticket_no=ticket_no or data.ticket_no,
        town=town_name(data.town_code),
        village=village_name(data.village_code),
        meeting=NoticeMeeting(
            form=data.form,
            form_name=_FORMS.get(data.form, "协商议事"),
            body=data.body,
            body_name=BODY_NAMES.get(data.body, data.body),
            held_at=data.held_at,
            unit=unit,
        ),
        attendance=NoticeAttendance(
            eligible_count=data.eligible_count,
            present_count=data.present_count,
            households_total=data.households_total,
            households_present=data.households_present,
            quorum_met=data.quorum_met,
        ),
        plan=NoticePlan(
            necessity=data.necessity,
            feasibility=data.feasibility,
            budget_fen=data.budget_fen,
            beneficiary_count=data.beneficiary_count,
            beneficiary_group=data.beneficiary_group,
            beneficiary_description=data.beneficiary_description,
            implementer=data.implementer,
            track=data.track,
        ),
        votes=votes,
        state=data.state,
        state_name=NOTICE_STATE_NAMES[data.state],
        reason=data.reason,
        notice=_period(data),
        decided_at=data.decided_at,
        updated_at=row.as_of,
    )


async def of_appeals(session: AsyncSession, ids: list[uuid.UUID]) -> dict[uuid.UUID, list[PublicNotice]]:
    """Every notice of these appeals, oldest meeting first."""
    out: dict[uuid.UUID, list[PublicNotice]] = defaultdict(list)
    if not ids:
        return out
    rows = await session.execute(
        select(AppealNotice, Appeal.ticket_no)
        .join(Appeal, Appeal.id == AppealNotice.appeal_id)
        .where(AppealNotice.appeal_id.in_(ids))
        .order_by(AppealNotice.held_at, AppealNotice.consultation_id)
    )
    for row, ticket_no in rows:
        out[row.appeal_id].append(to_public(row, ticket_no))
    return out


async def of_appeal(session: AsyncSession, appeal_id: uuid.UUID) -> list[PublicNotice]:
    """One appeal's notices, oldest meeting first (the public status and disclosure detail)."""
    return (await of_appeals(session, [appeal_id])).get(appeal_id, [])


async def rejection_reason(session: AsyncSession, appeal_id: uuid.UUID) -> str | None:
    """Why the community rejected the appeal's plan, when it did (the latest rejection)."""
    data = await session.scalar(
        select(AppealNotice.data)
        .where(AppealNotice.appeal_id == appeal_id, AppealNotice.state == "rejected")
        .order_by(AppealNotice.held_at.desc())
        .limit(1)
    )
    return data.get("reason") if data else None


@dataclass(frozen=True)
class NoticeFilters:
    """The public notice list's filters."""

    period: str | None = None  # current (notice running) | past
    town_code: str | None = None
    village_code: str | None = None
    ticket_no: str | None = None


def _conditions(f: NoticeFilters, now: datetime) -> list[ColumnElement[bool]]:
    # As disclosure: nothing withheld, withdrawn or merged away (a plan the community rejected
    # stays public with its reason, so a rejected appeal's notices do too).
    conds: list[ColumnElement[bool]] = [
        Appeal.withheld.is_(False),
        Appeal.status.not_in(("withdrawn", "merged")),
    ]
    running = (AppealNotice.state == "notice") & (AppealNotice.notice_ends_at > now)
    if f.period == "current":
        conds.append(running)
    elif f.period == "past":
        conds.append(~running)
    if f.town_code:
        conds.append(AppealNotice.town_code == f.town_code)
    if f.village_code:
        conds.append(AppealNotice.village_code == f.village_code)
    if f.ticket_no:
        conds.append(Appeal.ticket_no == f.ticket_no)
    return conds


async def public_page(
    session: AsyncSession, f: NoticeFilters, page: int, page_size: int, *, now: datetime | None = None
) -> NoticePage:
    """Current and past notices, newest meeting first."""
    page_size = max(1, min(page_size, MAX_PAGE_SIZE))
    page = max(1, page)
    conds = _conditions(f, now or utcnow())
    base = (
        select(AppealNotice, Appeal.ticket_no).join(Appeal, Appeal.id == AppealNotice.appeal_id).where(*conds)
    )
    total = int(
        await session.scalar(
            select(func.count())
            .select_from(AppealNotice)
            .join(Appeal, Appeal.id == AppealNotice.appeal_id)
            .where(*conds)
        )
        or 0
    )
    rows = await session.execute(
        base.order_by(AppealNotice.held_at.desc(), AppealNotice.consultation_id)
        .limit(page_size)
        .offset((page - 1) * page_size)
    )
    items = [to_public(row, ticket_no) for row, ticket_no in rows]
    return NoticePage(items=items, page=page, page_size=page_size, total=total)
