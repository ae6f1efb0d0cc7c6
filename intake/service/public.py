"""DESIGN §10 public status: what whoever holds the ticket and its query code (查询码) may see."""

from __future__ import annotations

import hmac
from dataclasses import dataclass

import structlog
from redis.exceptions import RedisError
from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from intake.models import Appeal, AppealDeadline, PublicStatus, TimelineEntry
from intake.service import notices
from services.common import status_documents
from services.common.errors import NotFound
from services.common.etag import etag_of
from services.common.reference import load_reference
from services.contracts.appeals import PublicAppeal, PublicDeadline
from services.contracts.appeals import TimelineEntry as PublicTimelineEntry

log = structlog.get_logger(__name__)


def town_name(code: str | None) -> str | None:
    """A town's short name (虎门), or None."""
    if not code:
        return None
    town = load_reference().town_by_code(code)
    return town.name if town else None


def village_name(code: str | None) -> str | None:
    """A village's name (北栅社区), or None."""
    if not code:
        return None
    village = load_reference().village_by_code(code)
    return village.name if village else None


async def public_timeline(session: AsyncSession, appeal: Appeal) -> list[PublicTimelineEntry]:
    """The public steps of an appeal, oldest first."""
    rows = (
        await session.scalars(
            select(TimelineEntry)
            .where(TimelineEntry.appeal_id == appeal.id, TimelineEntry.public.is_(True))
            .order_by(TimelineEntry.at, TimelineEntry.id)
        )
    ).all()
    return [PublicTimelineEntry(at=t.at, status=t.to_status, description=t.public_description) for t in rows]


async def public_deadlines(session: AsyncSession, appeal: Appeal) -> list[PublicDeadline]:
    """The appeal's clocks as the public sees them."""
    clocks = (
        await session.scalars(
            select(AppealDeadline)
            .where(AppealDeadline.appeal_id == appeal.id)
            .order_by(AppealDeadline.due_at)
        )
    ).all()
    return [
        PublicDeadline(
            clock=c.clock, due_at=c.due_at, due_date=c.due_date, provisional=c.provisional, state=c.state
        )
        for c in clocks
    ]


async def master_ticket(session: AsyncSession, appeal: Appeal) -> str | None:
    """The ticket of the appeal this one was linked to as a duplicate."""
    if appeal.duplicate_of is None:
        return None
    return await session.scalar(select(Appeal.ticket_no).where(Appeal.id == appeal.duplicate_of))


@dataclass(frozen=True, slots=True)
class Document:
    """The public status as it is sent: its bytes and their ETag."""

    etag: str
    body: bytes


async def public_document(session: AsyncSession, ticket_no: str, code: str) -> Document:
    """DESIGN §10 public status, as kept: one indexed read (the appeal by ticket, its document by
    primary key) while the document is at the appeal's current revision; otherwise built, kept and
    answered. A wrong code is exactly as unknown as a wrong ticket."""
    row = (
        await session.execute(
            select(
                Appeal.id,
                Appeal.query_code,
                Appeal.public_rev,
                PublicStatus.rev,
                PublicStatus.etag,
                PublicStatus.body,
            )
            .outerjoin(PublicStatus, PublicStatus.appeal_id == Appeal.id)
            .where(Appeal.ticket_no == ticket_no)
        )
    ).first()
    if row is None or not hmac.compare_digest(row.query_code.encode(), code.encode()):
        raise NotFound()
    if row.rev == row.public_rev:
        document = Document(etag=row.etag, body=row.body)
        await _share(ticket_no, code, row.public_rev, document)
        return document
    # Built after reading the revision: what it shows is at least that revision, so labelling it
    # so can only make a later poll build it again, never serve an older state as current.
    appeal = await session.get(Appeal, row.id, populate_existing=True)
    if appeal is None:
        raise NotFound()
    body = (await build(session, appeal)).model_dump_json().encode()
    document = Document(etag=etag_of(body), body=body)
    kept = pg_insert(PublicStatus).values(appeal_id=row.id, rev=row.public_rev, etag=document.etag, body=body)
    await session.execute(
        kept.on_conflict_do_update(
            index_elements=[PublicStatus.appeal_id],
            set_={"rev": kept.excluded.rev, "etag": kept.excluded.etag, "body": kept.excluded.body},
            where=PublicStatus.rev < kept.excluded.rev,
        )
    )
    await _share(ticket_no, code, row.public_rev, document)
    return document


async def _share(ticket_no: str, code: str, rev: int, document: Document) -> None:
    # Where the gateway reads documents; refused there if a newer change has been marked.
    try:
        await status_documents.fill(ticket_no, code, rev, document.etag, document.body)
    except (RedisError, OSError) as exc:
        log.warning("public_status_not_shared", error=repr(exc))


async def public_status(session: AsyncSession, ticket_no: str, code: str) -> PublicAppeal:
    """DESIGN §10 public status as a model. A wrong code is exactly as unknown as a wrong ticket."""
    appeal = await session.scalar(select(Appeal).where(Appeal.ticket_no == ticket_no))
    if appeal is None or not hmac.compare_digest(appeal.query_code.encode(), code.encode()):
        raise NotFound()
    return await build(session, appeal)


async def build(session: AsyncSession, appeal: Appeal) -> PublicAppeal:
    """The public status of an appeal, from its record, timeline and clocks."""
    return PublicAppeal(
        ticket_no=appeal.ticket_no,
        status=appeal.status,
        kind=appeal.kind,
        category=appeal.category,
        track=appeal.track,
        town=town_name(appeal.town_code),
        village=village_name(appeal.village_code),
        received_at=appeal.received_at,
        timeline=await public_timeline(session, appeal),
        deadlines=await public_deadlines(session, appeal),
        duplicate_of=await master_ticket(session, appeal),
        secondary_track=appeal.secondary_track,
        notices=await notices.of_appeal(session, appeal.id),
    )
