"""The intake service's ASGI app."""

from __future__ import annotations

from intake.api import router
from services.common.app import create_service_app

app = create_service_app("intake", [router], title="民生大莞家 intake (internal)")
