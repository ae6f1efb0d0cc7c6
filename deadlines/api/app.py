"""The deadlines service's ASGI app: ``uvicorn deadlines.api.app:app``."""

from __future__ import annotations

from deadlines.api import extensions, queries, rules
from deadlines.api.clocks import router
from deadlines.models import messaging
from services.common import dead_letters
from services.common.app import create_service_app

app = create_service_app(
    "deadlines",
    [router, rules.router, extensions.router, queries.router, dead_letters.router("deadlines", messaging)],
    title="民生大莞家 deadlines service (时限)",
)
