"""Archive (归档): a finished appeal as one complete record, and a period of them as JSON lines.

A record holds the appeal, its reporters (masked: an archive is read by auditors, and a full
number still only leaves through an audited reveal), the whole timeline with actors and reasons
(not only the public steps), attachments by reference, return visits of every round, duplicate
links, deadlines and funds per source.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

from sqlalchemy import or_, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from intake.errors import NotFinished
from intake.models import (
    Appeal,
    AppealDeadline,
    AppealFunds,
    Attachment,
    DuplicateLink,
    Evaluation,
    Reporter,
    TimelineEntry,
)
from intake.service.public import town_name, village_name
from services.common.db import session_scope
from services.common.personal import mask_name

FINISHED = ("closed", "rejected", "withdrawn", "merged")
EXPORT_BATCH = 200


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


async def record(session: AsyncSession, appeal: Appeal) -> dict[str, Any]:
    """The complete record of one appeal."""
    aid = appeal.id
    people = (await session.scalars(select(Reporter).where(Reporter.appeal_id == aid))).all()
    timeline = (
        await session.scalars(
            select(TimelineEntry)
            .where(TimelineEntry.appeal_id == aid)
            .order_by(TimelineEntry.at, TimelineEntry.id)
        )
    ).all()
    files = (await session.scalars(select(Attachment).where(Attachment.appeal_id == aid))).all()
    visits = (
        await session.scalars(
            select(Evaluation).where(Evaluation.appeal_id == aid).order_by(Evaluation.round)
        )
    ).all()
    links = (
        await session.scalars(
            select(DuplicateLink).where(or_(DuplicateLink.appeal_id == aid, DuplicateLink.master_id == aid))
        )
    ).all()
    clocks = (await session.scalars(select(AppealDeadline).where(AppealDeadline.appeal_id == aid))).all()
    funds = (await session.scalars(select(AppealFunds).where(AppealFunds.appeal_id == aid))).all()
    tickets: dict[uuid.UUID, str] = {}
    other_ids = {link.appeal_id for link in links} | {link.master_id for link in links}
    if other_ids:
        tickets = dict(
            (await session.execute(select(Appeal.id, Appeal.ticket_no).where(Appeal.id.in_(other_ids)))).all()
        )
    return {
        "ticket_no": appeal.ticket_no,
        "appeal_id": str(aid),
        "channel": appeal.channel,
        "channel_ref": appeal.channel_ref,
        "status": appeal.status,
        "kind": appeal.kind,
        "category": appeal.category,
        "track": appeal.track,
        "urgency": appeal.urgency,
        "round": appeal.round,
        "returns": appeal.returns_count,
        "town": town_name(appeal.town_code),
        "town_code": appeal.town_code,
        "village": village_name(appeal.village_code),
        "village_code": appeal.village_code,
        "address": appeal.address,
        "title": appeal.title,
        "description": appeal.description,
        "holder": {"type": appeal.holder_type, "code": appeal.holder_code},
        "received_at": _iso(appeal.received_at),
        "first_completed_at": _iso(appeal.first_completed_at),
        "completed_at": _iso(appeal.completed_at),
        "closed_at": _iso(appeal.closed_at),
        "closed_unrated": appeal.closed_unrated,
        "withheld": appeal.withheld,
        "withheld_reason": appeal.withheld_reason,
        "duplicate_of": tickets.get(appeal.duplicate_of) if appeal.duplicate_of else None,
        "reporters": [
            {
                "relation": p.relation,
                "role": p.role,
                "name": None if (p.anonymous or p.confidential or not p.name) else mask_name(p.name),
                "phone": p.phone_masked,
                "id_number": p.id_number_masked,
                "anonymous": p.anonymous,
                "confidential": p.confidential,
                "hukou_local": p.hukou_local,
            }
            for p in people
        ],
        "timeline": [
            {
                "at": _iso(t.at),
                "from": t.from_status,
                "to": t.to_status,
                "round": t.round,
                "actor": t.actor,
                "reason": t.reason,
                "description": t.public_description,
                "public": t.public,
            }
            for t in timeline
        ],
        "attachments": [
            {
                "kind": f.kind,
                "uri": f.uri,
                "media_type": f.media_type,
                "size_bytes": f.size_bytes,
                "sha256": f.sha256,
            }
            for f in files
        ],
        "return_visits": [
            {
                "round": v.round,
                "result": v.result,
                "rating": v.rating,
                "comment": v.comment,
                "by": v.by,
                "at": _iso(v.at),
            }
            for v in visits
        ],
        "duplicates": [
            {
                "appeal": tickets.get(link.appeal_id),
                "master": tickets.get(link.master_id),
                "state": link.state,
                "auto": link.auto,
                "score": link.score,
                "reasons": link.reasons,
            }
            for link in links
        ],
        "deadlines": [
            {
                "clock": c.clock,
                "unit": f"{c.unit_type}:{c.unit_code}" if c.unit_type else None,
                "due_date": c.due_date.isoformat() if c.due_date else None,
                "original_due_date": c.original_due_date.isoformat() if c.original_due_date else None,
                "provisional": c.provisional,
                "state": c.state,
            }
            for c in clocks
        ],
        "funds_fen": {f.source: f.amount_fen for f in funds},
        "funds_used_fen": sum(f.amount_fen for f in funds),
    }


async def archive_one(session: AsyncSession, appeal: Appeal) -> dict[str, Any]:
    """The record of a finished appeal; 409 while it is still open."""
    if appeal.status not in FINISHED:
        raise NotFinished(appeal.status)
    return await record(session, appeal)


async def export_period(start: datetime, end: datetime) -> AsyncIterator[bytes]:
    """JSON lines of every appeal finished in [start, end), oldest first (own read transaction)."""
    async with session_scope() as session:
        after: tuple[datetime, uuid.UUID] | None = None
        while True:
            stmt = (
                select(Appeal)
                .where(Appeal.closed_at >= start, Appeal.closed_at < end, Appeal.status.in_(FINISHED))
                .order_by(Appeal.closed_at, Appeal.id)
                .limit(EXPORT_BATCH)
            )
            if after is not None:
                stmt = stmt.where(tuple_(Appeal.closed_at, Appeal.id) > tuple_(*after))
            batch = (await session.scalars(stmt)).all()
            if not batch:
                return
            for appeal in batch:
                yield (json.dumps(await record(session, appeal), ensure_ascii=False) + "\n").encode()
            last = batch[-1]
            assert last.closed_at is not None
            after = (last.closed_at, last.id)
