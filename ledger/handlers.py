"""How the ledger reacts to other services' events (each inside the consumer's transaction,
after the inbox claim; commands keyed by what they are about, so a re-sent event replays).

- `plan.approved` on the express track (莞家速递): reserve the plan's amount from the town's or
  village's fund, for the appeal's project (micro-project) or beneficiary (micro-wish). Short
  of money: `funds.insufficient`, and the refusal stays recorded under the key.
- `claim.confirmed` of money (莞家直达): the donor's pledge, its receipt into the pool (city or
  town), and the disbursement of that donation straight to the appeal's payee.
- `appeal.completed`: settle the appeal's open reservation (post it all if nothing was paid
  from it yet, else release the rest).
- `appeal.status_changed` to rejected, withdrawn or merged: release its open reservation.

Payees are named by the appeal id, never by a person.
"""

from __future__ import annotations

from uuid import UUID

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from ledger.schemas import (
    DisbursementCommand,
    FundHolder,
    Payee,
    PayeeType,
    PledgeCommand,
    ReceiptCommand,
    ReservationCommand,
)
from ledger.service import disburse, pledge, receive, release_for_appeal, reserve, settle
from ledger.service.commands import Outcome
from ledger.service.rules import CITY_CODE
from services.common.jobs import JobContext
from services.contracts.events import ClaimChanged, Event, PlanApproved, StatusChanged

log = structlog.get_logger(__name__)
# Keys of commands the ledger gives itself contain a space, which an `Idempotency-Key` header may
# not (`ledger.api.common`): no client can take, or collide with, the key of an event's effect.
NAMESPACE = "event "
ENDED_WITHOUT_WORK = {"rejected": "不予受理", "withdrawn": "撤回", "merged": "合并"}


def _payee_type(kind: str) -> PayeeType:
    return "project" if kind == "micro_project" else "beneficiary"


def _fund_holder(data: PlanApproved) -> FundHolder | None:
    """The fund the plan is paid from: the unit carrying it out if it is a town or village,
    else the appeal's village, else its town."""
    if data.unit_type in ("town", "village"):
        return FundHolder(holder_type=data.unit_type, holder_code=data.unit_code)
    if data.village_code:
        return FundHolder(holder_type="village", holder_code=data.village_code)
    if data.town_code:
        return FundHolder(holder_type="town", holder_code=data.town_code)
    return None


def _log(outcome: Outcome | None, what: str, event: Event) -> None:
    if outcome is None:
        return
    if outcome.failed:
        log.warning("ledger_command_refused", what=what, code=outcome.code, event_id=str(event.id))
    else:
        log.info("ledger_command_done", what=what, replayed=outcome.replayed, event_id=str(event.id))


async def on_plan_approved(session: AsyncSession, event: Event, ctx: JobContext) -> None:
    """Reserve an express plan's money (资金预留)."""
    data = event.data_as(PlanApproved)
    if data.track != "express" or data.amount_fen <= 0 or event.appeal_id is None:
        return
    holder = _fund_holder(data)
    if holder is None:
        log.warning("ledger_plan_without_fund_holder", appeal_id=str(event.appeal_id))
        return
    plan = str(data.consultation_id) if data.consultation_id else None
    cmd = ReservationCommand(
        holder=holder,
        payee=Payee(payee_type=_payee_type(data.kind), payee_code=str(event.appeal_id)),
        amount_fen=data.amount_fen,
        appeal_id=event.appeal_id,
        plan_id=plan,
        memo="莞家速递：方案批准，预留专项资金",
    )
    key = f"{NAMESPACE}plan:{plan}" if plan else f"{NAMESPACE}plan-event:{event.id}"
    _log(await reserve(session, cmd, idempotency_key=key, actor="ledger/plan.approved"), "reserve", event)


async def on_claim_confirmed(session: AsyncSession, event: Event, ctx: JobContext) -> None:
    """A donor's claim fulfilled (认领确认): pledge, receipt, and the donation paid on."""
    data = event.data_as(ClaimChanged)
    if data.kind != "money" or not data.amount_fen or data.amount_fen <= 0:
        return
    claim, actor = str(data.claim_id), "ledger/claim.confirmed"
    pool = (
        FundHolder(holder_type="town", holder_code=data.pool_town_code)
        if data.pool == "town" and data.pool_town_code
        else FundHolder(holder_type="city", holder_code=CITY_CODE)
    )
    pledged = await pledge(
        session,
        PledgeCommand(
            donor_code=str(data.donor_id),
            amount_fen=data.amount_fen,
            recipient=pool,
            appeal_id=event.appeal_id,
            claim_id=claim,
            memo="莞家直达认领",
        ),
        idempotency_key=f"{NAMESPACE}claim:{claim}:pledge",
        actor=actor,
    )
    _log(pledged, "pledge", event)
    if pledged.failed:
        return
    received = await receive(
        session,
        UUID(str(pledged.body["id"])),
        ReceiptCommand(amount_fen=data.amount_fen, memo="莞家直达认领资金到账"),
        idempotency_key=f"{NAMESPACE}claim:{claim}:receipt",
        actor=actor,
    )
    _log(received, "receipt", event)
    if received.failed or event.appeal_id is None:
        return
    paid = await disburse(
        session,
        DisbursementCommand(
            holder=pool,
            payee=Payee(payee_type=_payee_type(data.appeal_kind), payee_code=str(event.appeal_id)),
            amount_fen=data.amount_fen,
            source_code="donation",
            appeal_id=event.appeal_id,
            memo="莞家直达：捐赠资金直达受助方",
        ),
        idempotency_key=f"{NAMESPACE}claim:{claim}:disbursement",
        actor=actor,
    )
    _log(paid, "disbursement", event)


async def on_completed(session: AsyncSession, event: Event, ctx: JobContext) -> None:
    """办结: post the reservation in full if nothing was paid from it, else release the rest."""
    if event.appeal_id is None:
        return
    outcome = await settle(
        session,
        event.appeal_id,
        idempotency_key=f"{NAMESPACE}completed:{event.id}",
        actor="ledger/appeal.completed",
    )
    _log(outcome, "settle", event)


async def on_status_changed(session: AsyncSession, event: Event, ctx: JobContext) -> None:
    """An appeal rejected, withdrawn or merged: its open reservation is released."""
    data = event.data_as(StatusChanged)
    if event.appeal_id is None or data.to_status not in ENDED_WITHOUT_WORK:
        return
    outcome = await release_for_appeal(
        session,
        event.appeal_id,
        idempotency_key=f"{NAMESPACE}ended:{event.id}",
        actor="ledger/appeal.status_changed",
        memo=f"诉求已{ENDED_WITHOUT_WORK[data.to_status]}，释放预留资金",
    )
    _log(outcome, "release", event)
