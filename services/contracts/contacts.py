"""REST DTO between intake and the gateway: how to reach an appeal's people for feedback.

Personal data in clear: only the gateway may ask, only to send a status message, and intake
logs every reveal. Never log, store or show these values unmasked.
"""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from pydantic import BaseModel


class ContactPerson(BaseModel):
    """One reporter of an appeal as feedback needs them."""

    relation: str  # reporter | on_behalf_of
    role: str
    name: str | None = None
    openid: str | None = None
    phone: str | None = None  # E.164, decrypted
    anonymous: bool = False


class AppealContacts(BaseModel):
    """The channel an appeal came through and the people to tell about it."""

    appeal_id: UUID
    ticket_no: str
    channel: str
    channel_ref: str
    status: str
    received_at: datetime
    callback_requested: bool
    reporters: list[ContactPerson]
