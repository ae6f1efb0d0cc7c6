"""The callers of the security tests: members of staff inside and outside the test's town, one per
role, and the tokens they (or a forger, or a resident) present."""

from __future__ import annotations

import secrets
import time
import uuid
from typing import Any

import jwt

from services.common.auth import STAFF_AUDIENCE, Principal, Role
from services.common.settings import get_settings
from services.gateway.service.channels.miniprogram import mint_resident_token

HUMEN, BEIZHA, HUMENZHAI = "441900121000", "441900121001", "441900121016"
CHANGAN, CHANGAN_VILLAGE = "441900119000", "441900119001"


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
