"""Staff notifications: made from events (once each), pushed where a member has a channel, listed
and marked read by each member of staff.

Made in the event consumer's transaction (inbox claim + rows together). A notification's id is
derived from (event, kind, unit), so a replayed event writes nothing new and pushes nothing twice.
Pushes ride the residents' feedback machinery (`FeedbackDelivery` rows, the `gateway.deliver`
job, its retries and sweep): an SMS to a member with a phone, a mini-program subscribe message to
one with an openid.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Final

import structlog
from sqlalchemy import ColumnElement, and_, false, or_, select, tuple_
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.common.auth import Principal
from services.common.crypto import decrypt_pii, lookup_hash
from services.common.cursor import InvalidCursor, decode_cursor, encode_cursor
from services.common.errors import NotFound, ServiceUnavailable
from services.common.jobs import JobContext, NotYet
from services.common.messaging import utcnow
from services.common.personal import mask_phone
from services.common.scope import ROLE_OF_UNIT, Unit, acts_for
from services.contracts.events import Event
from services.contracts.worklist import NotificationList, NotificationQuery, StaffNotification, WorkItem
from services.gateway.models import StaffAccount, StaffNotificationRead
from services.gateway.models import StaffNotification as Row
from services.gateway.service.client import call
from services.gateway.service.feedback import messages
from services.gateway.service.feedback.deliveries import enqueue_delivery, store
from services.gateway.service.feedback.plan import Planned, mask_openid
from services.gateway.service.notifications.plan import NOTIFYING, Notice, notices_for, notification_id

log = structlog.get_logger(__name__)
CURSOR_NAME: Final = "staff.notifications"
# What a push's delivery row says it is about (a resident's rows say the appeal's new status).
PUSH_STATUS: Final = "staff_notice"
NO_TICKET: Final = "-"
KIND_PHRASE: Final[dict[str, str]] = {
    "assigned": "新交办",
    "returned": "退单",
    "deadline_warning": "临期提醒",
    "overdue": "超期提醒",
    "escalated": "升级督办",
    "extension_requested": "延期申请",
    "extension_decided": "延期结果",
    "objection": "公示异议",
    "noticed": "方案公示",
    "job_parked": "任务失败",
}


# --- making (the event consumer) -----------------------------------------------------------------


async def appeal_brief(appeal_id: uuid.UUID) -> WorkItem | None:
    """The appeal as a work-list row (ticket, town), from intake; None for one intake does not know."""
    try:
        response = await call("intake", "GET", f"/internal/worklist/appeals/{appeal_id}")
    except ServiceUnavailable as exc:
        raise NotYet("intake unreachable") from exc
    if response.status_code == 404:
        return None
    if response.status_code != 200:
        raise NotYet(f"intake answered {response.status_code}")
    return WorkItem.model_validate_json(response.content)


def push_plans(
    members: list[StaffAccount], notice: Notice, ticket_no: str | None, at: datetime
) -> list[Planned]:
    """The pushes of one notice: an SMS to each member with a phone, a subscribe message to each
    with an openid."""
    planned: list[Planned] = []
    ticket = ticket_no or ""
    phrase = KIND_PHRASE.get(notice.kind, "工作提醒")
    for member in members:
        if member.phone_enc:
            phone = decrypt_pii(member.phone_enc)
            params = {"ticket_no": ticket, "status": phrase, "text": f"{messages.SMS_SIGNATURE}{notice.text}"}
            planned.append(
                Planned(
                    channel="sms",
                    recipient=lookup_hash(phone),
                    recipient_masked=mask_phone(phone),
                    phone=phone,
                    content={"params": params, "to_status": PUSH_STATUS, "words": notice.text},
                )
            )
        if member.openid:
            # 受理编号 is a character_string, which WeChat refuses empty: a notice about no appeal
            # shows a dash there.
            data = messages.subscribe_data(ticket or NO_TICKET, PUSH_STATUS, at, notice.text)
            data["phrase2"] = {"value": phrase[:5]}
            planned.append(
                Planned(
                    channel="mp_subscribe",
                    recipient=member.openid,
                    recipient_masked=mask_openid(member.openid),
                    openid=member.openid,
                    content={
                        "data": data,
                        "ticket_no": ticket,
                        "to_status": PUSH_STATUS,
                        "words": notice.text,
                    },
                )
            )
    return planned


async def members_of(session: AsyncSession, unit: Unit) -> list[StaffAccount]:
    """The active members of staff who act for a unit and can be reached outside the system."""
    role = ROLE_OF_UNIT.get(unit.type)  # type: ignore[call-overload]
    if role is None:
        return []
    rows = await session.scalars(
        select(StaffAccount).where(
            StaffAccount.org_type == unit.type,
            StaffAccount.org_code == unit.code,
            StaffAccount.role == role,
            StaffAccount.active.is_(True),
            or_(StaffAccount.phone_enc.is_not(None), StaffAccount.openid.is_not(None)),
        )
    )
    return list(rows.all())


async def on_event(session: AsyncSession, event: Event, ctx: JobContext) -> None:
    """Event handler: write the event's notices (once each) and queue their pushes."""
    if event.type not in NOTIFYING:
        return
    brief = None
    if event.appeal_id is not None:
        try:
            brief = await appeal_brief(event.appeal_id)
        except NotYet:
            # A parked job may be intake's own failure: its alert goes out without the ticket
            # rather than wait for the service it reports on.
            if event.type != "ops.job_parked":
                raise
    ticket_no = brief.ticket_no if brief else None
    notices = notices_for(event, ticket_no, brief.town_code if brief else None)
    made = 0
    for notice in notices:
        nid = notification_id(event.id, notice.kind, notice.unit, notice.key)
        inserted = await session.execute(
            pg_insert(Row)
            .values(
                id=nid,
                event_id=event.id,
                kind=notice.kind,
                unit_type=notice.unit.type,
                unit_code=notice.unit.code,
                appeal_id=event.appeal_id,
                ticket_no=ticket_no,
                text=notice.text[:300],
                created_at=event.occurred_at,
            )
            .on_conflict_do_nothing()
            .returning(Row.id)
        )
        if inserted.first() is None:
            continue  # a replay: its pushes were planned the first time
        made += 1
        # A notice about no appeal (a sweep's or a relay's parked job) is pushed too: the
        # administrators on call hear of it on their phones like any other failure.
        planned = push_plans(await members_of(session, notice.unit), notice, ticket_no, event.occurred_at)
        for did in await store(session, nid, event.appeal_id, ticket_no or "", PUSH_STATUS, planned):
            await enqueue_delivery(ctx["redis"], did)
    if made:
        log.info("staff_notified", kind=event.type, notices=made)


# --- reading (the API) ---------------------------------------------------------------------------


def _mine(principal: Principal) -> ColumnElement[bool]:
    if not acts_for(principal, Unit(principal.org_type, principal.org_code)):
        return false()  # auditors act for no unit: nothing is addressed to them
    return and_(Row.unit_type == principal.org_type, Row.unit_code == principal.org_code)


def _after(cursor: list[Any]) -> ColumnElement[bool]:
    read_raw, created_raw, id_raw = cursor
    try:
        was_read = bool(read_raw)
        created = datetime.fromisoformat(created_raw)
        nid = uuid.UUID(id_raw)
    except (TypeError, ValueError):
        raise InvalidCursor() from None
    is_read = StaffNotificationRead.notification_id.is_not(None)
    older = tuple_(Row.created_at, Row.id) < tuple_(created, nid)
    if was_read:
        return and_(is_read, older)
    return or_(and_(~is_read, older), is_read)


async def list_for(session: AsyncSession, principal: Principal, query: NotificationQuery) -> NotificationList:
    """One page of the member's notifications: unread first, newest first within each."""
    is_read = StaffNotificationRead.notification_id.is_not(None)
    statement = (
        select(Row, is_read.label("read"))
        .outerjoin(
            StaffNotificationRead,
            and_(
                StaffNotificationRead.notification_id == Row.id,
                StaffNotificationRead.staff_id == principal.staff_id,
            ),
        )
        .where(_mine(principal))
        .order_by(is_read, Row.created_at.desc(), Row.id.desc())
        .limit(query.limit + 1)
    )
    if query.unread:
        statement = statement.where(~is_read)
    if query.cursor is not None:
        statement = statement.where(_after(decode_cursor(CURSOR_NAME, query.cursor, 3)))
    rows = list((await session.execute(statement)).all())
    more = len(rows) > query.limit
    rows = rows[: query.limit]
    items = [
        StaffNotification(
            id=row.id,
            kind=row.kind,
            appeal_id=row.appeal_id,
            ticket_no=row.ticket_no,
            text=row.text,
            created_at=row.created_at,
            read=bool(read),
        )
        for row, read in rows
    ]
    next_cursor = None
    if more and items:
        last = items[-1]
        next_cursor = encode_cursor(CURSOR_NAME, [last.read, last.created_at.isoformat(), str(last.id)])
    return NotificationList(items=items, next_cursor=next_cursor)


async def mark_read(session: AsyncSession, principal: Principal, nid: uuid.UUID) -> StaffNotification:
    """Mark one of the member's own notifications read (again: no change); another's is a 404."""
    row = await session.scalar(select(Row).where(Row.id == nid, _mine(principal)))
    if row is None:
        raise NotFound()
    await session.execute(
        pg_insert(StaffNotificationRead)
        .values(notification_id=nid, staff_id=principal.staff_id, read_at=utcnow())
        .on_conflict_do_nothing()
    )
    return StaffNotification(
        id=row.id,
        kind=row.kind,
        appeal_id=row.appeal_id,
        ticket_no=row.ticket_no,
        text=row.text,
        created_at=row.created_at,
        read=True,
    )


__all__ = ["appeal_brief", "list_for", "mark_read", "members_of", "on_event", "push_plans"]
