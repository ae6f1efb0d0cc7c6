"""Shared pieces of the security tests: who may call which gateway route, the callers, the whole
system in-process (gateway in front of the real intake, routing, deadlines and ledger apps and their
real workers), and requests that reach every route.

`ACCESS` is the table the route inventory is checked against: a route of the gateway that is not in
it fails the matrix, so a new route has to be classified before it ships.
"""

from __future__ import annotations

import secrets
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any, Literal

import httpx
import jwt
from fastapi import FastAPI
from fastapi.routing import APIRoute

from services.common.auth import ROLES, STAFF_AUDIENCE, Principal, Role, mint_staff_token
from services.common.relay import relay_once
from services.common.settings import ServiceName, get_settings
from services.gateway.service import client as gateway_client
from services.gateway.service.channels.miniprogram import mint_resident_token
from tests.fakes.live_service import environment
from tests.fakes.wechat_code2session import FakeCode2Session
from tests.fixtures import drain

PROBLEM = "application/problem+json"
HUMEN, BEIZHA, HUMENZHAI = "441900121000", "441900121001", "441900121016"
CHANGAN, CHANGAN_VILLAGE = "441900119000", "441900119001"
MINI_APP_ID, MINI_SECRET = "wx1a2b3c4d5e6f7a8b", "security-matrix-mini-secret"

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


# --- callers ------------------------------------------------------------------------------------


def person(role: Role, org_type: str, org_code: str) -> Principal:
    return Principal.model_validate(
        {
            "staff_id": str(uuid.uuid4()),
            "username": f"sec.{role}.{org_code}.{uuid.uuid4().hex[:4]}",
            "role": role,
            "org_type": org_type,
            "org_code": org_code,
        }
    )


STATION_CODE = f"GJYZ-SEC-{secrets.token_hex(2).upper()}"
OTHER_STATION = f"GJYZ-SEC-{secrets.token_hex(3).upper()}"
CITY = person("city_admin", "city", "city")
AUDITOR = person("auditor", "city", "city")
TOWN = person("town_staff", "town", HUMEN)
OTHER_TOWN = person("town_staff", "town", CHANGAN)
VILLAGE = person("village_staff", "village", BEIZHA)
OTHER_VILLAGE = person("village_staff", "village", HUMENZHAI)
DEPARTMENT = person("department_staff", "department", "civil_affairs")
OTHER_DEPARTMENT = person("department_staff", "department", "housing")
STATION = person("station_staff", "station", STATION_CODE)
OTHER_STATION_STAFF = person("station_staff", "station", OTHER_STATION)
# One member of staff per role, inside the same town, for the role matrix.
BY_ROLE: dict[Role, Principal] = {
    "city_admin": CITY,
    "auditor": AUDITOR,
    "town_staff": TOWN,
    "village_staff": VILLAGE,
    "department_staff": DEPARTMENT,
    "station_staff": STATION,
}


def bearer(who: Principal) -> dict[str, str]:
    return {"Authorization": f"Bearer {mint_staff_token(who)[0]}"}


def forged(
    who: Principal,
    *,
    secret: str | None = None,
    expired: bool = False,
    audience: str | list[str] = STAFF_AUDIENCE,
    without: tuple[str, ...] = (),
) -> dict[str, str]:
    """A staff token as the gateway mints it, but signed with another secret, already expired,
    for another audience (or a list of them), or `without` some claims."""
    now = int(time.time())
    claims: dict[str, Any] = {
        "sub": who.staff_id,
        "aud": audience,
        "iat": now - 7200 if expired else now,
        "exp": now - 3600 if expired else now + 600,
        **who.model_dump(exclude={"staff_id"}),
    }
    for name in without:
        claims.pop(name, None)
    key = secret or get_settings().require("token_secret")
    return {"Authorization": f"Bearer {jwt.encode(claims, key, algorithm='HS256')}"}


def resident_bearer(openid: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {mint_resident_token(openid)[0]}"}


# --- sample requests ------------------------------------------------------------------------------


def sample_path(path: str, who: Principal | None = None, ids: dict[str, str] | None = None) -> str:
    """The path with every parameter filled: random ids, the caller's own town and village."""
    town = who.org_code if who is not None and who.org_type == "town" else HUMEN
    values = {
        "ticket_no": "MS2026112799999999",
        "town_code": town,
        "village_code": who.org_code if who is not None and who.org_type == "village" else BEIZHA,
        "year": "2031",
        "fmt": "json",
        "name": "environment.json",
        "version": "2026.1",
        "code": STATION_CODE,
        "payee_type": "beneficiary",
        "payee_code": "A-security",
        "donor_code": "D-security",
        **(ids or {}),
    }
    out = path
    while "{" in out:
        start, end = out.index("{"), out.index("}")
        name = out[start + 1 : end]
        out = out[:start] + values.get(name, str(uuid.uuid4())) + out[end + 1 :]
    return out


def own_holder(who: Principal) -> dict[str, str]:
    if who.org_type in ("town", "village"):
        return {"holder_type": who.org_type, "holder_code": who.org_code}
    return {"holder_type": "town", "holder_code": HUMEN}


def sample_request(method: str, path: str, who: Principal | None = None) -> dict[str, Any]:
    """Query and body that get a request past validation to its access checks. Bodies of commands
    are deliberately incomplete: an allowed caller is stopped by validation, not by access, and
    nothing changes."""
    holder = own_holder(who) if who is not None else {"holder_type": "town", "holder_code": HUMEN}
    params: dict[str, Any] = {}
    body: dict[str, Any] = {}
    if path == "/api/v1/calendar/due":
        params = {"start": "2026-11-27", "working_days": 5}
    elif path == "/api/v1/staff/archive/export":
        params = {"from": "2026-01-01", "to": "2026-01-31"}
    elif path in (f"{L}/balances", f"{L}/statement"):
        params = {**holder, "source_code": "city_finance"}
    elif path == f"{D}/rates":
        params = {"from": "2026-01-01"}
    elif path in ("/api/v1/consultations", "/api/v1/stations/service-records") and method == "GET":
        params = {"appeal_id": str(uuid.uuid4())}
    elif path == f"{R}/joint-meetings/agenda":
        params = {"level": "town", "org_code": HUMEN}
    elif path in (f"{L}/income", f"{L}/reservations", f"{L}/disbursements"):
        body = {"holder": holder}
    elif path == f"{L}/allocations":
        body = {"from_holder": holder}
    elif path == f"{L}/pledges":
        body = {"recipient": holder}
    elif path == f"{L}/matching":
        body = {"town_code": holder["holder_code"]}
    elif path == "/api/v1/donors/claims" and method == "POST":
        body = {"appeal_id": str(uuid.uuid4()), "kind": "money", "amount_fen": 100}
    headers = {"Idempotency-Key": f"sec-{uuid.uuid4().hex}"} if method in ("POST", "PUT") else {}
    return {"params": params, "json": body if method in ("POST", "PUT") else None, "headers": headers}


# --- the system, in-process ------------------------------------------------------------------------


@dataclass
class System:
    gateway: httpx.AsyncClient
    wechat: FakeCode2Session
    services: dict[ServiceName, httpx.AsyncClient] = field(default_factory=dict)

    async def login_resident(self, openid: str | None = None) -> tuple[str, dict[str, str]]:
        """A resident's session through WeChat's code2session, as the mini-program logs in."""
        openid = openid or "o" + secrets.token_hex(14)[:27]
        r = await self.gateway.post(
            "/api/v1/miniprogram/session", json={"code": self.wechat.issue_code(openid)}
        )
        assert r.status_code == 200, r.text
        return openid, {"Authorization": f"Bearer {r.json()['access_token']}"}


@asynccontextmanager
async def running_system(client_ip: str) -> AsyncIterator[System]:
    """The gateway app calling the real services' apps in-process (as it calls them over HTTP in
    production), WeChat's login played by its fake, from a client address of the test's own (rate
    limits are per address)."""
    from deadlines.api.app import app as deadlines_app
    from intake.api.app import app as intake_app
    from ledger.api.app import app as ledger_app
    from routing.api.app import app as routing_app
    from services.gateway.api.app import app as gateway_app

    wechat = FakeCode2Session(MINI_APP_ID, MINI_SECRET).start()
    env = {
        "GUANJIA_MINIPROGRAM_APP_ID": MINI_APP_ID,
        "GUANJIA_MINIPROGRAM_SECRET": MINI_SECRET,
        "GUANJIA_WECHAT_API_BASE": wechat.base,
        "GUANJIA_WECHAT_TOKEN": secrets.token_hex(16),
    }
    apps: dict[ServiceName, FastAPI] = {
        "intake": intake_app,
        "routing": routing_app,
        "deadlines": deadlines_app,
        "ledger": ledger_app,
    }
    try:
        async with environment(env):
            system = System(
                gateway=httpx.AsyncClient(
                    transport=httpx.ASGITransport(app=gateway_app, client=(client_ip, 40000)),
                    base_url="http://gateway",
                ),
                wechat=wechat,
            )
            for name, app in apps.items():
                client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=f"http://{name}")
                system.services[name] = client
                gateway_client._clients[name] = client
            try:
                yield system
            finally:
                await system.gateway.aclose()
    finally:
        wechat.stop()


async def register_station(gw: httpx.AsyncClient, body: dict[str, Any]) -> None:
    """Register the test station (`STATION_CODE`) as the town, or bring it to `body` when an earlier
    module of the same run registered it already (one database for the whole run)."""
    headers = bearer(TOWN)
    registered = await gw.post(f"/api/v1/stations/{STATION_CODE}", json=body, headers=headers)
    if registered.status_code == 409:
        registered = await gw.put(f"/api/v1/stations/{STATION_CODE}", json=body, headers=headers)
    assert registered.status_code in (200, 201), registered.text


async def settle(rounds: int = 8) -> None:
    """Carry every committed event to its consumers and run their real workers until quiet."""
    from deadlines.jobs import worker as deadlines_worker
    from deadlines.models import messaging as deadlines_messaging
    from intake.jobs import worker as intake_worker
    from intake.models import messaging as intake_messaging
    from ledger.jobs import worker as ledger_worker
    from ledger.models import messaging as ledger_messaging
    from routing.jobs import worker as routing_worker
    from routing.models import messaging as routing_messaging
    from services.common.db import get_sessionmaker
    from services.common.queue import connect

    outboxes = (
        ("intake", intake_messaging),
        ("routing", routing_messaging),
        ("deadlines", deadlines_messaging),
        ("ledger", ledger_messaging),
    )
    redis = await connect()
    try:
        for _ in range(rounds):
            moved = 0
            for producer, tables in outboxes:
                while n := await relay_once(get_sessionmaker(), tables, redis, producer, get_settings()):  # type: ignore[arg-type]
                    moved += n
            if not moved:
                return
            for make in (routing_worker, intake_worker, deadlines_worker, ledger_worker):
                await drain(make(burst=True))
    finally:
        await redis.aclose()
