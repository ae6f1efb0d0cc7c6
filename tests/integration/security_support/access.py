"""Who may call which gateway route.

`ACCESS` is the table the route inventory is checked against: a route of the gateway that is not in
it fails the matrix, so a new route has to be classified before it ships.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from fastapi import FastAPI
from fastapi.routing import APIRoute

from services.common.auth import ROLES, Role

PROBLEM = "application/problem+json"

Kind = Literal["ops", "public", "resident", "staff", "hotline", "wechat", "open311_key", "donor_key", "proof"]
ALL: frozenset[Role] = frozenset(ROLES)
CITY_READ: frozenset[Role] = frozenset({"city_admin", "auditor"})
DECIDERS: frozenset[Role] = frozenset({"city_admin", "town_staff"})
COMMUNITY: frozenset[Role] = frozenset({"city_admin", "town_staff", "village_staff"})
HANDLERS: frozenset[Role] = ALL - {"auditor"}
MONEY: frozenset[Role] = COMMUNITY  # moves money of its own unit (auditors only read)
READERS: frozenset[Role] = COMMUNITY | {"auditor"}


@dataclass(frozen=True)
class Access:
    """Who may call a route. For `staff`, `roles` pass the role check (scope is checked apart);
    `gate` says where that check sits: `door` (the gateway refuses before anything is looked up, so
    any id will do), `appeal` (after the appeal's scope: outside it a 404), `unit` (the service
    decides by the unit that holds the object) or `resource` (after fetching the object named)."""

    kind: Kind
    roles: frozenset[Role] = frozenset()
    gate: Literal["door", "appeal", "unit", "resource", "scope"] = "door"


def staff(
    roles: frozenset[Role], gate: Literal["door", "appeal", "unit", "resource", "scope"] = "door"
) -> Access:
    return Access("staff", roles, gate)


OPS, PUBLIC, RESIDENT = Access("ops"), Access("public"), Access("resident")
HOTLINE, WECHAT, OPEN311_KEY, DONOR_KEY, PROOF = (
    Access("hotline"),
    Access("wechat"),
    Access("open311_key"),
    Access("donor_key"),
    Access("proof"),  # a beneficiary: the appeal's ticket number and query code
)
FILERS: dict[str, frozenset[Role]] = {
    "leader-station": DECIDERS,
    "grid-inspector": frozenset({"town_staff", "village_staff"}),
    "village-visit": frozenset({"town_staff", "village_staff"}),
    "party-member-visit": frozenset({"town_staff", "village_staff"}),
    "station-walk-in": frozenset({"station_staff"}),
    "department-referral": frozenset({"department_staff", "city_admin"}),
    "web-portal": COMMUNITY,
    "online-consultation": frozenset({"town_staff", "village_staff"}),
}
A = "/api/v1/staff/appeals/{appeal_id}"
L = "/api/v1/ledger"
R = "/api/v1/routing"
D = "/api/v1/deadlines"
G = "/open311/v2"

ACCESS: dict[tuple[str, str], Access] = {
    # -- operations and documentation
    **{
        ("GET", p): OPS
        for p in (
            "/healthz",
            "/readyz",
            "/openapi.json",
            "/docs",
            "/docs/oauth2-redirect",
            "/redoc",
            "/docs/assets/{name}",
        )
    },
    # -- public reads (no personal data) and logins
    ("GET", "/api/v1/public/appeals/{ticket_no}"): PUBLIC,
    ("GET", "/api/v1/public/notices"): PUBLIC,  # 公示: counts and the plan's public-safe words
    ("POST", "/api/v1/public/withdrawals"): PROOF,  # ticket and 查询码
    ("POST", "/api/v1/public/appeals/{ticket_no}/evaluation"): PROOF,  # the rating, with the 查询码
    # -- pages (HTML and their assets; the staff cockpit logs in through the API)
    **{
        ("GET", p): PUBLIC
        for p in (
            "/screen",
            "/cockpit",
            "/s/{ticket_no}",
            "/static/pages/{name}",
            "/static/vendor/{name:path}",
        )
    },
    ("GET", "/api/v1/public/appeals"): PUBLIC,
    ("GET", "/api/v1/public/disclosure/{ticket_no}"): PUBLIC,
    ("GET", "/api/v1/public/funds"): PUBLIC,
    ("GET", "/api/v1/stats/public"): PUBLIC,
    ("POST", "/api/v1/auth/staff"): PUBLIC,
    ("GET", "/api/v1/calendar/due"): PUBLIC,
    ("GET", f"{R}/catalogue"): PUBLIC,
    ("GET", f"{R}/catalogue/versions"): PUBLIC,
    ("GET", f"{R}/catalogue/versions/{{version}}"): PUBLIC,
    ("GET", f"{R}/send-back-reasons"): PUBLIC,
    ("GET", "/api/v1/stations"): PUBLIC,
    ("GET", "/api/v1/stations/{code}"): PUBLIC,
    ("GET", "/api/v1/stations/{code}/totals"): PUBLIC,
    ("POST", "/api/v1/donors"): PUBLIC,  # a donor applies; staff verify before anything is shown
    ("POST", "/api/v1/miniprogram/session"): PUBLIC,  # WeChat's login code is the credential
    **{
        ("GET", f"{G}/{p}"): PUBLIC
        for p in (
            "discovery.{fmt}",
            "discovery",
            "services.{fmt}",
            "services",
            "services/{name}",
            "requests.{fmt}",
            "requests",
            "requests/{name}",
            "tokens/{name}",
        )
    },
    # -- integrations
    ("POST", "/api/v1/channels/hotline-12345/calls"): HOTLINE,
    ("GET", "/api/v1/channels/wechat-official"): WECHAT,
    ("POST", "/api/v1/channels/wechat-official"): WECHAT,
    ("POST", f"{G}/requests.{{fmt}}"): OPEN311_KEY,
    ("POST", f"{G}/requests"): OPEN311_KEY,
    ("GET", "/api/v1/donors/me"): DONOR_KEY,
    ("GET", "/api/v1/donors/listings"): DONOR_KEY,
    ("POST", "/api/v1/donors/claims"): DONOR_KEY,
    ("GET", "/api/v1/donors/claims"): DONOR_KEY,
    ("GET", "/api/v1/donors/claims/{claim_id}/report"): DONOR_KEY,
    ("POST", "/api/v1/donors/claims/{claim_id}/beneficiary-confirmation"): PROOF,
    ("POST", "/api/v1/stations/service-records/{record_id}/beneficiary-confirmation"): PROOF,
    # -- residents (mini-program session token)
    ("POST", "/api/v1/miniprogram/media"): RESIDENT,
    ("POST", "/api/v1/miniprogram/appeals"): RESIDENT,
    ("GET", "/api/v1/miniprogram/appeals"): RESIDENT,
    ("GET", "/api/v1/miniprogram/appeals/{ticket_no}"): RESIDENT,
    ("POST", "/api/v1/miniprogram/appeals/{appeal_id}/evaluation"): RESIDENT,
    ("POST", "/api/v1/miniprogram/appeals/{appeal_id}/withdrawal"): RESIDENT,
    ("POST", "/api/v1/miniprogram/notices/{consultation_id}/objections"): RESIDENT,
    # -- staff: appeals (intake: scope → 404, then role → 403)
    ("GET", A): staff(ALL, "appeal"),
    ("POST", f"{A}/transitions"): staff(HANDLERS, "appeal"),
    ("GET", f"{A}/clocks"): staff(ALL, "appeal"),
    ("GET", f"{A}/timeline"): staff(ALL, "appeal"),
    **{
        ("POST", f"{A}/{c}"): staff(HANDLERS, "appeal")
        for c in ("hold", "resume", "withdraw", "start", "complete")
    },
    **{("POST", f"{A}/{c}"): staff(DECIDERS, "appeal") for c in ("reject", "reopen", "withhold", "publish")},
    ("POST", f"{A}/close"): staff(COMMUNITY, "appeal"),
    ("PUT", f"{A}/complained-unit"): staff(DECIDERS, "appeal"),
    ("POST", f"{A}/reveal"): staff(HANDLERS, "appeal"),
    ("GET", f"{A}/duplicates"): staff(COMMUNITY, "appeal"),
    ("POST", f"{A}/duplicates/{{master_id}}/confirm"): staff(COMMUNITY, "appeal"),
    ("POST", f"{A}/duplicates/{{master_id}}/reject"): staff(COMMUNITY, "appeal"),
    ("POST", f"{A}/duplicates/undo"): staff(COMMUNITY, "appeal"),
    ("GET", f"{A}/archive"): staff(frozenset({"city_admin", "town_staff", "auditor"}), "appeal"),
    # -- work lists and notifications (issue 16): each reads its own scope or unit only
    ("GET", "/api/v1/staff/appeals"): staff(ALL, "scope"),
    ("GET", "/api/v1/staff/appeals/summary"): staff(ALL, "scope"),
    ("GET", "/api/v1/staff/notifications"): staff(ALL, "scope"),
    ("POST", "/api/v1/staff/notifications/{notification_id}/read"): staff(HANDLERS),
    # where one's own notifications are pushed: every member reads theirs, auditors change nothing
    ("GET", "/api/v1/staff/me/contact"): staff(ALL),
    ("PUT", "/api/v1/staff/me/contact"): staff(HANDLERS),
    ("GET", "/api/v1/staff/archive/export"): staff(CITY_READ),
    ("GET", "/api/v1/staff/audit/reveals"): staff(CITY_READ),
    ("PUT", "/api/v1/calendar/years/{year}"): staff(frozenset({"city_admin"})),
    # -- staff: operations, every service's dead letters
    ("GET", "/api/v1/admin/dead-letters"): staff(CITY_READ),
    ("POST", "/api/v1/admin/dead-letters/{service}/{letter_id}/resolution"): staff(frozenset({"city_admin"})),
    # -- staff: the city's registers (issue 16.12)
    **{
        ("POST", f"/api/v1/reference/{k}"): staff(frozenset({"city_admin"}))
        for k in ("villages", "stations", "donors")
    },
    ("POST", "/api/v1/reference/{kind}/file"): staff(frozenset({"city_admin"})),
    # -- staff channels
    **{("POST", f"/api/v1/channels/{c}/appeals"): staff(roles) for c, roles in FILERS.items()},
    ("POST", "/api/v1/channels/consultation-meeting/minutes"): staff(
        frozenset({"town_staff", "village_staff"})
    ),
    # -- statistics (intake checks the level asked for against the caller's unit)
    ("GET", "/api/v1/stats/kpis"): staff(ALL, "scope"),
    ("GET", "/api/v1/stats/kpis/export"): staff(ALL, "scope"),
    ("GET", "/api/v1/stats/demand"): staff(ALL, "scope"),
    # -- ledger (the gateway checks role and holder before forwarding)
    **{
        ("POST", f"{L}/{p}"): staff(MONEY)
        for p in ("income", "allocations", "reservations", "disbursements", "pledges")
    },
    ("POST", f"{L}/matching"): staff(DECIDERS),
    ("GET", f"{L}/towns/{{town_code}}/matching"): staff(frozenset({"city_admin", "town_staff", "auditor"})),
    ("PUT", f"{L}/towns/{{town_code}}/matching"): staff(frozenset({"city_admin"})),
    ("GET", f"{L}/reservations/{{reservation_id}}"): staff(READERS, "resource"),
    ("POST", f"{L}/reservations/{{reservation_id}}/disbursements"): staff(MONEY, "resource"),
    ("POST", f"{L}/reservations/{{reservation_id}}/release"): staff(MONEY, "resource"),
    ("GET", f"{L}/pledges/{{pledge_id}}"): staff(READERS, "resource"),
    ("POST", f"{L}/pledges/{{pledge_id}}/receipts"): staff(MONEY, "resource"),
    ("POST", f"{L}/entries/{{entry_id}}/reversal"): staff(frozenset({"city_admin"})),
    ("GET", f"{L}/entries/{{entry_id}}"): staff(READERS, "resource"),
    ("GET", f"{L}/balances"): staff(READERS),
    ("GET", f"{L}/statement"): staff(READERS),
    ("GET", f"{L}/reports/towns/{{town_code}}"): staff(frozenset({"city_admin", "town_staff", "auditor"})),
    ("GET", f"{L}/reports/villages/{{village_code}}"): staff(READERS),
    **{
        ("GET", f"{L}/{p}"): staff(CITY_READ)
        for p in (
            "reports/sources",
            "reports/payees/{payee_type}/{payee_code}",
            "donors/{donor_code}/report",
            "receipts/{entry_id}",
            "audit/verify",
            "audit/reconcile",
        )
    },
    # -- routing
    ("GET", f"{R}/triage/{{appeal_id}}"): staff(ALL, "appeal"),
    ("GET", f"{R}/queue"): staff(DECIDERS),
    ("POST", f"{R}/triage/{{appeal_id}}/decision"): staff(DECIDERS),
    ("POST", f"{R}/triage/{{appeal_id}}/escalation"): staff(HANDLERS, "unit"),
    ("POST", f"{R}/triage/{{appeal_id}}/agenda"): staff(DECIDERS),
    ("GET", f"{R}/models"): staff(CITY_READ),
    ("PUT", f"{R}/catalogue/policies/{{code}}"): staff(frozenset({"city_admin"})),
    ("POST", f"{R}/catalogue/policies/{{code}}/retirement"): staff(frozenset({"city_admin"})),
    ("GET", f"{R}/assignments/{{appeal_id}}"): staff(ALL, "appeal"),
    ("POST", f"{R}/assignments/{{appeal_id}}/sign-off"): staff(HANDLERS, "unit"),
    ("POST", f"{R}/assignments/{{appeal_id}}/return"): staff(HANDLERS, "unit"),
    ("GET", f"{R}/joint-meetings/agenda"): staff(ALL, "unit"),
    ("POST", f"{R}/joint-meetings"): staff(DECIDERS),
    ("POST", f"{R}/joint-meetings/{{meeting_id}}/decisions"): staff(DECIDERS),
    # -- consultations
    ("POST", "/api/v1/consultations"): staff(COMMUNITY),
    ("GET", "/api/v1/consultations"): staff(ALL, "appeal"),
    ("GET", "/api/v1/consultations/{consultation_id}"): staff(ALL, "resource"),
    ("POST", "/api/v1/consultations/{consultation_id}/objections"): staff(COMMUNITY),
    ("POST", "/api/v1/consultations/{consultation_id}/approval"): staff(COMMUNITY),
    # -- stations
    ("GET", "/api/v1/stations/service-records"): staff(ALL, "appeal"),
    ("POST", "/api/v1/stations/service-records/{record_id}/confirmation"): staff(COMMUNITY),
    ("POST", "/api/v1/stations/{code}"): staff(DECIDERS),
    ("PUT", "/api/v1/stations/{code}"): staff(DECIDERS),
    ("POST", "/api/v1/stations/{code}/assignments"): staff(DECIDERS),
    ("POST", "/api/v1/stations/{code}/service-records"): staff(frozenset({"city_admin", "station_staff"})),
    # -- donors (staff side)
    ("GET", "/api/v1/donors"): staff(frozenset({"city_admin", "town_staff", "auditor"})),
    ("POST", "/api/v1/donors/{donor_id}/state"): staff(DECIDERS),
    ("PUT", "/api/v1/donors/listings/{appeal_id}"): staff(DECIDERS),
    ("POST", "/api/v1/donors/claims/{claim_id}/confirmation"): staff(COMMUNITY),
    ("POST", "/api/v1/donors/claims/expiry"): staff(frozenset({"city_admin"})),
    # -- deadlines
    ("GET", f"{D}/due"): staff(ALL, "scope"),
    ("GET", f"{D}/overdue"): staff(ALL, "scope"),
    ("GET", f"{D}/rates"): staff(ALL, "scope"),
    ("GET", f"{D}/appeals/{{appeal_id}}/history"): staff(ALL, "appeal"),
    ("GET", f"{D}/clocks/{{clock_id}}"): staff(ALL, "resource"),
    ("POST", f"{D}/clocks/{{clock_id}}/extensions"): staff(HANDLERS, "unit"),
    ("GET", f"{D}/extensions"): staff(ALL, "scope"),
    ("POST", f"{D}/extensions/{{extension_id}}/decision"): staff(HANDLERS, "unit"),
    ("GET", f"{D}/rules"): staff(ALL),
    ("GET", f"{D}/rules/{{version}}"): staff(ALL),
    ("POST", f"{D}/rules"): staff(frozenset({"city_admin"})),
}


def gateway_routes(app: FastAPI) -> set[tuple[str, str]]:
    """Every (method, path) the app answers, from its routing table (HEAD aside: Starlette adds it to
    every GET), plus every operation of its OpenAPI document, so neither can hide a route."""
    found: set[tuple[str, str]] = set()

    def add(path: str | None, methods: set[str] | None) -> None:
        for method in methods or ():
            if path is not None and method != "HEAD":
                found.add((method, path))

    for route in app.routes:
        # FastAPI ≥ 0.16x keeps included routers as branches; older ones list APIRoutes flat.
        contexts = getattr(route, "effective_route_contexts", None)
        if contexts is not None:
            for context in contexts():
                add(context.path, context.methods)
        elif isinstance(route, APIRoute) or hasattr(route, "methods"):
            add(getattr(route, "path", None), getattr(route, "methods", None))
    for path, operations in app.openapi()["paths"].items():
        for method in operations:
            if method in ("get", "post", "put", "patch", "delete"):
                found.add((method.upper(), path))
    return found
