"""The 民生大莞家 mini-program: login through code2session, photos, filing, following, rating.

The gateway runs here (in-process ASGI) on the real database and Redis; intake runs as its own
process on a real port; WeChat's login API is `tests.fakes.wechat_code2session`, a local HTTP
stand-in speaking its protocol and error codes.
"""

from __future__ import annotations

import io
import json
import os
import secrets
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
from sqlalchemy import text

from services.common.auth import Principal, mint_service_token
from services.common.db import session_scope
from services.common.settings import get_settings
from services.gateway.api.app import app
from tests.fakes.live_service import environment, live_service
from tests.fakes.lossy_network import first_recording_answer_lost
from tests.fakes.wechat_code2session import FakeCode2Session

PROBLEM = "application/problem+json"
APP_ID, SECRET = "wx9c8b7a6f5e4d3c2b", "mini-program-secret-for-tests"
JPEG = (
    b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00" + os.urandom(2048) + b"\xff\xd9"
)
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + os.urandom(512)
WEBP = b"RIFF\x24\x00\x00\x00WEBPVP8 " + os.urandom(512)
GIF = b"GIF89a" + os.urandom(256)


@dataclass
class World:
    wechat: FakeCode2Session
    gateway: httpx.AsyncClient
    intake_url: str
    data_dir: Path


@pytest.fixture(scope="module")
async def world(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[World]:
    wechat = FakeCode2Session(APP_ID, SECRET).start()
    tmp = tmp_path_factory.mktemp("miniprogram")
    env = {
        "GUANJIA_MINIPROGRAM_APP_ID": APP_ID,
        "GUANJIA_MINIPROGRAM_SECRET": SECRET,
        "GUANJIA_WECHAT_API_BASE": wechat.base,
        "GUANJIA_DATA_DIR": str(tmp),
    }
    try:
        with live_service("intake", tmp) as intake_url:
            env["GUANJIA_INTAKE_URL"] = intake_url
            async with (
                environment(env),
                httpx.AsyncClient(
                    transport=httpx.ASGITransport(app=app), base_url="http://gateway"
                ) as gateway,
            ):
                yield World(wechat=wechat, gateway=gateway, intake_url=intake_url, data_dir=tmp)
    finally:
        wechat.stop()


def new_openid() -> str:
    return "o" + secrets.token_hex(14)[:27]


async def login(world: World, openid: str | None = None) -> tuple[str, dict[str, str]]:
    openid = openid or new_openid()
    r = await world.gateway.post(
        "/api/v1/miniprogram/session", json={"code": world.wechat.issue_code(openid)}
    )
    assert r.status_code == 200, r.text
    return openid, {"Authorization": f"Bearer {r.json()['access_token']}"}


async def upload(world: World, auth: dict[str, str], data: bytes, name: str = "photo.jpg") -> httpx.Response:
    return await world.gateway.post(
        "/api/v1/miniprogram/media", headers=auth, files={"file": (name, io.BytesIO(data), "image/jpeg")}
    )


def form(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "title": "小区健身器材损坏",
        "description": "南城街道宏图社区中心花园的健身器材坏了两台，螺丝松动，老人锻炼时很危险，希望尽快维修。",
        "address": "东莞市南城街道宏图社区中心花园",
        "lat": 23.0178,
        "lng": 113.7441,
        "name": "李阿姨",
        "phone": "139 2345 6789",
        "hukou_local": True,
    }
    body.update(overrides)
    return body


class TestLogin:
    async def test_code2session_gives_our_own_token_and_keeps_the_session_key(self, world: World) -> None:
        openid = new_openid()
        r = await world.gateway.post(
            "/api/v1/miniprogram/session", json={"code": world.wechat.issue_code(openid)}
        )
        assert r.status_code == 200, r.text
        body = r.json()
        assert set(body) == {"access_token", "token_type", "expires_in"}
        assert body["token_type"] == "bearer" and 0 < body["expires_in"] <= 7200
        session_key = world.wechat.session_key_of(openid)
        assert session_key and session_key not in r.text
        claims = jwt.decode(
            body["access_token"],
            get_settings().require("token_secret"),
            algorithms=["HS256"],
            audience="guanjia-resident",
        )
        assert claims["sub"] == openid
        assert session_key not in json.dumps(claims)

    async def test_a_resident_token_is_no_staff_token(self, world: World) -> None:
        _, auth = await login(world)
        r = await world.gateway.get(f"/api/v1/staff/appeals/{uuid.uuid4()}", headers=auth)
        assert r.status_code == 401
        no_token = await world.gateway.post("/api/v1/miniprogram/media", files={"file": ("a.jpg", JPEG)})
        assert no_token.status_code == 401
        assert no_token.json()["code"] == "resident_token_invalid"

    async def test_wechat_refusals_become_problems_in_chinese(self, world: World) -> None:
        url = "/api/v1/miniprogram/session"
        invalid = await world.gateway.post(url, json={"code": "never-issued"})
        assert invalid.status_code == 401
        assert invalid.headers["content-type"].startswith(PROBLEM)
        assert (invalid.json()["code"], invalid.json()["errcode"]) == ("wechat_code_invalid", 40029)
        assert "登录" in invalid.json()["detail"]

        expired = await world.gateway.post(
            url, json={"code": world.wechat.issue_code(new_openid(), age_s=400)}
        )
        assert expired.json()["errcode"] == 40029

        code = world.wechat.issue_code(new_openid())
        assert (await world.gateway.post(url, json={"code": code})).status_code == 200
        reused = await world.gateway.post(url, json={"code": code})
        assert (reused.status_code, reused.json()["errcode"]) == (401, 40163)

        world.wechat.state.quota_exhausted = True
        try:
            limited = await world.gateway.post(url, json={"code": world.wechat.issue_code(new_openid())})
        finally:
            world.wechat.state.quota_exhausted = False
        assert limited.status_code == 429
        assert limited.json()["code"] == "wechat_rate_limited"
        assert limited.headers["retry-after"] == "60"
        assert "频繁" in limited.json()["detail"]

        world.wechat.state.busy_next = 1
        busy = await world.gateway.post(url, json={"code": world.wechat.issue_code(new_openid())})
        assert busy.status_code == 503
        assert busy.json()["code"] == "wechat_busy"

        malformed = await world.gateway.post(url, json={})
        assert malformed.status_code == 422


class TestPhotos:
    async def test_type_is_checked_by_magic_bytes(self, world: World) -> None:
        _, auth = await login(world)
        for data, media_type in ((JPEG, "image/jpeg"), (PNG, "image/png"), (WEBP, "image/webp")):
            r = await upload(world, auth, data)
            assert r.status_code == 201, r.text
            assert r.json()["media_type"] == media_type
        for bad in (
            GIF,
            b"%PDF-1.7 pretending to be a jpeg",
            b"<svg xmlns='http://www.w3.org/2000/svg'/>",
            b"",
        ):
            r = await upload(world, auth, bad)
            assert r.status_code == 415, r.text
            assert r.json()["code"] == "unsupported_media_type"

    async def test_stored_once_by_content(self, world: World) -> None:
        _, auth = await login(world)
        first, second = await upload(world, auth, JPEG), await upload(world, auth, JPEG, name="again.jpg")
        assert first.json() == second.json()
        media_id = first.json()["media_id"]
        stored = world.data_dir / "media" / media_id
        assert stored.read_bytes() == JPEG
        assert [p.name for p in (world.data_dir / "media").iterdir() if p.name.startswith(".")] == []

    async def test_size_limit(self, world: World) -> None:
        _, auth = await login(world)
        at_limit = b"\xff\xd8\xff" + b"\0" * (10 * 1024 * 1024 - 3)
        assert (await upload(world, auth, at_limit)).status_code == 201
        too_big = await upload(world, auth, at_limit + b"\0")
        assert too_big.status_code == 413
        assert too_big.json()["code"] == "media_too_large"


class TestFiling:
    async def test_json_with_uploaded_photos(self, world: World) -> None:
        openid, auth = await login(world)
        photo = (await upload(world, auth, JPEG)).json()
        key = f"mp-{uuid.uuid4()}"
        headers = {**auth, "Idempotency-Key": key}
        r = await world.gateway.post(
            "/api/v1/miniprogram/appeals", json=form(photos=[photo["media_id"]]), headers=headers
        )
        assert r.status_code == 201, r.text
        accepted = r.json()
        assert set(accepted) == {"appeal_id", "ticket_no", "query_code"}

        async with session_scope() as session:
            row = (
                await session.execute(
                    text(
                        "SELECT a.channel, a.channel_ref, a.datum, a.town_code, r.openid, r.phone_masked, r.name"
                        " FROM intake.appeals a JOIN intake.reporters r ON r.appeal_id = a.id WHERE a.id = :id"
                    ),
                    {"id": accepted["appeal_id"]},
                )
            ).one()
            attachments = (
                await session.execute(
                    text(
                        "SELECT kind, uri, media_type, size_bytes, sha256 FROM intake.attachments WHERE appeal_id = :id"
                    ),
                    {"id": accepted["appeal_id"]},
                )
            ).all()
        assert row.channel == "wechat_miniprogram"
        assert row.channel_ref == f"{openid}:{key}"
        assert (row.openid, row.datum, row.phone_masked, row.name) == (
            openid,
            "gcj02",
            "139****6789",
            "李阿姨",
        )
        assert row.town_code == "441900004000"  # 南城, from the address
        assert [tuple(a) for a in attachments] == [
            ("photo", f"media/{photo['media_id']}", "image/jpeg", len(JPEG), photo["media_id"])
        ]

        again = await world.gateway.post(
            "/api/v1/miniprogram/appeals", json=form(photos=[photo["media_id"]]), headers=headers
        )
        assert again.status_code == 200
        assert again.json() == accepted
        changed = await world.gateway.post(
            "/api/v1/miniprogram/appeals",
            json=form(description="换了内容的同一个请求编号。"),
            headers=headers,
        )
        assert changed.status_code == 409
        assert changed.json()["code"] == "idempotency_key_reused"

    async def test_a_filing_whose_answer_from_intake_was_lost_is_still_created(self, world: World) -> None:
        _, auth = await login(world)
        headers = {**auth, "Idempotency-Key": f"mp-{uuid.uuid4()}"}
        async with first_recording_answer_lost() as lossy:
            r = await world.gateway.post("/api/v1/miniprogram/appeals", json=form(), headers=headers)
            assert lossy.lost == 1
            assert r.status_code == 201, r.text
            again = await world.gateway.post("/api/v1/miniprogram/appeals", json=form(), headers=headers)
            assert (again.status_code, again.json()) == (200, r.json())

    async def test_multipart_with_photos(self, world: World) -> None:
        _, auth = await login(world)
        files: list[tuple[str, Any]] = [
            ("appeal", (None, json.dumps(form(), ensure_ascii=False).encode(), "application/json")),
            ("photos", ("a.jpg", io.BytesIO(JPEG), "image/jpeg")),
            ("photos", ("b.png", io.BytesIO(PNG), "image/png")),
        ]
        r = await world.gateway.post(
            "/api/v1/miniprogram/appeals",
            files=files,
            headers={**auth, "Idempotency-Key": secrets.token_hex(8)},
        )
        assert r.status_code == 201, r.text
        async with session_scope() as session:
            kinds = (
                await session.scalars(
                    text(
                        "SELECT media_type FROM intake.attachments WHERE appeal_id = :id ORDER BY media_type"
                    ),
                    {"id": r.json()["appeal_id"]},
                )
            ).all()
        assert list(kinds) == ["image/jpeg", "image/png"]

    async def test_refusals(self, world: World) -> None:
        _, auth = await login(world)
        url = "/api/v1/miniprogram/appeals"
        no_key = await world.gateway.post(url, json=form(), headers=auth)
        assert (no_key.status_code, no_key.json()["code"]) == (422, "idempotency_key_required")
        headers = {**auth, "Idempotency-Key": secrets.token_hex(8)}
        unknown_photo = await world.gateway.post(url, json=form(photos=["0" * 64]), headers=headers)
        assert (unknown_photo.status_code, unknown_photo.json()["code"]) == (422, "unknown_media")
        bad_phone = await world.gateway.post(url, json=form(phone="12345"), headers=headers)
        assert (bad_phone.status_code, bad_phone.json()["code"]) == (422, "invalid_phone")
        empty = await world.gateway.post(url, json=form(description=""), headers=headers)
        assert empty.status_code == 422
        gif: list[tuple[str, Any]] = [
            ("appeal", (None, json.dumps(form()).encode())),
            ("photos", ("x.gif", io.BytesIO(GIF), "image/gif")),
        ]
        assert (await world.gateway.post(url, files=gif, headers=headers)).status_code == 415
        text_body = await world.gateway.post(url, content=b"description=hi", headers=headers)
        assert text_body.status_code == 415


class TestFollowing:
    async def test_list_timeline_and_rating(self, world: World) -> None:
        _, auth = await login(world)
        filed = await world.gateway.post(
            "/api/v1/miniprogram/appeals",
            json=form(),
            headers={**auth, "Idempotency-Key": secrets.token_hex(8)},
        )
        accepted = filed.json()
        mine = await world.gateway.get("/api/v1/miniprogram/appeals", headers=auth)
        assert mine.status_code == 200, mine.text
        assert accepted["ticket_no"] in mine.text
        _, stranger = await login(world)
        assert (
            accepted["ticket_no"]
            not in (await world.gateway.get("/api/v1/miniprogram/appeals", headers=stranger)).text
        )

        detail = await world.gateway.get(f"/api/v1/miniprogram/appeals/{accepted['ticket_no']}", headers=auth)
        assert detail.status_code == 200, detail.text
        assert detail.json()["query_code"] == accepted["query_code"]
        assert detail.json()["appeal_id"] == accepted["appeal_id"]  # what the rating is posted to
        assert detail.json()["timeline"][0]["status"] == "received"
        other = await world.gateway.get(
            f"/api/v1/miniprogram/appeals/{accepted['ticket_no']}", headers=stranger
        )
        assert other.status_code == 404

        rating = {"result": "resolved", "rating": "satisfied", "comment": "修得很快，谢谢！"}
        url = f"/api/v1/miniprogram/appeals/{accepted['appeal_id']}/evaluation"
        # Nothing to rate before the work is done.
        early = await world.gateway.post(url, json=rating, headers=auth)
        assert early.status_code == 409, early.text
        assert (
            await world.gateway.post(url, json={**rating, "rating": "great"}, headers=auth)
        ).status_code == 422

        await complete(world, accepted["appeal_id"])
        assert (await world.gateway.post(url, json=rating, headers=stranger)).status_code in (403, 404)
        done = await world.gateway.post(url, json=rating, headers=auth)
        assert done.status_code == 200, done.text
        assert done.json()["status"] == "closed"
        assert (await world.gateway.post(url, json=rating, headers=auth)).status_code == 409
        mine_now = await world.gateway.get(
            f"/api/v1/miniprogram/appeals/{accepted['ticket_no']}", headers=auth
        )
        assert [e["rating"] for e in mine_now.json()["evaluations"]] == ["satisfied"]

    async def test_rating_with_the_query_code_follows_the_same_rules(self, world: World) -> None:
        _, auth = await login(world)
        filed = await world.gateway.post(
            "/api/v1/miniprogram/appeals",
            json=form(),
            headers={**auth, "Idempotency-Key": secrets.token_hex(8)},
        )
        accepted = filed.json()
        ticket, code = accepted["ticket_no"], accepted["query_code"]
        url = f"/api/v1/public/appeals/{ticket}/evaluation"
        unhappy = {"result": "not", "rating": "dissatisfied", "comment": "灯还是不亮"}
        early = await world.gateway.post(url, params={"code": code}, json=unhappy)
        assert early.status_code == 409 and early.json()["code"] == "not_awaiting_evaluation", early.text
        await complete(world, accepted["appeal_id"])
        status = await world.gateway.get(f"/api/v1/public/appeals/{ticket}", params={"code": code})
        assert status.json()["status"] == "completed"
        wrong = "000000" if code != "000000" else "111111"
        assert (await world.gateway.post(url, params={"code": wrong}, json=unhappy)).status_code == 404
        assert (await world.gateway.post(url, json=unhappy)).status_code == 404
        assert (
            await world.gateway.post(url, params={"code": code}, json={"rating": "dissatisfied"})
        ).status_code == 422

        rated = await world.gateway.post(url, params={"code": code}, json=unhappy)
        assert rated.status_code == 200, rated.text
        assert rated.json()["status"] == "reopened" and rated.json()["round"] == 2
        # Pressed twice: the same answer, nothing rated twice; the public status shows it at once.
        again = await world.gateway.post(url, params={"code": code}, json=unhappy)
        assert again.status_code == 200 and again.json() == rated.json(), again.text
        status = await world.gateway.get(f"/api/v1/public/appeals/{ticket}", params={"code": code})
        assert status.json()["status"] == "reopened"
        changed = await world.gateway.post(
            url, params={"code": code}, json={**unhappy, "rating": "satisfied"}
        )
        assert changed.status_code == 409, changed.text
        # The mini-program sees the one rating, and may not rate the same round again.
        mine = await world.gateway.get(f"/api/v1/miniprogram/appeals/{ticket}", headers=auth)
        assert [(e["round"], e["rating"]) for e in mine.json()["evaluations"]] == [(1, "dissatisfied")]
        session_rating = await world.gateway.post(
            f"/api/v1/miniprogram/appeals/{accepted['appeal_id']}/evaluation",
            json={**unhappy, "round": 1},
            headers=auth,
        )
        assert session_rating.status_code == 409


async def complete(world: World, appeal_id: str) -> None:
    """The work done, as city staff would record it through intake's commands."""
    city = Principal(
        staff_id="s-1", username="city.admin", role="city_admin", org_type="city", org_code="city"
    )
    auth = {"Authorization": f"Bearer {mint_service_token('gateway', city)}"}
    async with httpx.AsyncClient(base_url=world.intake_url, headers=auth) as intake:
        for path, body in (
            ("transitions", {"to": "triaged", "reason": "分拣完成"}),
            ("transitions", {"to": "approved", "reason": "方案确定"}),
            ("start", {"reason": "开始维修"}),
            ("complete", {"reason": "维修完成"}),
        ):
            r = await intake.post(f"/internal/appeals/{appeal_id}/{path}", json=body)
            assert r.status_code == 200, (path, r.text)
