"""The deadlines service's ASGI app: ``uvicorn deadlines.app:app``."""

from __future__ import annotations

from deadlines.api import router
from services.common.app import create_service_app

app = create_service_app("deadlines", [router], title="民生大莞家 deadlines service (时限)")
