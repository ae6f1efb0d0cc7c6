"""Intake's domain logic: record appeals once, move them only along legal paths, show them.

No HTTP here and no commits: callers own the transaction (see services.common.db).
- `records`: recording a draft (once per channel and reference), finding an appeal;
- `moves`: the checked state change with its timeline entry, events, counters and followers;
- `public`: the public status of DESIGN §10.
"""

from intake.service.moves import advance, transition
from intake.service.public import public_status, town_name, village_name
from intake.service.records import (
    CHANNEL_NAMES,
    create_appeal,
    draft_hash,
    format_ticket,
    get_appeal,
    get_by_ticket,
    new_query_code,
)

__all__ = [
    "CHANNEL_NAMES",
    "advance",
    "create_appeal",
    "draft_hash",
    "format_ticket",
    "get_appeal",
    "get_by_ticket",
    "new_query_code",
    "public_status",
    "town_name",
    "transition",
    "village_name",
]
