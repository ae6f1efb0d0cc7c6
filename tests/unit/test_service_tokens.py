"""Internal service tokens: signed once per second and checked once per token, still refused
when expired or signed with another key."""

from __future__ import annotations

import time

import jwt
import pytest

from services.common import auth
from services.common.auth import INTERNAL_AUDIENCE, Principal, mint_service_token, verify_service_token
from services.common.errors import Unauthorized
from services.common.settings import get_settings

CLERK = Principal(
    staff_id="s1", username="clerk", role="town_staff", org_type="town", org_code="441900121000"
)


def test_a_token_is_checked_once_and_still_expires(monkeypatch: pytest.MonkeyPatch) -> None:
    now = time.time()
    monkeypatch.setattr("services.common.auth.time.time", lambda: now)
    token = mint_service_token("gateway")
    assert mint_service_token("gateway") == token  # the same second: signed once
    monkeypatch.setattr("services.common.auth.time.time", lambda: now + 1)
    assert mint_service_token("gateway") != token
    first = verify_service_token(token)
    assert first.service == "gateway" and first.actor is None
    assert verify_service_token(token) is first  # not decoded again
    monkeypatch.setattr("services.common.auth.time.time", lambda: now + auth.SERVICE_TOKEN_TTL_S + 1)
    with pytest.raises(Unauthorized):
        verify_service_token(token)


def test_an_actor_rides_along_and_a_foreign_key_is_refused() -> None:
    caller = verify_service_token(mint_service_token("gateway", CLERK))
    assert caller.actor == CLERK
    now = int(time.time())
    forged = jwt.encode(
        {"sub": "gateway", "aud": INTERNAL_AUDIENCE, "iat": now, "exp": now + 60},
        get_settings().require("internal_secret") + "-not-ours",
        algorithm="HS256",
    )
    for bad in (forged, forged, mint_service_token("gateway", ttl_s=-30)):  # a refusal is never kept
        with pytest.raises(Unauthorized):
            verify_service_token(bad)
