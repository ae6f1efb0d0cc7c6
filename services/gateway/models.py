"""The gateway's tables (schema `gateway`): identity and the raw messages of every channel."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from services.common.db import UTCDateTime, service_metadata
from services.common.messaging import messaging_tables


class Base(DeclarativeBase):
    """The gateway's declarative base."""

    metadata = service_metadata("gateway")


messaging = messaging_tables(Base.metadata)


class StaffAccount(Base):
    """A member of staff (工作人员) with a role scoped to one organisation."""

    __tablename__ = "staff_accounts"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(32))
    org_type: Mapped[str] = mapped_column(String(16))
    org_code: Mapped[str] = mapped_column(String(32))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, server_default=func.now())
    # Where a notification is pushed (issue 16.2), both optional: a mobile for SMS (kept only
    # encrypted) and the member's mini-program openid for a subscribe message.
    phone_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    openid: Mapped[str | None] = mapped_column(String(64))


class LoginFailure(Base):
    """Failed logins of one username from one address, and its lock (with back-off). Per pair,
    not per account: anyone's wrong guesses used to lock `admin` out for everyone. Unknown
    usernames are counted alike, so a lock says nothing about whether the name exists."""

    __tablename__ = "login_failures"

    username: Mapped[str] = mapped_column(String(64), primary_key=True)
    source: Mapped[str] = mapped_column(String(64), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    lockouts: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, server_default=func.now())


class ApiKey(Base):
    """A key for an integration or an Open311 client; only its hash is kept."""

    __tablename__ = "api_keys"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    name: Mapped[str] = mapped_column(String(100))
    prefix: Mapped[str] = mapped_column(String(16), unique=True)
    key_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, server_default=func.now())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class InboundMessage(Base):
    """A channel's raw message as it arrived, and the answer we gave (replays get the same)."""

    __tablename__ = "inbound_messages"
    __table_args__ = (UniqueConstraint("channel", "channel_ref"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    channel: Mapped[str] = mapped_column(String(32))
    channel_ref: Mapped[str] = mapped_column(String(128))
    body_hash: Mapped[str] = mapped_column(String(64))
    body: Mapped[dict[str, Any]] = mapped_column(JSONB)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, server_default=func.now())
    appeal_id: Mapped[uuid.UUID | None] = mapped_column()
    response: Mapped[dict[str, Any] | None] = mapped_column(JSONB)


# --- Feedback to reporters (issue "Channels": services/gateway/service/feedback) ------------------------


class FeedbackDelivery(Base):
    """One message telling one reporter about one status change on one channel (反馈).

    Unique per (event, recipient, channel): a replayed or raced event never plans a second one.
    `recipient` is an openid or the keyed hash of a phone number; the number itself is kept only
    encrypted, for the SMS (or the SMS fallback of a closed WeChat window).
    """

    __tablename__ = "feedback_deliveries"
    __table_args__ = (
        UniqueConstraint("event_id", "recipient", "channel"),
        Index(
            "ix_feedback_deliveries_open",
            "updated_at",
            postgresql_where=text("status IN ('pending', 'sending')"),
        ),
        # One appeal's changes in the order they happened (feedback/order.py).
        Index("ix_feedback_deliveries_appeal_order", "appeal_id", "occurred_at"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    # None only for a staff push about no appeal (a job parked with none).
    appeal_id: Mapped[uuid.UUID | None] = mapped_column(index=True)
    event_id: Mapped[uuid.UUID] = mapped_column()
    ticket_no: Mapped[str] = mapped_column(String(32))
    to_status: Mapped[str] = mapped_column(String(16))
    # When the change happened (its event's time: the order the resident hears them in), and the
    # status it left (a status change; null for a linked duplicate's news of its master).
    occurred_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    from_status: Mapped[str | None] = mapped_column(String(16))
    # mp_subscribe (mini-program) | oa_custom (official account) | sms
    channel: Mapped[str] = mapped_column(String(16))
    recipient: Mapped[str] = mapped_column(String(64))
    recipient_masked: Mapped[str] = mapped_column(String(32))
    openid: Mapped[str | None] = mapped_column(String(64))
    phone_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    # What to send, rendered once so that every attempt sends the same words.
    content: Mapped[dict[str, Any]] = mapped_column(JSONB)
    # pending | sending | delivered | refused | failed | skipped | unknown
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_result: Mapped[str | None] = mapped_column(String(300))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, server_default=func.now())
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class FeedbackAttempt(Base):
    """The log of every try of a delivery: when, and what the other side answered."""

    __tablename__ = "feedback_attempts"
    __table_args__ = (UniqueConstraint("delivery_id", "attempt"),)

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    delivery_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("feedback_deliveries.id"))
    attempt: Mapped[int] = mapped_column(Integer)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    # delivered | refused | failed | retry | window_closed | unknown
    outcome: Mapped[str] = mapped_column(String(16))
    http_status: Mapped[int | None] = mapped_column(Integer)
    errcode: Mapped[int | None] = mapped_column(Integer)
    detail: Mapped[str | None] = mapped_column(String(500))


class WechatLastMessage(Base):
    """When an official-account user last wrote to us: WeChat accepts customer-service messages
    to them only within 48 hours of it (`services.gateway.service.feedback.window.note_user_message`)."""

    __tablename__ = "wechat_last_messages"

    openid: Mapped[str] = mapped_column(String(64), primary_key=True)
    last_message_at: Mapped[datetime] = mapped_column(UTCDateTime)


# --- Channels: WeChat official account pushes and Open311 requests (issue "Channels") -----------


class WeChatPushRecord(Base):
    """A push from the official account as it arrived, and what became of it.

    Unique per WeChat's de-duplication key (MsgId; FromUserName + CreateTime for events), so
    WeChat's retries find the first answer. `deferred` marks a passive reply that promised the
    ticket by customer-service message; `follow_up` is where that message stands.
    """

    __tablename__ = "wechat_pushes"
    __table_args__ = (
        Index(
            "ix_wechat_pushes_unsettled",
            "received_at",
            postgresql_where=text("files_appeal AND (appeal_id IS NULL OR (deferred AND follow_up IS NULL))"),
        ),
        # A sender's recent messages: the appeal a photo joins, the photos an appeal takes.
        Index("ix_wechat_pushes_openid_sent_at", "openid", "sent_at"),
        # Additions whose inline attempt did not finish, for the sweep.
        Index(
            "ix_wechat_pushes_unjoined",
            "received_at",
            postgresql_where=text("attaches AND deferred AND appeal_id IS NULL"),
        ),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    dedupe_key: Mapped[str] = mapped_column(String(160), unique=True)
    openid: Mapped[str] = mapped_column(String(64), index=True)
    msg_type: Mapped[str] = mapped_column(String(16))
    event: Mapped[str | None] = mapped_column(String(64))
    msg_id: Mapped[str | None] = mapped_column(String(32))
    sent_at: Mapped[datetime] = mapped_column(UTCDateTime)
    safe_mode: Mapped[bool] = mapped_column(Boolean, default=False)
    # Every top-level element of the (decrypted) XML, phone and ID numbers masked in the words;
    # verbatim only encrypted (Fernet, JSON), for the follow-up job that may still file the appeal.
    fields: Mapped[dict[str, Any]] = mapped_column(JSONB)
    fields_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    files_appeal: Mapped[bool] = mapped_column(Boolean, default=False)
    # A bare photo, location, file (or a voice note that found an appeal): it joins the sender's
    # open appeal as an addition (补充材料); `appeal_id` is set once it has.
    attaches: Mapped[bool] = mapped_column(Boolean, default=False, server_default=text("false"))
    appeal_id: Mapped[uuid.UUID | None] = mapped_column()
    ticket_no: Mapped[str | None] = mapped_column(String(32))
    query_code: Mapped[str | None] = mapped_column(String(12))
    reply_text: Mapped[str | None] = mapped_column(Text)
    deferred: Mapped[bool] = mapped_column(Boolean, default=False)
    # The follow-up message: None (not yet) | sending | sent | failed | unknown (never resent).
    follow_up: Mapped[str | None] = mapped_column(String(16))
    followed_up_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(String(500))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, server_default=func.now(), onupdate=func.now())


class Open311Request(Base):
    """An appeal filed through Open311 GeoReport v2 (`service_request_id` is its ticket number).

    Open311 clients have no query code, so only these appeals are visible under `/open311/v2/`;
    their public status is read from intake with the code kept here, and cached.
    """

    __tablename__ = "open311_requests"
    __table_args__ = (Index("ix_open311_requests_requested_at", "requested_at"),)

    service_request_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    appeal_id: Mapped[uuid.UUID] = mapped_column(unique=True)
    token: Mapped[str] = mapped_column(String(64), unique=True)
    client_ref: Mapped[str] = mapped_column(String(128), unique=True)
    api_key_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("api_keys.id"))
    query_code: Mapped[str] = mapped_column(String(12))
    service_code: Mapped[str] = mapped_column(String(32))
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # What the public may see of the request; personal data never goes here.
    address: Mapped[str | None] = mapped_column(String(300))
    lat: Mapped[float | None] = mapped_column(Float)
    lng: Mapped[float | None] = mapped_column(Float)
    description: Mapped[str | None] = mapped_column(Text)
    media_url: Mapped[str | None] = mapped_column(String(500))
    # The last public status read from intake.
    status: Mapped[str] = mapped_column(String(16), default="received")
    status_notes: Mapped[str | None] = mapped_column(String(300))
    category: Mapped[str | None] = mapped_column(String(32))
    expected_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    checked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


# --- Staff notifications (issue 16.2: services/gateway/service/notifications) ---------------------


class StaffNotification(Base):
    """A notice (提醒) to the members of staff of one unit about one event: an assignment, a
    send-back, a deadline warning, overdue, an escalation, an extension, an objection.

    The id is derived from (event, kind, unit): a replayed event finds the row it made.
    """

    __tablename__ = "staff_notifications"
    __table_args__ = (Index("ix_staff_notifications_unit", "unit_type", "unit_code", "created_at"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    event_id: Mapped[uuid.UUID] = mapped_column()
    kind: Mapped[str] = mapped_column(String(24))
    unit_type: Mapped[str] = mapped_column(String(16))
    unit_code: Mapped[str] = mapped_column(String(32))
    appeal_id: Mapped[uuid.UUID | None] = mapped_column()
    ticket_no: Mapped[str | None] = mapped_column(String(32))
    text: Mapped[str] = mapped_column(String(300))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class StaffNotificationRead(Base):
    """That one member of staff has read one notification (each member reads for themself)."""

    __tablename__ = "staff_notification_reads"

    notification_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("staff_notifications.id"), primary_key=True)
    staff_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    read_at: Mapped[datetime] = mapped_column(UTCDateTime)
