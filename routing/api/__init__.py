"""Routing's internal REST API (``/internal``), one router per concern."""

from __future__ import annotations

from routing.api import catalogue, consultations, dispositions, donors, stations, triage
from routing.api.registers import router as registers_router

ROUTERS = (
    triage.router,
    catalogue.router,
    dispositions.router,
    consultations.router,
    stations.router,
    donors.router,
    registers_router,
)

__all__ = ["ROUTERS"]
