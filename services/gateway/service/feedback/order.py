"""Feedback in lifecycle order (issue 16.5): per appeal, whatever the workers' timing.

Intake changes one appeal's status one move at a time, under the appeal's lock, and stamps each
change with the time it happened; the gateway's workers may still take the changes in any order,
and send the messages in any order. Two rules keep what a resident reads in the order it happened:

- **Planning waits for the change before it.** A status change leaves the status the previous one
  reached (`from_status`). It is planned only when the latest change planned before it reached
  that status (or, the appeal's first, it leaves `received`); otherwise the change before it is
  still on its way and the event is retried (`NotYet`). On the last try it is planned anyway:
  feedback late is better than none. A change older than a later one *of its sort* already
  planned is stored as skipped (`superseded`): a resident never reads an older status after a
  newer one. The sorts: a status (the appeal's own change, or a linked duplicate's news of its
  master's status), and each kind of news that is no status (`NEWS`: an extension, a public
  notice, an objection). News neither makes a status stale nor is made stale by one: an
  `on_hold` held up by a retry still reaches the resident when a later `deadline.extended` was
  planned first.
- **Sending waits for every earlier message to the same person.** A delivery is not sent while an
  earlier one (of an earlier change of the appeal) to the same recipient is still pending or
  being sent; when one finishes, the next waiting one is queued at once.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Final

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.gateway.models import FeedbackDelivery

FIRST_FROM: Final = "received"
OPEN: Final = ("pending", "sending")
SUPERSEDED: Final = "superseded"
# What a delivery's `to_status` holds for news that is no status (`changes.py`).
EXTENDED: Final = "extended"
NOTICED: Final = "noticed"
OBJECTED: Final = "objected"
NEWS: Final = (EXTENDED, NOTICED, OBJECTED)


async def previous_change_missing(
    session: AsyncSession, appeal_id: uuid.UUID, occurred_at: datetime, from_status: str
) -> bool:
    """True when the status change before this one has not been planned yet."""
    latest = (
        await session.execute(
            select(FeedbackDelivery.to_status, FeedbackDelivery.occurred_at)
            .where(
                FeedbackDelivery.appeal_id == appeal_id,
                FeedbackDelivery.from_status.is_not(None),
                FeedbackDelivery.occurred_at < occurred_at,
            )
            .order_by(FeedbackDelivery.occurred_at.desc())
            .limit(1)
        )
    ).first()
    if latest is None:
        legacy = await session.scalar(
            select(FeedbackDelivery.id)
            .where(FeedbackDelivery.appeal_id == appeal_id, FeedbackDelivery.occurred_at.is_(None))
            .limit(1)
        )
        # Planned before deliveries kept their order: nothing to chain to, so nothing to wait for.
        return legacy is None and from_status != FIRST_FROM
    return str(latest.to_status) != from_status


async def superseded(
    session: AsyncSession, appeal_id: uuid.UUID, occurred_at: datetime, to_status: str
) -> bool:
    """True when a later change of the appeal of the same sort (module doc) was planned already:
    this one arrived too late to be told."""
    same_sort = (
        FeedbackDelivery.to_status == to_status
        if to_status in NEWS
        else FeedbackDelivery.to_status.not_in(NEWS)
    )
    found = await session.scalar(
        select(FeedbackDelivery.id)
        .where(
            FeedbackDelivery.appeal_id == appeal_id,
            FeedbackDelivery.occurred_at > occurred_at,
            same_sort,
        )
        .limit(1)
    )
    return found is not None


async def earlier_open(
    session: AsyncSession, appeal_id: uuid.UUID | None, recipient: str, occurred_at: datetime | None
) -> bool:
    """True when an earlier message of the appeal to the same recipient is not finished yet."""
    if appeal_id is None or occurred_at is None:  # a staff push: no appeal's order to keep
        return False
    found = await session.scalar(
        select(FeedbackDelivery.id)
        .where(
            FeedbackDelivery.appeal_id == appeal_id,
            FeedbackDelivery.recipient == recipient,
            FeedbackDelivery.status.in_(OPEN),
            FeedbackDelivery.occurred_at < occurred_at,
        )
        .limit(1)
    )
    return found is not None


async def next_waiting(
    session: AsyncSession, appeal_id: uuid.UUID | None, recipient: str, occurred_at: datetime | None
) -> uuid.UUID | None:
    """The next pending message to the same recipient after one that just finished."""
    if appeal_id is None or occurred_at is None:
        return None
    found = await session.scalar(
        select(FeedbackDelivery.id)
        .where(
            FeedbackDelivery.appeal_id == appeal_id,
            FeedbackDelivery.recipient == recipient,
            FeedbackDelivery.status == "pending",
            FeedbackDelivery.occurred_at > occurred_at,
        )
        .order_by(FeedbackDelivery.occurred_at)
        .limit(1)
    )
    return found
