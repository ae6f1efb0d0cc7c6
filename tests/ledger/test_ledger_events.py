"""The ledger's event handlers through its real consumer job (inbox claim + effect + outbox)."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any, cast

from sqlalchemy import text

from ledger.jobs import consumer, expire_reservations
from ledger.models import messaging
from services.common.db import get_engine, get_sessionmaker
from services.common.jobs import JobContext
from services.common.settings import get_settings
from services.contracts.events import (
    AppealCompleted,
    ClaimChanged,
    Event,
    PlanApproved,
    StatusChanged,
    make_event,
)
from tests.ledger.support import (
    Ledger,
    new_town,
    scalar,
    town_holder,
    village_holder,
    village_of,
)


def context() -> JobContext:
    """What the worker's startup puts in every job's context."""
    return cast(
        JobContext,
        {
            "db": get_sessionmaker(),
            "tables": messaging,
            "service": "ledger",
            "settings": get_settings(),
            "job_try": 1,
        },
    )


async def feed(event: Event) -> str:
    """Run the ledger's `handle_event` job on one event, as the worker would."""
    result: str = await consumer.coroutine(context(), event.model_dump(mode="json"))  # type: ignore[arg-type]
    return result


async def emitted(appeal_id: uuid.UUID) -> list[tuple[str, dict[str, Any]]]:
    async with get_engine().connect() as conn:
        rows = await conn.execute(
            text("SELECT type, payload FROM ledger.outbox WHERE appeal_id = :a ORDER BY seq"),
            {"a": appeal_id},
        )
        return [(row.type, row.payload["data"]) for row in rows]


def plan(appeal_id: uuid.UUID, amount: int, unit: tuple[str, str], **extra: Any) -> Event:
    data = PlanApproved(
        amount_fen=amount,
        track=extra.pop("track", "express"),
        unit_type=unit[0],
        unit_code=unit[1],
        kind=extra.pop("kind", "micro_wish"),
        consultation_id=extra.pop("consultation_id", uuid.uuid4()),
    )
    return make_event("plan.approved", "routing", data, appeal_id=appeal_id)


async def reservation_of(appeal_id: uuid.UUID) -> tuple[str, int] | None:
    async with get_engine().connect() as conn:
        row = (
            await conn.execute(
                text("SELECT state, amount_fen FROM ledger.reservations WHERE appeal_id = :a"),
                {"a": appeal_id},
            )
        ).first()
    return (row.state, row.amount_fen) if row else None


class TestPlanApproved:
    async def test_express_plan_reserves_from_the_village_fund(self, ledger: Ledger) -> None:
        village = village_of(new_town())
        await ledger.fund(village_holder(village), 800)
        appeal = uuid.uuid4()
        event = plan(appeal, 500, ("village", village))
        assert await feed(event) == "handled"
        assert await feed(event) == "duplicate"
        # The same plan re-sent as another event is a replay of the same command.
        again = event.model_copy(update={"id": uuid.uuid4()})
        assert await feed(again) == "handled"
        assert await reservation_of(appeal) == ("pending", 500)
        assert (await ledger.balances(village_holder(village)))["city_finance"] == 300
        [(kind, data)] = await emitted(appeal)
        assert kind == "funds.reserved" and data["amount_fen"] == 500
        assert data["sources"] == {"city_finance": 500} and data["holder_code"] == village

    async def test_short_of_money_is_funds_insufficient(self, ledger: Ledger) -> None:
        town = await ledger.funded_town(100)
        appeal = uuid.uuid4()
        assert await feed(plan(appeal, 101, ("town", town))) == "handled"
        assert await reservation_of(appeal) is None
        [(kind, data)] = await emitted(appeal)
        assert (
            kind == "funds.insufficient"
            and data["amount_fen"] == 101
            and data["detail"]["available_fen"] == 100
        )

    async def test_other_tracks_reserve_nothing(self, ledger: Ledger) -> None:
        town = await ledger.funded_town(100)
        appeal = uuid.uuid4()
        assert await feed(plan(appeal, 50, ("town", town), track="policy")) == "handled"
        assert await reservation_of(appeal) is None and await emitted(appeal) == []


class TestCompletion:
    async def test_nothing_paid_yet_posts_the_whole_reservation(self, ledger: Ledger) -> None:
        town = await ledger.funded_town(1_000)
        appeal = uuid.uuid4()
        await feed(plan(appeal, 600, ("town", town), kind="micro_project"))
        await feed(make_event("appeal.completed", "intake", AppealCompleted(), appeal_id=appeal))
        assert await reservation_of(appeal) == ("posted", 600)
        kinds = [(k, d.get("sources")) for k, d in await emitted(appeal)]
        assert kinds == [
            ("funds.reserved", {"city_finance": 600}),
            ("funds.disbursed", {"city_finance": 600}),
        ]
        # What intake's projection of funds used per source reads.
        assert (await emitted(appeal))[1][1]["detail"]["by_source"] == {"city_finance": 600}
        assert (
            await scalar(
                "SELECT balance_fen FROM ledger.accounts WHERE holder_type = 'project' AND holder_code = :a",
                a=str(appeal),
            )
            == 600
        )

    async def test_after_a_payment_the_rest_is_released(self, ledger: Ledger) -> None:
        town = await ledger.funded_town(1_000)
        appeal = uuid.uuid4()
        await feed(plan(appeal, 600, ("town", town)))
        rid = await scalar("SELECT id FROM ledger.reservations WHERE appeal_id = :a", a=appeal)
        assert (
            await ledger.post(f"/reservations/{rid}/disbursements", {"amount_fen": 250})
        ).status_code == 201
        await feed(make_event("appeal.completed", "intake", AppealCompleted(), appeal_id=appeal))
        assert await reservation_of(appeal) == ("released", 600)
        assert (await ledger.balances(town_holder(town)))["city_finance"] == 750
        assert [k for k, _ in await emitted(appeal)] == [
            "funds.reserved",
            "funds.disbursed",
            "funds.released",
        ]

    async def test_a_rejected_appeal_releases_its_reservation(self, ledger: Ledger) -> None:
        town = await ledger.funded_town(1_000)
        appeal = uuid.uuid4()
        await feed(plan(appeal, 400, ("town", town)))
        changed = StatusChanged(from_status="approved", to_status="rejected", reason="不符合条件")
        await feed(make_event("appeal.status_changed", "intake", changed, appeal_id=appeal))
        assert await reservation_of(appeal) == ("released", 400)
        assert (await ledger.balances(town_holder(town)))["city_finance"] == 1_000


class TestExpiryJob:
    async def test_the_job_releases_what_is_due(self, ledger: Ledger) -> None:
        town = await ledger.funded_town(300)
        appeal = uuid.uuid4()
        soon = (datetime.now(UTC) + timedelta(seconds=1)).isoformat()
        made = await ledger.reserve(town_holder(town), 300, appeal_id=str(appeal), expires_at=soon)
        assert made.status_code == 201, made.text
        await asyncio.sleep(1.2)
        assert await expire_reservations(context()) >= 1
        assert await reservation_of(appeal) == ("expired", 300)
        assert (await ledger.balances(town_holder(town)))["city_finance"] == 300
        [_, (kind, data)] = await emitted(appeal)
        assert (
            kind == "funds.released" and data["detail"]["reason"] == "expired" and data["amount_fen"] == 300
        )


class TestClaimConfirmed:
    def claim(self, appeal: uuid.UUID, amount: int | None, kind: str = "money", **extra: Any) -> Event:
        data = ClaimChanged(
            claim_id=uuid.uuid4(),
            donor_id=uuid.uuid4(),
            donor_kind="enterprise",
            pool=extra.get("pool", "city"),
            pool_town_code=extra.get("pool_town_code"),
            kind=kind,
            amount_fen=amount,
            appeal_kind="micro_wish",
        )
        return make_event("claim.confirmed", "routing", data, appeal_id=appeal)

    async def test_money_goes_from_the_donor_straight_to_the_beneficiary(self, ledger: Ledger) -> None:
        appeal = uuid.uuid4()
        town = new_town()
        event = self.claim(appeal, 20_000, pool="town", pool_town_code=town)
        assert await feed(event) == "handled"
        donor = event.data["donor_id"]
        report = (await ledger.get(f"/donors/{donor}/report")).json()
        assert (report["pledged_fen"], report["received_fen"]) == (20_000, 20_000)
        assert report["pledges"][0]["recipient"] == town_holder(town)
        assert (await ledger.balances(town_holder(town)))["donation"] == 0  # passed straight on
        [(kind, data)] = await emitted(appeal)
        assert kind == "funds.disbursed" and data["sources"] == {"donation": 20_000}
        # The same claim confirmed again (another event) is a replay: nothing twice.
        assert await feed(event.model_copy(update={"id": uuid.uuid4()})) == "handled"
        assert len(await emitted(appeal)) == 1

    async def test_services_move_no_money(self) -> None:
        appeal = uuid.uuid4()
        assert await feed(self.claim(appeal, None, kind="service")) == "handled"
        assert await emitted(appeal) == []
