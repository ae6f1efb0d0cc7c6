"""The official account as a conversation (issue 16.6): what a bare photo joins, and status questions.

A resident reports by voice and sends a photo a second later; or sends a location first and
then says what is wrong there. Both are one appeal. So a bare photo, voice note (one WeChat did
not transcribe), location or file (an *addition*, 补充材料) joins the sender's latest appeal made
on the account within
`GUANJIA_WECHAT_ATTACH_WINDOW` (10 minutes) — its *anchor* — instead of filing a new appeal;
intake keeps it once per MsgId and refuses it when the appeal is finished. A photo with no
anchor files nothing: it waits, and joins the appeal the sender makes within the window. Words
— typed, or a voice note WeChat recognised — always file an appeal of their own: "另外楼道一直漏水"
said two minutes after "路灯坏了" is a second matter with a ticket of its own.

The race (the photo's request runs while the voice's appeal is still being filed) is closed on
both sides, each writing before it reads: the photo stores its row, then looks for an anchor
and waits for its appeal; the filer marks the anchor filed, then attaches the photos waiting
(`attach_held`). Whichever reads second sees the other's write; intake's idempotency makes
the double attempt harmless.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import structlog
from sqlalchemy import and_, or_, select, update

from services.common.db import session_scope
from services.common.errors import ServiceUnavailable
from services.contracts.additions import AdditionAccepted, AppealAddition
from services.gateway.config import conversation_settings
from services.gateway.models import WeChatPushRecord
from services.gateway.service.channels.wechat_dialogue import (
    QUERY_UNAVAILABLE,
    not_found_reply,
    own_list_reply,
    status_reply,
)
from services.gateway.service.channels.wechat_official import WeChatPush, plan_for
from services.gateway.service.channels.wechat_store import unsealed_fields
from services.gateway.service.client import call
from services.gateway.service.feedback.messages import STATUS_PHRASE, STATUS_TEXT

log = structlog.get_logger(__name__)
POLL_S = 0.1


@dataclass(frozen=True)
class Anchor:
    """The sender's push an addition joins: the one that filed (or joined) their latest appeal."""

    dedupe_key: str
    appeal_id: uuid.UUID | None
    sent_at: datetime


def window() -> timedelta:
    """How long after an appeal a bare photo still joins it."""
    return timedelta(seconds=conversation_settings().attach_window_s)


async def find_anchor(push: WeChatPush) -> Anchor | None:
    """The sender's latest push within the window that filed an appeal or joined one."""
    span = window()
    async with session_scope() as session:
        row = (
            await session.execute(
                select(WeChatPushRecord.dedupe_key, WeChatPushRecord.appeal_id, WeChatPushRecord.sent_at)
                .where(
                    WeChatPushRecord.openid == push.from_user,
                    WeChatPushRecord.dedupe_key != push.dedupe_key,
                    WeChatPushRecord.sent_at.between(push.sent_at - span, push.sent_at + span),
                    or_(
                        WeChatPushRecord.files_appeal.is_(True),
                        and_(WeChatPushRecord.attaches.is_(True), WeChatPushRecord.appeal_id.is_not(None)),
                    ),
                )
                .order_by(WeChatPushRecord.sent_at.desc(), WeChatPushRecord.received_at.desc())
                .limit(1)
            )
        ).first()
    return None if row is None else Anchor(row.dedupe_key, row.appeal_id, row.sent_at)


async def anchor_appeal(anchor: Anchor, until: float | None) -> uuid.UUID | None:
    """The anchor's appeal, waiting (until the loop time `until`; None: not at all) for one
    still being filed."""
    if anchor.appeal_id is not None:
        return anchor.appeal_id
    loop = asyncio.get_running_loop()
    while True:
        async with session_scope() as session:
            found = await session.scalar(
                select(WeChatPushRecord.appeal_id).where(WeChatPushRecord.dedupe_key == anchor.dedupe_key)
            )
        if found is not None or until is None or loop.time() + POLL_S >= until:
            return found
        await asyncio.sleep(POLL_S)


async def add_to(appeal_id: uuid.UUID, addition: AppealAddition) -> AdditionAccepted | None:
    """Keep the addition on the appeal (intake: idempotent on MsgId); None when intake says the
    appeal is finished or not the sender's."""
    response = await call(
        "intake", "POST", f"/internal/appeals/{appeal_id}/additions", json=addition.model_dump(mode="json")
    )
    if response.status_code in (200, 201):
        return AdditionAccepted.model_validate_json(response.content)
    if response.status_code in (404, 409):
        log.info("wechat_addition_refused", appeal_id=str(appeal_id), status=response.status_code)
        return None
    if response.status_code == 422:
        log.error("wechat_addition_invalid", body=response.text[:500])
        return None
    raise ServiceUnavailable()


async def mark_joined(dedupe_key: str, accepted: AdditionAccepted) -> None:
    """Note on the push the appeal it joined."""
    async with session_scope() as session:
        await session.execute(
            update(WeChatPushRecord)
            .where(WeChatPushRecord.dedupe_key == dedupe_key)
            .values(
                appeal_id=accepted.appeal_id, ticket_no=accepted.ticket_no, query_code=accepted.query_code
            )
        )


async def attach_held(openid: str, appeal_id: uuid.UUID, sent_at: datetime) -> int:
    """After an appeal is filed from `openid`'s message sent at `sent_at`: the sender's photos,
    locations and files still waiting within the window join it. Returns how many did."""
    span = window()
    async with session_scope() as session:
        rows = (
            await session.execute(
                select(WeChatPushRecord.dedupe_key, WeChatPushRecord.fields_enc, WeChatPushRecord.fields)
                .where(
                    WeChatPushRecord.openid == openid,
                    WeChatPushRecord.attaches.is_(True),
                    WeChatPushRecord.appeal_id.is_(None),
                    WeChatPushRecord.sent_at.between(sent_at - span, sent_at + span),
                )
                .order_by(WeChatPushRecord.sent_at)
            )
        ).all()
    joined = 0
    for key, sealed, masked in rows:
        fields: dict[str, Any] = unsealed_fields(sealed) if sealed is not None else dict(masked)
        addition = plan_for(WeChatPush.from_fields(fields)).addition
        if addition is None:
            continue
        try:
            accepted = await add_to(appeal_id, addition)
        except ServiceUnavailable:
            log.warning("wechat_held_not_attached", dedupe_key=key)
            continue
        if accepted is not None:
            await mark_joined(key, accepted)
            joined += 1
    return joined


def _own_list(mine: list[dict[str, Any]]) -> str:
    recent = sorted(mine, key=lambda a: str(a.get("received_at", "")), reverse=True)[:5]
    return own_list_reply(
        [
            (
                str(a.get("ticket_no")),
                STATUS_PHRASE.get(str(a.get("status")), ""),
                str(a.get("title") or "")[:20],
            )
            for a in recent
        ]
    )


async def ticket_status(openid: str, ticket_no: str | None) -> str:
    """The answer to "查询 <ticket>": its status when it is one of the sender's own appeals, a
    neutral answer otherwise (never whether another person's appeal exists); to a bare "查询",
    the sender's latest appeals."""
    try:
        response = await call("intake", "GET", "/internal/residents/appeals", params={"openid": openid})
    except ServiceUnavailable:
        return QUERY_UNAVAILABLE
    if response.status_code != 200:
        return QUERY_UNAVAILABLE
    try:
        mine = [a for a in json.loads(response.content) if isinstance(a, dict)]
    except ValueError:
        return QUERY_UNAVAILABLE
    if ticket_no is None:
        return _own_list(mine)
    found = next((a for a in mine if a.get("ticket_no") == ticket_no), None)
    if found is None:
        return not_found_reply(ticket_no)
    status = str(found.get("status", ""))
    steps = [s for s in found.get("timeline") or [] if isinstance(s, dict) and s.get("at")]
    latest = None
    if steps:
        last = max(steps, key=lambda s: str(s["at"]))
        latest = (datetime.fromisoformat(str(last["at"])), str(last.get("description", "")))
    running = [
        d
        for d in found.get("deadlines") or []
        if isinstance(d, dict) and d.get("due_at") and d.get("state") == "running"
    ]
    due = min((datetime.fromisoformat(str(d["due_at"])) for d in running), default=None)
    return status_reply(
        ticket_no, STATUS_PHRASE.get(status, status), STATUS_TEXT.get(status, status), latest, due
    )
