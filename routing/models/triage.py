"""Triage tables: results, the manual triage queue, staff corrections, trained models."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Float,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from routing.models.base import Base
from services.common.db import UTCDateTime


class TriageResult(Base):
    """分拣: what an appeal is, where, which track, how sure, and why.

    ``state``: ``auto`` (decided and announced), ``pending`` (waiting in the manual triage queue,
    nothing announced yet), ``confirmed`` / ``corrected`` (a person decided).
    """

    __tablename__ = "triage_results"

    appeal_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    ticket_no: Mapped[str] = mapped_column(String(32), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    category: Mapped[str] = mapped_column(String(32))
    urgency: Mapped[str] = mapped_column(String(16))
    track: Mapped[str] = mapped_column(String(16))
    # 政策 + top-up: express or direct beside a policy benefit (only with track ``policy``).
    secondary_track: Mapped[str | None] = mapped_column(String(16))
    department: Mapped[str | None] = mapped_column(String(32))
    town_code: Mapped[str | None] = mapped_column(String(12))
    village_code: Mapped[str | None] = mapped_column(String(12))
    location_method: Mapped[str] = mapped_column(String(16))
    policy_codes: Mapped[list[str]] = mapped_column(JSONB, default=list)
    confidence: Mapped[float] = mapped_column(Float)
    needs_manual: Mapped[bool] = mapped_column(Boolean)
    # The model's kind or category confidence was below the thresholds when it arrived: a person
    # had to classify it. False when it waited only to be placed (no known town), so that the
    # share classified automatically can be read apart from the share placed automatically.
    unsure: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))
    explanations: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, default=list)
    catalogue_version: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, server_default=func.now())
    # Added with the classifier and the manual queue.
    state: Mapped[str] = mapped_column(String(16), server_default=text("'auto'"))
    kind_confidence: Mapped[float | None] = mapped_column(Float)
    category_confidence: Mapped[float | None] = mapped_column(Float)
    urgency_confidence: Mapped[float | None] = mapped_column(Float)
    location_confidence: Mapped[float | None] = mapped_column(Float)
    location_evidence: Mapped[str | None] = mapped_column(String(200))
    model_version: Mapped[str | None] = mapped_column(String(32))
    # The words triage read, kept so that a correction becomes a labelled example.
    title: Mapped[str | None] = mapped_column(Text)
    description: Mapped[str] = mapped_column(Text, server_default=text("''"))
    category_hint: Mapped[str | None] = mapped_column(String(200))
    beneficiary_count: Mapped[int | None] = mapped_column(Integer)
    estimated_amount_fen: Mapped[int | None] = mapped_column(BigInteger)
    updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    @property
    def manual_reasons(self) -> list[str]:
        """Why the machine's own triage, on arrival, waited for a person: ``low_confidence``
        (classify it), ``no_location`` (place it); empty when it was decided on its own."""
        reasons = ["low_confidence"] if self.unsure else []
        if self.location_method == "none":
            reasons.append("no_location")
        return reasons


class ManualTriageItem(Base):
    """The town's (or the city's) manual triage queue (人工分拣): one open item per appeal.

    ``reason``: ``low_confidence``, ``no_location``, ``returned`` (a send-back), ``cap_reached``
    (send-backs used up: the town decides), ``escalated`` (the town passed it to the city).
    """

    __tablename__ = "manual_triage_queue"
    __table_args__ = (
        Index(
            "uq_manual_triage_queue_open_appeal",
            "appeal_id",
            unique=True,
            postgresql_where=text("state = 'open'"),
        ),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    appeal_id: Mapped[uuid.UUID] = mapped_column(index=True)
    level: Mapped[str] = mapped_column(String(8))  # town | city
    town_code: Mapped[str | None] = mapped_column(String(12), index=True)
    reason: Mapped[str] = mapped_column(String(24))
    state: Mapped[str] = mapped_column(String(12), server_default=text("'open'"))
    note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, server_default=func.now())
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    resolved_by: Mapped[str | None] = mapped_column(String(64))


class TriageCorrection(Base):
    """A person's decision on a triage (人工纠正), kept for audit and as a labelled example."""

    __tablename__ = "triage_corrections"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    appeal_id: Mapped[uuid.UUID] = mapped_column(index=True)
    staff_id: Mapped[str] = mapped_column(String(64))
    staff_username: Mapped[str] = mapped_column(String(64))
    org_type: Mapped[str] = mapped_column(String(16))
    org_code: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, server_default=func.now())
    before: Mapped[dict[str, Any]] = mapped_column(JSONB)
    after: Mapped[dict[str, Any]] = mapped_column(JSONB)
    reason: Mapped[str | None] = mapped_column(Text)
    # The labelled example.
    title: Mapped[str | None] = mapped_column(Text)
    description: Mapped[str] = mapped_column(Text)
    category_hint: Mapped[str | None] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(16))
    category: Mapped[str] = mapped_column(String(32))
    urgency: Mapped[str] = mapped_column(String(16))
    model_version: Mapped[str | None] = mapped_column(String(32))


class TriageModelRecord(Base):
    """A model trained by ``guanjia routing train``; the newest active one is used."""

    __tablename__ = "triage_models"

    version: Mapped[str] = mapped_column(String(32), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, server_default=func.now())
    created_by: Mapped[str] = mapped_column(String(64))
    blob: Mapped[bytes] = mapped_column(LargeBinary)
    examples: Mapped[int] = mapped_column(Integer)
    corrections: Mapped[int] = mapped_column(Integer)
    cv: Mapped[dict[str, Any]] = mapped_column(JSONB)
    heldout: Mapped[dict[str, Any]] = mapped_column(JSONB)
    active: Mapped[bool] = mapped_column(Boolean, server_default=text("true"))
