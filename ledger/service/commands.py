"""The ledger's idempotent commands (幂等): every command's first answer is kept, a failure as much
as a success, in `ledger.commands` (the kernel's `services.common.idempotency`, which the ledger's
command table was lifted into).

The ledger's events (`funds.*`) go to its outbox inside the command's savepoint, so they exist
exactly when the effect does; a refusal may emit its own (`funds.insufficient`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, cast

from pydantic import BaseModel
from sqlalchemy import Table
from sqlalchemy.ext.asyncio import AsyncSession

from ledger.models import Command, messaging
from services.common import idempotency
from services.common.idempotency import Effect, Execute, OnFailure, Outcome

__all__ = ["STORE", "Effect", "Outcome", "run_command"]

STORE = idempotency.CommandStore(cast(Table, Command.__table__), messaging)


async def run_command(
    session: AsyncSession,
    *,
    operation: str,
    key: str,
    command: BaseModel | Mapping[str, Any],
    actor: str,
    execute: Execute,
    on_failure: OnFailure | None = None,
) -> Outcome:
    """Run `execute(digest)` once per idempotency key in the ledger's command table."""
    return await idempotency.run_command(
        session,
        STORE,
        operation=operation,
        key=key,
        command=command,
        actor=actor,
        execute=execute,
        on_failure=on_failure,
    )
