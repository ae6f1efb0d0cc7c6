"""Intake's domain logic: record appeals once, move them only along legal paths, show them.

No HTTP here and no commits: callers own the transaction (see services.common.db).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import uuid
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from intake.lifecycle import DESCRIPTIONS, Status, can_move
from intake.models import Appeal, AppealDeadline, Attachment, Reporter, TimelineEntry, messaging, ticket_seq
from services.common.crypto import encrypt_pii, lookup_hash
from services.common.errors import IdempotencyConflict, IllegalTransition, NotFound
from services.common.messaging import emit, utcnow
from services.common.personal import mask_id_number, mask_phone
from services.common.reference import load_reference
from services.common.timeutil import to_local
from services.contracts.appeals import AppealAccepted, AppealDraft, PublicAppeal, PublicDeadline
from services.contracts.appeals import Reporter as ReporterIn
from services.contracts.appeals import TimelineEntry as PublicTimelineEntry
from services.contracts.events import AppealReceived, EventType, Generic, StatusChanged, make_event

# Transitions that also publish a named event of their own (DESIGN §3 event list).
_NAMED_EVENTS: dict[str, EventType] = {
    "completed": "appeal.completed",
    "closed": "appeal.closed",
    "reopened": "appeal.reopened",
    "merged": "appeal.merged",
}
CHANNEL_NAMES = {
    "hotline_12345": "12345热线",
    "wechat_official": "莞家政务公众号",
    "wechat_miniprogram": "民生大莞家小程序",
    "web_portal": "网上平台",
    "leader_station": "领导干部驻点",
    "grid_inspector": "网格员巡查",
    "village_visit": "村（社区）干部走访",
    "consultation_meeting": "协商会议",
    "online_consultation": "网络协商",
    "party_member_visit": "党员干部走访",
    "station_walk_in": "莞家驿站",
    "department_referral": "部门转办",
}


def draft_hash(draft: AppealDraft) -> str:
    """Canonical hash of a draft: the same message twice hashes the same."""
    canonical = json.dumps(
        draft.model_dump(mode="json"), sort_keys=True, ensure_ascii=False, separators=(",", ":")
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


def new_query_code() -> str:
    """Six digits a caller can read out on the phone (查询码)."""
    return f"{secrets.randbelow(1_000_000):06d}"


def format_ticket(received_at: datetime, seq: int) -> str:
    """受理编号: `MS` + local date + sequence, e.g. MS20261127000042."""
    return f"MS{to_local(received_at):%Y%m%d}{seq:06d}"


def _reporter_row(appeal_id: uuid.UUID, relation: str, person: ReporterIn) -> Reporter:
    return Reporter(
        appeal_id=appeal_id,
        relation=relation,
        name=person.name,
        phone_enc=encrypt_pii(person.phone) if person.phone else None,
        phone_hash=lookup_hash(person.phone) if person.phone else None,
        phone_masked=mask_phone(person.phone) if person.phone else None,
        id_number_enc=encrypt_pii(person.id_number) if person.id_number else None,
        id_number_hash=lookup_hash(person.id_number) if person.id_number else None,
        id_number_masked=mask_id_number(person.id_number) if person.id_number else None,
        openid=person.openid,
        hukou_local=person.hukou_local,
        anonymous=person.anonymous,
        confidential=person.confidential,
        role=person.role,
    )


async def _existing(session: AsyncSession, draft: AppealDraft, digest: str) -> AppealAccepted | None:
    found = await session.scalar(
        select(Appeal).where(Appeal.channel == draft.channel, Appeal.channel_ref == draft.channel_ref)
    )
    if found is None:
        return None
    if found.draft_hash != digest:
        raise IdempotencyConflict()
    return AppealAccepted(appeal_id=found.id, ticket_no=found.ticket_no, query_code=found.query_code)


async def create_appeal(session: AsyncSession, draft: AppealDraft) -> tuple[AppealAccepted, bool]:
    """Record a draft as an appeal, once per (channel, channel_ref). Returns (answer, created)."""
    digest = draft_hash(draft)
    if (known := await _existing(session, draft, digest)) is not None:
        return known, False
    now = utcnow()
    seq = int(await session.scalar(ticket_seq.next_value()) or 0)
    appeal = Appeal(
        id=uuid.uuid4(),
        ticket_no=format_ticket(now, seq),
        query_code=new_query_code(),
        channel=draft.channel,
        channel_ref=draft.channel_ref,
        draft_hash=digest,
        received_at=now,
        reported_at=draft.reported_at,
        status="received",
        status_changed_at=now,
        urgency=draft.urgency or "normal",
        title=draft.title,
        description=draft.description,
        transcript=draft.transcript,
        address=draft.location.address,
        town_code=draft.location.town_code,
        village_code=draft.location.village_code,
        lat=draft.location.lat,
        lng=draft.location.lng,
        datum=draft.location.datum,
        grid_code=draft.location.grid_code,
        beneficiary_count=draft.beneficiary_count,
        beneficiary_group=draft.beneficiary_group,
        help_requested=draft.help_requested,
        estimated_amount_fen=draft.estimated_amount_fen,
        category_hint=draft.category_hint,
        callback_requested=draft.callback_requested,
        channel_extra=draft.channel_extra,
        version=1,
    )
    try:
        # A concurrent twin of this message may commit first: the savepoint lets us answer it.
        async with session.begin_nested():
            session.add(appeal)
            await session.flush()
    except IntegrityError:
        known = await _existing(session, draft, digest)
        if known is None:
            raise
        return known, False
    session.add(_reporter_row(appeal.id, "reporter", draft.reporter))
    if draft.on_behalf_of is not None:
        session.add(_reporter_row(appeal.id, "on_behalf_of", draft.on_behalf_of))
    for att in draft.attachments:
        session.add(Attachment(appeal_id=appeal.id, **att.model_dump()))
    session.add(
        TimelineEntry(
            appeal_id=appeal.id,
            at=now,
            from_status=None,
            to_status="received",
            actor=f"channel:{draft.channel}",
            public_description=f"{DESCRIPTIONS['received']}（{CHANNEL_NAMES[draft.channel]}），受理编号 {appeal.ticket_no}",
        )
    )
    loc = draft.location
    await emit(
        session,
        messaging,
        make_event(
            "appeal.received",
            "intake",
            AppealReceived(
                ticket_no=appeal.ticket_no,
                channel=draft.channel,
                received_at=now,
                title=draft.title,
                description=draft.description,
                address=loc.address,
                category_hint=draft.category_hint,
                town_code=loc.town_code,
                village_code=loc.village_code,
                lat=loc.lat,
                lng=loc.lng,
                datum=loc.datum,
                grid_code=loc.grid_code,
                urgency_hint=draft.urgency,
                beneficiary_count=draft.beneficiary_count,
                estimated_amount_fen=draft.estimated_amount_fen,
            ),
            appeal_id=appeal.id,
        ),
    )
    await session.flush()
    return AppealAccepted(appeal_id=appeal.id, ticket_no=appeal.ticket_no, query_code=appeal.query_code), True


async def get_appeal(session: AsyncSession, appeal_id: uuid.UUID, *, lock: bool = False) -> Appeal:
    """An appeal by id; NotFound otherwise."""
    stmt = select(Appeal).where(Appeal.id == appeal_id)
    if lock:
        stmt = stmt.with_for_update()
    appeal = await session.scalar(stmt)
    if appeal is None:
        raise NotFound()
    return appeal


async def transition(
    session: AsyncSession,
    appeal: Appeal,
    target: Status,
    *,
    actor: str,
    reason: str | None = None,
    description: str | None = None,
    event_id: uuid.UUID | None = None,
) -> None:
    """Move an appeal along a legal path, write the timeline, publish the change."""
    current: Status = appeal.status  # type: ignore[assignment]
    held_from: Status | None = appeal.held_from  # type: ignore[assignment]
    if not can_move(current, target, held_from):
        raise IllegalTransition(current, target)
    now = utcnow()
    appeal.held_from = current if target == "on_hold" else None
    appeal.status = target
    appeal.status_changed_at = now
    appeal.version += 1
    session.add(
        TimelineEntry(
            appeal_id=appeal.id,
            at=now,
            from_status=current,
            to_status=target,
            actor=actor,
            reason=reason,
            event_id=event_id,
            public_description=description or DESCRIPTIONS[target],
        )
    )
    events = [
        make_event(
            "appeal.status_changed",
            "intake",
            StatusChanged(from_status=current, to_status=target, reason=reason),
            appeal_id=appeal.id,
        )
    ]
    if (named := _NAMED_EVENTS.get(target)) is not None:
        events.append(make_event(named, "intake", Generic(reason=reason), appeal_id=appeal.id))
    await emit(session, messaging, *events)


def _town_name(code: str | None) -> str | None:
    if not code:
        return None
    town = load_reference().town_by_code(code)
    return town.name if town else None


def _village_name(code: str | None) -> str | None:
    if not code:
        return None
    village = load_reference().village_by_code(code)
    return village.name if village else None


async def public_status(session: AsyncSession, ticket_no: str, code: str) -> PublicAppeal:
    """DESIGN §10 public status. A wrong code is exactly as unknown as a wrong ticket."""
    appeal = await session.scalar(select(Appeal).where(Appeal.ticket_no == ticket_no))
    if appeal is None or not hmac.compare_digest(appeal.query_code.encode(), code.encode()):
        raise NotFound()
    timeline = (
        await session.scalars(
            select(TimelineEntry)
            .where(TimelineEntry.appeal_id == appeal.id, TimelineEntry.public.is_(True))
            .order_by(TimelineEntry.at, TimelineEntry.id)
        )
    ).all()
    clocks = (
        await session.scalars(
            select(AppealDeadline)
            .where(AppealDeadline.appeal_id == appeal.id)
            .order_by(AppealDeadline.due_at)
        )
    ).all()
    master = None
    if appeal.duplicate_of is not None:
        master = await session.scalar(select(Appeal.ticket_no).where(Appeal.id == appeal.duplicate_of))
    return PublicAppeal(
        ticket_no=appeal.ticket_no,
        status=appeal.status,
        kind=appeal.kind,
        category=appeal.category,
        track=appeal.track,
        town=_town_name(appeal.town_code),
        village=_village_name(appeal.village_code),
        received_at=appeal.received_at,
        timeline=[
            PublicTimelineEntry(at=t.at, status=t.to_status, description=t.public_description)
            for t in timeline
        ],
        deadlines=[
            PublicDeadline(
                clock=c.clock, due_at=c.due_at, due_date=c.due_date, provisional=c.provisional, state=c.state
            )
            for c in clocks
        ],
        duplicate_of=master,
    )
