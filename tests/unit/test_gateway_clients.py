"""The gateway's clients of a service: calls in flight spread over several small pools (one pool's
CPU per call grows with the calls it holds), an idle service reuses its first, and a client put
in place by a test is used alone."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack

import httpx
import pytest

from services.gateway.service import client as gateway_client
from services.gateway.service.client import CLIENTS_PER_SERVICE, _leased, close_clients


@pytest.fixture(autouse=True)
async def _fresh() -> AsyncIterator[None]:
    await close_clients()
    yield
    await close_clients()


async def test_calls_in_flight_take_the_least_busy_client() -> None:
    async with AsyncExitStack() as stack:
        held = [await stack.enter_async_context(_leased("ledger")) for _ in range(CLIENTS_PER_SERVICE)]
        assert len({id(c) for c in held}) == CLIENTS_PER_SERVICE  # one each while all are busy
        extra = await stack.enter_async_context(_leased("ledger"))
        assert extra in held  # then they share
    async with _leased("ledger") as first, _leased("ledger") as second:
        assert first is held[0] and second is held[1]  # idle again: the first, then the next


async def test_a_client_put_in_place_is_used_alone_and_every_client_is_closed() -> None:
    async with _leased("ledger") as ours:
        pass
    mine = httpx.AsyncClient(base_url="http://elsewhere")
    gateway_client._clients["ledger"] = mine
    async with _leased("ledger") as a, _leased("ledger") as b:
        assert a is mine and b is mine
    await close_clients()
    assert mine.is_closed and ours.is_closed
