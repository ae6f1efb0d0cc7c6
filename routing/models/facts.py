"""What routing learns about an appeal from intake that changes who may hold it or act on it."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import String, func
from sqlalchemy.orm import Mapped, mapped_column

from routing.models.base import Base
from services.common.db import UTCDateTime


class AppealFact(Base):
    """One row per appeal intake told routing about (issue 15.3, 15.8).

    ``complained_unit_*``: the unit the appeal complains about (保密): it never holds the appeal.
    ``ended_as``: the appeal ended without the work (merged into another, withdrawn, rejected):
    its hop is closed and every routing command on it is refused.
    """

    __tablename__ = "appeal_facts"

    appeal_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    complained_unit_type: Mapped[str | None] = mapped_column(String(16))
    complained_unit_code: Mapped[str | None] = mapped_column(String(32))
    ended_as: Mapped[str | None] = mapped_column(String(16))
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, server_default=func.now())
