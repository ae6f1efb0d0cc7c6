"""The gateway's calls to a service: over the lean keep-alive transport when the service is plain
http, over httpx's own when it is reached over TLS, and through a client a test put in place."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from services.common.errors import ServiceUnavailable
from services.common.http_client import LeanTransport
from services.common.settings import get_settings
from services.gateway.service import client as gateway_client
from services.gateway.service.client import call, close_clients


@pytest.fixture(autouse=True)
async def _fresh() -> AsyncIterator[None]:
    await close_clients()
    yield
    await close_clients()


def _answers(request: httpx.Request) -> httpx.Response:
    return httpx.Response(
        200, json={"path": request.url.raw_path.decode(), "auth": request.headers["authorization"][:7]}
    )


async def test_a_client_put_in_place_takes_the_calls_and_is_closed_with_the_rest() -> None:
    mine = httpx.AsyncClient(base_url="http://elsewhere", transport=httpx.MockTransport(_answers))
    gateway_client._clients["ledger"] = mine
    answer = await call("ledger", "GET", "/internal/x y")
    assert answer.json() == {"path": "/internal/x%20y", "auth": "Bearer "}
    await close_clients()
    assert mine.is_closed and not gateway_client._clients


async def test_a_plain_http_service_gets_the_lean_transport_and_tls_gets_httpx(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("GUANJIA_ROUTING_URL", "https://routing.example:8443")
    get_settings.cache_clear()
    try:
        for service in ("ledger", "routing"):
            with pytest.raises(ServiceUnavailable):  # nothing listens there
                await call(service, "GET", "/internal/health")
        assert isinstance(gateway_client._transports["ledger"], LeanTransport)
        assert isinstance(gateway_client._transports["routing"], httpx.AsyncHTTPTransport)
    finally:
        monkeypatch.undo()
        get_settings.cache_clear()
