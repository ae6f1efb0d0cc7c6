"""The fixtures deadlines' tests share: its internal API, and the gateway in front of it, in-process."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from tests.deadlines.support import gateway_client, internal_client


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    """The deadlines app in-process, as the gateway calls it."""
    async for c in internal_client():
        yield c


@pytest.fixture
async def gateway() -> AsyncIterator[httpx.AsyncClient]:
    """The gateway in-process, forwarding to the deadlines and intake apps in-process."""
    async for c in gateway_client():
        yield c
