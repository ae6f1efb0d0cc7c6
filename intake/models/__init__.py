"""Intake's tables (schema `intake`), one module per concern: the appeal record, its people, files,
timeline and clocks (`appeals`), duplicate detection (`duplicates`), statistics (`stats`)."""

from __future__ import annotations

from intake.models.appeals import (
    Addition,
    Appeal,
    AppealDeadline,
    AppealFunds,
    AppealNotice,
    Attachment,
    Evaluation,
    PublicStatus,
    QuotedNumber,
    Reporter,
    RevealAudit,
    TimelineEntry,
)
from intake.models.base import DUE_KEY_SQL, Base, messaging, ticket_seq
from intake.models.duplicates import DuplicateLink, DuplicateThresholds, Fingerprint
from intake.models.stats import STAT_METRICS, PendingArrival, StatCell, StatDelta

__all__ = [
    "DUE_KEY_SQL",
    "STAT_METRICS",
    "Addition",
    "Appeal",
    "AppealDeadline",
    "AppealFunds",
    "AppealNotice",
    "Attachment",
    "Base",
    "DuplicateLink",
    "DuplicateThresholds",
    "Evaluation",
    "Fingerprint",
    "PendingArrival",
    "PublicStatus",
    "QuotedNumber",
    "Reporter",
    "RevealAudit",
    "StatCell",
    "StatDelta",
    "TimelineEntry",
    "messaging",
    "ticket_seq",
]
