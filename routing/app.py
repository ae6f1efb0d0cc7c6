"""The routing service's ASGI app."""

from __future__ import annotations

from routing.api import router
from services.common.app import create_service_app

app = create_service_app("routing", [router], title="民生大莞家 routing (internal)")
