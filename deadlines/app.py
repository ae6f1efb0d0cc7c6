"""The deadlines service's ASGI app: ``uvicorn deadlines.app:app``."""

from __future__ import annotations

from deadlines.api import router
from deadlines.endpoints import extensions, queries, rules
from services.common.app import create_service_app

app = create_service_app(
    "deadlines",
    [router, rules.router, extensions.router, queries.router],
    title="民生大莞家 deadlines service (时限)",
)
