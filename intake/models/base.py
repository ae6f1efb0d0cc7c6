"""Intake's declarative base, its messaging tables and the ticket sequence."""

from __future__ import annotations

from sqlalchemy import Sequence
from sqlalchemy.orm import DeclarativeBase

from services.common.db import service_metadata
from services.common.messaging import messaging_tables

# The work list's sort key (工作台): the next deadline, none last. An expression rather than
# `NULLS LAST` so that a cursor is one row comparison the indexes answer (intake.service.worklist).
DUE_KEY_SQL = "coalesce(next_due_at, 'infinity'::timestamp with time zone)"


class Base(DeclarativeBase):
    """Intake's declarative base."""

    metadata = service_metadata("intake")


messaging = messaging_tables(Base.metadata)
ticket_seq = Sequence("ticket_seq", metadata=Base.metadata, start=1)
