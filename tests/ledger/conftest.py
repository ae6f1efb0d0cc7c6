"""The fixture the ledger's tests share: its internal API in-process, behind the story helpers."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.ledger.support import Ledger, ledger_client


@pytest.fixture
async def ledger() -> AsyncIterator[Ledger]:
    """The ledger's internal API in-process, with a gateway service token, read through `Ledger`."""
    async for http in ledger_client():
        yield Ledger(http)
