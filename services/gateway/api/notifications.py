"""Staff notifications (DESIGN §10): each member of staff reads what was addressed to their unit,
unread first, and marks it read; and says where their own are pushed (`/api/v1/staff/me/contact`).
The gateway owns them (`service/notifications`)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query

from services.common.auth import Principal
from services.common.cursor import InvalidCursor
from services.common.db import DbSession
from services.common.errors import Forbidden, InvalidInput, NotFound, Unauthorized, problem_responses
from services.contracts.worklist import (
    NotificationList,
    NotificationQuery,
    StaffContact,
    StaffContactIn,
    StaffNotification,
)
from services.gateway.api.table import HANDLERS, roles_dependency
from services.gateway.service.normalise import InvalidPhoneProblem
from services.gateway.service.notifications import contact, service

router = APIRouter(prefix="/api/v1/staff/notifications", tags=["staff: notifications"])
# Mounted before `forwarded.staff`, like the work list.
me = APIRouter(prefix="/api/v1/staff/me", tags=["staff: notifications"])


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


@me.get(
    "/contact",
    response_model=StaffContact,
    summary="Where one's own notifications are pushed (masked)",
    description="Roles: any member of staff; one's own account only.",
    responses=problem_responses(Unauthorized, NotFound),
)
async def my_contact(db: DbSession, principal: Annotated[Principal, roles_dependency(None)]) -> StaffContact:
    return await contact.contact_of(db, principal)


_CONTACT_ERRORS = problem_responses(Unauthorized, Forbidden, NotFound, InvalidInput)
_CONTACT_ERRORS[422]["description"] += f" `{InvalidPhoneProblem.code}`: not a mobile that takes SMS."


@me.put(
    "/contact",
    response_model=StaffContact,
    summary="Set where one's own notifications are pushed: a mobile for SMS, a mini-program openid",
    description="Roles: every role but `auditor` (nothing is addressed to an auditor); one's own "
    "account only. Both fields replace what was there; null clears one. The mobile is kept only "
    "encrypted and answered masked; a number that cannot take an SMS is a `422 invalid_phone`, "
    "and changes nothing.",
    responses=_CONTACT_ERRORS,
    openapi_extra={"x-roles": list(HANDLERS)},
)
async def set_my_contact(
    body: StaffContactIn,
    db: DbSession,
    principal: Annotated[Principal, roles_dependency(HANDLERS, write=True)],
) -> StaffContact:
    return await contact.set_contact(db, principal, body)
