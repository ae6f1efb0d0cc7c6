"""The fixture routing's tests share: its internal API in-process, on an empty queue."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from tests.routing.support import empty_queue, routing_client


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    """Routing's internal API in-process; the queue is emptied first, so that a job left by an
    earlier test cannot run inside this one."""
    await empty_queue()
    async with routing_client() as client:
        yield client
