"""Duplicate detection's tables: links, thresholds, fingerprints."""

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
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import Mapped, mapped_column

from intake.models.base import Base
from services.common.db import UTCDateTime


class DuplicateLink(Base):
    """A duplicate candidate (疑似重复) or link: suggested, linked (auto or by staff), rejected, undone."""

    __tablename__ = "duplicate_links"
    __table_args__ = (
        UniqueConstraint("appeal_id", "master_id"),
        Index("ix_duplicate_links_master", "master_id"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    appeal_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("appeals.id"))
    master_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("appeals.id"))
    score: Mapped[float] = mapped_column(Float)
    reasons: Mapped[list[str]] = mapped_column(JSONB, default=list)
    state: Mapped[str] = mapped_column(String(16))  # suggested | linked | rejected | undone
    auto: Mapped[bool] = mapped_column(Boolean, default=False)
    repeat: Mapped[bool] = mapped_column(Boolean, default=False)
    decided_by: Mapped[str | None] = mapped_column(String(100))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # The scorer's features of the pair when it was scored: a staff decision on the suggestion
    # becomes a labelled example for the thresholds (`duplicates.tune`).
    features: Mapped[dict[str, float] | None] = mapped_column(JSONB)


class DuplicateThresholds(Base):
    """Link and suggestion thresholds recomputed from staff decisions and the tuning pairs; the
    newest row is the one in force (unless the environment sets them)."""

    __tablename__ = "duplicate_thresholds"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    link_at: Mapped[float] = mapped_column(Float)
    suggest_at: Mapped[float] = mapped_column(Float)
    decisions: Mapped[int] = mapped_column(Integer)  # staff decisions counted
    pairs: Mapped[int] = mapped_column(Integer)  # shipped tuning pairs counted
    figures: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    computed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    computed_by: Mapped[str] = mapped_column(String(100))


class Fingerprint(Base):
    """What duplicate detection keeps of an appeal: its tokens and its LSH keys (GIN-indexed)."""

    __tablename__ = "fingerprints"
    # Only the GIN index: a lookup must go by keys (selective), never by time (every recent appeal).
    __table_args__ = (Index("ix_fingerprints_keys", "keys", postgresql_using="gin"),)

    appeal_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("appeals.id"), primary_key=True)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)
    tokens: Mapped[list[str]] = mapped_column(ARRAY(Text))
    text: Mapped[str] = mapped_column(Text)  # normalised, place names removed, capped
    keys: Mapped[list[int]] = mapped_column(ARRAY(BigInteger))
