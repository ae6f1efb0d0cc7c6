"""莞家驿站 service stations: the registry and the service records of station-track appeals."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import Boolean, CheckConstraint, Date, ForeignKey, Integer, String, Text, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from routing.models.base import Base
from services.common.db import UTCDateTime


class Station(Base):
    """A 莞家驿站: where it is, which services it offers, who works there."""

    __tablename__ = "stations"

    code: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    town_code: Mapped[str] = mapped_column(String(12), index=True)
    village_code: Mapped[str | None] = mapped_column(String(12), index=True)
    services: Mapped[list[str]] = mapped_column(JSONB)  # category codes it serves
    team: Mapped[list[dict[str, Any]]] = mapped_column(JSONB)  # {role, name, count}
    active: Mapped[bool] = mapped_column(Boolean, server_default=text("true"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, server_default=text("now()"))
    updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class ServiceRecord(Base):
    """A visit or session a station gave on an appeal, and who confirmed it happened."""

    __tablename__ = "service_records"
    __table_args__ = (
        CheckConstraint("minutes > 0 AND minutes <= 1440", name="minutes_in_range"),
        CheckConstraint("visits > 0", name="visits_positive"),
        CheckConstraint(
            "(state = 'recorded' AND confirmed_at IS NULL) OR (state = 'confirmed' AND confirmed_at IS NOT NULL)",
            name="confirmation_consistent",
        ),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    appeal_id: Mapped[uuid.UUID] = mapped_column(index=True)
    station_code: Mapped[str] = mapped_column(ForeignKey("routing.stations.code"), index=True)
    served_on: Mapped[date] = mapped_column(Date)
    visits: Mapped[int] = mapped_column(Integer)
    minutes: Mapped[int] = mapped_column(Integer)
    description: Mapped[str] = mapped_column(Text)
    workers: Mapped[list[dict[str, Any]]] = mapped_column(JSONB)
    recorded_by: Mapped[str] = mapped_column(String(64))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, server_default=text("now()"))
    state: Mapped[str] = mapped_column(String(12), server_default=text("'recorded'"))
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    confirmed_by_kind: Mapped[str | None] = mapped_column(String(12))  # beneficiary | staff
    confirmed_by: Mapped[str | None] = mapped_column(String(64))
