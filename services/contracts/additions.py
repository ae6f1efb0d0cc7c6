"""What a resident adds to their own open appeal (补充材料): a photo, a voice note, a location or a
file sent a moment after the appeal, kept on that appeal instead of filing a new one (issue 16.6)."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from services.contracts.appeals import Attachment, Location
from services.contracts.vocabulary import Channel, Status


class AppealAddition(BaseModel):
    """One addition, idempotent on (channel, channel_ref): WeChat's MsgId for the official account."""

    model_config = ConfigDict(extra="forbid")

    channel: Channel
    channel_ref: str = Field(min_length=1, max_length=128)
    # The sender: only a reporter of the appeal may add to it.
    openid: str = Field(min_length=1, max_length=64)
    sent_at: datetime
    note: str | None = Field(default=None, max_length=2000)
    attachments: list[Attachment] = Field(default_factory=list, max_length=9)
    location: Location | None = None


class AdditionAccepted(BaseModel):
    """The appeal the addition was kept on; `created` is false on a replay."""

    addition_id: UUID
    appeal_id: UUID
    ticket_no: str
    query_code: str
    status: Status
    created: bool
