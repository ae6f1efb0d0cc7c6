"""Rate-limit windows (pure parts) and the 429 problem on the real Redis."""

from __future__ import annotations

import uuid

import pytest

from services.gateway.errors import TooManyRequests
from services.gateway.service.ratelimit import Limit, hit, window_key


def test_parse() -> None:
    assert Limit.parse("300/60") == Limit(300, 60)
    assert Limit.parse("5") == Limit(5, 60)
    for bad in ("0/60", "5/0", "x/60"):
        with pytest.raises(ValueError):
            Limit.parse(bad)


def test_windows_roll_over_and_report_the_reset() -> None:
    limit = Limit(10, 60)
    k1, reset1 = window_key("public", "1.2.3.4", limit, 1_000_020.0)
    k2, _ = window_key("public", "1.2.3.4", limit, 1_000_079.0)
    k3, _ = window_key("public", "1.2.3.4", limit, 1_000_080.0)
    assert k1 == k2 != k3
    assert reset1 == 60
    assert window_key("login", "1.2.3.4", limit, 1_000_020.0)[0] != k1


async def test_the_limit_refuses_with_retry_after() -> None:
    subject = f"test-{uuid.uuid4()}"
    limit = Limit(3, 60)
    for _ in range(3):
        await hit("public", subject, limit)
    with pytest.raises(TooManyRequests) as refused:
        await hit("public", subject, limit)
    problem = refused.value.to_problem()
    assert problem["status"] == 429 and problem["code"] == "rate_limited"
    assert 1 <= refused.value.extra["retry_after"] <= 60
    # Another caller is not affected.
    await hit("public", f"{subject}-other", limit)
