"""Extensions (延期): asked by the holding unit before the deadline, decided one level up.

- **Asked** by staff of the unit that holds the clock, while it still runs (or is paused) and
  before its deadline; refused after it (409 ``clock_expired``), when every extension the clock's
  rules allow is used (409 ``extension_limit_reached``), or while another request waits.
- **Decided** by staff of exactly the level above (village → town, station → town, town or
  department → city; the city decides its own), fixed when asked. Approval is also refused once
  the deadline has passed: an extension is granted before expiry, never after.
- **Approved**: the deadline moves by the days asked (working days, or calendar days for a months
  clock); the original deadline stays for the on-time rate; ``deadline.extended`` tells intake,
  which writes the public line on the appeal's timeline.

Only ``flush``: the request's transaction commits.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from deadlines.errors import (
    ClockExpired,
    ClockNotActive,
    ClockNotFound,
    ExtensionDecided,
    ExtensionLimitReached,
    ExtensionNotFound,
    ExtensionPending,
    InvalidExtensionDays,
    NotApprover,
    NotHolder,
)
from deadlines.models import Clock, Extension, commands, messaging
from deadlines.schemas import DecisionIn, ExtensionIn
from deadlines.service.calendar import WorkingCalendar
from deadlines.service.clocks import Announcement, apply_due, clock_limit, deadline_data, publish
from deadlines.service.hierarchy import Unit, approver_of, may_approve, may_hold
from deadlines.service.rules import due_for, max_extension_days
from services.common.auth import Principal
from services.common.idempotency import Once, run_once, scoped_key
from services.common.messaging import emit
from services.contracts.events import EventType, ExtensionChanged, make_event
from services.contracts.vocabulary import UNIT_NAMES

CLOCK_LABELS = {
    "triage": "分拣",
    "sign_off": "签收",
    "handling": "办理",
    "consultation": "协商议事",
    "works": "工程实施",
    "feedback": "结果反馈",
}
LEVEL_NAMES: dict[str, str] = {level: UNIT_NAMES[level] for level in ("city", "town")}


def _cn(day: date) -> str:
    return f"{day.year}年{day.month}月{day.day}日"


def public_line(clock: Clock, before: date, approver_type: str) -> str:
    """The timeline's words for an approved extension, as the resident reads them."""
    label = CLOCK_LABELS.get(clock.clock, "办理")
    level = LEVEL_NAMES.get(approver_type, "上级")
    return f"{label}时限经{level}批准延期至{_cn(clock.due_date)}（原定{_cn(before)}）"


async def _lock_clock(session: AsyncSession, clock_id: uuid.UUID) -> Clock:
    clock = await session.scalar(
        select(Clock).where(Clock.id == clock_id).with_for_update().execution_options(populate_existing=True)
    )
    if clock is None:
        raise ClockNotFound(clock_id=str(clock_id))
    return clock


def _require_open(clock: Clock, now: datetime) -> None:
    if clock.state in ("met", "stopped"):
        raise ClockNotActive(state=clock.state)
    if clock.state == "overdue" or (clock.state == "running" and clock.due_at <= now):
        raise ClockExpired(due_date=clock.due_date.isoformat())


def _require_left(clock: Clock) -> None:
    if clock.extensions_used >= clock.extensions_allowed:
        raise ExtensionLimitReached(allowed=clock.extensions_allowed, used=clock.extensions_used)


async def request_extension(
    session: AsyncSession,
    calendar: WorkingCalendar,
    clock_id: uuid.UUID,
    actor: Principal,
    body: ExtensionIn,
    now: datetime,
    idempotency_key: str | None = None,
) -> Once[Extension]:
    """Ask for more time on a clock, once per clock and ``Idempotency-Key`` (optional): a replay
    answers the request as it is now (perhaps decided since)."""
    clock = await _lock_clock(session, clock_id)
    if not idempotency_key:
        return Once(value=await _ask(session, calendar, clock, actor, body, now), replayed=False)

    async def create() -> tuple[Extension, str]:
        extension = await _ask(session, calendar, clock, actor, body, now)
        return extension, str(extension.id)

    async def recall(ident: str) -> Extension:
        extension = await session.get(Extension, uuid.UUID(ident), populate_existing=True)
        assert extension is not None  # requests are never deleted
        return extension

    return await run_once(
        session,
        commands,
        operation="extension",
        key=scoped_key("extension", clock.id, idempotency_key),
        command=body,
        actor=actor.username,
        create=create,
        recall=recall,
    )


async def _ask(
    session: AsyncSession,
    calendar: WorkingCalendar,
    clock: Clock,
    actor: Principal,
    body: ExtensionIn,
    now: datetime,
) -> Extension:
    unit = Unit(clock.unit_type, clock.unit_code)
    if not may_hold(actor, unit):
        raise NotHolder(unit_type=clock.unit_type, unit_code=clock.unit_code)
    _require_open(clock, now)
    _require_left(clock)
    limit = clock_limit(clock)
    if body.days > max_extension_days(limit):
        raise InvalidExtensionDays(max_days=max_extension_days(limit))
    pending = await session.scalar(
        select(Extension.id).where(Extension.clock_id == clock.id, Extension.status == "requested")
    )
    if pending is not None:
        raise ExtensionPending(extension_id=str(pending))
    approver = approver_of(unit, clock.scope_town)
    pushed = clock.paused_days + clock.extended_days + body.days
    extension = Extension(
        id=uuid.uuid4(),
        clock_id=clock.id,
        appeal_id=clock.appeal_id,
        status="requested",
        days=body.days,
        reason=body.reason,
        unit_type=clock.unit_type,
        unit_code=clock.unit_code,
        scope_town=clock.scope_town,
        approver_type=approver.type or "city",
        approver_code=approver.code or "city",
        requested_by=actor.username[:64],
        requested_at=now,
        due_date_before=clock.due_date,
        due_date_after=due_for(calendar, clock.started_at, limit, pushed).due,
    )
    session.add(extension)
    await session.flush()
    await _announce_request(session, clock, extension, "deadline.extension_requested")
    return extension


async def _announce_request(
    session: AsyncSession, clock: Clock, extension: Extension, type_: EventType
) -> None:
    """Tell the approver's staff of a request, and the holder's of a refusal (issue 16.2); the
    reason stays here (it may name people)."""
    data = ExtensionChanged(
        extension_id=extension.id,
        clock_id=extension.clock_id,
        clock=clock.clock,
        unit_type=extension.unit_type,
        unit_code=extension.unit_code,
        approver_type=extension.approver_type,
        approver_code=extension.approver_code,
        days=extension.days,
        due_date_before=extension.due_date_before,
        due_date_after=extension.due_date_after,
    )
    await emit(session, messaging, make_event(type_, "deadlines", data, appeal_id=extension.appeal_id))


async def decide_extension(
    session: AsyncSession,
    calendar: WorkingCalendar,
    extension_id: uuid.UUID,
    actor: Principal,
    body: DecisionIn,
    now: datetime,
) -> tuple[Extension, bool]:
    """Approve or reject a request; returns it and whether this call decided it (False: a replay)."""
    clock_id = await session.scalar(select(Extension.clock_id).where(Extension.id == extension_id))
    if clock_id is None:
        raise ExtensionNotFound(extension_id=str(extension_id))
    clock = await _lock_clock(session, clock_id)  # clock first, as every writer of a clock does
    extension = (
        await session.scalars(
            select(Extension)
            .where(Extension.id == extension_id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
    ).one()
    wanted = "approved" if body.decision == "approve" else "rejected"
    if extension.status != "requested":
        if extension.status == wanted:
            return extension, False
        raise ExtensionDecided(decided=extension.status)
    approver = Unit(extension.approver_type, extension.approver_code)
    if not may_approve(actor, approver):
        raise NotApprover(approver_type=approver.type, approver_code=approver.code)
    if wanted == "approved":
        _require_open(clock, now)
        _require_left(clock)
        before = clock.due_date
        clock.extended_days += extension.days
        clock.extensions_used += 1
        apply_due(clock, calendar)
        extension.due_date_after = clock.due_date
        detail = {
            "extension_id": str(extension.id),
            "days": extension.days,
            "due_date_before": before.isoformat(),
            "approved_by": actor.username,
            "approver": approver.label(),
        }
        data = deadline_data(clock, public_line(clock, before, extension.approver_type))
        await publish(session, [Announcement("deadline.extended", clock, data, detail)])
    extension.status = wanted
    extension.decided_by, extension.decided_at = actor.username[:64], now
    extension.decision_note = body.note
    await session.flush()
    if wanted == "rejected":
        await _announce_request(session, clock, extension, "deadline.extension_rejected")
    return extension, True


async def list_extensions(
    session: AsyncSession, actor: Principal | None, status: str | None, page: int, page_size: int
) -> tuple[list[Extension], bool]:
    """Requests the caller may see, newest first: the city all; a town those it decides and its
    villages' and stations'; any other unit its own."""
    statement = select(Extension)
    if status is not None:
        statement = statement.where(Extension.status == status)
    if actor is not None and actor.role not in ("city_admin", "auditor"):
        own = and_(Extension.approver_type == actor.org_type, Extension.approver_code == actor.org_code)
        if actor.role == "town_staff":
            statement = statement.where(or_(own, Extension.scope_town == actor.org_code))
        else:
            mine = and_(Extension.unit_type == actor.org_type, Extension.unit_code == actor.org_code)
            statement = statement.where(or_(own, mine))
    statement = (
        statement.order_by(Extension.requested_at.desc(), Extension.id)
        .offset((page - 1) * page_size)
        .limit(page_size + 1)
    )
    rows = list((await session.scalars(statement)).all())
    return rows[:page_size], len(rows) > page_size
