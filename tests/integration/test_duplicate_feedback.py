"""Staff decisions on duplicate suggestions feed the thresholds: each decision keeps the pair's
features; `tune.recompute` (`guanjia intake tune-duplicates`) stores new thresholds from them and
the shipped tuning pairs, and the next arrival uses the newest."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import httpx
import pytest
from sqlalchemy import select

from intake.api.app import app
from intake.models import DuplicateLink, DuplicateThresholds
from intake.service.duplicates import scorer, service, tune
from intake.service.duplicates.service import arrival
from services.cli import build_parser
from services.common.db import session_scope
from services.common.settings import get_settings
from tests.fixtures import auth, staff
from tests.intake.support import CHANGPING, CITY, MUGUI, draft, force, post, street_name
from tests.intake.support import create_settled as create

VILLAGE = staff("village_staff", MUGUI)


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://intake") as client:
        yield client


@pytest.fixture
def suggest_everything(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every candidate becomes a suggestion, none is linked: staff decide them all."""

    async def wide(session: object) -> tuple[float, float]:
        return 1.01, 0.0

    # Patched where arrival looks it up (`service.arrival`), not on the package that re-exports it.
    monkeypatch.setattr(arrival, "current_thresholds", wide)


FILED: list[str] = []


@pytest.fixture(autouse=True)
async def _closed_after() -> AsyncIterator[None]:
    """This module's appeals are closed when it ends, so that the duplicate tests of other modules
    (same village, same kind of problem) never meet them as open candidates."""
    yield
    for appeal_id in FILED:
        await force(appeal_id, status="closed")
    FILED.clear()


async def _suggested_pair(http: httpx.AsyncClient, first_text: str, second_text: str) -> tuple[str, str]:
    street = street_name()
    where = {"town_code": CHANGPING, "village_code": MUGUI, "address": f"常平镇木棆村{street}"}
    first = await create(http, draft(MUGUI, CHANGPING, first_text.format(street=street), location=where))
    second = await create(http, draft(MUGUI, CHANGPING, second_text.format(street=street), location=where))
    FILED.extend([first["appeal_id"], second["appeal_id"]])
    return first["appeal_id"], second["appeal_id"]


async def test_decisions_keep_features_and_feed_new_thresholds(
    http: httpx.AsyncClient, suggest_everything: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    same_a, same_b = await _suggested_pair(
        http, "{street}的路灯坏了好几盏。", "{street}街灯不亮，晚上黑了一片。"
    )
    other_a, other_b = await _suggested_pair(
        http, "{street}井盖不见了。", "{street}井盖旁边的垃圾堆了好几天没人清。"
    )
    listed = (await http.get(f"/internal/appeals/{same_b}/duplicates", headers=auth(CITY))).json()
    assert [d["state"] for d in listed if d["appeal_id"] == same_a] == ["suggested"]

    r = await post(
        http, f"/internal/appeals/{same_b}/duplicates/{same_a}/confirm", VILLAGE, {"reason": "同一处"}
    )
    assert r.status_code == 200, r.text
    r = await post(
        http, f"/internal/appeals/{other_b}/duplicates/{other_a}/reject", VILLAGE, {"reason": "不同问题"}
    )
    assert r.status_code == 200, r.text

    async with session_scope() as session:
        rows = {
            (str(row.appeal_id), row.state): row
            for row in await session.scalars(
                select(DuplicateLink).where(
                    DuplicateLink.appeal_id.in_([uuid.UUID(same_b), uuid.UUID(other_b)])
                )
            )
        }
        confirmed, rejected = rows[(same_b, "linked")], rows[(other_b, "rejected")]
        assert confirmed.features and set(scorer.model().names) <= set(confirmed.features)
        assert rejected.features and rejected.features["obj_jaccard"] < 1.0
        mine = await tune.decisions(session)
        assert (confirmed.features, True) in mine and (rejected.features, False) in mine

    async with session_scope() as session:
        stored = await tune.recompute(session, actor="test")
    shipped = len(scorer.model().raw["oof"])
    assert stored.pairs == shipped and stored.decisions >= 2
    assert stored.figures["confirmed"] >= 1 and stored.figures["rejected"] >= 1
    assert 0 < stored.suggest_at <= stored.link_at <= 1

    # The next arrival uses the newest stored thresholds (no environment override in force).
    monkeypatch.undo()
    monkeypatch.delenv("GUANJIA_DUPLICATE_LINK_AT", raising=False)
    monkeypatch.delenv("GUANJIA_DUPLICATE_SUGGEST_AT", raising=False)
    get_settings.cache_clear()
    try:
        async with session_scope() as session:
            newer = DuplicateThresholds(
                link_at=0.91,
                suggest_at=0.37,
                decisions=0,
                pairs=0,
                figures={},
                computed_at=stored.computed_at,
                computed_by="test",
            )
            session.add(newer)
        service.forget_tuned_thresholds()
        async with session_scope() as session:
            assert await service.current_thresholds(session) == (0.91, 0.37)
    finally:
        async with session_scope() as session:
            for row in await session.scalars(select(DuplicateThresholds)):
                await session.delete(row)
        service.forget_tuned_thresholds()
        get_settings.cache_clear()


def test_the_command_is_there() -> None:
    args = build_parser().parse_args(["intake", "tune-duplicates"])
    assert args.intake_command == "tune-duplicates" and callable(args.fn)
