"""爱心资源库 and 莞家直达: donors, the pool of claimable appeals, claims, expiry, completion reports.

Rules the database enforces, so that no race can break them:
- a listing's pledged sum never exceeds its target (``ck_claim_listings_no_over_claim``): of two
  partial pledges that together over-claim, the second is refused;
- a micro-wish has at most one active claim (``uq_claims_exclusive_active``): of two claims at
  once exactly one wins, the other gets ``409``;
- a donor's ``Idempotency-Key`` names one claim (``uq_claims_donor_id_idempotency_key``): a
  replay returns the first claim, the same key with another body is a ``409``.
Money itself moves in the ledger, which reads ``claim.confirmed``.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from sqlalchemy import and_, case, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from routing.config import routing_settings
from routing.errors import AlreadyClaimed, ClaimState, DonorNotVerified, ListingClosed, OverClaim
from routing.models import Claim, ClaimListing, Donor, TriageResult
from routing.services.common import may_act_for, publish, unit_name
from services.common.auth import Principal
from services.common.errors import (
    Conflict,
    Forbidden,
    IdempotencyConflict,
    InvalidInput,
    NotFound,
    Unauthorized,
)
from services.common.messaging import utcnow
from services.common.reference import load_reference
from services.contracts.events import ClaimChanged, make_event

DonorKind = Literal["enterprise", "social_organisation", "individual"]
KIND_NAMES = {"micro_project": "民生微实事", "micro_wish": "民生微心愿"}
CATEGORY_NAMES = {
    "environment": "环境美化",
    "housing_repair": "房屋修缮",
    "facility": "服务设施建设",
    "public_service": "公益服务",
    "living": "生活救助",
    "medical": "医疗救助",
    "education": "教育帮扶",
    "elderly_care": "养老服务",
    "employment": "就业帮扶",
    "housing": "住房保障",
    "counselling": "心理疏导",
    "rights": "权益维护",
    "hospice": "安宁疗护",
}
KEY_PREFIX = "gjd"
# Listing rows are locked FOR NO KEY UPDATE: it does not conflict with the key-share lock a new
# claim's foreign key takes, so confirmations and expiries never deadlock with claims.
NO_KEY = {"key_share": True}  # renders FOR NO KEY UPDATE


# --- donors ------------------------------------------------------------------------------------------


def _key_hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


async def register(
    session: AsyncSession,
    *,
    kind: str,
    name: str,
    credit_code: str | None,
    pool: str,
    town_code: str | None,
) -> tuple[Donor, str]:
    """A donor asks to join the pool; the key is shown once and only its hash is kept."""
    if pool == "town":
        if town_code is None or load_reference().town_by_code(town_code) is None:
            raise InvalidInput("镇街爱心资源库须指明有效的镇街编码。")
    elif pool == "city":
        town_code = None
    else:
        raise InvalidInput("资源库须为 city（市级）或 town（镇街）。")
    if kind != "individual" and not credit_code:
        raise InvalidInput("企业和社会组织须提供统一社会信用代码。")
    prefix = secrets.token_hex(4)
    key = f"{KEY_PREFIX}_{prefix}_{secrets.token_urlsafe(32)}"
    donor = Donor(
        kind=kind,
        name=name,
        credit_code=credit_code if kind != "individual" else None,
        pool=pool,
        town_code=town_code,
        key_prefix=prefix,
        key_hash=_key_hash(key),
    )
    session.add(donor)
    await session.flush()
    return donor, key


async def authenticate(session: AsyncSession, key: str | None) -> Donor:
    """The donor presenting this key (header ``X-Donor-Key``)."""
    parts = (key or "").split("_", 2)
    if len(parts) != 3 or parts[0] != KEY_PREFIX:
        raise Unauthorized()
    donor = await session.scalar(select(Donor).where(Donor.key_prefix == parts[1]))
    if donor is None or not hmac.compare_digest(donor.key_hash, _key_hash(key or "")):
        raise Unauthorized()
    if donor.state == "suspended":
        raise Unauthorized("该爱心资源库账号已暂停。")
    return donor


def _may_verify(principal: Principal, donor: Donor) -> bool:
    if principal.role == "city_admin":
        return True
    return principal.role == "town_staff" and donor.pool == "town" and donor.town_code == principal.org_code


async def set_state(session: AsyncSession, principal: Principal, donor_id: uuid.UUID, state: str) -> Donor:
    """Staff verify (审核通过) or suspend a donor of their pool."""
    if state not in ("verified", "suspended"):
        raise InvalidInput("状态须为 verified 或 suspended。")
    donor = await session.get(Donor, donor_id, with_for_update=True)
    if donor is None:
        raise NotFound()
    if not _may_verify(principal, donor):
        raise Forbidden()
    donor.state = state
    if state == "verified":
        donor.verified_at, donor.verified_by = utcnow(), principal.username
    await session.flush()
    return donor


async def donors(session: AsyncSession, principal: Principal, state: str | None) -> list[Donor]:
    """The donors a member of staff looks after."""
    stmt = select(Donor).order_by(Donor.created_at)
    if state:
        stmt = stmt.where(Donor.state == state)
    if principal.role == "town_staff":
        stmt = stmt.where(Donor.pool == "town", Donor.town_code == principal.org_code)
    elif principal.role not in ("city_admin", "auditor"):
        raise Forbidden()
    return list((await session.scalars(stmt)).all())


# --- listings ----------------------------------------------------------------------------------------


def _summary(triage: TriageResult) -> str:
    ref = load_reference()
    town = ref.town_by_code(triage.town_code) if triage.town_code else None
    place = town.full_name if town else "东莞市"
    return f"{place} · {KIND_NAMES.get(triage.kind, triage.kind)} · {CATEGORY_NAMES.get(triage.category, triage.category)}"


async def ensure_listing(
    session: AsyncSession, triage: TriageResult, *, target_fen: int | None = None, open_now: bool = False
) -> ClaimListing:
    """The appeal's place in the pool: a draft until staff publish it (they check the anonymised
    summary and the sum), or open at once for an approved plan whose budget is decided."""
    listing = await session.get(ClaimListing, triage.appeal_id, with_for_update=NO_KEY)
    if listing is None:
        listing = ClaimListing(
            appeal_id=triage.appeal_id,
            ticket_no=triage.ticket_no,
            kind=triage.kind,
            category=triage.category,
            town_code=triage.town_code,
            village_code=triage.village_code,
            summary=_summary(triage),
            target_fen=target_fen if target_fen else None,
            exclusive=triage.kind == "micro_wish",
            state="open" if open_now and target_fen else "draft",
            pledged_fen=0,
            confirmed_fen=0,
        )
        session.add(listing)
        await session.flush()
    elif open_now and target_fen and listing.state == "draft":
        listing.target_fen, listing.state, listing.updated_at = target_fen, "open", utcnow()
    return listing


async def publish_listing(
    session: AsyncSession,
    principal: Principal,
    appeal_id: uuid.UUID,
    *,
    summary: str,
    target_fen: int | None,
    needs_service: str | None,
) -> ClaimListing:
    """Staff publish (or correct) an appeal's listing: anonymised words, the sum, the service."""
    listing = await session.get(ClaimListing, appeal_id, with_for_update=NO_KEY)
    if listing is None:
        triage = await session.get(TriageResult, appeal_id)
        if triage is None:
            raise NotFound()
        listing = await ensure_listing(session, triage)
    if principal.role != "city_admin" and not (
        principal.role == "town_staff" and principal.org_code == listing.town_code
    ):
        raise Forbidden()
    if listing.state in ("closed",):
        raise ListingClosed()
    if target_fen is None and not needs_service:
        raise InvalidInput("须写明所需金额或所需服务。")
    if target_fen is not None and target_fen < listing.pledged_fen:
        raise Conflict("目标金额不能低于已认领金额。", pledged_fen=listing.pledged_fen)
    listing.summary, listing.target_fen, listing.needs_service = summary, target_fen, needs_service
    if listing.state == "draft":
        listing.state = "open"
    listing.updated_at = utcnow()
    await session.flush()
    return listing


def _visible(donor: Donor, listing: ClaimListing) -> bool:
    return donor.pool == "city" or listing.town_code == donor.town_code


async def browse(
    session: AsyncSession, donor: Donor, *, kind: str | None, category: str | None, limit: int = 50
) -> list[ClaimListing]:
    """Open listings in the donor's pool (a town pool sees its town; the city pool sees all)."""
    stmt = (
        select(ClaimListing)
        .where(ClaimListing.state == "open")
        .order_by(ClaimListing.created_at)
        .limit(limit)
    )
    if donor.pool == "town":
        stmt = stmt.where(ClaimListing.town_code == donor.town_code)
    if kind:
        stmt = stmt.where(ClaimListing.kind == kind)
    if category:
        stmt = stmt.where(ClaimListing.category == category)
    return list((await session.scalars(stmt)).all())


# --- claims ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ClaimRequest:
    """A donor's claim: money (``amount_fen``) or a service (``service``)."""

    kind: str
    amount_fen: int | None
    service: str | None
    note: str | None = None

    def digest(self, appeal_id: uuid.UUID) -> str:
        """The request's fingerprint for idempotency."""
        body = {"appeal_id": str(appeal_id), **self.__dict__}
        return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()


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
) -> tuple[Claim, bool]:
    """认领: pledge money (in full or in part) or a service. Returns (claim, created)."""
    digest = request.digest(appeal_id)
    earlier = await session.scalar(
        select(Claim).where(Claim.donor_id == donor.id, Claim.idempotency_key == idempotency_key)
    )
    if earlier is not None:
        if earlier.request_hash != digest:
            raise IdempotencyConflict()
        return earlier, False
    if donor.state != "verified":
        raise DonorNotVerified()
    listing = await session.get(ClaimListing, appeal_id)
    if listing is None or not _visible(donor, listing):
        raise NotFound()
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
        idempotency_key=idempotency_key,
        request_hash=digest,
        pledged_at=at,
        expires_at=at + timedelta(days=routing_settings().claim_days),
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
        if "idempotency_key" in message:
            raise Conflict("同一请求编号的认领正在处理中，请稍后查询。") from exc
        raise
    await session.refresh(listing)
    await publish(session, _event("claim.made", claim, donor, listing))
    return claim, True


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


async def report(session: AsyncSession, donor: Donor, claim_id: uuid.UUID) -> dict[str, Any]:
    """The donor's completion report (捐赠完成报告): what was given, to what, confirmed by whom."""
    claim = await session.get(Claim, claim_id)
    if claim is None or claim.donor_id != donor.id:
        raise NotFound()
    if claim.state != "confirmed":
        raise ClaimState("该认领尚未确认完成，暂无完成报告。", state=claim.state)
    listing = await session.get(ClaimListing, claim.appeal_id)
    assert listing is not None
    from routing.services.stations import records

    services = [
        {"served_on": r.served_on.isoformat(), "visits": r.visits, "minutes": r.minutes}
        for r in await records(session, claim.appeal_id)
        if r.state == "confirmed"
    ]
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
        "service_records": services,
        "text": (
            f"感谢{donor.name}通过“莞家直达”认领的帮扶已完成并经"
            f"{'受助群众' if claim.confirmed_by_kind == 'beneficiary' else '工作人员'}确认。"
        ),
    }
