"""爱心资源库 donors, the appeals they may claim (莞家直达), and their claims (认领)."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    String,
    Text,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from routing.models.base import Base
from services.common.db import UTCDateTime


class Donor(Base):
    """An enterprise, social organisation or individual in the city's or a town's pool."""

    __tablename__ = "donors"
    __table_args__ = (
        CheckConstraint("kind IN ('enterprise', 'social_organisation', 'individual')", name="kind_known"),
        CheckConstraint(
            "(pool = 'city' AND town_code IS NULL) OR (pool = 'town' AND town_code IS NOT NULL)",
            name="pool_consistent",
        ),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    kind: Mapped[str] = mapped_column(String(24))
    name: Mapped[str] = mapped_column(String(200))
    credit_code: Mapped[str | None] = mapped_column(String(18))  # 统一社会信用代码 of an organisation
    pool: Mapped[str] = mapped_column(String(8))
    town_code: Mapped[str | None] = mapped_column(String(12))
    state: Mapped[str] = mapped_column(String(12), server_default=text("'pending'"))
    verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    verified_by: Mapped[str | None] = mapped_column(String(64))
    # The number the city's own donor register gives it (imported donors; issue 16.12).
    register_code: Mapped[str | None] = mapped_column(String(32), unique=True)
    key_prefix: Mapped[str] = mapped_column(String(16), unique=True)
    key_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, server_default=text("now()"))


class ClaimListing(Base):
    """An appeal in the pool (莞家直达): what it needs, anonymised, and how much is pledged.

    The database refuses an over-claim: ``pledged_fen`` never exceeds ``target_fen``.
    """

    __tablename__ = "claim_listings"
    __table_args__ = (
        CheckConstraint("target_fen IS NULL OR target_fen > 0", name="target_positive"),
        CheckConstraint("pledged_fen >= 0 AND confirmed_fen >= 0", name="sums_not_negative"),
        CheckConstraint("target_fen IS NULL OR pledged_fen <= target_fen", name="no_over_claim"),
        CheckConstraint("confirmed_fen <= pledged_fen", name="confirmed_within_pledged"),
    )

    appeal_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    ticket_no: Mapped[str] = mapped_column(String(32))
    kind: Mapped[str] = mapped_column(String(16))
    category: Mapped[str] = mapped_column(String(32))
    town_code: Mapped[str | None] = mapped_column(String(12), index=True)
    village_code: Mapped[str | None] = mapped_column(String(12))
    summary: Mapped[str] = mapped_column(Text)
    needs_service: Mapped[str | None] = mapped_column(Text)
    target_fen: Mapped[int | None] = mapped_column(BigInteger)
    pledged_fen: Mapped[int] = mapped_column(BigInteger, server_default=text("0"))
    confirmed_fen: Mapped[int] = mapped_column(BigInteger, server_default=text("0"))
    exclusive: Mapped[bool] = mapped_column(Boolean)
    state: Mapped[str] = mapped_column(String(12))  # draft | open | claimed | closed
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, server_default=text("now()"))
    updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Claim(Base):
    """认领: a donor's pledge of money or a service on a listed appeal.

    On a micro-wish a claim is exclusive: the partial unique index lets exactly one active claim
    exist, so of two at once one wins and the other is refused by the database.
    """

    __tablename__ = "claims"
    __table_args__ = (
        Index(
            "uq_claims_exclusive_active",
            "appeal_id",
            unique=True,
            postgresql_where=text("exclusive AND state IN ('pledged', 'confirmed')"),
        ),
        CheckConstraint(
            "(kind = 'money' AND amount_fen > 0) OR (kind = 'service' AND amount_fen IS NULL)",
            name="amount_fits_kind",
        ),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    appeal_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("routing.claim_listings.appeal_id"), index=True)
    donor_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("routing.donors.id"), index=True)
    kind: Mapped[str] = mapped_column(String(8))  # money | service
    amount_fen: Mapped[int | None] = mapped_column(BigInteger)
    service: Mapped[str | None] = mapped_column(Text)
    exclusive: Mapped[bool] = mapped_column(Boolean)
    state: Mapped[str] = mapped_column(String(12), server_default=text("'pledged'"))
    pledged_at: Mapped[datetime] = mapped_column(UTCDateTime, server_default=text("now()"))
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    confirmed_by_kind: Mapped[str | None] = mapped_column(String(12))
    confirmed_by: Mapped[str | None] = mapped_column(String(64))
    expired_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    note: Mapped[str | None] = mapped_column(Text)
