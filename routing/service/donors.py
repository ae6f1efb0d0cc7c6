"""爱心资源库 and 莞家直达: donors (registered, verified, keyed) and the pool of claimable appeals.

Claims on the pool, their expiry and the completion reports are `routing.service.claims`.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import uuid
from typing import Literal

from sqlalchemy import ColumnElement, and_, exists, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from routing.errors import ListingClosed, NotClaimable
from routing.models import ClaimListing, Consultation, Donor, TriageResult
from routing.service import dispositions, facts
from routing.service.common import acts_for_town
from services.common.auth import Principal
from services.common.errors import (
    Conflict,
    Forbidden,
    InvalidInput,
    NotFound,
    Unauthorized,
)
from services.common.messaging import utcnow
from services.common.reference import load_reference
from services.common.text import label_of
from services.contracts.vocabulary import CATEGORY_NAMES, KIND_NAMES

DonorKind = Literal["enterprise", "social_organisation", "individual"]
KEY_PREFIX = "gjd"
# Listing rows are locked FOR NO KEY UPDATE: it does not conflict with the key-share lock a new
# claim's foreign key takes, so confirmations and expiries never deadlock with claims.
NO_KEY = {"key_share": True}  # renders FOR NO KEY UPDATE


# --- donors ------------------------------------------------------------------------------------------


def _key_hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def new_key() -> tuple[str, str, str]:
    """A fresh `X-Donor-Key`: (prefix, the key to show once, the hash to keep)."""
    prefix = secrets.token_hex(4)
    key = f"{KEY_PREFIX}_{prefix}_{secrets.token_urlsafe(32)}"
    return prefix, key, _key_hash(key)


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
    return donor.pool == "town" and acts_for_town(principal, donor.town_code)


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


def claimable_condition() -> ColumnElement[bool]:
    """SQL: a listing donors may see and claim. A micro-project needs a plan the community approved
    (协商通过 and 公示 ended without objection); a micro-wish must be triaged to 莞家直达, as its
    track or as the top-up beside a policy benefit."""
    approved = exists().where(
        Consultation.appeal_id == ClaimListing.appeal_id, Consultation.state == "approved"
    )
    direct = exists().where(
        TriageResult.appeal_id == ClaimListing.appeal_id,
        or_(TriageResult.track == "direct", TriageResult.secondary_track == "direct"),
    )
    return or_(
        and_(ClaimListing.kind == "micro_project", approved),
        and_(ClaimListing.kind == "micro_wish", direct),
    )


async def require_claimable(session: AsyncSession, appeal_id: uuid.UUID) -> None:
    """Refuse (``409 not_claimable``) an appeal donors may not claim (see `claimable_condition`)."""
    triage = await session.get(TriageResult, appeal_id)
    if triage is None:
        raise NotFound()
    if triage.kind == "micro_project":
        states = set(
            (
                await session.scalars(select(Consultation.state).where(Consultation.appeal_id == appeal_id))
            ).all()
        )
        if "approved" in states:
            return
        if "no_quorum" in states and not states & {"notice", "objected"}:
            raise NotClaimable("该微实事的协商议事到会人数未达法定人数，方案未获通过，暂不能认领。")
        raise NotClaimable("该微实事尚未经协商议事通过并公示期满，暂不能认领。")
    if "direct" not in (triage.track, triage.secondary_track):
        raise NotClaimable("该微心愿未分拣为“莞家直达”，暂不能认领。")


def _summary(triage: TriageResult) -> str:
    ref = load_reference()
    town = ref.town_by_code(triage.town_code) if triage.town_code else None
    place = town.full_name if town else "东莞市"
    return f"{place} · {label_of(KIND_NAMES, triage.kind)} · {label_of(CATEGORY_NAMES, triage.category)}"


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
    triage = await session.get(TriageResult, appeal_id)
    # Who may act is checked before anything about the appeal is read: outside one's scope the
    # appeal does not exist (404), inside it a unit that may not list it is refused (403).
    if triage is None or not (principal.role == "city_admin" or acts_for_town(principal, triage.town_code)):
        raise await dispositions.refusal(session, principal, appeal_id) if triage is not None else NotFound()
    listing = await session.get(ClaimListing, appeal_id, with_for_update=NO_KEY)
    if listing is None:
        listing = await ensure_listing(session, triage)
    await facts.ensure_open(session, appeal_id)  # never for an appeal merged away (issue 15.8)
    await require_claimable(session, appeal_id)
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


def visible(donor: Donor, listing: ClaimListing) -> bool:
    """Whether a listing is in the donor's pool (the city's, or its own town's)."""
    return donor.pool == "city" or listing.town_code == donor.town_code


async def browse(
    session: AsyncSession, donor: Donor, *, kind: str | None, category: str | None, limit: int = 50
) -> list[ClaimListing]:
    """Open listings in the donor's pool (a town pool sees its town; the city pool sees all)."""
    stmt = (
        select(ClaimListing)
        .where(ClaimListing.state == "open", claimable_condition())
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
