"""Staff work lists (工作台, DESIGN §10): rows of the gateway's table, forwarded to intake with the
verified member of staff, who sees only their own scope. Mounted before `forwarded.staff`, whose
`/appeals/{appeal_id}` would otherwise take `/appeals/summary`."""

from __future__ import annotations

from fastapi import APIRouter

from services.common.cursor import InvalidCursor
from services.contracts.worklist import WorkList, WorkListQuery, WorkSummary
from services.gateway.api.table import Forward, mount

router = APIRouter(prefix="/api/v1/staff", tags=["staff: work lists"])

ROWS = [
    Forward("GET", "/api/v1/staff/appeals", "intake", "/internal/worklist", WorkList,
            "The work list: appeals in one's scope, filtered, by next deadline (none last)",
            query=WorkListQuery, errors=(InvalidCursor,),
            description="Cursor-paged: pass `next_cursor` back as `cursor`; a cursor that is not "
                        "ours is a `422 invalid_cursor`. `holder=mine`: what one's own unit holds."),
    Forward("GET", "/api/v1/staff/appeals/summary", "intake", "/internal/worklist/summary", WorkSummary,
            "Counts per status (and overdue) in one's scope"),
]  # fmt: skip
mount(router, ROWS)

__all__ = ["router"]
