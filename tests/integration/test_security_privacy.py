"""Personal data never leaves to the public and never rests in plaintext (DESIGN §7), and the login
lock-out and the rate limits hold at the gateway.

Appeals whose words and fields hold a phone number, an 18-digit ID number and the reporter's name
are filed through the 12345 hotline, the mini-program, Open311 and a staff channel, and carried
through the real workers. Then:
- every public read (status by query code, disclosure list and detail, public statistics, public
  funds, Open311 requests, request and token) and the resident's own reads carry none of them;
- no text, varchar or jsonb column of any table in any schema holds the full phone or ID number:
  the words keep them masked, the full numbers rest encrypted in `intake.quoted_numbers` and leave
  only through the audited reveal;
- the channels' idempotent replays still work with only a hash of the body kept.
"""

from __future__ import annotations

import contextlib
import json
import re
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import httpx
import pytest
from sqlalchemy import text

from services.common.db import session_scope
from services.common.personal import id_check_char
from services.common.settings import get_settings
from services.gateway.service.identity import MAX_FAILED_LOGINS, create_api_key, create_staff, lock_for
from tests.fakes.live_service import environment
from tests.integration.security_support import (
    AUDITOR,
    BEIZHA,
    CITY,
    DEPARTMENT,
    OTHER_VILLAGE,
    TOWN,
    VILLAGE,
    System,
    bearer,
    running_system,
    settle,
)
from tests.system.harness import hotline_body, signed_headers

PHONE, PHONE_SPACED = "13926641258", "139 2664 1258"
ID_NUMBER = "44190019880715421" + id_check_char("44190019880715421")
NAME = "梁秀珍"
WORDS = f"我叫{NAME}，住北栅社区东坊大街，身份证号{ID_NUMBER}，电话{PHONE_SPACED}，门口路灯坏了一个星期，晚上很黑。"


def digits_pattern(number: str) -> re.Pattern[str]:
    """The number however it is written: with spaces, dashes or dots between its digits."""
    return re.compile(r"[\s\-.]?".join(re.escape(d) for d in number))


# The forms issue 15 found on public pages: names with a role or title, a bare name, a phone in
# Chinese numerals (幺 for 1), a WeChat id. Filed once through Open311 (its requests are public).
HOSTILE_WORDS = (
    "东坊大街的路灯坏了，联系人王小明。黄志强先生和林美玲女士都反映过。欧阳春花说晚上很黑。"
    "电话一三八二三四五六七九二，或者幺三九 二六六四 一二五八，微信wxid_k2j3h4g5。"
)
HOSTILE = {
    "contact name": re.compile("王小明"),
    "name before a title": re.compile("黄志强|林美玲"),
    "bare name": re.compile("欧阳春花"),
    "phone in numerals": re.compile("一三八二三四五六七九二|二六六四"),
    "wechat id": re.compile("wxid_k2j3h4g5"),
}
LEAKS = {
    "phone": digits_pattern(PHONE),
    "id_number": digits_pattern(ID_NUMBER),
    "name": re.compile(NAME),
    **HOSTILE,
}


def leaks_in(body: str) -> list[str]:
    decoded = body
    # JSON escapes Chinese as \\uXXXX when ensure_ascii is on: read it as the client would.
    with contextlib.suppress(ValueError):
        decoded = json.dumps(json.loads(body), ensure_ascii=False)
    return [what for what, pattern in LEAKS.items() if pattern.search(decoded) or pattern.search(body)]


@dataclass
class Filed:
    system: System
    tickets: dict[str, tuple[str, str]] = field(default_factory=dict)  # channel -> (ticket, code)
    open311: list[dict[str, str]] = field(default_factory=list)
    open311_key: str = ""
    resident: dict[str, str] = field(default_factory=dict)


@pytest.fixture(scope="module")
async def filed() -> AsyncIterator[Filed]:
    async with running_system("10.8.0.3") as system:
        gw = system.gateway
        out = Filed(system)
        # 12345: the caller says it all on the phone.
        call = hotline_body(
            f"sec-{uuid.uuid4().hex}",
            caller_number=PHONE_SPACED,
            transcript=[{"speaker": "caller", "text": WORDS, "offset_ms": 0}],
            summary=f"来电人{NAME}（{PHONE}，身份证{ID_NUMBER}）反映北栅社区东坊大街路灯损坏。",
        )
        r = await gw.post(
            "/api/v1/channels/hotline-12345/calls",
            content=call,
            headers=signed_headers(get_settings().require("hotline_secret"), call),
        )
        assert r.status_code == 202, r.text
        out.tickets["hotline"] = (r.json()["ticket_no"], r.json()["query_code"])
        # The mini-program.
        _, resident = await system.login_resident()
        out.resident = resident
        form = {
            "description": WORDS,
            "name": NAME,
            "phone": PHONE,
            "town_code": "441900121000",
            "village_code": BEIZHA,
        }
        r = await gw.post(
            "/api/v1/miniprogram/appeals",
            json=form,
            headers={**resident, "Idempotency-Key": uuid.uuid4().hex},
        )
        assert r.status_code == 201, r.text
        out.tickets["miniprogram"] = (r.json()["ticket_no"], r.json()["query_code"])
        # A village cadre's visit, the family's numbers in the fields and the words.
        visit = {
            "description": WORDS,
            "family": {"name": NAME, "phone": PHONE, "id_number": ID_NUMBER, "hukou_local": True},
            "household_size": 2,
        }
        r = await gw.post(
            "/api/v1/channels/village-visit/appeals",
            json=visit,
            headers={**bearer(VILLAGE), "Idempotency-Key": uuid.uuid4().hex},
        )
        assert r.status_code == 201, r.text
        out.tickets["village_visit"] = (r.json()["ticket_no"], r.json()["query_code"])
        # Open311, a micro-project (its place is public) with the numbers in the description.
        async with session_scope() as session:
            key = await create_api_key(session, f"security-{uuid.uuid4().hex[:6]}")
        r = await gw.post(
            "/open311/v2/requests.json",
            data={
                "api_key": key,
                "service_code": "environment",
                "lat": "22.8215",
                "long": "113.6690",
                "address_string": "东莞市虎门镇北栅社区东坊大街",
                "description": WORDS,
                "first_name": NAME[1:],
                "last_name": NAME[0],
                "phone": PHONE,
            },
        )
        assert r.status_code == 200, r.text
        out.open311, out.open311_key = r.json(), key
        r = await gw.post(
            "/open311/v2/requests.json",
            data={
                "api_key": key,
                "service_code": "environment",
                "address_string": "东莞市虎门镇北栅社区东坊大街",
                "description": HOSTILE_WORDS,
            },
        )
        assert r.status_code == 200, r.text
        out.open311 += r.json()
        await settle()
        yield out


async def test_public_and_resident_reads_carry_no_personal_data(filed: Filed) -> None:
    gw = filed.system.gateway
    reads: list[tuple[str, dict[str, str], dict[str, str]]] = [
        ("/api/v1/public/appeals", {}, {}),
        ("/api/v1/public/appeals", {"village": BEIZHA}, {}),
        ("/api/v1/public/appeals", {"town": "441900121000"}, {}),
        ("/api/v1/stats/public", {}, {}),
        ("/api/v1/stats/public", {"level": "town", "code": "441900121000", "by": "channel"}, {}),
        ("/api/v1/public/funds", {}, {}),
        ("/open311/v2/requests.json", {}, {}),
        ("/open311/v2/requests.xml", {}, {}),
        ("/open311/v2/requests", {"status": "open"}, {}),
        ("/api/v1/miniprogram/appeals", {}, filed.resident),
    ]
    for ticket, code in filed.tickets.values():
        reads.append((f"/api/v1/public/appeals/{ticket}", {"code": code}, {}))
        reads.append((f"/api/v1/public/disclosure/{ticket}", {}, {}))
    ticket = filed.tickets["miniprogram"][0]
    reads.append((f"/api/v1/miniprogram/appeals/{ticket}", {}, filed.resident))
    for request in filed.open311:
        for key in ("service_request_id", "token"):
            if request.get(key):
                path = "requests" if key == "service_request_id" else "tokens"
                # Not disclosed yet, a request is shown to the client that filed it (its api_key).
                mine = {"api_key": filed.open311_key} if path == "requests" else {}
                for fmt in ("json", "xml"):
                    reads.append((f"/open311/v2/{path}/{request[key]}.{fmt}", mine, {}))
    seen = disclosed = 0
    for path, params, headers in reads:
        r = await gw.get(path, params=params, headers=headers)
        if r.status_code == 404 and path.startswith("/api/v1/public/disclosure/"):
            continue  # not disclosed (yet): nothing to leak
        disclosed += path.startswith("/api/v1/public/disclosure/")
        assert r.status_code == 200, f"{path}: {r.status_code} {r.text[:200]}"
        where = [m.start() for m in LEAKS["name"].finditer(r.text)]
        context = [r.text[max(0, i - 300) : i + 40] for i in where]
        assert not leaks_in(r.text), f"{path} {params} shows {leaks_in(r.text)}: {context or r.text[:600]}"
        seen += 1
    assert seen >= len(reads) - len(filed.tickets)
    # A run where every disclosure page answered 404 checked none of them: it must not pass.
    assert disclosed > 0, "no disclosure page was there to check"


async def test_no_column_of_any_table_holds_a_full_phone_or_id_number(filed: Filed) -> None:
    async with session_scope() as session:
        columns = (
            await session.execute(
                text(
                    "SELECT c.table_schema, c.table_name, c.column_name FROM information_schema.columns c "
                    "JOIN information_schema.tables t USING (table_schema, table_name) "
                    "WHERE t.table_type = 'BASE TABLE' "
                    "AND c.table_schema NOT IN ('pg_catalog', 'information_schema') "
                    "AND c.data_type IN ('text', 'character varying', 'character', 'json', 'jsonb')"
                )
            )
        ).all()
        assert len(columns) > 50
        found: list[str] = []
        for schema, table, column in columns:
            for what in ("phone", "id_number"):
                needle = PHONE if what == "phone" else ID_NUMBER
                # Digits only, so that a number kept as "139 2664 1258" or "+86-139…" is caught too.
                hits = await session.scalar(
                    text(
                        f'SELECT count(*) FROM "{schema}"."{table}" '
                        f"WHERE regexp_replace(\"{column}\"::text, '[^0-9]', '', 'g') LIKE :needle"
                    ),
                    {"needle": f"%{needle}%"},
                )
                if hits:
                    sample = await session.scalar(
                        text(
                            f'SELECT "{column}"::text FROM "{schema}"."{table}" '
                            f"WHERE regexp_replace(\"{column}\"::text, '[^0-9]', '', 'g') LIKE :needle LIMIT 1"
                        ),
                        {"needle": f"%{needle}%"},
                    )
                    found.append(f"{schema}.{table}.{column}: {what} ×{hits}: {str(sample)[:300]}")
    assert not found, found


async def appeal_id_of(ticket_no: str) -> str:
    async with session_scope() as session:
        found = await session.scalar(
            text("SELECT id FROM intake.appeals WHERE ticket_no = :t"), {"t": ticket_no}
        )
    assert found is not None
    return str(found)


async def reveal_rows(appeal_id: str) -> list[str]:
    async with session_scope() as session:
        rows = await session.scalars(
            text("SELECT fields FROM intake.reveal_audit WHERE appeal_id = :a ORDER BY id"),
            {"a": uuid.UUID(appeal_id)},
        )
        return list(rows)


async def test_a_number_quoted_in_the_words_is_masked_and_revealed_only_through_the_audit(
    filed: Filed,
) -> None:
    gw = filed.system.gateway
    appeal = await appeal_id_of(filed.tickets["village_visit"][0])
    # Staff in scope read the words masked, with the quoted numbers listed (masked) to reveal.
    r = await gw.get(f"/api/v1/staff/appeals/{appeal}", headers=bearer(VILLAGE))
    assert r.status_code == 200, r.text
    view = r.json()
    assert "139****1258" in view["description"] and "4419**********4210" in view["description"], view
    assert not {"phone", "id_number"} & set(leaks_in(r.text)), r.text
    assert {(q["kind"], q["index"], q["masked"]) for q in view["quoted_numbers"]} == {
        ("phone", 1, "139****1258"),
        ("id_number", 1, "4419**********4210"),
    }
    before = await reveal_rows(appeal)
    body = {"field": "quoted_phone", "index": 1, "reason": "按诉求内容中的电话回访"}
    # Refused: an auditor (no reveals), another village (outside the scope), a department.
    for refused, status in ((AUDITOR, 403), (OTHER_VILLAGE, 404), (DEPARTMENT, 404)):
        r = await gw.post(f"/api/v1/staff/appeals/{appeal}/reveal", json=body, headers=bearer(refused))
        assert r.status_code == status, f"{refused.username}: {r.status_code} {r.text[:200]}"
        assert PHONE not in r.text
        assert await reveal_rows(appeal) == before, f"{refused.username} left an audit row"
    # Allowed: the number comes back in full, and exactly one audit row says which one and why.
    r = await gw.post(f"/api/v1/staff/appeals/{appeal}/reveal", json=body, headers=bearer(VILLAGE))
    assert r.status_code == 200, r.text
    assert r.json() == {"relation": "text", "field": "quoted_phone", "value": f"+86{PHONE}", "index": 1}
    assert await reveal_rows(appeal) == [*before, "text.phone[1]"]
    r = await gw.post(
        f"/api/v1/staff/appeals/{appeal}/reveal",
        json={"field": "quoted_id_number", "reason": "核对诉求内容中的身份证号"},
        headers=bearer(TOWN),
    )
    assert r.status_code == 200 and r.json()["value"] == ID_NUMBER, r.text
    assert await reveal_rows(appeal) == [*before, "text.phone[1]", "text.id_number[1]"]
    # A number that is not there: 404, and nothing audited.
    r = await gw.post(
        f"/api/v1/staff/appeals/{appeal}/reveal",
        json={**body, "index": 2},
        headers=bearer(CITY),
    )
    assert r.status_code == 404, r.text
    assert len(await reveal_rows(appeal)) == len(before) + 2
    audit = await gw.get("/api/v1/staff/audit/reveals", params={"appeal_id": appeal}, headers=bearer(AUDITOR))
    assert audit.status_code == 200
    assert [e["fields"] for e in audit.json()][:2] == ["text.id_number[1]", "text.phone[1]"]
    assert audit.json()[1]["reason"] == body["reason"]


async def test_replays_answer_the_first_time_with_only_a_hash_of_the_body_kept(filed: Filed) -> None:
    gw = filed.system.gateway
    # A staff channel: same key and body -> 200 and the first answer; same key, other body -> 409.
    visit = {
        "description": f"北栅社区东坊大街井盖松动，联系电话 +86 139-2664-1258，身份证{ID_NUMBER}。",
        "family": {"name": NAME, "phone": PHONE, "id_number": ID_NUMBER, "hukou_local": True},
        "household_size": 3,
    }
    headers = {**bearer(VILLAGE), "Idempotency-Key": uuid.uuid4().hex}
    first = await gw.post("/api/v1/channels/village-visit/appeals", json=visit, headers=headers)
    assert first.status_code == 201, first.text
    again = await gw.post("/api/v1/channels/village-visit/appeals", json=visit, headers=headers)
    assert again.status_code == 200 and again.json() == first.json(), again.text
    other = await gw.post(
        "/api/v1/channels/village-visit/appeals", json={**visit, "household_size": 4}, headers=headers
    )
    assert other.status_code == 409, other.text
    # The 12345 hotline: the same call again -> 200 and the first answer; the same id, other words -> 409.
    call_id = f"sec-replay-{uuid.uuid4().hex}"
    secret = get_settings().require("hotline_secret")
    said = [{"speaker": "caller", "text": WORDS, "offset_ms": 0}]
    call = hotline_body(call_id, caller_number=PHONE_SPACED, transcript=said)
    r = await gw.post(
        "/api/v1/channels/hotline-12345/calls", content=call, headers=signed_headers(secret, call)
    )
    assert r.status_code == 202, r.text
    replay = await gw.post(
        "/api/v1/channels/hotline-12345/calls", content=call, headers=signed_headers(secret, call)
    )
    assert replay.status_code == 200 and replay.json() == r.json(), replay.text
    changed = hotline_body(call_id, caller_number=PHONE_SPACED, transcript=said, summary="另一段摘要")
    conflict = await gw.post(
        "/api/v1/channels/hotline-12345/calls", content=changed, headers=signed_headers(secret, changed)
    )
    assert conflict.status_code == 409, conflict.text
    # What the gateway kept of both messages: masked words, no full number.
    async with session_scope() as session:
        kept = (
            await session.scalars(
                text(
                    "SELECT body::text FROM gateway.inbound_messages "
                    "WHERE channel_ref = :call OR body->>'idempotency_key' = :key"
                ),
                {"call": call_id, "key": headers["Idempotency-Key"]},
            )
        ).all()
    assert len(kept) == 2
    for body in kept:
        assert (
            "139****1258" in body and not LEAKS["phone"].search(body) and not LEAKS["id_number"].search(body)
        )


async def login_from(client_ip: str, username: str, password: str) -> httpx.Response:
    from services.gateway.api.app import app as gateway_app

    transport = httpx.ASGITransport(app=gateway_app, client=(client_ip, 40000))
    async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as gw:
        return await gw.post("/api/v1/auth/staff", json={"username": username, "password": password})


def answer_of(r: httpx.Response) -> tuple[int, str, str]:
    return r.status_code, r.json()["code"], r.json()["detail"]


async def test_the_login_locks_the_guessing_address_only_and_says_nothing_of_the_name(filed: Filed) -> None:
    username, password = f"sec-lock-{uuid.uuid4().hex[:6]}", "correct-horse-9"
    async with session_scope() as session:
        await create_staff(session, username, password, "village_staff", BEIZHA)
    attacker, colleague = "10.8.7.1", "10.8.7.2"
    assert (await login_from(attacker, username, password)).status_code == 200
    wrong = [await login_from(attacker, username, "wrong-guess") for _ in range(MAX_FAILED_LOGINS)]
    assert {answer_of(r) for r in wrong} == {(401, "unauthorized", "用户名或密码错误。")}
    # From the guessing address even the right password is refused, exactly as a wrong one …
    locked = await login_from(attacker, username, password)
    assert answer_of(locked) == answer_of(wrong[0]), locked.text
    assert locked.headers["content-type"].startswith("application/problem+json")
    # … while the account still works from anywhere else: guesses cannot lock its owner out.
    assert (await login_from(colleague, username, password)).status_code == 200
    # An unknown name answers the same, before and after as many failures: no oracle.
    unknown = f"sec-nobody-{uuid.uuid4().hex[:6]}"
    for _ in range(MAX_FAILED_LOGINS + 1):
        assert answer_of(await login_from(attacker, unknown, "wrong-guess")) == answer_of(wrong[0])


def test_a_pair_is_locked_longer_each_time() -> None:
    assert [lock_for(n).total_seconds() / 60 for n in (1, 2, 3)] == [5, 10, 20]
    assert lock_for(100).total_seconds() == 24 * 3600


async def test_public_and_login_endpoints_answer_429_past_their_limit(filed: Filed) -> None:
    # Small limits for this test only; the windows are keyed by client address, so another
    # address is untouched.
    async with environment({"GUANJIA_RATE_PUBLIC": "3/60", "GUANJIA_RATE_LOGIN": "3/60"}):
        from services.gateway.api.app import app as gateway_app

        for client_ip, method, path, body in (
            ("10.8.9.1", "GET", "/api/v1/public/appeals", None),
            ("10.8.9.2", "GET", "/api/v1/stats/public", None),
            ("10.8.9.3", "POST", "/api/v1/auth/staff", {"username": "nobody", "password": "nothing"}),
        ):
            transport = httpx.ASGITransport(app=gateway_app, client=(client_ip, 40000))
            async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as gw:
                answers = [await gw.request(method, path, json=body) for _ in range(8)]
            # A fixed window may roll over once inside the burst: 8 > 2 × 3 gives a 429 either way.
            refused = [r for r in answers if r.status_code == 429]
            assert refused, (path, [r.status_code for r in answers])
            assert refused[0].headers["content-type"].startswith("application/problem+json")
            assert refused[0].json()["code"] == "rate_limited"
