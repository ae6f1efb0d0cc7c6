"""WeChat's customer-service window: when each official-account user last wrote to us.

The official-account channel calls `note_user_message` for every message or event a user sends
(in its own transaction); feedback reads `last_messages` to know whether the 48 hours are open.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.gateway.models import WechatLastMessage


async def note_user_message(session: AsyncSession, openid: str, at: datetime) -> None:
    """Record that `openid` wrote at `at` (a late or replayed message never moves it back)."""
    stmt = pg_insert(WechatLastMessage).values(openid=openid, last_message_at=at)
    await session.execute(
        stmt.on_conflict_do_update(
            index_elements=[WechatLastMessage.openid],
            set_={"last_message_at": func.greatest(WechatLastMessage.last_message_at, at)},
        )
    )


async def last_messages(session: AsyncSession, openids: Iterable[str]) -> dict[str, datetime]:
    """The last message time of each of these users that ever wrote."""
    wanted = sorted(set(openids))
    if not wanted:
        return {}
    rows = await session.execute(
        select(WechatLastMessage.openid, WechatLastMessage.last_message_at).where(
            WechatLastMessage.openid.in_(wanted)
        )
    )
    return {openid: at for openid, at in rows.all()}
