"""REST DTOs of public disclosure (信息公开) between intake and the gateway: no personal data.

Micro-projects (民生微实事) are shown in full — title, description and the place of the works —
with names, phone and ID numbers masked out of the text; micro-wishes (民生微心愿) concern one
family and are anonymised (PIPL): no text of the resident's, no address finer than the village.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from services.contracts.appeals import PublicDeadline, TimelineEntry
from services.contracts.notices import PublicNotice


class DisclosedAppeal(BaseModel):
    """One appeal as the public list and detail show it."""

    ticket_no: str
    kind: str | None
    category: str | None
    category_name: str | None
    track: str | None
    status: str
    town: str | None
    village: str | None
    title: str
    description: str | None
    address: str | None
    beneficiary_count: int | None
    beneficiary_group: str | None
    received_at: datetime
    completed_at: datetime | None
    closed_at: datetime | None
    round: int
    progress: str | None
    funds_used_fen: int
    funds_by_source: dict[str, int]
    duplicates: int
    duplicate_of: str | None
    deadlines: list[PublicDeadline]
    timeline: list[TimelineEntry] | None = None
    # Additions (issue 16): the top-up beside a policy benefit; the consultations' notices (公示);
    # why the community rejected the plan (a plan rejected in consultation stays disclosed).
    secondary_track: str | None = None
    notices: list[PublicNotice] = Field(default_factory=list)
    rejection_reason: str | None = None


class DisclosurePage(BaseModel):
    """A page of the public list, newest first."""

    items: list[DisclosedAppeal]
    page: int
    page_size: int
    total: int
