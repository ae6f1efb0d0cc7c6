"""Test setup: a fresh database on the real PostgreSQL, a private Redis namespace, real workers.

PostgreSQL and Redis are expected on 127.0.0.1:5432 and :6379 (trust auth, user postgres). When
they are installed but down they are started; on a machine with neither, the embedded servers
of `guanjia up` stand in. The environment is set before anything reads settings, so every module
in the process (and every subprocess the system tests start) sees the same database and queue
prefix.
"""

from __future__ import annotations

import asyncio
import base64
import os
import secrets
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import pytest


def _listening(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", port)) == 0


def _ensure_postgres() -> str:
    if url := os.environ.get("GUANJIA_TEST_PG"):
        return url
    if not _listening(5432) and shutil.which("pg_ctlcluster") and Path("/etc/postgresql").exists():
        version = sorted(os.listdir("/etc/postgresql"))[0]
        subprocess.run(
            ["pg_ctlcluster", "--skip-systemctl-redirect", version, "main", "start"],
            check=False,
            capture_output=True,
        )
    if _listening(5432):
        return "postgresql://postgres@127.0.0.1:5432/postgres"
    from services.embedded import Embedded

    embedded = Embedded(data_dir=Path(tempfile.mkdtemp(prefix="guanjia-test-")))
    embedded.start_postgres()
    assert embedded.database_url is not None
    return embedded.database_url.replace("/guanjia?", "/postgres?")


def _ensure_redis() -> str:
    if url := os.environ.get("GUANJIA_TEST_REDIS"):
        return url
    if not _listening(6379) and shutil.which("redis-server"):
        subprocess.run(["redis-server", "--daemonize", "yes", "--port", "6379", "--save", ""], check=False)
        for _ in range(50):
            if _listening(6379):
                break
            asyncio.run(asyncio.sleep(0.1))
    if _listening(6379):
        return "redis://127.0.0.1:6379/0"
    from services.embedded import Embedded

    embedded = Embedded(data_dir=Path(tempfile.mkdtemp(prefix="guanjia-test-")))
    return embedded.start_redis()


PG_ADMIN_URL = _ensure_postgres()
TEST_DB = f"guanjia_test_{os.getpid()}_{secrets.token_hex(3)}"


def _db_url(name: str) -> str:
    head, _, tail = PG_ADMIN_URL.partition("?")
    return head.rsplit("/", 1)[0] + f"/{name}" + (f"?{tail}" if tail else "")


os.environ.update(
    {
        "DATABASE_URL": _db_url(TEST_DB),
        "REDIS_URL": _ensure_redis(),
        "GUANJIA_ENV": "test",
        # Tests mint staff tokens for people they never store; the check has its own tests.
        "GUANJIA_CHECK_STAFF_ACCOUNTS": "0",
        "GUANJIA_QUEUE_PREFIX": f"gjtest-{uuid.uuid4().hex[:8]}",
        "GUANJIA_INTERNAL_SECRET": secrets.token_hex(32),
        "GUANJIA_TOKEN_SECRET": secrets.token_hex(32),
        "GUANJIA_HOTLINE_SECRET": secrets.token_hex(16),
        "GUANJIA_PII_KEY": base64.urlsafe_b64encode(os.urandom(32)).decode(),
        "GUANJIA_JOB_TIMEOUT": "10",
        "GUANJIA_RELAY_INTERVAL": "0.05",
        # Many tests file the same realistic appeal (东方路的路灯坏了) from different reporters; with
        # automatic duplicate linking on, each would be merged into the first. Off here (a score
        # never reaches 2); the duplicate tests turn it on for themselves. Suggestions still run.
        "GUANJIA_DUPLICATE_LINK_AT": "2",
    }
)


def _admin(sql: str) -> None:
    async def run() -> None:
        conn = await asyncpg.connect(PG_ADMIN_URL)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    asyncio.run(run())


@pytest.fixture(scope="session", autouse=True)
def database() -> Iterator[str]:
    """A database of our own for this test session, migrated with Alembic."""
    from services.migrations.run import upgrade_heads

    _admin(f'CREATE DATABASE "{TEST_DB}"')
    try:
        upgrade_heads(os.environ["DATABASE_URL"])
        yield os.environ["DATABASE_URL"]
    finally:
        _admin(f'DROP DATABASE IF EXISTS "{TEST_DB}" WITH (FORCE)')


@pytest.fixture(scope="session", autouse=True)
async def _dispose_engine() -> AsyncIterator[None]:
    yield
    from services.common.db import get_engine

    await get_engine().dispose()
