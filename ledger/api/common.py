"""What every ledger route shares: the idempotency key, the acting principal, how a command's
first answer is rendered, and its OpenAPI documentation."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Header, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from ledger.errors import IdempotencyKeyRequired
from ledger.service import Outcome
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
