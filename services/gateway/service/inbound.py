"""The gateway's record of inbound channel messages (`gateway.inbound_messages`): a replayed
message gets its first answer back (a staff channel's without reaching intake).

Each is one statement on a connection in autocommit: one round trip, where a unit of work would
add a BEGIN and a COMMIT around it (a channel call makes both, on the path the caller waits on).
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.dialects.postgresql import insert as pg_insert

from services.common.db import autocommit
from services.common.errors import IdempotencyConflict
from services.gateway.models import InboundMessage


async def first_answer(channel: str, ref: str, digest: str) -> dict[str, Any] | None:
    """The answer already given to this message, if any; IdempotencyConflict when the same
    reference came with another body."""
    async with autocommit() as conn:
        row = (
            await conn.execute(
                select(InboundMessage.body_hash, InboundMessage.response).where(
                    InboundMessage.channel == channel, InboundMessage.channel_ref == ref
                )
            )
        ).first()
    if row is None or row.response is None:
        return None
    if row.body_hash != digest:
        raise IdempotencyConflict()
    response: dict[str, Any] = row.response
    return response


async def remember(
    channel: str,
    ref: str,
    digest: str,
    body: Any,
    appeal_id: uuid.UUID | None,
    response: dict[str, Any],
) -> bool:
    """Keep a message (masked body) and its answer; the first kept wins. Whether this one was."""
    values = {
        "channel": channel,
        "channel_ref": ref,
        "body_hash": digest,
        "body": body,
        "appeal_id": appeal_id,
        "response": response,
    }
    async with autocommit() as conn:
        kept = (await conn.execute(_REMEMBER, values)).first()
    return kept is not None


# Built once, every value a bound parameter: built per call from the values, its construction and
# cache-key walk took about half of the CPU a call spends here (`bench.inbound_record`: 0.85 ms
# then, 0.45 ms now; README, "Ingest, what the hop costs").
_REMEMBER = (
    pg_insert(InboundMessage)
    .values(
        {
            name: bindparam(name)
            for name in ("channel", "channel_ref", "body_hash", "body", "appeal_id", "response")
        }
    )
    .on_conflict_do_nothing()
    .returning(InboundMessage.channel_ref)
)


async def keep_answer(
    channel: str,
    ref: str,
    digest: str,
    body: Any,
    appeal_id: uuid.UUID | None,
    response: dict[str, Any],
) -> dict[str, Any] | None:
    """Keep a message and its answer, for a channel that asks intake first (intake answers a
    replay itself). Returns the first answer when this reference was kept before (None when this
    message is the first kept); IdempotencyConflict when that was another body. A new message
    costs one statement."""
    if await remember(channel, ref, digest, body, appeal_id, response):
        return None
    return await first_answer(channel, ref, digest)
