"""Dependencies of routing's internal routes: who acts (the staff the gateway verified)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from services.common.auth import InternalCaller, Principal
from services.common.errors import Unauthorized


async def _actor(caller: InternalCaller) -> Principal:
    if caller.actor is None:
        raise Unauthorized()
    return caller.actor


async def _maybe_actor(caller: InternalCaller) -> Principal | None:
    return caller.actor


Actor = Annotated[Principal, Depends(_actor)]
"""A member of staff, as the gateway verified them; 401 without one."""
MaybeActor = Annotated[Principal | None, Depends(_maybe_actor)]
"""A member of staff, or None for a call the gateway made on a resident's or donor's behalf."""
