"""The ledger's internal REST API (`/internal/ledger`): thin routes over `ledger.service`.

Commands (POST) carry an `Idempotency-Key` and answer 201, 200 for a replay with the same key
and body (the first answer, even a refusal), 409 `idempotency_key_reused` for the same key with
another body. Reads are GETs; the public disclosure is `/internal/ledger/public/funds`.
"""

from __future__ import annotations

from fastapi import APIRouter

from ledger.api import operations, reads

router = APIRouter(prefix="/internal/ledger", tags=["ledger"])
router.include_router(operations.router)
router.include_router(reads.router)

__all__ = ["router"]
