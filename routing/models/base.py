"""Routing's declarative base (schema ``routing``) and its outbox, inbox and dead letters."""

from __future__ import annotations

from sqlalchemy.orm import DeclarativeBase

from services.common.db import service_metadata
from services.common.idempotency import commands_table
from services.common.messaging import messaging_tables


class Base(DeclarativeBase):
    """Routing's declarative base."""

    metadata = service_metadata("routing")


messaging = messaging_tables(Base.metadata)
# Idempotency keys of donors' claims (幂等), the kernel's table: key → the claim it made.
commands = commands_table(Base.metadata)
