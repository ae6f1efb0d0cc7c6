"""爱心资源库 and 莞家直达 through routing's API: donors verified by staff, anonymised browsing,
partial pledges that add up, over-claims and claim races refused by the database, idempotent
claims, expiry back to the pool, confirmation and the donor's completion report."""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import func, select, update

from routing.models import Claim, ClaimListing, commands
from services.common.db import session_scope
from tests.fixtures import auth, received
from tests.routing.support import (
    CITY,
    DIBAO,
    HUMEN,
    HUMEN_TOWN,
    NANCHENG,
    NANCHENG_TOWN,
    approve_plan,
    events_of,
    feed,
    hops,
)

SCHOOL_BAG = "孩子上学没有书包和文具，家里困难"
COURT = "村里想建一个篮球场，年轻人下班后没地方运动"
CREDIT = "91441900MA4UXXXX1X"


async def donor(
    http: httpx.AsyncClient, *, pool: str = "city", town: str | None = None, verify: bool = True
) -> str:
    body: dict[str, Any] = {
        "kind": "enterprise",
        "name": f"爱心企业{uuid.uuid4().hex[:4]}",
        "credit_code": CREDIT,
        "pool": pool,
    }
    if town:
        body["town_code"] = town
    made = await http.post("/internal/donors", json=body, headers=auth(None))
    assert made.status_code == 201, made.text
    key: str = made.json()["key"]
    if verify:
        verifier = HUMEN_TOWN if pool == "town" and town == HUMEN else CITY
        ok = await http.post(
            f"/internal/donors/{made.json()['donor']['id']}/state",
            json={"state": "verified"},
            headers=auth(verifier),
        )
        assert ok.status_code == 200, ok.text
    return key


def as_donor(key: str, idempotency_key: str | None = None) -> dict[str, str]:
    headers = {**auth(None), "X-Donor-Key": key}
    if idempotency_key:
        headers["Idempotency-Key"] = idempotency_key
    return headers


async def claim(
    http: httpx.AsyncClient, key: str, appeal_id: uuid.UUID, amount: int | None, *, idem: str | None = None
) -> httpx.Response:
    body: dict[str, Any] = {"appeal_id": str(appeal_id), "kind": "money", "amount_fen": amount}
    return await http.post("/internal/claims", json=body, headers=as_donor(key, idem or uuid.uuid4().hex))


async def micro_wish(http: httpx.AsyncClient, target: int = 80_000) -> uuid.UUID:
    appeal_id = await feed(received(SCHOOL_BAG, town_code=HUMEN))
    (hop,) = await hops(appeal_id)
    assert (hop.track, hop.unit_type) == ("direct", "town")
    published = await http.put(
        f"/internal/listings/{appeal_id}",
        json={"summary": "虎门镇一名小学生缺少书包和文具", "target_fen": target},
        headers=auth(HUMEN_TOWN),
    )
    assert published.status_code == 200, published.text
    return appeal_id


async def micro_project(http: httpx.AsyncClient, target: int) -> uuid.UUID:
    appeal_id = await feed(received(COURT, town_code=HUMEN))
    await approve_plan(http, appeal_id, budget_fen=target)  # only an approved plan is claimable
    published = await http.put(
        f"/internal/listings/{appeal_id}",
        json={"summary": "虎门镇某村拟建篮球场（已经村民议事通过）", "target_fen": target},
        headers=auth(HUMEN_TOWN),
    )
    assert published.status_code == 200, published.text
    assert published.json()["exclusive"] is False
    return appeal_id


async def listing(appeal_id: uuid.UUID) -> ClaimListing:
    async with session_scope() as session:
        found = await session.get(ClaimListing, appeal_id)
        assert found is not None
        return found


async def test_donors_join_and_staff_verify_them(http: httpx.AsyncClient) -> None:
    no_code = await http.post(
        "/internal/donors", json={"kind": "enterprise", "name": "某公司", "pool": "city"}, headers=auth(None)
    )
    assert no_code.status_code == 422
    no_town = await http.post(
        "/internal/donors", json={"kind": "individual", "name": "张先生", "pool": "town"}, headers=auth(None)
    )
    assert no_town.status_code == 422
    made = await http.post(
        "/internal/donors",
        json={"kind": "individual", "name": "张先生", "pool": "town", "town_code": HUMEN},
        headers=auth(None),
    )
    assert made.status_code == 201
    donor_id, key = made.json()["donor"]["id"], made.json()["key"]
    assert made.json()["donor"]["state"] == "pending" and key.startswith("gjd_")
    me = await http.get("/internal/donors/me", headers=as_donor(key))
    assert me.status_code == 200 and me.json()["name"] == "张先生"
    assert (await http.get("/internal/donors/me", headers=as_donor(key + "x"))).status_code == 401
    assert (
        await http.post(
            f"/internal/donors/{donor_id}/state", json={"state": "verified"}, headers=auth(NANCHENG_TOWN)
        )
    ).status_code == 403
    appeal_id = await micro_wish(http)
    refused = await claim(http, key, appeal_id, 80_000)
    assert refused.status_code == 409 and refused.json()["code"] == "donor_not_verified"
    ok = await http.post(
        f"/internal/donors/{donor_id}/state", json={"state": "verified"}, headers=auth(HUMEN_TOWN)
    )
    assert ok.status_code == 200 and ok.json()["verified_at"]
    pending = await http.get("/internal/donors", params={"state": "verified"}, headers=auth(HUMEN_TOWN))
    assert donor_id in {d["id"] for d in pending.json()}


async def test_donors_browse_their_pool_anonymised(http: httpx.AsyncClient) -> None:
    appeal_id = await feed(received(SCHOOL_BAG, town_code=HUMEN))
    city_key, humen_key = await donor(http), await donor(http, pool="town", town=HUMEN)
    assert str(appeal_id) not in {
        x["appeal_id"] for x in (await http.get("/internal/listings", headers=as_donor(city_key))).json()
    }
    published = await http.put(
        f"/internal/listings/{appeal_id}",
        json={"summary": "虎门镇一名小学生缺少书包和文具", "target_fen": 80_000},
        headers=auth(HUMEN_TOWN),
    )
    assert published.status_code == 200
    assert (
        await http.put(
            f"/internal/listings/{appeal_id}",
            json={"summary": "x" * 5, "target_fen": 1},
            headers=auth(NANCHENG_TOWN),
        )
    ).status_code == 404  # another town's appeal does not exist for it
    for key in (city_key, humen_key):
        seen = (
            await http.get("/internal/listings", params={"kind": "micro_wish"}, headers=as_donor(key))
        ).json()
        mine = next(x for x in seen if x["appeal_id"] == str(appeal_id))
        assert mine["summary"] == "虎门镇一名小学生缺少书包和文具" and mine["exclusive"] is True
        assert not {"ticket_no", "description", "title", "address", "village_code"} & set(mine)
    nancheng_key = await http.post(
        "/internal/donors",
        json={"kind": "individual", "name": "李女士", "pool": "town", "town_code": NANCHENG},
        headers=auth(None),
    )
    other = nancheng_key.json()
    await http.post(
        f"/internal/donors/{other['donor']['id']}/state",
        json={"state": "verified"},
        headers=auth(NANCHENG_TOWN),
    )
    theirs = (await http.get("/internal/listings", headers=as_donor(other["key"]))).json()
    assert str(appeal_id) not in {x["appeal_id"] for x in theirs}
    assert (await claim(http, other["key"], appeal_id, 80_000)).status_code == 404


async def test_two_claims_on_a_micro_wish_at_once_exactly_one_wins(http: httpx.AsyncClient) -> None:
    appeal_id = await micro_wish(http)
    keys = [await donor(http) for _ in range(6)]
    partial = await claim(http, keys[0], appeal_id, 30_000)
    assert partial.status_code == 422 and partial.json()["remaining_fen"] == 80_000
    answers = await asyncio.gather(*(claim(http, k, appeal_id, 80_000) for k in keys))
    codes = Counter(a.status_code for a in answers)
    assert codes == {201: 1, 409: 5}, [a.text for a in answers]
    assert {a.json()["code"] for a in answers if a.status_code == 409} == {"already_claimed"}
    async with session_scope() as session:
        active = await session.scalar(
            select(func.count())
            .select_from(Claim)
            .where(Claim.appeal_id == appeal_id, Claim.state == "pledged")
        )
    assert active == 1
    found = await listing(appeal_id)
    assert (found.state, found.pledged_fen) == ("claimed", 80_000)


async def test_partial_pledges_add_up_and_an_over_claim_is_refused(http: httpx.AsyncClient) -> None:
    appeal_id = await micro_project(http, 1_000_000)
    a, b, c = [await donor(http) for _ in range(3)]
    assert (await claim(http, a, appeal_id, 300_000)).status_code == 201
    assert (await claim(http, b, appeal_id, 500_000)).status_code == 201
    over = await claim(http, c, appeal_id, 300_000)
    assert over.status_code == 409 and over.json()["code"] == "over_claim" and over.json()["detail"]
    assert (await listing(appeal_id)).pledged_fen == 800_000
    rest = await claim(http, c, appeal_id, 200_000)
    assert rest.status_code == 201
    found = await listing(appeal_id)
    assert (found.pledged_fen, found.state) == (1_000_000, "claimed")
    closed = await claim(http, c, appeal_id, 1)
    assert closed.status_code == 409 and closed.json()["code"] == "listing_not_open"
    made = [e for e in await events_of(appeal_id) if e["type"] == "claim.made"]
    assert [e["data"]["amount_fen"] for e in made] == [300_000, 500_000, 200_000]
    assert {e["data"]["donor_kind"] for e in made} == {"enterprise"} and all(
        "name" not in e["data"] for e in made
    )


async def test_concurrent_partial_pledges_never_exceed_the_target(http: httpx.AsyncClient) -> None:
    appeal_id = await micro_project(http, 1_000_000)
    keys = [await donor(http) for _ in range(8)]
    answers = await asyncio.gather(*(claim(http, k, appeal_id, 300_000) for k in keys))
    codes = Counter(a.status_code for a in answers)
    assert codes == {201: 3, 409: 5}, [a.text for a in answers]
    assert (await listing(appeal_id)).pledged_fen == 900_000


async def test_a_claim_is_idempotent(http: httpx.AsyncClient) -> None:
    appeal_id = await micro_project(http, 500_000)
    key = await donor(http)
    first = await claim(http, key, appeal_id, 100_000, idem="pledge-1")
    again = await claim(http, key, appeal_id, 100_000, idem="pledge-1")
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["id"] == first.json()["id"]
    other_body = await claim(http, key, appeal_id, 120_000, idem="pledge-1")
    assert other_body.status_code == 409 and other_body.json()["code"] == "idempotency_key_reused"
    no_key = await http.post(
        "/internal/claims",
        json={"appeal_id": str(appeal_id), "kind": "money", "amount_fen": 1},
        headers=as_donor(key),
    )
    assert no_key.status_code == 422 and no_key.json()["code"] == "idempotency_key_required"
    assert (await listing(appeal_id)).pledged_fen == 100_000


async def test_an_unfulfilled_pledge_expires_and_the_appeal_returns_to_the_pool(
    http: httpx.AsyncClient,
) -> None:
    appeal_id = await micro_wish(http)
    first_key, second_key = await donor(http), await donor(http)
    made = await claim(http, first_key, appeal_id, 80_000)
    assert made.status_code == 201
    expires = datetime.fromisoformat(made.json()["expires_at"])
    assert timedelta(days=14) < expires - datetime.now(UTC) <= timedelta(days=15)
    async with session_scope() as session:
        await session.execute(
            update(Claim)
            .where(Claim.id == uuid.UUID(made.json()["id"]))
            .values(expires_at=datetime.now(UTC) - timedelta(seconds=1))
        )
    assert (await http.post("/internal/claims/expiry", headers=auth(HUMEN_TOWN))).status_code == 403
    expired = await http.post("/internal/claims/expiry", headers=auth(CITY))
    assert made.json()["id"] in {c["id"] for c in expired.json()}
    found = await listing(appeal_id)
    assert (found.state, found.pledged_fen) == ("open", 0)
    assert [e["type"] for e in await events_of(appeal_id)][-2:] == ["claim.made", "claim.expired"]
    assert (await claim(http, second_key, appeal_id, 80_000)).status_code == 201  # back in the pool


async def test_fulfilment_is_confirmed_and_the_donor_gets_a_report(http: httpx.AsyncClient) -> None:
    appeal_id = await micro_project(http, 300_000)
    ticket = (await listing(appeal_id)).ticket_no
    a, b = await donor(http), await donor(http)
    one = (await claim(http, a, appeal_id, 100_000)).json()
    two = (await claim(http, b, appeal_id, 200_000)).json()
    early = await http.get(f"/internal/claims/{one['id']}/report", headers=as_donor(a))
    assert early.status_code == 409 and early.json()["code"] == "claim_state"
    assert (
        await http.post(f"/internal/claims/{one['id']}/confirmation", json={}, headers=auth(NANCHENG_TOWN))
    ).status_code == 403
    by_staff = await http.post(
        f"/internal/claims/{one['id']}/confirmation", json={}, headers=auth(HUMEN_TOWN)
    )
    assert by_staff.status_code == 200 and by_staff.json()["confirmed_by_kind"] == "staff"
    twice = await http.post(f"/internal/claims/{one['id']}/confirmation", json={}, headers=auth(HUMEN_TOWN))
    assert twice.status_code == 409
    assert (
        await http.post(
            f"/internal/claims/{two['id']}/confirmation", json={"ticket_no": "MS1"}, headers=auth(None)
        )
    ).status_code == 404
    by_beneficiary = await http.post(
        f"/internal/claims/{two['id']}/confirmation", json={"ticket_no": ticket}, headers=auth(None)
    )
    assert by_beneficiary.status_code == 200 and by_beneficiary.json()["confirmed_by_kind"] == "beneficiary"
    found = await listing(appeal_id)
    assert (found.confirmed_fen, found.state) == (300_000, "closed")
    confirmed = [e["data"] for e in await events_of(appeal_id) if e["type"] == "claim.confirmed"]
    assert [(c["amount_fen"], c["confirmed_by"]) for c in confirmed] == [
        (100_000, "staff"),
        (200_000, "beneficiary"),
    ]
    report = await http.get(f"/internal/claims/{one['id']}/report", headers=as_donor(a))
    assert report.status_code == 200, report.text
    doc = report.json()
    assert (
        doc["amount_fen"] == 100_000
        and doc["confirmed_by"] == "staff"
        and doc["report_no"].startswith("GJZD-")
    )
    assert doc["appeal"]["town"] == "虎门镇" and ticket not in report.text
    assert (await http.get(f"/internal/claims/{one['id']}/report", headers=as_donor(b))).status_code == 404
    mine = await http.get("/internal/claims", headers=as_donor(a))
    assert [c["state"] for c in mine.json()] == ["confirmed"]


async def test_an_appeal_that_ended_leaves_the_pool(http: httpx.AsyncClient) -> None:
    from services.contracts.events import StatusChanged, make_event

    appeal_id = await micro_wish(http)
    ended = make_event(
        "appeal.status_changed",
        "intake",
        StatusChanged(from_status="approved", to_status="withdrawn", reason="群众撤回"),
        appeal_id=appeal_id,
    )
    await feed(ended)
    assert (await listing(appeal_id)).state == "closed"
    key = await donor(http)
    refused = await claim(http, key, appeal_id, 80_000)
    assert refused.status_code == 409 and refused.json()["code"] == "listing_not_open"


# --- the claim's idempotency key, in the kernel's command table (issue 13.5) ---------------------


async def _keys(idempotency_key: str) -> list[str]:
    async with session_scope() as session:
        rows = await session.scalars(
            select(commands.c.idempotency_key).where(commands.c.idempotency_key.like(f"%:{idempotency_key}"))
        )
        return list(rows.all())


async def test_a_replay_says_so_and_answers_the_claim_as_it_is_now(http: httpx.AsyncClient) -> None:
    appeal_id = await micro_project(http, 500_000)
    key = await donor(http)
    idem = f"pledge-{uuid.uuid4().hex}"
    first = await claim(http, key, appeal_id, 100_000, idem=idem)
    assert first.status_code == 201 and "Idempotent-Replayed" not in first.headers
    confirmed = await http.post(
        f"/internal/claims/{first.json()['id']}/confirmation", json={}, headers=auth(HUMEN_TOWN)
    )
    assert confirmed.status_code == 200, confirmed.text
    again = await claim(http, key, appeal_id, 100_000, idem=idem)
    assert (again.status_code, again.headers.get("Idempotent-Replayed")) == (200, "true")
    assert (again.json()["id"], again.json()["state"]) == (first.json()["id"], "confirmed")
    # The key is the donor's own: another donor's equal key makes another claim.
    other = await claim(http, await donor(http), appeal_id, 100_000, idem=idem)
    assert other.status_code == 201 and other.json()["id"] != first.json()["id"]
    assert len(await _keys(idem)) == 2
    assert (await listing(appeal_id)).pledged_fen == 200_000


async def test_a_refused_claim_leaves_its_key_unused(http: httpx.AsyncClient) -> None:
    appeal_id = await micro_wish(http, target=80_000)
    key = await donor(http)
    idem = f"wish-{uuid.uuid4().hex}"
    partial = await claim(http, key, appeal_id, 50_000, idem=idem)
    assert partial.status_code == 422 and partial.json()["code"] == "invalid_input"
    assert await _keys(idem) == []
    whole = await claim(http, key, appeal_id, 80_000, idem=idem)
    assert whole.status_code == 201, whole.text
    assert "Idempotent-Replayed" not in whole.headers
    # A domain refusal (409) consumes nothing either: the listing's own rule refuses it again.
    late = f"late-{uuid.uuid4().hex}"
    taken = await claim(http, await donor(http), appeal_id, 80_000, idem=late)
    assert taken.status_code == 409 and taken.json()["code"] in ("already_claimed", "listing_not_open")
    assert await _keys(late) == []


async def test_concurrent_requests_with_one_key_make_one_claim(http: httpx.AsyncClient) -> None:
    appeal_id = await micro_project(http, 1_000_000)
    key = await donor(http)
    idem = f"race-{uuid.uuid4().hex}"
    answers = await asyncio.gather(*(claim(http, key, appeal_id, 300_000, idem=idem) for _ in range(5)))
    assert sorted(a.status_code for a in answers) == [200, 200, 200, 200, 201], [a.text for a in answers]
    assert len({a.json()["id"] for a in answers}) == 1
    assert [a.headers.get("Idempotent-Replayed") for a in answers].count("true") == 4
    assert (await listing(appeal_id)).pledged_fen == 300_000
    made = [e for e in await events_of(appeal_id) if e["type"] == "claim.made"]
    assert len(made) == 1


async def test_a_donor_learns_why_only_of_an_appeal_in_its_own_pool(http: httpx.AsyncClient) -> None:
    """An appeal donors cannot claim (here a policy benefit, never listed): a donor of its town's
    pool is told why (409 not_claimable); a donor of another town's pool learns nothing, not even
    that it exists (404, as for an unknown appeal)."""
    appeal_id = await feed(received(DIBAO, town_code=HUMEN))
    humen, nancheng = (
        await donor(http, pool="town", town=HUMEN),
        await donor(http, pool="town", town=NANCHENG),
    )
    told = await claim(http, humen, appeal_id, 10_000)
    assert told.status_code == 409 and told.json()["code"] == "not_claimable", told.text
    for probe in (appeal_id, uuid.uuid4()):
        hidden = await claim(http, nancheng, probe, 10_000)
        assert hidden.status_code == 404 and hidden.json()["code"] == "not_found", hidden.text
