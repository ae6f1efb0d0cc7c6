"""Requests that reach every route: each path filled in, and a query and body that get past
validation to the route's access checks."""

from __future__ import annotations

import uuid
from typing import Any

from services.common.auth import Principal
from tests.integration.security_support.access import D, L, R
from tests.integration.security_support.callers import BEIZHA, HUMEN, STATION_CODE


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
        "service": "routing",
        "letter_id": "1",
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
