"""Who hears about a status change, on which channel (pure).

A change is the appeal's own new status, or — for a linked duplicate — its master's progress,
told in the words intake put on the duplicate's timeline.

- A mini-program appeal: a subscribe message to the reporter's openid.
- An official-account appeal: a customer-service message to the openid while WeChat's 48-hour
  window since the user's last message is open; after it, an SMS when a phone is known, else the
  delivery is recorded as skipped (`window_closed`).
- Every other channel (the 12345 hotline, staff entries, the portal…): an SMS to each reporter
  and family with a phone. A member of staff without one hears nothing.
The same person reached twice on one channel (reporter and family share a phone) is one delivery.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final, Literal

from services.common.crypto import lookup_hash
from services.common.personal import mask_phone
from services.contracts.contacts import AppealContacts, ContactPerson
from services.gateway.service.feedback import messages

FeedbackChannel = Literal["mp_subscribe", "oa_custom", "sms"]
_NAMESPACE: Final = uuid.UUID("6f1c3b0e-7d3a-4f56-9a0e-2a8a1f7c0b11")


@dataclass(frozen=True)
class Change:
    """What to tell: the public status reached, why (a rejection), or intake's own words."""

    to_status: str
    reason: str | None = None
    words: str | None = None

    def content(self) -> dict[str, Any]:
        """Kept with a delivery, so that a fallback SMS says the same."""
        return {"to_status": self.to_status, "reason": self.reason, "words": self.words}

    @classmethod
    def of(cls, content: dict[str, Any], to_status: str) -> Change:
        """The change a delivery's content was made for."""
        return cls(to_status=to_status, reason=content.get("reason"), words=content.get("words"))


@dataclass(frozen=True)
class Planned:
    """One delivery to write."""

    channel: FeedbackChannel
    recipient: str
    recipient_masked: str
    content: dict[str, Any]
    openid: str | None = None
    phone: str | None = None
    skipped: str | None = None  # why nothing will be sent


def delivery_id(event_id: uuid.UUID, channel: str, recipient: str) -> uuid.UUID:
    """Stable per (event, channel, recipient): a re-planned change finds the same row and job."""
    return uuid.uuid5(_NAMESPACE, f"{event_id}|{channel}|{recipient}")


def mask_openid(openid: str) -> str:
    """Enough of an openid to tell two apart in a log, not to address anyone."""
    return f"{openid[:4]}****{openid[-4:]}" if len(openid) > 10 else "****"


def sms_to(phone: str, ticket_no: str, change: Change) -> Planned:
    """An SMS about the change to `phone`."""
    return Planned(
        channel="sms",
        recipient=lookup_hash(phone),
        recipient_masked=mask_phone(phone),
        phone=phone,
        content={
            "params": messages.sms_params(ticket_no, change.to_status, change.reason, change.words),
            **change.content(),
        },
    )


def _wechat(
    person: ContactPerson,
    contacts: AppealContacts,
    change: Change,
    *,
    occurred_at: datetime,
    now: datetime,
    last_message_at: datetime | None,
    window: timedelta,
) -> list[Planned]:
    assert person.openid is not None
    if contacts.channel == "wechat_miniprogram":
        data = messages.subscribe_data(contacts.ticket_no, change.to_status, occurred_at, change.words)
        return [
            Planned(
                channel="mp_subscribe",
                recipient=person.openid,
                recipient_masked=mask_openid(person.openid),
                openid=person.openid,
                phone=person.phone,
                content={"data": data, "ticket_no": contacts.ticket_no, **change.content()},
            )
        ]
    open_window = last_message_at is not None and now - last_message_at < window
    custom = Planned(
        channel="oa_custom",
        recipient=person.openid,
        recipient_masked=mask_openid(person.openid),
        openid=person.openid,
        phone=person.phone,
        content={
            "text": messages.text_message(contacts.ticket_no, change.to_status, change.reason, change.words),
            **change.content(),
        },
        skipped=None if open_window else "window_closed",
    )
    if open_window or not person.phone:
        return [custom]
    return [custom, sms_to(person.phone, contacts.ticket_no, change)]


def plan(
    contacts: AppealContacts,
    change: Change,
    *,
    occurred_at: datetime,
    now: datetime,
    last_messages: Mapping[str, datetime],
    window: timedelta = timedelta(hours=48),
) -> list[Planned]:
    """Every delivery one status change causes."""
    out: dict[tuple[str, str], Planned] = {}
    for person in contacts.reporters:
        planned: list[Planned] = []
        if person.openid and contacts.channel in ("wechat_miniprogram", "wechat_official"):
            last = last_messages.get(person.openid)
            if contacts.channel == "wechat_official":
                # The message that filed the appeal opened a window of its own.
                last = contacts.received_at if last is None else max(last, contacts.received_at)
            planned = _wechat(
                person,
                contacts,
                change,
                occurred_at=occurred_at,
                now=now,
                last_message_at=last,
                window=window,
            )
        elif person.phone:
            planned = [sms_to(person.phone, contacts.ticket_no, change)]
        for p in planned:
            out.setdefault((p.channel, p.recipient), p)
    return list(out.values())
