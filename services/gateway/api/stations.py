"""Routes of 莞家驿站: the station registry, dispatch, service records and their confirmation.

Rows of the gateway's table, except the beneficiary's confirmation: a beneficiary confirms a
service with the appeal's ticket number and query code (查询码), checked against intake exactly as
the public status page checks them; staff confirm with their token.
"""

from __future__ import annotations

import re
import uuid

from fastapi import APIRouter, Depends, Response

from services.common.errors import Conflict, NotFound, ServiceUnavailable, problem_responses
from services.contracts.routing.dispositions import AssignmentView
from services.contracts.routing.queries import AppealQuery, StationQuery
from services.contracts.routing.stations import (
    BeneficiaryProof,
    DispatchIn,
    ServiceRecordIn,
    ServiceRecordView,
    StationIn,
    StationTotals,
    StationView,
)
from services.contracts.vocabulary import Role
from services.gateway.api.table import Forward, mount
from services.gateway.errors import TooManyRequests
from services.gateway.service.client import call, relay_response
from services.gateway.service.ratelimit import count_wrong_code, limit_public, refuse_if_guessed

router = APIRouter(prefix="/api/v1/stations", tags=["stations"])
S = "/api/v1/stations"
TICKET_RE = re.compile(r"^MS\d{8,20}$")


async def ticket_of_beneficiary(proof: BeneficiaryProof) -> str:
    """The ticket number, once intake confirms the query code; anything wrong is a plain 404."""
    if not TICKET_RE.match(proof.ticket_no):
        raise NotFound()
    await refuse_if_guessed(proof.ticket_no)
    checked = await call(
        "intake", "GET", f"/internal/public/appeals/{proof.ticket_no}", params={"code": proof.query_code}
    )
    if checked.status_code == 404:
        await count_wrong_code(proof.ticket_no)
        raise NotFound()
    if checked.status_code != 200:
        raise ServiceUnavailable()
    return proof.ticket_no


# Declared before /{code} so that "service-records" is never read as a station code.
ROWS_BEFORE = [
    Forward("GET", f"{S}/service-records", "routing", "/internal/service-records", list[ServiceRecordView],
            "The service records of an appeal", query=AppealQuery, errors=(NotFound,)),
    Forward("POST", f"{S}/service-records/{{record_id}}/confirmation", "routing",
            "/internal/service-records/{record_id}/confirmation", ServiceRecordView,
            "Staff of the town, village or city confirm a service took place",
            roles=("city_admin", "town_staff", "village_staff"), errors=(NotFound, Conflict), empty_json=True),
]  # fmt: skip
mount(router, ROWS_BEFORE)


@router.post(
    "/service-records/{record_id}/beneficiary-confirmation",
    response_model=ServiceRecordView,
    summary="The beneficiary confirms a service with the appeal's ticket number and query code",
    responses=problem_responses(NotFound, Conflict, TooManyRequests),
    dependencies=[Depends(limit_public)],
)
async def confirm_by_beneficiary(record_id: uuid.UUID, proof: BeneficiaryProof) -> Response:
    ticket_no = await ticket_of_beneficiary(proof)
    return relay_response(
        await call(
            "routing",
            "POST",
            f"/internal/service-records/{record_id}/confirmation",
            json={"ticket_no": ticket_no},
        )
    )


REGISTRARS: tuple[Role, ...] = ("city_admin", "town_staff")
ROWS = [
    Forward("GET", S, "routing", "/internal/stations", list[StationView],
            "Stations by town, village and service offered", auth="public", query=StationQuery),
    Forward("GET", f"{S}/{{code}}", "routing", "/internal/stations/{code}", StationView, "One station",
            auth="public", errors=(NotFound,)),
    Forward("GET", f"{S}/{{code}}/totals", "routing", "/internal/stations/{code}/totals", StationTotals,
            "A station's confirmed visits and hours", auth="public", errors=(NotFound,)),
    Forward("POST", f"{S}/{{code}}", "routing", "/internal/stations/{code}", StationView,
            "Register a station: town, village, services offered, team", roles=REGISTRARS, body=StationIn,
            status=201, errors=(Conflict,)),
    Forward("PUT", f"{S}/{{code}}", "routing", "/internal/stations/{code}", StationView,
            "Change a station's details, services or team", roles=REGISTRARS, body=StationIn,
            errors=(NotFound,)),
    Forward("POST", f"{S}/{{code}}/assignments", "routing", "/internal/stations/{code}/assignments",
            AssignmentView, "The town sends a station-track appeal to this station", roles=REGISTRARS,
            body=DispatchIn, errors=(NotFound, Conflict)),
    Forward("POST", f"{S}/{{code}}/service-records", "routing", "/internal/stations/{code}/service-records",
            ServiceRecordView, "The station records a visit: date, visits, minutes, who served",
            roles=("city_admin", "station_staff"), body=ServiceRecordIn, status=201, errors=(NotFound,)),
]  # fmt: skip
mount(router, ROWS)

__all__ = ["ROWS", "ROWS_BEFORE", "BeneficiaryProof", "router", "ticket_of_beneficiary"]
