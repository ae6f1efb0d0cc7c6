"""Staff work lists (工作台, DESIGN §10): every appeal in the viewer's scope, filtered, sorted by
the next deadline (none last), keyset-paged with an opaque cursor; and counts per status.

The list reads the appeal row only: `next_due_at` and `overdue` are projected onto it from the
deadlines' events (:func:`refresh_due`, called by the clock handlers), so a page is one indexed
query whatever the number of clocks. Scope is `services.common.scope` expressed as SQL: by area
for the city, towns and villages; by holding for departments and stations.
"""

from __future__ import annotations

import re
import uuid
from datetime import datetime
from typing import Any, Final

from sqlalchemy import (
    ColumnClause,
    ColumnElement,
    DateTime,
    Select,
    and_,
    false,
    func,
    literal_column,
    or_,
    select,
    true,
    tuple_,
)
from sqlalchemy.ext.asyncio import AsyncSession

from intake.models import DUE_KEY_SQL, Appeal, AppealDeadline, Reporter
from intake.service import access
from intake.service.public import town_name, village_name
from services.common import scope
from services.common.auth import Principal
from services.common.cursor import InvalidCursor, decode_cursor, encode_cursor
from services.common.errors import NotFound
from services.common.messaging import utcnow
from services.common.reference import load_reference
from services.contracts.vocabulary import STATUSES, UNIT_NAMES
from services.contracts.worklist import WorkHolder, WorkItem, WorkList, WorkListQuery, WorkSummary

CURSOR_NAME: Final = "staff.appeals"
# Clocks whose deadline still asks for work: a paused clock's deadline moves, a met or stopped
# one asks nothing.
LIVE_STATES: Final = ("running", "overdue")
# The sort key exactly as the indexes spell it (a bound 'infinity' would not match them).
_STAMP = DateTime(timezone=True)
DUE_KEY: Final[ColumnClause[datetime]] = literal_column(
    DUE_KEY_SQL.replace("next_due_at", "intake.appeals.next_due_at"), _STAMP
)
INFINITY: Final[ColumnClause[datetime]] = literal_column("'infinity'::timestamp with time zone", _STAMP)
_TICKET = re.compile(r"^[A-Za-z]{2}\d{8,}$")
_LIKE_SPECIALS = re.compile(r"([\\%_])")


async def refresh_due(session: AsyncSession, appeal: Appeal) -> None:
    """Project the appeal's clocks onto the row the work list reads: the earliest deadline of a
    live clock and whether any clock is overdue. Idempotent: it recomputes from the clock rows."""
    await session.flush()
    row = (
        await session.execute(
            select(
                func.min(AppealDeadline.due_at).filter(AppealDeadline.state.in_(LIVE_STATES)),
                func.coalesce(func.bool_or(AppealDeadline.state == "overdue"), false()),
            ).where(AppealDeadline.appeal_id == appeal.id)
        )
    ).one()
    appeal.next_due_at, appeal.overdue = row[0], bool(row[1])


def scope_filter(principal: Principal) -> ColumnElement[bool]:
    """`scope.sees_appeal` as a WHERE clause."""
    if principal.org_type in ("department", "station"):
        return and_(Appeal.holder_type == principal.org_type, Appeal.holder_code == principal.org_code)
    if scope.sees_everything(principal):
        return true()
    if principal.org_type == "town":
        return Appeal.town_code == principal.org_code
    if principal.org_type == "village":
        return Appeal.village_code == principal.org_code
    return false()


def reporter_hidden(principal: Principal) -> ColumnElement[bool]:
    """`access.identity_view(...) == "hidden"` for some reporter of the appeal, as SQL: a
    confidential reporter to departments and stations, a confidential or anonymous one to the
    unit the appeal complains about."""
    conditions: list[ColumnElement[bool]] = [
        and_(
            Appeal.complained_unit_type == principal.org_type,
            Appeal.complained_unit_code == principal.org_code,
            or_(Reporter.confidential.is_(True), Reporter.anonymous.is_(True)),
        )
    ]
    if principal.role in access.HIDDEN_CONFIDENTIAL_ROLES:
        conditions.append(Reporter.confidential.is_(True))
    return select(Reporter.id).where(Reporter.appeal_id == Appeal.id, or_(*conditions)).exists()


# An appeal closed or merged away is no one's overdue work, whatever its last clock said.
NOT_WORK: Final = ("closed", "merged")


def _is_overdue(now: datetime) -> ColumnElement[bool]:
    # The sweep marks a clock overdue every 30 s; one just past its deadline counts already.
    return and_(or_(Appeal.overdue.is_(True), Appeal.next_due_at < now), Appeal.status.notin_(NOT_WORK))


def _filters(principal: Principal, query: WorkListQuery, now: datetime) -> list[ColumnElement[bool]]:
    where = [scope_filter(principal)]
    for column, value in (
        (Appeal.status, query.status),
        (Appeal.kind, query.kind),
        (Appeal.category, query.category),
        (Appeal.urgency, query.urgency),
        (Appeal.track, query.track),
        (Appeal.town_code, query.town_code),
        (Appeal.village_code, query.village_code),
    ):
        if value is not None:
            where.append(column == value)
    if query.holder == "mine":
        where.append(and_(Appeal.holder_type == principal.org_type, Appeal.holder_code == principal.org_code))
    if query.overdue is not None:
        overdue = _is_overdue(now)
        where.append(overdue if query.overdue else ~func.coalesce(overdue, false()))
    if query.due_before is not None:
        where.append(Appeal.next_due_at < query.due_before)
    if query.q:
        text = query.q.strip()
        if _TICKET.match(text):
            where.append(Appeal.ticket_no == text.upper())
        else:
            escaped = _LIKE_SPECIALS.sub(r"\\\1", text)
            pattern = f"%{escaped}%"
            words = or_(
                Appeal.title.ilike(pattern),
                Appeal.description.ilike(pattern),
                Appeal.address.ilike(pattern),
            )
            # 保密: a match in the words of an appeal whose reporter is hidden from the reader
            # would confirm who filed it ("赵丽华" finds her appeal); those match by ticket only.
            where.append(or_(Appeal.ticket_no.ilike(pattern), and_(~reporter_hidden(principal), words)))
    return where


def _after(cursor: list[Any]) -> ColumnElement[bool]:
    """Rows after the cursor in (next deadline, none last; received_at; id) order: one row
    comparison, which the work-list indexes answer as a range."""
    due_raw, received_raw, id_raw = cursor
    try:
        received = datetime.fromisoformat(received_raw)
        appeal_id = uuid.UUID(id_raw)
        due: Any = datetime.fromisoformat(due_raw) if due_raw is not None else INFINITY
    except (TypeError, ValueError):
        raise InvalidCursor() from None
    return tuple_(DUE_KEY, Appeal.received_at, Appeal.id) > tuple_(due, received, appeal_id)


def unit_name(unit_type: str, code: str) -> str | None:
    """A unit's name from the reference data, where it lists the unit."""
    reference = load_reference()
    if unit_type == "town":
        return town_name(code)
    if unit_type == "village":
        return village_name(code)
    if unit_type == "department":
        department = reference.department_by_code(code)
        return department.name if department else None
    if unit_type == "city":
        return "东莞市"
    return UNIT_NAMES.get(unit_type)  # type: ignore[call-overload, no-any-return]


def work_item(appeal: Appeal, now: datetime) -> WorkItem:
    """One row as the work list shows it (no personal data)."""
    holder = (
        WorkHolder(
            type=appeal.holder_type,
            code=appeal.holder_code,
            name=unit_name(appeal.holder_type, appeal.holder_code),
        )
        if appeal.holder_type and appeal.holder_code
        else None
    )
    return WorkItem.model_validate(
        {
            "appeal_id": appeal.id,
            "ticket_no": appeal.ticket_no,
            "status": appeal.status,
            "kind": appeal.kind,
            "category": appeal.category,
            "urgency": appeal.urgency,
            "track": appeal.track,
            "town": town_name(appeal.town_code),
            "village": village_name(appeal.village_code),
            "town_code": appeal.town_code,
            "village_code": appeal.village_code,
            "holder": holder,
            "received_at": appeal.received_at,
            "next_due_at": appeal.next_due_at,
            "overdue": appeal.status not in NOT_WORK
            and (appeal.overdue or (appeal.next_due_at is not None and appeal.next_due_at < now)),
        }
    )


def _page_statement(where: list[ColumnElement[bool]], limit: int) -> Select[Appeal]:
    return select(Appeal).where(*where).order_by(DUE_KEY, Appeal.received_at, Appeal.id).limit(limit + 1)


async def work_list(session: AsyncSession, principal: Principal, query: WorkListQuery) -> WorkList:
    """One page of the viewer's work list."""
    now = utcnow()
    where = _filters(principal, query, now)
    if query.cursor is not None:
        where.append(_after(decode_cursor(CURSOR_NAME, query.cursor, 3)))
    rows = list((await session.scalars(_page_statement(where, query.limit))).all())
    more = len(rows) > query.limit
    rows = rows[: query.limit]
    next_cursor = None
    if more and rows:
        last = rows[-1]
        key = [
            last.next_due_at.isoformat() if last.next_due_at else None,
            last.received_at.isoformat(),
            str(last.id),
        ]
        next_cursor = encode_cursor(CURSOR_NAME, key)
    return WorkList(items=[work_item(a, now) for a in rows], next_cursor=next_cursor)


async def summary(session: AsyncSession, principal: Principal) -> WorkSummary:
    """Counts per status (and overdue) of every appeal in the viewer's scope."""
    now = utcnow()
    where = scope_filter(principal)
    counts: dict[str, int] = dict.fromkeys(STATUSES, 0)
    for status, n in await session.execute(
        select(Appeal.status, func.count()).where(where).group_by(Appeal.status)
    ):
        counts[status] = n
    overdue = await session.scalar(select(func.count()).where(where, _is_overdue(now)))
    return WorkSummary(counts=counts, total=sum(counts.values()), overdue=overdue or 0)


async def brief(session: AsyncSession, appeal_id: uuid.UUID) -> WorkItem:
    """One appeal as a work-list row, for another service (the gateway's notifications)."""
    appeal = await session.get(Appeal, appeal_id)
    if appeal is None:
        raise NotFound()
    return work_item(appeal, utcnow())


__all__ = [
    "brief",
    "refresh_due",
    "reporter_hidden",
    "scope_filter",
    "summary",
    "unit_name",
    "work_item",
    "work_list",
]
