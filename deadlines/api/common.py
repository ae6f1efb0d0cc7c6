"""What the deadlines routes share: the session, the acting member of staff, paging."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Query
from sqlalchemy.ext.asyncio import AsyncSession

from deadlines.errors import StaffRequired
from services.common import auth
from services.common.auth import Principal, ServiceCaller
from services.common.db import get_db

DbSession = Annotated[AsyncSession, Depends(get_db, scope="function")]
Page = Annotated[int, Query(ge=1, le=10_000, description="1 for the first page")]
PageSize = Annotated[int, Query(ge=1, le=200)]


def staff_of(caller: ServiceCaller) -> Principal:
    """The member of staff the gateway vouches for; a command without one is refused (403
    ``staff_required``, as the deadlines API has always documented)."""
    return auth.staff_of(caller, StaffRequired)
