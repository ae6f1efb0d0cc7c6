"""Staff notifications (DESIGN §10): each member of staff reads what was addressed to their unit,
unread first, and marks it read. The gateway owns them (`service/notifications`)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query

from services.common.auth import Principal
from services.common.cursor import InvalidCursor
from services.common.db import DbSession
from services.common.errors import Forbidden, InvalidInput, NotFound, Unauthorized, problem_responses
from services.contracts.worklist import NotificationList, NotificationQuery, StaffNotification
from services.gateway.api.table import HANDLERS, roles_dependency
from services.gateway.service.notifications import service

router = APIRouter(prefix="/api/v1/staff/notifications", tags=["staff: notifications"])


@router.get(
    "",
    response_model=NotificationList,
    summary="One's notifications: unread first, newest first",
    description="Roles: any member of staff; each reads what was addressed to their own unit.",
    responses=problem_responses(Unauthorized, InvalidInput, InvalidCursor),
)
async def list_notifications(
    query: Annotated[NotificationQuery, Query()],
    db: DbSession,
    principal: Annotated[Principal, roles_dependency(None)],
) -> NotificationList:
    return await service.list_for(db, principal, query)


@router.post(
    "/{notification_id}/read",
    response_model=StaffNotification,
    summary="Mark one of one's notifications read",
    description="Roles: every role but `auditor`. Another unit's notification is a `404`.",
    responses=problem_responses(Unauthorized, Forbidden, NotFound),
    openapi_extra={"x-roles": list(HANDLERS)},
)
async def read_notification(
    notification_id: uuid.UUID,
    db: DbSession,
    principal: Annotated[Principal, roles_dependency(HANDLERS, write=True)],
) -> StaffNotification:
    return await service.mark_read(db, principal, notification_id)
