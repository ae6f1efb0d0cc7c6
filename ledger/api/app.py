"""The ledger service's ASGI app: `uvicorn ledger.api.app:app`."""

from __future__ import annotations

from ledger.api import router
from services.common.app import create_service_app

app = create_service_app("ledger", [router], title="民生大莞家 ledger (资金台账)")
