"""The fixture intake's tests share: its internal API in-process."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from intake.api.app import app


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    """Intake's internal API in-process (each call names its caller with `tests.fixtures.auth`)."""
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://intake") as client:
        yield client
