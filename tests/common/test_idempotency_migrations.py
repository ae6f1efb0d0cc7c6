"""The migrations that moved claim and extension keys into the kernel's command table (issue 13.5):
keys sent before them still replay, because each is copied under its scope with the fingerprint
the new code computes for the same body."""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime

import asyncpg
import pytest
from alembic import command

from deadlines.schemas import ExtensionIn
from routing.service.claims import ClaimRequest
from services.common.idempotency import request_hash, scoped_key
from services.migrations.run import alembic_config

BEFORE = ("d5e7a1c3b9f2", "d16c0a7e1f02")  # routing's and deadlines' revisions before the move


def _plain(url: str) -> str:
    return url.replace("postgresql+asyncpg://", "postgresql://")


async def _admin(sql: str) -> None:
    conn = await asyncpg.connect(_plain(os.environ["DATABASE_URL"]))
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


@pytest.fixture
def scratch() -> Iterator[str]:
    """A database of its own, migrated only up to the revisions before the move."""
    name = f"idem_mig_{uuid.uuid4().hex[:10]}"
    asyncio.run(_admin(f'CREATE DATABASE "{name}"'))
    url = os.environ["DATABASE_URL"].rsplit("/", 1)[0] + f"/{name}"
    try:
        for revision in BEFORE:
            command.upgrade(alembic_config(url), revision)
        yield url
    finally:
        asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


async def _seed(
    url: str, claim: ClaimRequest, appeal_id: uuid.UUID, extension: ExtensionIn
) -> dict[str, uuid.UUID]:
    """One claim and one extension keyed as before the move, with their old fingerprints."""
    ids = {name: uuid.uuid4() for name in ("donor", "claim", "clock", "extension")}
    old_claim = hashlib.sha256(
        json.dumps({"appeal_id": str(appeal_id), **claim.__dict__}, sort_keys=True).encode()
    ).hexdigest()
    old_extension = hashlib.sha256(
        json.dumps(extension.model_dump(), sort_keys=True, ensure_ascii=False).encode()
    ).hexdigest()
    now = datetime(2026, 11, 30, 9, tzinfo=UTC)
    conn = await asyncpg.connect(_plain(url))
    try:
        await conn.execute(
            "INSERT INTO routing.donors (id, kind, name, pool, key_prefix, key_hash)"
            " VALUES ($1, 'enterprise', '爱心企业', 'city', 'dk_old', repeat('a', 64))",
            ids["donor"],
        )
        await conn.execute(
            "INSERT INTO routing.claim_listings (appeal_id, ticket_no, kind, category, summary, exclusive,"
            " state, target_fen, pledged_fen) VALUES ($1, 'GJ0001', 'micro_project', 'environment', '篮球场',"
            " false, 'open', 500000, 100000)",
            appeal_id,
        )
        await conn.execute(
            "INSERT INTO routing.claims (id, appeal_id, donor_id, kind, amount_fen, exclusive, idempotency_key,"
            " request_hash, expires_at, note) VALUES ($1, $2, $3, 'money', $4, false, 'pledge-1', $5, $6, $7)",
            ids["claim"],
            appeal_id,
            ids["donor"],
            claim.amount_fen,
            old_claim,
            now,
            claim.note,
        )
        await conn.execute(
            "INSERT INTO deadlines.clocks (id, appeal_id, clock, state, started_at, due_date, due_at,"
            " original_due_date, provisional, rule_version, limit_kind, limit_value, warn_at)"
            " VALUES ($1, $2, 'handling', 'running', $3, $4, $3, $4, false, 'v1', 'working_days', 10, $3)",
            ids["clock"],
            appeal_id,
            now,
            date(2026, 12, 14),
        )
        await conn.execute(
            "INSERT INTO deadlines.extensions (id, clock_id, appeal_id, status, days, reason, approver_type,"
            " approver_code, requested_by, requested_at, due_date_before, idempotency_key, request_hash)"
            " VALUES ($1, $2, $3, 'requested', $4, $5, 'town', '441900101', 'village1', $6, $7, 'ext-1', $8)",
            ids["extension"],
            ids["clock"],
            appeal_id,
            extension.days,
            extension.reason,
            now,
            date(2026, 12, 14),
            old_extension,
        )
    finally:
        await conn.close()
    return ids


async def _commands(url: str) -> dict[str, tuple[str, str, int, str]]:
    conn = await asyncpg.connect(_plain(url))
    try:
        rows = [
            *await conn.fetch(
                "SELECT idempotency_key, request_hash, state, status_code, response FROM routing.commands"
            ),
            *await conn.fetch(
                "SELECT idempotency_key, request_hash, state, status_code, response FROM deadlines.commands"
            ),
        ]
    finally:
        await conn.close()
    return {
        r["idempotency_key"]: (
            r["request_hash"],
            r["state"],
            r["status_code"],
            json.loads(r["response"])["id"],
        )
        for r in rows
    }


def test_keys_sent_before_the_move_replay_after_it(scratch: str) -> None:
    appeal_id = uuid.uuid4()
    claim = ClaimRequest(kind="money", amount_fen=100_000, service=None, note="支持村里建球场")
    extension = ExtensionIn(days=3, reason="需等待医保部门出具报销结算单")
    ids = asyncio.run(_seed(scratch, claim, appeal_id, extension))

    command.upgrade(alembic_config(scratch), "heads")

    kept = asyncio.run(_commands(scratch))
    assert kept == {
        scoped_key("claim", ids["donor"], "pledge-1"): (
            request_hash("claim", claim.command(appeal_id)),
            "succeeded",
            201,
            str(ids["claim"]),
        ),
        scoped_key("extension", ids["clock"], "ext-1"): (
            request_hash("extension", extension.model_dump(mode="json")),
            "succeeded",
            201,
            str(ids["extension"]),
        ),
    }
