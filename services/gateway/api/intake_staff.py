"""Staff commands on appeals (`/api/v1/staff/appeals/{id}/...`), forwarded to intake with the verified
member of staff as actor: rows of the gateway's table.

Intake checks scope, role and state (404 outside one's scope, 403 for the wrong role, 409 naming
the state for an illegal move) and answers RFC 9457 problems, passed through unchanged; the door
keeps a read-only auditor from every command (issue 15.1).
`GET /api/v1/staff/appeals/{id}`, `POST .../transitions` and `GET .../clocks` live in `forwarded.py`.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query, Response

from services.common.auth import Principal, Role
from services.common.errors import (
    Conflict,
    Forbidden,
    IllegalTransition,
    InvalidInput,
    NotFound,
    Unauthorized,
    problem_responses,
)
from services.contracts.staff import (
    ArchiveRecord,
    AuditEntry,
    CloseRequest,
    ComplainedUnit,
    DuplicateView,
    Moved,
    Reason,
    RevealAuditQuery,
    Revealed,
    RevealRequest,
    StaffTimelineEntry,
    SuggestionDecided,
    Withheld,
)
from services.gateway.api.table import HANDLERS, Forward, mount, roles_dependency
from services.gateway.service.client import call, relay_response

router = APIRouter(prefix="/api/v1/staff", tags=["staff: appeals"])
A = "/api/v1/staff/appeals/{appeal_id}"
IA = "/internal/appeals/{appeal_id}"
CITY_READ: tuple[Role, ...] = ("city_admin", "auditor")

COMMANDS: dict[str, str] = {
    "hold": "Put on hold, waiting for the resident (clocks pause)",
    "resume": "Resume from hold, back to where it was",
    "withdraw": "Withdraw at the resident's request (reason required)",
    "reject": "Reject, with the reason the resident is told",
    "start": "Start, or restart after reopening, the work",
    "complete": "Complete the work (办结): the return visit (回访) is due",
    "reopen": "Reopen: the work is redone as a new round",
}
DISCLOSURE: dict[str, str] = {
    "withhold": "Withhold from public disclosure, with a reason",
    "publish": "Return a withheld appeal to public disclosure",
}
STATE = (NotFound, IllegalTransition)

ROWS = [
    *(Forward("POST", f"{A}/{name}", "intake", f"{IA}/{name}", Moved, summary, roles=HANDLERS, body=Reason,
              errors=STATE) for name, summary in COMMANDS.items()),
    *(Forward("POST", f"{A}/{name}", "intake", f"{IA}/{name}", Withheld, summary, roles=HANDLERS, body=Reason,
              errors=(NotFound,)) for name, summary in DISCLOSURE.items()),
    Forward("POST", f"{A}/close", "intake", f"{IA}/close", Moved,
            "Close with the return visit (回访): result resolved/partly/not, rating 满意/基本满意/不满意",
            roles=HANDLERS, body=CloseRequest, errors=(NotFound, Conflict)),
    Forward("PUT", f"{A}/complained-unit", "intake", f"{IA}/complained-unit", ComplainedUnit,
            "The unit complained about (保密)", roles=HANDLERS, body=ComplainedUnit, errors=STATE),
    Forward("POST", f"{A}/reveal", "intake", f"{IA}/reveal", Revealed,
            "Reveal a reporter's full phone / ID number (audited, roles that need it only)", roles=HANDLERS,
            body=RevealRequest, errors=(NotFound,)),
    Forward("GET", f"{A}/timeline", "intake", f"{IA}/timeline", list[StaffTimelineEntry],
            "The whole timeline (who, when, why)", errors=(NotFound,)),
    Forward("GET", f"{A}/duplicates", "intake", f"{IA}/duplicates", list[DuplicateView],
            "Duplicate candidates with score and reasons", errors=(NotFound,)),
    Forward("POST", f"{A}/duplicates/{{master_id}}/confirm", "intake", f"{IA}/duplicates/{{master_id}}/confirm",
            Moved, "Confirm a duplicate: link it", roles=HANDLERS, body=Reason, errors=STATE),
    Forward("POST", f"{A}/duplicates/{{master_id}}/reject", "intake", f"{IA}/duplicates/{{master_id}}/reject",
            SuggestionDecided, "Not the same matter", roles=HANDLERS, body=Reason, errors=STATE),
    Forward("POST", f"{A}/duplicates/undo", "intake", f"{IA}/duplicates/undo", Moved, "Undo a duplicate link",
            roles=HANDLERS, body=Reason, errors=STATE),
    Forward("GET", f"{A}/archive", "intake", f"{IA}/archive", ArchiveRecord,
            "The complete record of a finished appeal", errors=(NotFound, Conflict)),
    Forward("GET", "/api/v1/staff/audit/reveals", "intake", "/internal/audit/reveals", list[AuditEntry],
            "The audit of every reveal of personal data", query=RevealAuditQuery),
]  # fmt: skip
mount(router, ROWS)


@router.get(
    "/archive/export",
    responses={
        200: {
            "description": "One `ArchiveRecord` per line (JSON lines)",
            "content": {"application/x-ndjson": {"schema": {"$ref": "#/components/schemas/ArchiveRecord"}}},
        },
        **problem_responses(Unauthorized, Forbidden, InvalidInput),
    },
    response_class=Response,
    summary="Every appeal finished in a period, as JSON lines (city)",
)
async def archive_export(
    principal: Annotated[Principal, roles_dependency(None)],
    start: Annotated[date, Query(alias="from")],
    end: Annotated[date, Query(alias="to")],
) -> Response:
    upstream = await call(
        "intake",
        "GET",
        "/internal/archive/export",
        params={"from": start.isoformat(), "to": end.isoformat()},
        actor=principal,
    )
    response = relay_response(upstream)
    if "content-disposition" in upstream.headers:
        response.headers["Content-Disposition"] = upstream.headers["content-disposition"]
    return response


__all__ = ["COMMANDS", "ROWS", "router"]
