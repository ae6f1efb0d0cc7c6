"""Routing's internal REST API (``/internal``), one router per concern."""

from __future__ import annotations

from routing.api import catalogue, consultations, dispositions, donors, stations, triage

ROUTERS = (
    triage.router,
    catalogue.router,
    dispositions.router,
    consultations.router,
    stations.router,
    donors.router,
)

__all__ = ["ROUTERS"]
