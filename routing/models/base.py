"""Routing's declarative base (schema ``routing``) and its outbox, inbox and dead letters."""

from __future__ import annotations

from sqlalchemy.orm import DeclarativeBase

from services.common.db import service_metadata
from services.common.messaging import messaging_tables


class Base(DeclarativeBase):
    """Routing's declarative base."""

    metadata = service_metadata("routing")


messaging = messaging_tables(Base.metadata)
