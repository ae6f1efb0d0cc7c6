"""The record of every official-account push (`wechat_pushes`): stored once per WeChat's
de-duplication key, its verbatim fields kept only encrypted, and what became of it."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from typing import Any, Final

import structlog
from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert

from services.common.crypto import decrypt_pii, encrypt_pii
from services.common.db import session_scope
from services.common.errors import ServiceUnavailable
from services.contracts.appeals import AppealAccepted, AppealDraft
from services.gateway.models import WeChatPushRecord
from services.gateway.service.channels.wechat_official import Plan, WeChatPush
from services.gateway.service.client import call
from services.gateway.service.feedback.window import note_user_message
from services.gateway.service.normalise import normalise_draft, redact

log = structlog.get_logger(__name__)

# A push's own identifiers and machine fields, kept as they are in the masked copy of its fields.
PUSH_IDS: Final = frozenset(
    {
        "ToUserName",
        "FromUserName",
        "CreateTime",
        "MsgType",
        "MsgId",
        "MsgDataId",
        "Idx",
        "Event",
        "MediaId",
        "ThumbMediaId",
        "Format",
        "PicUrl",
        "Location_X",
        "Location_Y",
        "Scale",
    }
)


def sealed_fields(fields: dict[str, str]) -> str:
    """A push's verbatim fields, encrypted (Fernet): what a resident wrote may hold phone and ID
    numbers, so it is kept at rest, and carried in job arguments, only this way (DESIGN §7)."""
    return encrypt_pii(json.dumps(fields, ensure_ascii=False, sort_keys=True)).decode()


def unsealed_fields(token: str | bytes) -> dict[str, str]:
    """The verbatim fields of `sealed_fields`."""
    out: dict[str, str] = json.loads(decrypt_pii(token.encode() if isinstance(token, str) else token))
    return out


def masked_fields(fields: dict[str, str]) -> dict[str, Any]:
    """The fields as they may be kept in the clear: phone and ID numbers masked in the words."""
    out: dict[str, Any] = redact(fields, keep=PUSH_IDS)
    return out


class IntakeRefused(Exception):
    """Intake refused the draft for good (a bug of ours, never the resident's fault)."""


@dataclass(frozen=True)
class Stored:
    """What the store knows of a push."""

    id: str
    ticket_no: str | None
    query_code: str | None
    follow_up: str | None
    files_appeal: bool = False
    attaches: bool = False
    appeal_id: uuid.UUID | None = None


# --- the store -----------------------------------------------------------------------------------


async def store(
    push: WeChatPush, *, safe: bool, plan: Plan, deferred: bool = False, attaches: bool | None = None
) -> Stored:
    """Record the push once (a retry finds the first row, and the role decided for it then) and
    note the user's message time. `attaches`: the push joins the sender's open appeal (default:
    when the plan is an addition only)."""
    joins = plan.kind == "attach" if attaches is None else attaches
    async with session_scope() as session:
        await session.execute(
            pg_insert(WeChatPushRecord)
            .values(
                dedupe_key=push.dedupe_key,
                openid=push.from_user,
                msg_type=push.msg_type,
                event=push.event,
                msg_id=push.msg_id,
                sent_at=push.sent_at,
                safe_mode=safe,
                fields=masked_fields(push.fields),
                fields_enc=sealed_fields(push.fields).encode(),
                files_appeal=plan.kind == "file" and not joins,
                attaches=joins,
                reply_text=plan.reply if plan.kind == "reply" else None,
                deferred=deferred,
            )
            .on_conflict_do_nothing(index_elements=[WeChatPushRecord.dedupe_key])
        )
        if deferred:
            await session.execute(
                update(WeChatPushRecord)
                .where(WeChatPushRecord.dedupe_key == push.dedupe_key)
                .values(deferred=True)
            )
        row = (
            await session.execute(
                select(
                    WeChatPushRecord.id,
                    WeChatPushRecord.ticket_no,
                    WeChatPushRecord.query_code,
                    WeChatPushRecord.follow_up,
                    WeChatPushRecord.files_appeal,
                    WeChatPushRecord.attaches,
                    WeChatPushRecord.appeal_id,
                ).where(WeChatPushRecord.dedupe_key == push.dedupe_key)
            )
        ).one()
        await note_user_message(session, push.from_user, push.sent_at)
    return Stored(
        id=str(row.id),
        ticket_no=row.ticket_no,
        query_code=row.query_code,
        follow_up=row.follow_up,
        files_appeal=row.files_appeal,
        attaches=row.attaches,
        appeal_id=row.appeal_id,
    )


async def submit(draft: AppealDraft) -> AppealAccepted:
    """File the draft with intake (idempotent on channel + channel_ref)."""
    normalised = normalise_draft(draft)
    response = await call("intake", "POST", "/internal/appeals", json=normalised)
    if response.status_code in (200, 201):
        return AppealAccepted.model_validate_json(response.content)
    if response.status_code in (409, 422):
        log.error("wechat_draft_refused", status=response.status_code, body=response.text[:500])
        raise IntakeRefused(f"intake answered {response.status_code}")
    log.warning("wechat_intake_unavailable", status=response.status_code, body=response.text[:300])
    raise ServiceUnavailable()


async def mark_filed(push: WeChatPush, accepted: AppealAccepted) -> None:
    async with session_scope() as session:
        await session.execute(
            update(WeChatPushRecord)
            .where(WeChatPushRecord.dedupe_key == push.dedupe_key)
            .values(
                appeal_id=accepted.appeal_id, ticket_no=accepted.ticket_no, query_code=accepted.query_code
            )
        )
