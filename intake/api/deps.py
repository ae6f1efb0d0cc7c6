"""Dependencies shared by the routes: the acting member of staff (the kernel's `StaffActor`), the
appeal they act on."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import Depends

from intake.models import Appeal
from intake.service.records import get_appeal
from services.common.auth import InternalCaller, StaffActor
from services.common.db import DbSession


# The caller's token is checked before the appeal is looked up: without one, a real id and an
# unknown one both answer 401, never 404 for the one and 401 for the other (issue 15).
async def _locked(appeal_id: uuid.UUID, db: DbSession, caller: InternalCaller) -> Appeal:
    return await get_appeal(db, appeal_id, lock=True)


async def _unlocked(appeal_id: uuid.UUID, db: DbSession, caller: InternalCaller) -> Appeal:
    return await get_appeal(db, appeal_id)


# The appeal of the path, row-locked for a command (serialises concurrent commands on it).
LockedAppeal = Annotated[Appeal, Depends(_locked)]
CurrentAppeal = Annotated[Appeal, Depends(_unlocked)]


__all__ = ["CurrentAppeal", "LockedAppeal", "StaffActor"]
