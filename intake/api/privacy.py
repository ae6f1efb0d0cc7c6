"""保密 and reveals: the only way a full phone or ID number reaches a member of staff.

POST /internal/appeals/{id}/reveal   {relation, field, index, reason}   audited; roles that need it only
     (`quoted_phone` / `quoted_id_number`: the index-th number of that kind written in the words)
GET  /internal/audit/reveals?appeal_id=&since=&limit=            the audit (city admins, auditors)
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query

from intake.api.deps import CurrentAppeal, StaffActor
from intake.errors import WrongRole
from intake.schemas import AuditEntry, Revealed, RevealRequest
from intake.service import access, confidentiality
from services.common.db import DbSession as Db
from services.common.errors import Forbidden, NotFound, problem_responses

router = APIRouter(prefix="/internal", tags=["intake: privacy"])


@router.post(
    "/appeals/{appeal_id}/reveal",
    response_model=Revealed,
    responses=problem_responses(NotFound, Forbidden),
    summary="Reveal a reporter's full phone / ID number / withheld name, or a number quoted in the words (audited)",
)
async def reveal(body: RevealRequest, appeal: CurrentAppeal, db: Db, staff: StaffActor) -> Revealed:
    if not access.can_see(staff, appeal):
        raise NotFound()
    return await confidentiality.reveal(
        db, appeal, staff, body.relation, body.field, body.reason.strip(), index=body.index
    )


@router.get(
    "/audit/reveals",
    response_model=list[AuditEntry],
    responses=problem_responses(Forbidden, WrongRole),
    summary="The reveal audit, newest first",
)
async def audit(
    db: Db,
    staff: StaffActor,
    appeal_id: uuid.UUID | None = None,
    since: datetime | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> list[AuditEntry]:
    if not access.may(staff, "audit"):
        raise WrongRole()
    return await confidentiality.audit_log(db, appeal_id=appeal_id, since=since, limit=limit)
