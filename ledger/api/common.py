"""What every ledger route shares: the idempotency key, the acting principal, how a command's
first answer is rendered, and its OpenAPI documentation."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Header, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession

from ledger.errors import IdempotencyKeyRequired
from ledger.service import PROCESS_LINKER, Outcome
from services.common.auth import InternalCaller, author_of
from services.common.db import DbSession
from services.common.errors import (
    PROBLEM_JSON,
    DomainError,
    IdempotencyConflict,
    InvalidInput,
    Unauthorized,
    problem_responses,
)

REPLAY_HEADER = "Idempotent-Replayed"


async def idempotency_key(
    key: Annotated[str | None, Header(alias="Idempotency-Key", include_in_schema=True)] = None,
) -> str:
    """The command's `Idempotency-Key` header: required, 1-200 visible ASCII characters."""
    if key is None or not (0 < len(key) <= 200) or not key.isascii() or not key.isprintable() or " " in key:
        raise IdempotencyKeyRequired()
    return key


IdempotencyKey = Annotated[str, Depends(idempotency_key)]


@dataclass(frozen=True)
class CommandCall:
    """One command request: the session, the `Idempotency-Key`, the author and the request."""

    db: AsyncSession
    key: str
    actor: str
    request: Request

    async def run(self, operation: Callable[..., Awaitable[Outcome]], *args: Any, **options: Any) -> Response:
        """Run a ledger operation under the call's key and answer with its first answer: every
        command route is this one line, whatever the operation."""
        outcome = await operation(self.db, *args, idempotency_key=self.key, actor=self.actor, **options)
        return answer(outcome, self.request)


async def chained_after_commit() -> AsyncIterator[None]:
    """Link the request's entries into the hash chain once its unit of work has committed.

    Declared before the session, so it is left after the session's COMMIT (dependencies leave in
    reverse order), and still before the answer is sent: an answered entry is chained. Not on
    an error, which committed nothing."""
    yield
    await PROCESS_LINKER.settle()


ChainedAfterCommit = Annotated[None, Depends(chained_after_commit, scope="function")]


async def command_call(
    caller: InternalCaller, key: IdempotencyKey, chained: ChainedAfterCommit, db: DbSession, request: Request
) -> CommandCall:
    """FastAPI dependency: the parts of a command request (the caller first, so a call without a
    service token is a 401 before a missing key is a 422)."""
    return CommandCall(db, key, author_of(caller), request)


LedgerCommand = Annotated[CommandCall, Depends(command_call)]
"""What a command route needs: `await call.run(service.operation, *path_args, body)`."""


def answer(outcome: Outcome, request: Request) -> Response:
    """A command's first answer: 201 with its result, 200 for a replay of it, or the problem it
    was refused with, as often as it is asked (a failed key stays failed)."""
    headers = {REPLAY_HEADER: "true"} if outcome.replayed else None
    if outcome.failed:
        body = {**outcome.body, "instance": request.url.path}
        return JSONResponse(body, status_code=outcome.status, media_type=PROBLEM_JSON, headers=headers)
    return JSONResponse(outcome.body, status_code=200 if outcome.replayed else 201, headers=headers)


def command_responses(model: type[BaseModel], *errors: type[DomainError]) -> dict[int | str, dict[str, Any]]:
    """OpenAPI for a command: its result (201, or 200 on replay) and the problems it may answer."""
    return {
        201: {"description": "Done: the result", "model": model},
        200: {"description": "A replay of an earlier request with the same key and body", "model": model},
        **problem_responses(Unauthorized, IdempotencyConflict, InvalidInput, IdempotencyKeyRequired, *errors),
    }
