"""补充材料: what a reporter adds to their own open appeal a moment after filing it.

A photo sent a second after a voice appeal belongs to that appeal, not to a new one (issue 16.6).
The addition is kept once per (channel, channel_ref) — a replay answers the first — its media
join the appeal's attachments, and the staff timeline notes it (not the public one: it moves no
state). Only a reporter of the appeal may add to it, and only while it is open.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from intake.errors import AppealFinished
from intake.models import Addition, Appeal, Attachment, Reporter, TimelineEntry
from intake.service.lifecycle import is_terminal
from services.common.errors import NotFound
from services.common.messaging import utcnow
from services.common.personal import mask_numbers_in
from services.contracts.additions import AdditionAccepted, AppealAddition

KIND_WORDS = {"photo": "照片", "voice": "语音", "document": "文件", "video": "视频"}


def describe(body: AppealAddition) -> str:
    """The staff timeline's line for an addition, e.g. "居民补充了照片 1 张、位置"."""
    parts = [f"{KIND_WORDS[a.kind]}" for a in body.attachments]
    if body.location is not None:
        parts.append("位置")
    if body.note:
        parts.append("说明")
    return "居民补充了" + ("、".join(dict.fromkeys(parts)) or "材料")


def _accepted(addition: Addition, appeal: Appeal, created: bool) -> AdditionAccepted:
    return AdditionAccepted(
        addition_id=addition.id,
        appeal_id=appeal.id,
        ticket_no=appeal.ticket_no,
        query_code=appeal.query_code,
        status=appeal.status,
        created=created,
    )


async def add(session: AsyncSession, appeal: Appeal, body: AppealAddition) -> AdditionAccepted:
    """Keep `body` on `appeal` (row-locked by the caller), once per (channel, channel_ref)."""
    known = await session.scalar(
        select(Addition).where(Addition.channel == body.channel, Addition.channel_ref == body.channel_ref)
    )
    if known is not None:
        if known.appeal_id != appeal.id:
            raise NotFound()
        return _accepted(known, appeal, created=False)
    sender = await session.scalar(
        select(Reporter.id).where(Reporter.appeal_id == appeal.id, Reporter.openid == body.openid).limit(1)
    )
    if sender is None:
        raise NotFound()  # not the sender's appeal: exactly as unknown as a wrong id
    if is_terminal(appeal.status):  # type: ignore[arg-type]
        raise AppealFinished(appeal.status)
    loc = body.location
    addition = Addition(
        appeal_id=appeal.id,
        channel=body.channel,
        channel_ref=body.channel_ref,
        sent_at=body.sent_at,
        note=mask_numbers_in(body.note) if body.note else None,
        attachments=len(body.attachments),
        address=mask_numbers_in(loc.address) if loc is not None and loc.address else None,
        lat=loc.lat if loc is not None else None,
        lng=loc.lng if loc is not None else None,
        datum=loc.datum if loc is not None and loc.lat is not None else None,
    )
    try:
        async with session.begin_nested():
            session.add(addition)
            await session.flush()
    except IntegrityError:
        # A concurrent twin committed first: answer it.
        twin = await session.scalar(
            select(Addition).where(Addition.channel == body.channel, Addition.channel_ref == body.channel_ref)
        )
        if twin is None:
            raise
        return _accepted(twin, appeal, created=False)
    for att in body.attachments:
        session.add(Attachment(appeal_id=appeal.id, **att.model_dump()))
    where = ""
    if loc is not None:
        point = f"{loc.lat},{loc.lng} {loc.datum}" if loc.lat is not None and loc.lng is not None else None
        # Written as the resident sent it: `confidentiality.timeline_reason` unnames it and rounds
        # the point for a reader the reporter is hidden from.
        place = " ".join(p for p in (addition.address, point) if p)
        where = f"（位置：{place}）"
    session.add(
        TimelineEntry(
            appeal_id=appeal.id,
            at=utcnow(),
            from_status=appeal.status,
            to_status=appeal.status,
            actor=f"reporter:{body.channel}",
            reason=((addition.note or "") + where) or None,
            public_description=describe(body),
            public=False,
            round=appeal.round,
        )
    )
    await session.flush()
    return _accepted(addition, appeal, created=True)
