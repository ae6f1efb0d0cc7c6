"""The ledger's operations over its internal API, on the real database: matching, reservations,
disbursements and which sources pay, donors, reversals, point-in-time balances, replays."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

from ledger.service import expire_due
from services.common.db import session_scope
from tests.ledger.support import (
    Ledger,
    assert_problem,
    key,
    new_town,
    payee,
    scalar,
    town_holder,
    village_holder,
    village_of,
)


def by_source(entry: dict[str, Any], holder_type: str) -> dict[str, int]:
    return {p["source_code"]: p["amount_fen"] for p in entry["postings"] if p["holder_type"] == holder_type}


class TestMatching:
    async def test_required_and_received_follow_the_ratio(self, ledger: Ledger) -> None:
        town = await ledger.funded_town(10_001)
        status = (await ledger.get(f"/towns/{town}/matching")).json()
        assert status == {
            "town_code": town,
            "ratio": "1:1",
            "ratio_configured": False,
            "city_allocated_fen": 10_001,
            "required_fen": 10_001,
            "received_fen": 0,
            "shortfall_fen": 10_001,
            "met": False,
        }
        half = await ledger.http.put(f"/internal/ledger/towns/{town}/matching", json={"ratio": "1:0.5"})
        assert half.status_code == 200 and half.json()["required_fen"] == 5_001  # rounded up to the fen
        paid = await ledger.post("/matching", {"town_code": town, "amount_fen": 5_000})
        assert paid.status_code == 201, paid.text
        assert paid.json()["entry"]["kind"] == "matching"
        assert paid.json()["matching"]["shortfall_fen"] == 1 and not paid.json()["matching"]["met"]
        # Plain income of town_matching counts as matching received too.
        assert (await ledger.income(town_holder(town), 1, source="town_matching")).status_code == 201
        done = (await ledger.get(f"/towns/{town}/matching")).json()
        assert done["received_fen"] == 5_001 and done["met"] and done["ratio_configured"]

    async def test_ratio_must_be_one_of_two(self, ledger: Ledger) -> None:
        response = await ledger.http.put(
            f"/internal/ledger/towns/{new_town()}/matching", json={"ratio": "1:2"}
        )
        assert_problem(response, 422, "invalid_input")


class TestDisbursementSources:
    async def test_sources_pay_in_the_documented_order(self, ledger: Ledger) -> None:
        town = new_town()
        village = village_holder(village_of(town))
        await ledger.fund(village, 300, "village_collective")
        await ledger.fund(village, 200, "donation")
        await ledger.fund(village, 100)  # city finance, down through the town
        response = await ledger.disburse(village, 450)
        assert response.status_code == 201, response.text
        # donation, then city charity (none), city finance, town matching (none), village collective
        assert by_source(response.json(), "beneficiary") == {
            "donation": 200,
            "city_finance": 100,
            "village_collective": 150,
        }
        assert await ledger.balances(village) == {
            "city_finance": 0,
            "city_charity": 0,
            "town_matching": 0,
            "village_collective": 150,
            "donation": 0,
        }

    async def test_a_named_source_pays_alone(self, ledger: Ledger) -> None:
        town = new_town()
        await ledger.fund(town_holder(town), 100, "donation")
        await ledger.fund(town_holder(town), 1_000, "town_matching")
        refused = await ledger.disburse(town_holder(town), 101, source_code="donation")
        body = assert_problem(refused, 409, "insufficient_funds")
        assert body["available_fen"] == 100 and body["source_codes"] == ["donation"]
        paid = await ledger.disburse(
            town_holder(town), 101, source_code="town_matching", payee=payee("project")
        )
        assert by_source(paid.json(), "project") == {"town_matching": 101}

    async def test_payee_codes_carry_no_personal_data(self, ledger: Ledger) -> None:
        town = await ledger.funded_town(100)
        for code in ("44190019800101123X", "13812345678", "张三"):
            response = await ledger.disburse(
                town_holder(town), 10, payee={"payee_type": "beneficiary", "payee_code": code}
            )
            assert response.status_code == 422, (code, response.text)


class TestReservations:
    async def test_pending_posted_in_parts_then_the_rest_released(self, ledger: Ledger) -> None:
        town = new_town()
        village = village_holder(village_of(town))
        await ledger.fund(village, 1_000)
        await ledger.fund(village, 100, "donation")
        made = await ledger.reserve(village, 600, plan_id="plan-1")
        assert made.status_code == 201, made.text
        reservation = made.json()
        rid = reservation["id"]
        assert reservation["state"] == "pending" and reservation["remaining_fen"] == 600
        assert {s["source_code"]: s["amount_fen"] for s in reservation["remaining_by_source"]} == {
            "donation": 100,
            "city_finance": 500,
        }
        # Reserved money is no longer available to anyone else.
        assert sum((await ledger.balances(village)).values()) == 500
        assert_problem(await ledger.disburse(village, 501), 409, "insufficient_funds")

        first = await ledger.post(f"/reservations/{rid}/disbursements", {"amount_fen": 150})
        assert first.status_code == 201 and first.json()["state"] == "pending"
        assert by_source(first.json()["entry"], "beneficiary") == {"donation": 100, "city_finance": 50}
        second = await ledger.post(f"/reservations/{rid}/disbursements", {"amount_fen": 250})
        assert second.json()["disbursed_fen"] == 400 and second.json()["remaining_fen"] == 200
        too_much = await ledger.post(f"/reservations/{rid}/disbursements", {"amount_fen": 201})
        assert_problem(too_much, 409, "insufficient_funds")

        released = await ledger.post(f"/reservations/{rid}/release", {"memo": "工程结余"})
        assert released.status_code == 201, released.text
        final = released.json()
        assert (final["state"], final["disbursed_fen"], final["released_fen"], final["remaining_fen"]) == (
            "released",
            400,
            200,
            0,
        )
        assert sum((await ledger.balances(village)).values()) == 700
        # It resolved once: nothing more can be done with it.
        assert_problem(await ledger.post(f"/reservations/{rid}/release", {}), 409, "reservation_resolved")
        again = await ledger.post(f"/reservations/{rid}/disbursements", {"amount_fen": 1})
        assert_problem(again, 409, "reservation_resolved")

    async def test_the_last_fen_posts_it(self, ledger: Ledger) -> None:
        town = await ledger.funded_town(300)
        rid = (await ledger.reserve(town_holder(town), 300)).json()["id"]
        done = await ledger.post(f"/reservations/{rid}/disbursements", {"amount_fen": 300})
        assert done.json()["state"] == "posted" and done.json()["resolved_at"] is not None
        assert_problem(await ledger.post(f"/reservations/{rid}/release", {}), 409, "reservation_resolved")

    async def test_never_more_than_available(self, ledger: Ledger) -> None:
        town = await ledger.funded_town(300)
        body = assert_problem(await ledger.reserve(town_holder(town), 301), 409, "insufficient_funds")
        assert body["available_fen"] == 300
        assert await scalar("SELECT count(*) FROM ledger.reservations WHERE holder_code = :c", c=town) == 0

    async def test_one_open_reservation_per_appeal(self, ledger: Ledger) -> None:
        import uuid

        town = await ledger.funded_town(300)
        appeal = str(uuid.uuid4())
        assert (await ledger.reserve(town_holder(town), 100, appeal_id=appeal)).status_code == 201
        assert_problem(
            await ledger.reserve(town_holder(town), 100, appeal_id=appeal), 409, "reservation_exists"
        )

    async def test_expiry_releases_only_what_is_due(self, ledger: Ledger) -> None:
        town = await ledger.funded_town(500)
        soon = (datetime.now(UTC) + timedelta(seconds=2)).isoformat()
        short = (await ledger.reserve(town_holder(town), 200, expires_at=soon)).json()["id"]
        long = (await ledger.reserve(town_holder(town), 100)).json()["id"]  # 90 days
        assert_problem(
            await ledger.reserve(town_holder(town), 1, expires_at="2020-01-01T00:00:00+08:00"),
            422,
            "invalid_expiry",
        )
        async with session_scope() as session:
            expired = await expire_due(session, now=datetime.now(UTC) + timedelta(minutes=1))
        assert {str(r) for r in expired} >= {short} and long not in {str(r) for r in expired}
        assert (await ledger.get(f"/reservations/{short}")).json()["state"] == "expired"
        assert (await ledger.get(f"/reservations/{long}")).json()["state"] == "pending"
        assert (await ledger.balances(town_holder(town)))["city_finance"] == 400


class TestDonors:
    async def test_pledge_receipts_and_the_donor_statement(self, ledger: Ledger) -> None:
        town = new_town()
        donor = f"D-{key()[:8]}"
        made = await ledger.post(
            "/pledges", {"donor_code": donor, "amount_fen": 1_000_050, "recipient": town_holder(town)}
        )
        assert made.status_code == 201, made.text
        pledge = made.json()
        assert (pledge["received_fen"], pledge["outstanding_fen"], pledge["fulfilled"]) == (
            0,
            1_000_050,
            False,
        )
        assert sum((await ledger.balances(town_holder(town))).values()) == 0  # a promise moves no money

        first = await ledger.post(f"/pledges/{pledge['id']}/receipts", {"amount_fen": 1_000_000})
        assert first.status_code == 201, first.text
        assert first.json()["entry"]["kind"] == "receipt"
        outside = [p for p in first.json()["entry"]["postings"] if p["holder_type"] == "external"]
        assert outside[0]["holder_code"] == f"donor:{donor}"
        over = await ledger.post(f"/pledges/{pledge['id']}/receipts", {"amount_fen": 51})
        assert_problem(over, 409, "pledge_exceeded")
        last = await ledger.post(f"/pledges/{pledge['id']}/receipts", {"amount_fen": 50})
        assert last.json()["pledge"]["fulfilled"]
        assert (await ledger.balances(town_holder(town)))["donation"] == 1_000_050

        report = (await ledger.get(f"/donors/{donor}/report")).json()
        assert (report["pledged_fen"], report["received_fen"], report["outstanding_fen"]) == (
            1_000_050,
            1_000_050,
            0,
        )
        assert report["received_in_words"] == "人民币壹万元伍角"
        assert [r["amount_fen"] for r in report["receipts"]] == [1_000_000, 50]

        document = (await ledger.get(f"/receipts/{first.json()['entry']['id']}")).json()
        assert document["amount_in_words"] == "人民币壹万元整" and document["amount_yuan"] == "10,000.00"
        assert document["donor_code"] == donor and document["receipt_no"].startswith("JZ")
        assert len(document["chain_hash"]) == 64 and document["chain_seq"] > 0

    async def test_a_claim_has_one_pledge(self, ledger: Ledger) -> None:
        body = {"donor_code": "D-claims", "amount_fen": 10, "claim_id": f"C-{key()[:8]}"}
        assert (await ledger.post("/pledges", body)).status_code == 201
        assert_problem(await ledger.post("/pledges", body), 409, "claim_already_pledged")


class TestReversal:
    async def test_reversal_mirrors_the_entry_once(self, ledger: Ledger) -> None:
        town = await ledger.funded_town(1_000)
        village = village_holder(village_of(town))
        original = (await ledger.allocate(town_holder(town), village, 400)).json()
        reversal = await ledger.post(f"/entries/{original['id']}/reversal", {"memo": "录入错误"})
        assert reversal.status_code == 201, reversal.text
        mirrored = reversal.json()
        assert mirrored["kind"] == "reversal" and mirrored["reverses_id"] == original["id"]
        assert sorted(p["amount_fen"] for p in mirrored["postings"]) == [-400, 400]
        assert (await ledger.balances(town_holder(town)))["city_finance"] == 1_000
        twice = await ledger.post(f"/entries/{original['id']}/reversal", {"memo": "再冲一次"})
        assert_problem(twice, 409, "already_reversed")
        of_reversal = await ledger.post(f"/entries/{mirrored['id']}/reversal", {"memo": "冲正的冲正"})
        assert_problem(of_reversal, 409, "not_reversible")

    async def test_concurrent_reversals_reverse_once(self, ledger: Ledger) -> None:
        town = await ledger.funded_town(1_000)
        original = (await ledger.allocate(town_holder(town), village_holder(village_of(town)), 100)).json()
        responses = await asyncio.gather(
            *(ledger.post(f"/entries/{original['id']}/reversal", {"memo": f"第{i}次"}) for i in range(5))
        )
        assert sorted(r.status_code for r in responses) == [201] + [409] * 4
        assert (
            await scalar(
                "SELECT count(*) FROM ledger.journal_entries WHERE reverses_id = :e", e=original["id"]
            )
            == 1
        )

    async def test_disbursement_of_a_resolved_reservation_returns_to_the_holder(self, ledger: Ledger) -> None:
        town = await ledger.funded_town(500)
        rid = (await ledger.reserve(town_holder(town), 500)).json()["id"]
        paid = (await ledger.post(f"/reservations/{rid}/disbursements", {"amount_fen": 500})).json()
        assert paid["state"] == "posted"
        back = await ledger.post(f"/entries/{paid['entry']['id']}/reversal", {"memo": "拨错了"})
        assert back.status_code == 201, back.text
        assert {p["holder_type"] for p in back.json()["postings"]} == {"beneficiary", "town"}
        assert (await ledger.balances(town_holder(town)))["city_finance"] == 500


class TestTruthOverTime:
    async def test_balance_as_of_a_moment(self, ledger: Ledger) -> None:
        town = await ledger.funded_town(100)
        await asyncio.sleep(0.01)
        middle = datetime.now(UTC)
        await asyncio.sleep(0.01)
        await ledger.fund(town_holder(town), 50)
        assert (await ledger.balances(town_holder(town), as_of=middle.isoformat()))["city_finance"] == 100
        assert (await ledger.balances(town_holder(town)))["city_finance"] == 150
        before = (middle - timedelta(days=1)).isoformat()
        assert (await ledger.balances(town_holder(town), as_of=before))["city_finance"] == 0
        naive = await ledger.http.get(
            "/internal/ledger/balances", params={**town_holder(town), "as_of": "2026-01-01T00:00:00"}
        )
        assert_problem(naive, 422, "invalid_input")


class TestReplays:
    """Every command answers a replay with its first answer, and a changed body with a 409."""

    async def test_every_operation_replays(self, ledger: Ledger) -> None:
        town = await ledger.funded_town(10_000)
        village = village_holder(village_of(town))
        rid = (await ledger.reserve(town_holder(town), 1_000)).json()["id"]
        pledge_id = (await ledger.post("/pledges", {"donor_code": "D-replay", "amount_fen": 100})).json()[
            "id"
        ]
        entry_id = (await ledger.allocate(town_holder(town), village, 10)).json()["id"]
        commands: list[tuple[str, dict[str, Any], dict[str, Any]]] = [
            (
                "/income",
                {"source_code": "donation", "holder": town_holder(town), "amount_fen": 5},
                {"amount_fen": 6},
            ),
            (
                "/allocations",
                {
                    "source_code": "city_finance",
                    "from_holder": town_holder(town),
                    "to_holder": village,
                    "amount_fen": 5,
                },
                {"amount_fen": 6},
            ),
            ("/matching", {"town_code": town, "amount_fen": 5}, {"amount_fen": 6}),
            (
                "/reservations",
                {"holder": town_holder(town), "payee": payee(), "amount_fen": 5},
                {"amount_fen": 6},
            ),
            (f"/reservations/{rid}/disbursements", {"amount_fen": 5}, {"amount_fen": 6}),
            (
                "/disbursements",
                {"holder": town_holder(town), "payee": payee(), "amount_fen": 5},
                {"amount_fen": 6},
            ),
            ("/pledges", {"donor_code": "D-replay", "amount_fen": 5}, {"amount_fen": 6}),
            (f"/pledges/{pledge_id}/receipts", {"amount_fen": 5}, {"amount_fen": 6}),
            (f"/entries/{entry_id}/reversal", {"memo": "replay"}, {"memo": "other"}),
            (f"/reservations/{rid}/release", {"memo": "replay"}, {"memo": "other"}),
            # A refusal is a first answer too.
            (
                "/disbursements",
                {"holder": town_holder(new_town()), "payee": payee(), "amount_fen": 5},
                {"amount_fen": 6},
            ),
        ]
        for path, body, change in commands:
            idem = key()
            first = await ledger.post(path, body, idem)
            again = await ledger.post(path, body, idem)
            assert first.status_code in (201, 409), (path, first.text)
            assert again.status_code == (200 if first.status_code == 201 else first.status_code), path
            assert again.json() == first.json(), path
            assert again.headers["Idempotent-Replayed"] == "true"
            assert_problem(await ledger.post(path, {**body, **change}, idem), 409, "idempotency_key_reused")
        assert await scalar("SELECT count(*) FROM ledger.commands WHERE state = 'pending'") == 0


class TestReports:
    async def test_reports_add_up_and_the_public_one_names_nobody(self, ledger: Ledger) -> None:
        town = await ledger.funded_town(1_000)
        village = village_holder(village_of(town))
        assert (await ledger.allocate(town_holder(town), village, 400)).status_code == 201
        secret = payee()
        assert (await ledger.disburse(village, 100, payee=secret)).status_code == 201
        assert (await ledger.reserve(town_holder(town), 200)).status_code == 201

        report = (await ledger.get(f"/reports/towns/{town}")).json()
        line = next(s for s in report["sources"] if s["source_code"] == "city_finance")
        assert (line["balance_fen"], line["reserved_fen"], line["disbursed_fen"]) == (700, 200, 100)
        assert report["villages"] == [
            {
                "village_code": village["holder_code"],
                "balance_fen": 300,
                "reserved_fen": 0,
                "disbursed_fen": 100,
            }
        ]
        assert report["open_reservations"] == 1 and report["matching"]["required_fen"] == 1_000
        village_report = (await ledger.get(f"/reports/villages/{village['holder_code']}")).json()
        assert village_report["villages"] == [] and village_report["matching"] is None

        payee_report = (await ledger.get(f"/reports/payees/beneficiary/{secret['payee_code']}")).json()
        assert (
            payee_report["total_fen"] == 100
            and payee_report["lines"][0]["paid_by_code"] == village["holder_code"]
        )

        project = payee("project")
        assert (
            await ledger.disburse(town_holder(town), 50, payee=project, source_code="city_finance")
        ).is_success
        project_report = (await ledger.get(f"/reports/payees/project/{project['payee_code']}")).json()
        assert project_report["total_fen"] == 50 and project_report["lines"][0]["paid_by_code"] == town
        after = (await ledger.get(f"/reports/towns/{town}")).json()["sources"]
        line = next(s for s in after if s["source_code"] == "city_finance")
        assert (line["balance_fen"], line["reserved_fen"], line["disbursed_fen"]) == (650, 200, 150)

        sources = (await ledger.get("/reports/sources")).json()
        assert all(s["balanced"] for s in sources["sources"])

        public = await ledger.get("/public/funds")
        text = public.text
        assert secret["payee_code"] not in text and project["payee_code"] not in text and "donor:" not in text
        mine = next(t for t in public.json()["towns"] if t["town_code"] == town)
        assert (
            mine["held_fen"],
            mine["reserved_fen"],
            mine["disbursed_fen"],
            mine["beneficiaries_helped"],
            mine["projects_paid"],
        ) == (650, 200, 150, 1, 1)
