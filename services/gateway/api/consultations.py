"""Staff routes of community consultations (协商议事) on micro-projects: rows of the gateway's table."""

from __future__ import annotations

from fastapi import APIRouter

from services.common.errors import Conflict, NotFound
from services.contracts.routing.consultations import ConsultationIn, ConsultationView, ObjectionIn
from services.contracts.routing.queries import AppealQuery
from services.contracts.vocabulary import Role
from services.gateway.api.table import Forward, mount

router = APIRouter(prefix="/api/v1/consultations", tags=["consultations"])
C = "/api/v1/consultations"
CONVENERS: tuple[Role, ...] = ("city_admin", "town_staff", "village_staff")

ROWS = [
    Forward("POST", C, "routing", "/internal/consultations", ConsultationView,
            "Record a meeting (居民议事会, 党群联席会议, 民情恳谈会, 网络协商) and its votes on the five points",
            roles=CONVENERS, body=ConsultationIn, status=201, errors=(NotFound, Conflict)),
    Forward("GET", C, "routing", "/internal/consultations", list[ConsultationView],
            "The consultations held on an appeal", query=AppealQuery, errors=(NotFound,)),
    Forward("GET", f"{C}/{{consultation_id}}", "routing", "/internal/consultations/{consultation_id}",
            ConsultationView, "One consultation", errors=(NotFound,)),
    Forward("POST", f"{C}/{{consultation_id}}/objections", "routing",
            "/internal/consultations/{consultation_id}/objections", ConsultationView,
            "An objection during the public notice (公示) sends the item back to consultation",
            roles=CONVENERS, body=ObjectionIn, errors=(NotFound, Conflict)),
    Forward("POST", f"{C}/{{consultation_id}}/approval", "routing",
            "/internal/consultations/{consultation_id}/approval", ConsultationView,
            "Approve the plan once its notice ended without objection (the worker also does it)",
            roles=CONVENERS, errors=(NotFound, Conflict)),
]  # fmt: skip
mount(router, ROWS)

__all__ = ["CONVENERS", "ROWS", "router"]
