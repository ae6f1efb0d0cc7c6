"""Filing an official-account push, or joining it to the sender's open appeal (issue 16.6).

`file_push` files the push's appeal with intake once (a retry finds the ticket) and then lets the
sender's waiting photos join it; `join` decides for a photo, location, file or untranscribed
voice note whether it joins the appeal the sender made a moment ago or — such a voice note with
none — files its own. A voice note WeChat recognised has words and always files its own.
"""

from __future__ import annotations

import structlog
from sqlalchemy import update

from services.common.db import session_scope
from services.gateway.config import conversation_settings
from services.gateway.models import WeChatPushRecord
from services.gateway.service.channels.wechat_conversation import (
    add_to,
    anchor_appeal,
    attach_held,
    find_anchor,
    mark_joined,
)
from services.gateway.service.channels.wechat_dialogue import (
    attached_reply,
    attaching_reply,
    held_media_reply,
)
from services.gateway.service.channels.wechat_official import Plan, WeChatPush, filed_reply
from services.gateway.service.channels.wechat_store import Stored, mark_filed, store, submit

log = structlog.get_logger(__name__)


async def file_push(
    push: WeChatPush, safe: bool, plan: Plan, *, deferred: bool = False
) -> tuple[Stored, str, str]:
    """Store the push and file its appeal with intake (once); returns (stored, ticket, query code)."""
    stored = await store(push, safe=safe, plan=plan, deferred=deferred)
    if stored.ticket_no and stored.query_code:
        return stored, stored.ticket_no, stored.query_code
    assert plan.draft is not None
    accepted = await submit(plan.draft)
    await mark_filed(push, accepted)
    try:
        # Photos the sender sent just before (or while) this appeal was filed join it.
        await attach_held(push.from_user, accepted.appeal_id, push.sent_at)
    except Exception as exc:
        log.warning("wechat_held_media_not_attached", dedupe_key=push.dedupe_key, error=repr(exc))
    return stored, accepted.ticket_no, accepted.query_code


async def file_inline(push: WeChatPush, safe: bool, plan: Plan) -> str:
    """File the push's appeal; the passive reply with its ticket and 查询码."""
    _, ticket_no, query_code = await file_push(push, safe, plan)
    return filed_reply(ticket_no, query_code, needs_transcription=plan.needs_transcription)


async def _become_filing(push: WeChatPush) -> None:
    # A voice note whose appeal is finished (or gone) files its own after all.
    async with session_scope() as session:
        await session.execute(
            update(WeChatPushRecord)
            .where(WeChatPushRecord.dedupe_key == push.dedupe_key, WeChatPushRecord.appeal_id.is_(None))
            .values(files_appeal=True, attaches=False)
        )


async def join(push: WeChatPush, safe: bool, plan: Plan, until: float | None) -> tuple[str, bool]:
    """An addition joins the sender's open appeal; an untranscribed voice note with none files
    its own.
    Returns the reply and whether an appeal was filed. Store first, then look (module doc of
    `wechat_conversation`): the filer of the anchor attaches what it finds stored."""
    assert plan.addition is not None
    first_look = await find_anchor(push) if plan.kind == "file" else None
    joins = plan.kind == "attach" or first_look is not None
    stored = await store(push, safe=safe, plan=plan, attaches=joins)
    if stored.files_appeal:
        return await file_inline(push, safe, plan), True
    if stored.appeal_id is not None and stored.ticket_no:
        return attached_reply(push.msg_type, stored.ticket_no), False
    anchor = await find_anchor(push)
    if anchor is not None:
        appeal_id = await anchor_appeal(anchor, until)
        if appeal_id is None:
            return attaching_reply(push.msg_type), False
        accepted = await add_to(appeal_id, plan.addition)
        if accepted is not None:
            await mark_joined(push.dedupe_key, accepted)
            return attached_reply(push.msg_type, accepted.ticket_no), False
    if plan.kind == "file":
        await _become_filing(push)
        return await file_inline(push, safe, plan), True
    return held_media_reply(push.msg_type, conversation_settings().attach_window_s // 60), False
