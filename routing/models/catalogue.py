"""The policy catalogue (政策目录) as versioned data: every edit makes a new version."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String, Text, func
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from routing.models.base import Base
from services.common.db import UTCDateTime


class CatalogueVersion(Base):
    """One version of the whole catalogue; ``seq`` orders them, the newest is current."""

    __tablename__ = "catalogue_versions"

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    version: Mapped[str] = mapped_column(String(16), unique=True)
    based_on: Mapped[str | None] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, server_default=func.now())
    created_by: Mapped[str] = mapped_column(String(64))
    note: Mapped[str | None] = mapped_column(Text)


class CataloguePolicy(Base):
    """A policy as it reads in one catalogue version."""

    __tablename__ = "catalogue_policies"

    version: Mapped[str] = mapped_column(
        String(16), ForeignKey("routing.catalogue_versions.version"), primary_key=True
    )
    code: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    department: Mapped[str] = mapped_column(String(32))
    kind: Mapped[str] = mapped_column(String(16))
    category: Mapped[str] = mapped_column(String(32))
    eligibility: Mapped[str] = mapped_column(Text)
    materials: Mapped[list[str]] = mapped_column(JSONB)
    time_limit_working_days: Mapped[int] = mapped_column(Integer)
    keywords: Mapped[list[str]] = mapped_column(JSONB)
    aliases: Mapped[list[str]] = mapped_column(JSONB)
