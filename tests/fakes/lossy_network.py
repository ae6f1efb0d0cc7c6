"""The network between the gateway and a service losing an answer after the service committed.

`first_recording_answer_lost()` puts, for its duration, a transport under the gateway's client
for intake that sends every request on but loses the answer to the first recording
(`POST /internal/appeals`): it is read — intake has committed — and then the connection is
"reset". The gateway's client must ask again (`services.gateway.service.client.REPLAYABLE`).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx

from services.common.settings import get_settings
from services.gateway.service import client as gateway_client


class LosesFirstRecordingAnswer(httpx.AsyncBaseTransport):
    """Real HTTP, but the first recording's answer never arrives (`lost` counts it)."""

    def __init__(self) -> None:
        self.inner = httpx.AsyncHTTPTransport()
        self.lost = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self.inner.handle_async_request(request)
        if request.method == "POST" and request.url.path == "/internal/appeals" and not self.lost:
            await response.aread()
            await response.aclose()
            self.lost += 1
            raise httpx.ReadError("connection reset by peer", request=request)
        return response

    async def aclose(self) -> None:
        await self.inner.aclose()


@asynccontextmanager
async def first_recording_answer_lost() -> AsyncIterator[LosesFirstRecordingAnswer]:
    """The gateway's intake client over a `LosesFirstRecordingAnswer`; the usual one after."""
    lossy = LosesFirstRecordingAnswer()
    saved = gateway_client._clients.get("intake")
    gateway_client._clients["intake"] = httpx.AsyncClient(
        transport=lossy, base_url=get_settings().service_url("intake")
    )
    try:
        yield lossy
    finally:
        await gateway_client._clients["intake"].aclose()
        if saved is not None:
            gateway_client._clients["intake"] = saved
        else:
            gateway_client._clients.pop("intake", None)
