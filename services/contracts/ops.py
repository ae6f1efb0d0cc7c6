"""Operations: jobs that could not be done (死信) and what a person decided about them.

A job that keeps failing, or fails for a reason no retry cures, is parked in its service's
dead-letter table instead of being lost. Until someone replays or dismisses it, the appeal it
carried may be stuck: these shapes let the city's administrators see every one, in every
service, and act on it.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from services.contracts.events import Service

Resolution = Literal["replayed", "dismissed"]


class DeadLetterView(BaseModel):
    """One parked job (numbers in its arguments and error masked)."""

    service: Service
    id: int
    job_name: str
    job_id: str | None
    event_type: str | None = Field(description="the event it carried, when it was an event consumer's job")
    appeal_id: uuid.UUID | None = Field(description="the appeal of that event, when it names one")
    args: dict[str, Any]
    error: str
    tries: int
    failed_at: datetime
    replayable: bool = Field(description="false when its arguments held personal numbers, kept only masked")
    resolved_at: datetime | None
    resolution: Resolution | None
    resolved_by: str | None
    note: str | None


class DeadLetterList(BaseModel):
    """One service's parked jobs, newest first, and how many are still open."""

    service: Service
    open: int
    items: list[DeadLetterView]


class DeadLetterOverview(BaseModel):
    """Every service's parked jobs: what the city's administrators watch."""

    open: int = Field(description="open dead letters in the services that answered")
    by_service: dict[str, int]
    unavailable: list[Service] = Field(
        description="services that did not answer: their letters are not counted"
    )
    items: list[DeadLetterView]


class DeadLetterResolutionIn(BaseModel):
    """Run the job again (its consumer is idempotent: an effect already made is not made twice),
    or close it after the matter was handled another way."""

    model_config = ConfigDict(extra="forbid")

    action: Literal["replay", "dismiss"]
    note: str = Field(min_length=2, max_length=1000, description="why, for whoever reads it later")
