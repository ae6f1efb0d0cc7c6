"""Staff routes of routing: triage and its manual queue, the policy catalogue, hops, joint meetings.

Rows of the gateway's table: the gateway checks the role at the door, routing checks the scope
(which town, which unit) and answers; its problems pass through unchanged.
"""

from __future__ import annotations

from fastapi import APIRouter

from services.common.errors import Conflict, Forbidden, NotFound
from services.contracts.routing.catalogue import CatalogueView, PolicyIn, RetireIn, VersionView
from services.contracts.routing.dispositions import (
    AgendaIn,
    AgendaItemView,
    AssignmentView,
    MeetingDecisionIn,
    MeetingIn,
    MeetingView,
    SendBack,
)
from services.contracts.routing.queries import AgendaQuery, QueueQuery
from services.contracts.routing.triage import (
    DecisionIn,
    DecisionOut,
    EscalationIn,
    ModelView,
    QueueItemView,
    TriageView,
)
from services.contracts.vocabulary import Role
from services.gateway.api.table import HANDLERS, Forward, mount

router = APIRouter(prefix="/api/v1/routing", tags=["routing"])
R = "/api/v1/routing"
DECIDERS: tuple[Role, ...] = ("city_admin", "town_staff")

ROWS = [
    Forward("GET", f"{R}/triage/{{appeal_id}}", "routing", "/internal/triage/{appeal_id}", TriageView,
            "How an appeal was triaged: kind, category, urgency, place, policies, confidences, why",
            errors=(NotFound,)),
    Forward("GET", f"{R}/queue", "routing", "/internal/triage-queue", list[QueueItemView],
            "The manual triage queue (人工分拣) of the town, or of the city", roles=DECIDERS, query=QueueQuery),
    Forward("POST", f"{R}/triage/{{appeal_id}}/decision", "routing", "/internal/triage/{appeal_id}/decision",
            DecisionOut, "Decide or correct an appeal's triage and holder (recorded; improves the model)",
            roles=DECIDERS, body=DecisionIn, errors=(NotFound, Conflict)),
    Forward("POST", f"{R}/triage/{{appeal_id}}/escalation", "routing",
            "/internal/triage/{appeal_id}/escalation", QueueItemView,
            "上报市级: the town (from its queue) or the unit holding the appeal passes it to the city",
            roles=HANDLERS, body=EscalationIn, errors=(NotFound, Conflict)),
    Forward("POST", f"{R}/triage/{{appeal_id}}/agenda", "routing", "/internal/triage/{appeal_id}/agenda",
            AgendaItemView, "Put a case no single department owns on the town's or city's joint meeting agenda",
            roles=DECIDERS, body=AgendaIn, status=201, errors=(NotFound, Conflict)),
    Forward("GET", f"{R}/models", "routing", "/internal/triage-models", list[ModelView],
            "Trained triage models and their scores", roles=("city_admin", "auditor")),
    # -- the policy catalogue (public to read; city staff edit)
    Forward("GET", f"{R}/catalogue", "routing", "/internal/catalogue", CatalogueView,
            "The current policy catalogue: 17 departments, their policies", auth="public"),
    Forward("GET", f"{R}/catalogue/versions", "routing", "/internal/catalogue/versions", list[VersionView],
            "Every version of the catalogue, newest first", auth="public"),
    Forward("GET", f"{R}/catalogue/versions/{{version}}", "routing", "/internal/catalogue/versions/{version}",
            CatalogueView, "One catalogue version", auth="public", errors=(NotFound,)),
    Forward("PUT", f"{R}/catalogue/policies/{{code}}", "routing", "/internal/catalogue/policies/{code}",
            CatalogueView, "Create or change a policy (city staff): a new catalogue version",
            roles=("city_admin",), body=PolicyIn, errors=(Conflict,)),
    Forward("POST", f"{R}/catalogue/policies/{{code}}/retirement", "routing",
            "/internal/catalogue/policies/{code}/retirement", CatalogueView,
            "Take a policy out of the catalogue (city staff): a new catalogue version",
            roles=("city_admin",), body=RetireIn, errors=(Conflict,)),
    # -- hops: sign-off, send-back
    Forward("GET", f"{R}/send-back-reasons", "routing", "/internal/send-back-reasons", dict[str, str],
            "Reason codes a unit may give for a send-back (退单)", auth="public"),
    Forward("GET", f"{R}/assignments/{{appeal_id}}", "routing", "/internal/assignments/{appeal_id}",
            list[AssignmentView], "Every hop of an appeal (交办, 签收, 退单, 改派)", errors=(NotFound,)),
    # Routing checks that the caller's unit holds the appeal; the door keeps auditors out (issue 15.1).
    Forward("POST", f"{R}/assignments/{{appeal_id}}/sign-off", "routing",
            "/internal/assignments/{appeal_id}/sign-off", AssignmentView,
            "签收: the holding unit takes the appeal on", roles=HANDLERS, errors=(NotFound, Conflict)),
    Forward("POST", f"{R}/assignments/{{appeal_id}}/return", "routing",
            "/internal/assignments/{appeal_id}/return", AssignmentView,
            "退单: the holding unit sends the appeal back with a reason code and its policy basis",
            roles=HANDLERS, body=SendBack, errors=(NotFound, Conflict)),
    # -- joint meetings (联席会议)
    Forward("GET", f"{R}/joint-meetings/agenda", "routing", "/internal/joint-meetings/agenda",
            list[AgendaItemView], "The pending agenda of a town's or the city's joint meeting",
            query=AgendaQuery, errors=(Forbidden,)),
    Forward("POST", f"{R}/joint-meetings", "routing", "/internal/joint-meetings", MeetingView,
            "Record a joint meeting of a town or the city", roles=DECIDERS, body=MeetingIn, status=201),
    Forward("POST", f"{R}/joint-meetings/{{meeting_id}}/decisions", "routing",
            "/internal/joint-meetings/{meeting_id}/decisions", AgendaItemView,
            "The meeting's decision: the lead unit (and assisting units) get the case, bindingly",
            roles=DECIDERS, body=MeetingDecisionIn, errors=(NotFound, Conflict)),
]  # fmt: skip
mount(router, ROWS)

__all__ = ["DECIDERS", "ROWS", "router"]
