"""Public disclosure (信息公开): the list and detail of appeals anyone may read, and withholding.

What is listed: every appeal once triaged (kind known), except withdrawn ones, linked duplicates
(their master is listed, with the count of reports it absorbed), rejected ones and what staff
withheld with a reason (`withhold`). A micro-project whose plan the community rejected in
consultation stays listed, with the reason and its notices (公示: meeting, attendance, votes). Micro-projects in full, micro-wishes anonymised (see
`services.contracts.disclosure`). Progress, deadlines and funds used (projected from the ledger's
`funds.disbursed` events into `intake.appeal_funds`) come with each item.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, and_, exists, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from intake.models import Appeal, AppealDeadline, AppealFunds, AppealNotice, Reporter, TimelineEntry
from intake.service import notices
from intake.service.privacy import redact_text
from intake.service.public import public_timeline, town_name, village_name
from services.common.errors import NotFound
from services.common.messaging import utcnow
from services.common.text import label_of
from services.contracts.appeals import PublicDeadline
from services.contracts.disclosure import DisclosedAppeal, DisclosurePage
from services.contracts.notices import PublicNotice
from services.contracts.vocabulary import CATEGORY_NAMES

HIDDEN_STATES = ("received", "withdrawn", "merged", "rejected")
MAX_PAGE_SIZE = 100


@dataclass(frozen=True)
class Filters:
    """The public list's filters."""

    town_code: str | None = None
    village_code: str | None = None
    kind: str | None = None
    category: str | None = None
    status: str | None = None
    # Any of these statuses (Open311's "open" and "closed" are each several of ours).
    statuses: tuple[str, ...] | None = None
    # Open311's requests.json asks by the time an appeal was received.
    received_from: datetime | None = None
    received_to: datetime | None = None


def _visible() -> list[ColumnElement[bool]]:
    rejected_in_consultation = exists().where(
        AppealNotice.appeal_id == Appeal.id, AppealNotice.state == "rejected"
    )
    return [
        Appeal.withheld.is_(False),
        Appeal.kind.is_not(None),
        or_(
            Appeal.status.not_in(HIDDEN_STATES),
            and_(Appeal.status == "rejected", rejected_in_consultation),
        ),
    ]


async def _extras(
    session: AsyncSession, ids: list[uuid.UUID]
) -> tuple[
    dict[uuid.UUID, list[str]],
    dict[uuid.UUID, str],
    dict[uuid.UUID, list[PublicDeadline]],
    dict[uuid.UUID, dict[str, int]],
    dict[uuid.UUID, int],
]:
    names: dict[uuid.UUID, list[str]] = defaultdict(list)
    for appeal_id, name in await session.execute(
        select(Reporter.appeal_id, Reporter.name).where(
            Reporter.appeal_id.in_(ids), Reporter.name.is_not(None)
        )
    ):
        if name:
            names[appeal_id].append(name)
    progress: dict[uuid.UUID, str] = {}
    for appeal_id, description in await session.execute(
        select(TimelineEntry.appeal_id, TimelineEntry.public_description)
        .where(TimelineEntry.appeal_id.in_(ids), TimelineEntry.public.is_(True))
        .order_by(TimelineEntry.at, TimelineEntry.id)
    ):
        progress[appeal_id] = description  # the latest wins
    clocks: dict[uuid.UUID, list[PublicDeadline]] = defaultdict(list)
    for c in await session.scalars(
        select(AppealDeadline).where(AppealDeadline.appeal_id.in_(ids)).order_by(AppealDeadline.due_at)
    ):
        clocks[c.appeal_id].append(
            PublicDeadline(
                clock=c.clock, due_at=c.due_at, due_date=c.due_date, provisional=c.provisional, state=c.state
            )
        )
    funds: dict[uuid.UUID, dict[str, int]] = defaultdict(dict)
    for f in await session.scalars(select(AppealFunds).where(AppealFunds.appeal_id.in_(ids))):
        funds[f.appeal_id][f.source] = f.amount_fen
    dups: dict[uuid.UUID, int] = {
        a: n
        for a, n in await session.execute(
            select(Appeal.duplicate_of, func.count())
            .where(Appeal.duplicate_of.in_(ids), Appeal.status == "merged")
            .group_by(Appeal.duplicate_of)
        )
        if a is not None
    }
    return names, progress, clocks, funds, dups


def _item(
    a: Appeal,
    names: list[str],
    progress: str | None,
    clocks: list[PublicDeadline],
    funds: dict[str, int],
    duplicates: int,
    notices_of: list[PublicNotice] | None = None,
) -> DisclosedAppeal:
    category_name = label_of(CATEGORY_NAMES, a.category) if a.category is not None else None
    place = village_name(a.village_code) or town_name(a.town_code) or "东莞市"
    if a.kind == "micro_project":
        title = redact_text(a.title, names, people=True) or f"{place}{category_name or ''}微实事"
        description = redact_text(a.description, names, people=True)
        address = redact_text(a.address, names, people=True)
    else:
        group = a.beneficiary_group or "一户居民"
        title, description, address = f"{place}{group}的{category_name or ''}微心愿", None, None
    return DisclosedAppeal(
        ticket_no=a.ticket_no,
        kind=a.kind,
        category=a.category,
        category_name=category_name,
        track=a.track,
        status=a.status,
        town=town_name(a.town_code),
        village=village_name(a.village_code),
        title=title,
        description=description,
        address=address,
        beneficiary_count=a.beneficiary_count,
        beneficiary_group=a.beneficiary_group if a.kind == "micro_project" else None,
        received_at=a.received_at,
        completed_at=a.completed_at,
        closed_at=a.closed_at,
        round=a.round,
        progress=redact_text(progress, names, people=True),
        funds_used_fen=sum(funds.values()),
        funds_by_source=funds,
        duplicates=duplicates,
        duplicate_of=None,
        deadlines=clocks,
        secondary_track=a.secondary_track,
        notices=notices_of or [],
        rejection_reason=_rejection(a, notices_of or []),
    )


def _rejection(a: Appeal, notices_of: list[PublicNotice]) -> str | None:
    """Why the community rejected the plan (the latest rejected meeting), for a rejected appeal."""
    if a.status != "rejected":
        return None
    rejected = [n for n in notices_of if n.state == "rejected"]
    return rejected[-1].reason if rejected else None


async def public_list(session: AsyncSession, filters: Filters, page: int, page_size: int) -> DisclosurePage:
    """A page of disclosed appeals, newest first."""
    page_size = max(1, min(page_size, MAX_PAGE_SIZE))
    page = max(1, page)
    conds = _visible()
    for column, value in (
        (Appeal.town_code, filters.town_code),
        (Appeal.village_code, filters.village_code),
        (Appeal.kind, filters.kind),
        (Appeal.category, filters.category),
        (Appeal.status, filters.status),
    ):
        if value is not None:
            conds.append(column == value)
    if filters.statuses is not None:
        conds.append(Appeal.status.in_(filters.statuses))
    if filters.received_from is not None:
        conds.append(Appeal.received_at >= filters.received_from)
    if filters.received_to is not None:
        conds.append(Appeal.received_at <= filters.received_to)
    total = int(await session.scalar(select(func.count()).select_from(Appeal).where(*conds)) or 0)
    rows = (
        await session.scalars(
            select(Appeal)
            .where(*conds)
            .order_by(Appeal.received_at.desc(), Appeal.id)
            .limit(page_size)
            .offset((page - 1) * page_size)
        )
    ).all()
    ids = [a.id for a in rows]
    names, progress, clocks, funds, dups = await _extras(session, ids) if ids else ({}, {}, {}, {}, {})
    noticed = await notices.of_appeals(session, ids)
    items = [
        _item(
            a,
            names.get(a.id, []),
            progress.get(a.id),
            clocks.get(a.id, []),
            funds.get(a.id, {}),
            dups.get(a.id, 0),
            noticed.get(a.id, []),
        )
        for a in rows
    ]
    return DisclosurePage(items=items, page=page, page_size=page_size, total=total)


async def public_detail(session: AsyncSession, ticket_no: str) -> DisclosedAppeal:
    """One disclosed appeal with its whole public timeline; 404 when not disclosed."""
    appeal = await session.scalar(select(Appeal).where(Appeal.ticket_no == ticket_no, *_visible()))
    if appeal is None:
        raise NotFound()
    names, progress, clocks, funds, dups = await _extras(session, [appeal.id])
    item = _item(
        appeal,
        names.get(appeal.id, []),
        progress.get(appeal.id),
        clocks.get(appeal.id, []),
        funds.get(appeal.id, {}),
        dups.get(appeal.id, 0),
        await notices.of_appeal(session, appeal.id),
    )
    timeline = await public_timeline(session, appeal)
    own = names.get(appeal.id, [])
    item.timeline = [
        t.model_copy(update={"description": redact_text(t.description, own, people=True) or ""})
        for t in timeline
    ]
    return item


async def withhold(
    session: AsyncSession, appeal: Appeal, *, actor: str, reason: str, withheld: bool
) -> Appeal:
    """Withhold an appeal from (or return it to) public disclosure, with the reason on the timeline."""
    appeal.withheld = withheld
    appeal.withheld_reason = reason if withheld else None
    appeal.version += 1
    session.add(
        TimelineEntry(
            appeal_id=appeal.id,
            at=utcnow(),
            from_status=appeal.status,
            to_status=appeal.status,
            actor=actor,
            reason=reason,
            public_description="暂不公开" if withheld else "恢复公开",
            public=False,
            round=appeal.round,
        )
    )
    await session.flush()
    return appeal
