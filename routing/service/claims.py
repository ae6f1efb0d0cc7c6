"""认领 (claims) in 莞家直达: a donor pledges money or a service to an appeal in the pool; the
pledge is confirmed (by the beneficiary or staff), or expires and the appeal returns to the pool.

Rules the database enforces, so that no race can break them:
- a listing's pledged sum never exceeds its target (``ck_claim_listings_no_over_claim``): of two
  partial pledges that together over-claim, the second is refused;
- a micro-wish has at most one active claim (``uq_claims_exclusive_active``): of two claims at
  once exactly one wins, the other gets ``409``;
- a donor's ``Idempotency-Key`` names one claim (the kernel's ``routing.commands``, scoped per
  donor): a replay returns the first claim as it is now, the same key with another body is a
  ``409``, a refusal leaves the key unused.
Money itself moves in the ledger, which reads ``claim.confirmed``.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, case, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from routing.config import RoutingSettings
from routing.errors import AlreadyClaimed, ClaimState, DonorNotVerified, ListingClosed, OverClaim
from routing.models import Claim, ClaimListing, Donor, TriageResult, commands
from routing.service.common import may_act_for, publish, unit_name
from routing.service.donors import NO_KEY, require_claimable, visible
from services.common.auth import Principal
from services.common.errors import Forbidden, InvalidInput, NotFound
from services.common.idempotency import Once, run_once, scoped_key
from services.common.messaging import utcnow
from services.common.settings import get_settings
from services.contracts.events import ClaimChanged, make_event

# --- claims ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ClaimRequest:
    """A donor's claim: money (``amount_fen``) or a service (``service``)."""

    kind: str
    amount_fen: int | None
    service: str | None
    note: str | None = None

    def command(self, appeal_id: uuid.UUID) -> dict[str, Any]:
        """The request as the idempotency key remembers it (its fingerprint's input)."""
        return {"appeal_id": str(appeal_id), **self.__dict__}


def _event(type_: Any, claim: Claim, donor: Donor, listing: ClaimListing) -> Any:
    return make_event(
        type_,
        "routing",
        ClaimChanged(
            claim_id=claim.id,
            donor_id=donor.id,
            donor_kind=donor.kind,
            pool=donor.pool,
            pool_town_code=donor.town_code,
            kind=claim.kind,
            amount_fen=claim.amount_fen,
            appeal_kind=listing.kind,
            town_code=listing.town_code,
            village_code=listing.village_code,
            expires_at=claim.expires_at,
            confirmed_by=claim.confirmed_by_kind,
        ),
        appeal_id=claim.appeal_id,
    )


async def make_claim(
    session: AsyncSession,
    donor: Donor,
    appeal_id: uuid.UUID,
    request: ClaimRequest,
    idempotency_key: str,
    *,
    now: datetime | None = None,
) -> Once[Claim]:
    """认领: pledge money (in full or in part) or a service, once per donor and key."""

    async def create() -> tuple[Claim, str]:
        claim = await _pledge(session, donor, appeal_id, request, now)
        return claim, str(claim.id)

    async def recall(ident: str) -> Claim:
        claim = await session.get(Claim, uuid.UUID(ident), populate_existing=True)
        assert claim is not None  # claims are never deleted
        return claim

    return await run_once(
        session,
        commands,
        operation="claim",
        key=scoped_key("claim", donor.id, idempotency_key),
        command=request.command(appeal_id),
        actor=f"donor:{donor.id}",
        create=create,
        recall=recall,
    )


async def _pledge(
    session: AsyncSession,
    donor: Donor,
    appeal_id: uuid.UUID,
    request: ClaimRequest,
    now: datetime | None,
) -> Claim:
    if donor.state != "verified":
        raise DonorNotVerified()
    listing = await session.get(ClaimListing, appeal_id)
    if listing is None:
        # Say why an appeal of the donor's own pool cannot be claimed (e.g. no quorum); of any
        # other appeal a donor learns nothing, not even that it exists.
        triage = await session.get(TriageResult, appeal_id)
        if triage is not None and (donor.pool == "city" or triage.town_code == donor.town_code):
            await require_claimable(session, appeal_id)
        raise NotFound()
    if not visible(donor, listing):
        raise NotFound()
    await require_claimable(session, appeal_id)
    if listing.state != "open":
        raise AlreadyClaimed() if listing.exclusive and listing.state == "claimed" else ListingClosed()
    if request.kind == "money":
        if request.amount_fen is None or request.amount_fen <= 0:
            raise InvalidInput("认领金额须为正整数（分）。")
        if listing.target_fen is None:
            raise InvalidInput("该诉求只需服务，不接受资金认领。")
        if listing.exclusive and request.amount_fen != listing.target_fen - listing.pledged_fen:
            raise InvalidInput(
                "微心愿须由一位爱心人士全额认领。", remaining_fen=listing.target_fen - listing.pledged_fen
            )
    elif request.kind == "service":
        if not request.service:
            raise InvalidInput("请写明认领的服务内容。")
        if not listing.needs_service and listing.target_fen is not None and not listing.exclusive:
            raise InvalidInput("该诉求只接受资金认领。")
    else:
        raise InvalidInput("认领方式须为 money 或 service。")
    at = now or utcnow()
    claim = Claim(
        appeal_id=appeal_id,
        donor_id=donor.id,
        kind=request.kind,
        amount_fen=request.amount_fen if request.kind == "money" else None,
        service=request.service,
        exclusive=listing.exclusive,
        pledged_at=at,
        expires_at=at + timedelta(days=get_settings(RoutingSettings).claim_days),
        note=request.note,
    )
    amount = claim.amount_fen or 0
    # No row lock is taken before the insert: the database decides races. The claim's foreign key
    # takes a key-share lock on the listing, which the no-key update below does not conflict with;
    # a second exclusive claim waits on the first one's unique-index entry and then fails.
    try:
        async with session.begin_nested():
            session.add(claim)
            await session.flush()
            full = and_(
                ClaimListing.target_fen.is_not(None),
                ClaimListing.pledged_fen + amount >= ClaimListing.target_fen,
            )
            updated = await session.execute(
                update(ClaimListing)
                .where(ClaimListing.appeal_id == appeal_id, ClaimListing.state == "open")
                .values(
                    pledged_fen=ClaimListing.pledged_fen + amount,
                    state=case((or_(ClaimListing.exclusive, full), "claimed"), else_=ClaimListing.state),
                    updated_at=at,
                )
                .returning(ClaimListing.pledged_fen)
            )
            if updated.first() is None:
                raise ListingClosed()
    except IntegrityError as exc:
        message = str(exc.orig)
        if "no_over_claim" in message:
            raise OverClaim() from exc
        if "uq_claims_exclusive_active" in message:
            raise AlreadyClaimed() from exc
        raise
    await session.refresh(listing)
    await publish(session, _event("claim.made", claim, donor, listing))
    return claim


async def my_claims(session: AsyncSession, donor: Donor) -> list[Claim]:
    """A donor's claims, newest first."""
    rows = await session.scalars(
        select(Claim).where(Claim.donor_id == donor.id).order_by(Claim.pledged_at.desc())
    )
    return list(rows.all())


async def _claim_listing_donor(
    session: AsyncSession, claim_id: uuid.UUID
) -> tuple[Claim, ClaimListing, Donor]:
    claim = await session.get(Claim, claim_id, with_for_update=True)
    if claim is None:
        raise NotFound()
    listing = await session.get(ClaimListing, claim.appeal_id, with_for_update=NO_KEY)
    donor = await session.get(Donor, claim.donor_id)
    assert listing is not None and donor is not None
    return claim, listing, donor


async def confirm(
    session: AsyncSession, claim_id: uuid.UUID, *, principal: Principal | None, ticket_no: str | None
) -> Claim:
    """Fulfilment confirmed by the beneficiary (ticket number and query code) or by staff."""
    claim, listing, donor = await _claim_listing_donor(session, claim_id)
    if principal is not None:
        if principal.role not in ("city_admin", "town_staff", "village_staff") or not may_act_for(
            principal, listing.town_code, listing.village_code
        ):
            raise Forbidden()
        by_kind, by = "staff", principal.username
    else:
        if ticket_no is None or ticket_no != listing.ticket_no:
            raise NotFound()
        by_kind, by = "beneficiary", "beneficiary"
    if claim.state != "pledged":
        raise ClaimState(f"该认领当前状态为「{claim.state}」，不能确认。", state=claim.state)
    claim.state, claim.confirmed_at = "confirmed", utcnow()
    claim.confirmed_by_kind, claim.confirmed_by = by_kind, by
    if claim.amount_fen:
        listing.confirmed_fen += claim.amount_fen
    fulfilled = listing.exclusive or (
        listing.target_fen is not None and listing.confirmed_fen >= listing.target_fen
    )
    if fulfilled:
        listing.state = "closed"
    listing.updated_at = utcnow()
    await session.flush()
    await publish(session, _event("claim.confirmed", claim, donor, listing))
    return claim


async def expire_due(session: AsyncSession, now: datetime | None = None, limit: int = 200) -> list[Claim]:
    """Pledges not fulfilled in time expire; their appeals return to the pool."""
    at = now or utcnow()
    due = (
        await session.scalars(
            select(Claim)
            .where(Claim.state == "pledged", Claim.expires_at <= at)
            .order_by(Claim.expires_at)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
    ).all()
    expired: list[Claim] = []
    for claim in due:
        listing = await session.get(ClaimListing, claim.appeal_id, with_for_update=NO_KEY)
        donor = await session.get(Donor, claim.donor_id)
        assert listing is not None and donor is not None
        claim.state, claim.expired_at = "expired", at
        if claim.amount_fen:
            listing.pledged_fen -= claim.amount_fen
        if listing.state == "claimed":
            listing.state = "open"
        listing.updated_at = at
        await session.flush()
        await publish(session, _event("claim.expired", claim, donor, listing))
        expired.append(claim)
    return expired


async def confirmed_claim(
    session: AsyncSession, donor: Donor, claim_id: uuid.UUID
) -> tuple[Claim, ClaimListing]:
    """The donor's own confirmed claim and its listing, for the completion report."""
    claim = await session.get(Claim, claim_id)
    if claim is None or claim.donor_id != donor.id:
        raise NotFound()
    if claim.state != "confirmed":
        raise ClaimState("该认领尚未确认完成，暂无完成报告。", state=claim.state)
    listing = await session.get(ClaimListing, claim.appeal_id)
    assert listing is not None
    return claim, listing


def report(
    donor: Donor, claim: Claim, listing: ClaimListing, service_records: list[dict[str, Any]]
) -> dict[str, Any]:
    """The donor's completion report (捐赠完成报告): what was given, to what, confirmed by whom.

    ``service_records`` are the confirmed visits of a service claim (the hand-over reads them
    from the stations)."""
    return {
        "report_no": f"GJZD-{claim.id.hex[:12].upper()}",
        "donor": {"name": donor.name, "kind": donor.kind},
        "claim_id": str(claim.id),
        "kind": claim.kind,
        "amount_fen": claim.amount_fen,
        "service": claim.service,
        "appeal": {
            "summary": listing.summary,
            "kind": listing.kind,
            "category": listing.category,
            "town": unit_name("town", listing.town_code) if listing.town_code else None,
        },
        "pledged_at": claim.pledged_at.isoformat(),
        "confirmed_at": claim.confirmed_at.isoformat() if claim.confirmed_at else None,
        "confirmed_by": claim.confirmed_by_kind,
        "service_records": service_records,
        "text": (
            f"感谢{donor.name}通过“莞家直达”认领的帮扶已完成并经"
            f"{'受助群众' if claim.confirmed_by_kind == 'beneficiary' else '工作人员'}确认。"
        ),
    }
