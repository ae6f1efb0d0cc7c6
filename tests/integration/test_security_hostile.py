"""Hostile bodies sent to the gateway in front of the real services (issue 15): each is refused
with a 422 problem (a stable `code`, a Chinese `detail`), never a 5xx nor a partial write."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import AsyncIterator

import httpx
import pytest
from sqlalchemy import text

from services.common.db import session_scope
from services.common.settings import get_settings
from tests.integration.security_support import CITY, System, bearer, forged, running_system
from tests.system.harness import hotline_body, signed_headers

HOTLINE = "/api/v1/channels/hotline-12345/calls"
CJK = re.compile(r"[\u4e00-\u9fff]")


@pytest.fixture(scope="module")
async def system() -> AsyncIterator[System]:
    async with running_system("10.8.15.7") as system:
        yield system


async def post_signed(system: System, body: bytes) -> tuple[int, dict[str, object]]:
    secret = get_settings().require("hotline_secret")
    r = await system.gateway.post(HOTLINE, content=body, headers=signed_headers(secret, body))
    try:
        answer = r.json()
    except ValueError:
        answer = {"raw": r.text}
    return r.status_code, answer


async def stored(call_id: str) -> int:
    async with session_scope() as session:
        n = await session.scalar(
            text("SELECT count(*) FROM intake.appeals WHERE channel_ref = :ref"), {"ref": call_id}
        )
    return int(n or 0)


def assert_problem_422(status: int, answer: dict[str, object]) -> None:
    assert status == 422, (status, answer)
    assert isinstance(answer.get("code"), str) and answer["code"], answer
    assert CJK.search(str(answer.get("detail"))), answer


def turns(*texts: str) -> list[dict[str, object]]:
    return [{"speaker": "caller", "text": t, "offset_ms": i * 1000} for i, t in enumerate(texts)]


@pytest.mark.parametrize("field", ["transcript", "summary", "address", "category_hint", "operator_id"])
async def test_a_nul_in_any_hotline_text_field_is_a_422(system: System, field: str) -> None:
    call_id = f"hostile-nul-{uuid.uuid4().hex}"
    overrides: dict[str, object] = (
        {"transcript": turns("路灯坏了\x00一个星期")} if field == "transcript" else {field: "北栅\x00社区"}
    )
    status, answer = await post_signed(system, hotline_body(call_id, **overrides))
    assert_problem_422(status, answer)
    assert await stored(call_id) == 0


async def test_a_nul_in_the_call_id_is_a_422(system: System) -> None:
    status, answer = await post_signed(system, hotline_body(f"hostile\x00{uuid.uuid4().hex}"))
    assert_problem_422(status, answer)


async def test_the_longest_call_the_schema_allows_is_accepted_one_more_character_is_a_422(
    system: System,
) -> None:
    schema = (await system.gateway.get("/openapi.json")).json()
    body = schema["paths"][HOTLINE]["post"]["requestBody"]["content"]["application/json"]["schema"]
    turn_limit = body["properties"]["transcript"]["items"]["properties"]["text"]["maxLength"]
    summary_limit = body["properties"]["summary"]["anyOf"][0]["maxLength"]
    assert "19000" in body["properties"]["transcript"]["description"]
    # A caller's turn and a summary as long as the schema allows each: accepted.
    call_id = f"hostile-long-{uuid.uuid4().hex}"
    longest = hotline_body(call_id, transcript=turns("灯" * turn_limit), summary="灯" * summary_limit)
    status, answer = await post_signed(system, longest)
    assert status in (200, 202), (status, answer)
    # One character more than the schema allows: a 422, nothing written.
    call_id = f"hostile-long-{uuid.uuid4().hex}"
    status, answer = await post_signed(
        system, hotline_body(call_id, transcript=turns("灯" * (turn_limit + 1)))
    )
    assert_problem_422(status, answer)
    assert await stored(call_id) == 0


async def test_three_caller_turns_of_6000_characters_and_a_summary_are_a_422_not_a_500(
    system: System,
) -> None:
    call_id = f"hostile-6000-{uuid.uuid4().hex}"
    call = hotline_body(call_id, transcript=turns(*["灯" * 6000] * 3), summary="摘要" * 1000)
    status, answer = await post_signed(system, call)
    assert_problem_422(status, answer)
    assert await stored(call_id) == 0


async def test_a_call_only_the_operator_speaks_in_is_filed_with_their_words(system: System) -> None:
    call_id = f"hostile-operator-{uuid.uuid4().hex}"
    said = [{"speaker": "operator", "text": "市民反映北栅社区东坊大街路灯不亮。", "offset_ms": 0}]
    status, answer = await post_signed(system, hotline_body(call_id, transcript=said, summary=None))
    assert status == 202, (status, answer)


async def test_a_call_of_only_invisible_characters_is_a_422(system: System) -> None:
    call_id = f"hostile-blank-{uuid.uuid4().hex}"
    said = [{"speaker": "caller", "text": "\u200b\u200b", "offset_ms": 0}]
    status, answer = await post_signed(system, hotline_body(call_id, transcript=said, summary=None))
    assert status in (202, 422), (status, answer)
    if status == 422:
        assert_problem_422(status, answer)


@pytest.mark.parametrize("depth", [50_000, 900])
async def test_deeply_nested_json_is_a_422(system: System, depth: int) -> None:
    """Past the parser's limit, and just under it, in a field kept verbatim."""
    call_id = f"hostile-deep-{uuid.uuid4().hex}"
    body = hotline_body(call_id)[:-1] + b', "extra": ' + b"[" * depth + b'"\\u0000"' + b"]" * depth + b"}"
    status, answer = await post_signed(system, body)
    assert_problem_422(status, answer)
    assert await stored(call_id) == 0


@pytest.mark.parametrize(
    "raw",
    [
        b'"summary": NaN',
        b'"summary": "\\ud800 lone"',
        b'"operator_id": Infinity',
        b'"address": "\\udfff"',
        # Fields of a later webhook version are kept verbatim: they must be storable too.
        b'"queue_wait_s": NaN',
        b'"agent_note": "\\ud83d"',
    ],
)
async def test_nan_and_lone_surrogates_are_a_422(system: System, raw: bytes) -> None:
    call_id = f"hostile-json-{uuid.uuid4().hex}"
    body = hotline_body(call_id)
    assert body.endswith(b"}")
    body = body[:-1] + b", " + raw + b"}"
    status, answer = await post_signed(system, body)
    assert_problem_422(status, answer)
    assert await stored(call_id) == 0


async def test_a_nul_in_a_staff_json_body_is_a_422(system: System) -> None:
    """JSON bodies parsed by FastAPI, not only the hotline's: a lone surrogate is refused alike."""
    r = await system.gateway.post(
        "/api/v1/auth/staff",
        content=json.dumps({"username": "\ud800", "password": "x"}).encode(),
        headers={"Content-Type": "application/json"},
    )
    assert r.status_code in (401, 422), r.text


@pytest.mark.parametrize(
    "path", [HOTLINE, "/api/v1/auth/staff", "/api/v1/donors", "/api/v1/channels/village-visit/appeals"]
)
async def test_a_body_over_the_gateway_cap_is_a_413_problem(system: System, path: str) -> None:
    body = b'{"x": "' + b"a" * (2 * 1024 * 1024) + b'"}'
    r = await system.gateway.post(path, content=body, headers={"Content-Type": "application/json"})
    assert r.status_code == 413, (path, r.status_code, r.text[:300])
    assert r.json()["code"] == "body_too_large" and CJK.search(r.json()["detail"])


async def test_a_photo_upload_still_takes_more_than_the_default_cap(system: System) -> None:
    _, resident = await system.login_resident()
    png = b"\x89PNG\r\n\x1a\n" + b"\x00" * (2 * 1024 * 1024)
    r = await system.gateway.post(
        "/api/v1/miniprogram/media", files={"file": ("p.png", png, "image/png")}, headers=resident
    )
    assert r.status_code != 413, r.text


async def file_call(system: System) -> tuple[str, str]:
    status, answer = await post_signed(system, hotline_body(f"guess-{uuid.uuid4().hex}"))
    assert status == 202, answer
    return str(answer["ticket_no"]), str(answer["query_code"])


async def test_wrong_query_codes_are_throttled_per_ticket_from_any_address(system: System) -> None:
    from services.gateway.api.app import app as gateway_app

    ticket, code = await file_call(system)
    other_ticket, other_code = await file_call(system)
    wrong = [f"{(int(code) + n) % 1_000_000:06d}" for n in range(1, 13)]
    answers = []
    for n, guess in enumerate(wrong):
        # Each guess from its own address, as a botnet would: the per-address limit never trips.
        transport = httpx.ASGITransport(app=gateway_app, client=(f"192.0.2.{n + 1}", 40000))
        async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as gw:
            answers.append(await gw.get(f"/api/v1/public/appeals/{ticket}", params={"code": guess}))
    assert [r.status_code for r in answers[:10]] == [404] * 10
    assert {r.status_code for r in answers[10:]} == {429}, [r.status_code for r in answers]
    assert answers[10].json()["code"] == "rate_limited" and int(answers[10].headers["Retry-After"]) > 0
    # Now the right code waits too (else the eleventh guess could be it) …
    right = await system.gateway.get(f"/api/v1/public/appeals/{ticket}", params={"code": code})
    assert right.status_code == 429
    # … and so does a beneficiary's confirmation with that ticket; another ticket is untouched.
    confirm = await system.gateway.post(
        f"/api/v1/donors/claims/{uuid.uuid4()}/beneficiary-confirmation",
        json={"ticket_no": ticket, "query_code": code},
    )
    assert confirm.status_code == 429, confirm.text
    other = await system.gateway.get(f"/api/v1/public/appeals/{other_ticket}", params={"code": other_code})
    assert other.status_code == 200, other.text


@pytest.mark.parametrize(
    "label",
    ["no expiry", "audience as a list", "no subject", "no role", "unknown role"],
)
async def test_a_staff_token_short_of_what_we_mint_is_a_401(system: System, label: str) -> None:
    headers = {
        "no expiry": forged(CITY, without=("exp",)),
        "audience as a list": forged(CITY, audience=["guanjia-staff", "guanjia-resident"]),
        "no subject": forged(CITY, without=("sub",)),
        "no role": forged(CITY, without=("role",)),
        "unknown role": forged(CITY.model_copy(update={"role": "superuser"})),
    }[label]
    r = await system.gateway.get("/api/v1/deadlines/rules", headers=headers)
    assert r.status_code == 401, (label, r.status_code, r.text)
    assert r.json()["code"] == "unauthorized"
    assert (await system.gateway.get("/api/v1/deadlines/rules", headers=bearer(CITY))).status_code == 200


async def test_a_staff_token_lasts_only_as_long_as_its_account(
    system: System, monkeypatch: pytest.MonkeyPatch
) -> None:
    from services.gateway.service import identity
    from services.gateway.service.identity import create_staff

    monkeypatch.setenv("GUANJIA_CHECK_STAFF_ACCOUNTS", "1")
    get_settings.cache_clear()
    try:
        username, password = f"sec-active-{uuid.uuid4().hex[:6]}", "correct-horse-9"
        async with session_scope() as session:
            await create_staff(session, username, password, "city_admin", "city")
        login = await login_as(system, username, password)
        headers = {"Authorization": f"Bearer {login}"}
        rules = "/api/v1/deadlines/rules"
        assert (await system.gateway.get(rules, headers=headers)).status_code == 200
        # A token for someone who was never stored: refused.
        assert (await system.gateway.get(rules, headers=bearer(CITY))).status_code == 401
        # Disabled: refused once the process's short memory of the account has passed.
        assert identity.ACCOUNT_CACHE_S <= 5
        async with session_scope() as session:
            await session.execute(
                text("UPDATE gateway.staff_accounts SET active = false WHERE username = :u"), {"u": username}
            )
        identity._current.clear()
        refused = await system.gateway.get(rules, headers=headers)
        assert refused.status_code == 401 and refused.json()["code"] == "unauthorized", refused.text
        # Active again but moved to another role: the old token's role is no longer the account's.
        async with session_scope() as session:
            await session.execute(
                text("UPDATE gateway.staff_accounts SET active = true, role = 'auditor' WHERE username = :u"),
                {"u": username},
            )
        identity._current.clear()
        assert (await system.gateway.get(rules, headers=headers)).status_code == 401
    finally:
        monkeypatch.undo()
        get_settings.cache_clear()


async def login_as(system: System, username: str, password: str) -> str:
    r = await system.gateway.post("/api/v1/auth/staff", json={"username": username, "password": password})
    assert r.status_code == 200, r.text
    return str(r.json()["access_token"])
