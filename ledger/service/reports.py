"""Fund reports (资金报表): per source, town, village and project; and the public disclosure.

Where money stands is read from account balances, by holder type: `external` is the outside
world (minus what came in), `city` / `town` / `village` hold it, `reservation` keeps it for
approved plans, `project` / `beneficiary` received it (disbursed). So for every source:
received = held + reserved + disbursed, which the source report checks line by line. Who spent
it is the entry's holder (`journal_entries.holder_*`), so a town's disbursements include those
of its villages and of reservations they made.

The public summary aggregates per source and per town; it never names a beneficiary, a project
payee code or a donor.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from sqlalchemy import String, and_, cast, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import QueryableAttribute
from sqlalchemy.sql.elements import ColumnElement

from ledger.models import Account, FundSource, JournalEntry, Posting, Reservation
from ledger.schemas import FundHolderType, PayeeType, SourceAmount
from ledger.service import rules
from ledger.service.funds import matching_status
from ledger.service.report_schemas import (
    HolderReport,
    HolderSourceLine,
    PayeeLine,
    PayeeReport,
    PublicFunds,
    PublicSource,
    PublicTown,
    SourceReport,
    SourcesReport,
    VillageLine,
)
from services.common import scope
from services.common.messaging import utcnow
from services.common.reference import load_reference

PAYEE_TYPES = ("project", "beneficiary")
_TOWN_PREFIX = re.compile(r"^441900\d{3}$")
HELD_TYPES = ("city", "town", "village")


async def _sources(session: AsyncSession) -> list[tuple[str, str]]:
    rows = await session.execute(select(FundSource.code, FundSource.name).order_by(FundSource.display_order))
    return [(code, name) for code, name in rows]


async def sources_report(session: AsyncSession) -> SourcesReport:
    """Every source end to end: received = held + reserved + disbursed."""
    rows = await session.execute(
        select(Account.source_code, Account.holder_type, func.sum(Account.balance_fen)).group_by(
            Account.source_code, Account.holder_type
        )
    )
    sums: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for code, holder_type, total in rows:
        sums[code][holder_type] += int(total or 0)
    out: list[SourceReport] = []
    for code, name in await _sources(session):
        by = sums[code]
        received = -by["external"]
        reserved = by["reservation"]
        disbursed = sum(by[t] for t in PAYEE_TYPES)
        held = {t: by[t] for t in HELD_TYPES}
        out.append(
            SourceReport(
                source_code=code,
                source_name=name,
                received_fen=received,
                held_city_fen=held["city"],
                held_town_fen=held["town"],
                held_village_fen=held["village"],
                reserved_fen=reserved,
                disbursed_fen=disbursed,
                balanced=received == sum(held.values()) + reserved + disbursed + by["donor"],
            )
        )
    return SourcesReport(
        generated_at=utcnow(),
        sources=out,
        received_fen=sum(s.received_fen for s in out),
        disbursed_fen=sum(s.disbursed_fen for s in out),
    )


def _scope(
    type_col: QueryableAttribute[Any],
    code_col: QueryableAttribute[Any],
    holder_type: FundHolderType,
    code: str,
) -> ColumnElement[bool]:
    """A holder's rows and, for a town, its villages' rows (same 9-digit prefix)."""
    own = and_(type_col == holder_type, code_col == code)
    if holder_type != "town":
        return own
    return or_(own, and_(type_col == "village", code_col.startswith(scope.village_prefix(code))))


async def holder_report(session: AsyncSession, holder_type: FundHolderType, code: str) -> HolderReport:
    """A town's (with its villages) or a village's funds per source."""
    rules.validate_holder(holder_type, code)
    balances = await _group(
        session,
        select(Account.holder_code, Account.source_code, Account.balance_fen).where(
            _scope(Account.holder_type, Account.holder_code, holder_type, code)
        ),
    )
    reserved = await _group(
        session,
        select(Reservation.holder_code, Account.source_code, Account.balance_fen)
        .join(
            Account,
            and_(Account.holder_type == "reservation", Account.holder_code == cast(Reservation.id, String)),
        )
        .where(
            Reservation.state == "pending",
            _scope(Reservation.holder_type, Reservation.holder_code, holder_type, code),
        ),
    )
    disbursed = await _group(
        session,
        select(JournalEntry.holder_code, Account.source_code, Posting.amount_fen)
        .join(Posting, Posting.entry_id == JournalEntry.id)
        .join(Account, Account.id == Posting.account_id)
        .where(
            Account.holder_type.in_(PAYEE_TYPES),
            _scope(JournalEntry.holder_type, JournalEntry.holder_code, holder_type, code),
        ),
    )
    open_count = await session.scalar(
        select(func.count())
        .select_from(Reservation)
        .where(
            Reservation.state == "pending",
            _scope(Reservation.holder_type, Reservation.holder_code, holder_type, code),
        )
    )
    lines = [
        HolderSourceLine(
            source_code=src,
            source_name=name,
            balance_fen=_total(balances, src),
            reserved_fen=_total(reserved, src),
            disbursed_fen=_total(disbursed, src),
        )
        for src, name in await _sources(session)
    ]
    villages: list[VillageLine] = []
    if holder_type == "town":
        codes = sorted({h for table in (balances, reserved, disbursed) for h in table if h != code})
        villages = [
            VillageLine(
                village_code=v,
                balance_fen=sum(balances.get(v, {}).values()),
                reserved_fen=sum(reserved.get(v, {}).values()),
                disbursed_fen=sum(disbursed.get(v, {}).values()),
            )
            for v in codes
        ]
    return HolderReport(
        holder_type=holder_type,
        holder_code=code,
        generated_at=utcnow(),
        sources=lines,
        open_reservations=int(open_count or 0),
        villages=villages,
        matching=await matching_status(session, code) if holder_type == "town" else None,
    )


async def _group(session: AsyncSession, query: object) -> dict[str, dict[str, int]]:
    """Sum rows of (holder code, source, fen) into {holder: {source: fen}}."""
    out: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for holder, src, fen in await session.execute(query):  # type: ignore[call-overload]
        out[holder][src] += int(fen or 0)
    return out


def _total(table: dict[str, dict[str, int]], source_code: str) -> int:
    # A town's line counts its own money and its villages'.
    return sum(by_source.get(source_code, 0) for by_source in table.values())


async def payee_report(session: AsyncSession, payee_type: PayeeType, code: str) -> PayeeReport:
    """What a project or beneficiary received, per source and entry by entry."""
    rules.validate_reference_code(payee_type, code)
    rows = (
        await session.execute(
            select(
                JournalEntry.id,
                JournalEntry.kind,
                Account.source_code,
                Posting.amount_fen,
                JournalEntry.holder_type,
                JournalEntry.holder_code,
                JournalEntry.appeal_id,
                JournalEntry.created_at,
            )
            .join(Posting, Posting.entry_id == JournalEntry.id)
            .join(Account, Account.id == Posting.account_id)
            .where(Account.holder_type == payee_type, Account.holder_code == code)
            .order_by(JournalEntry.created_at, Posting.id)
        )
    ).all()
    by_source: dict[str, int] = defaultdict(int)
    lines: list[PayeeLine] = []
    for row in rows:
        by_source[row.source_code] += row.amount_fen
        paid_by = row.holder_type if row.holder_type in HELD_TYPES else None
        lines.append(
            PayeeLine(
                entry_id=row.id,
                kind=row.kind,
                source_code=row.source_code,
                amount_fen=row.amount_fen,
                paid_by_type=paid_by,
                paid_by_code=row.holder_code if paid_by else None,
                appeal_id=row.appeal_id,
                created_at=row.created_at,
            )
        )
    return PayeeReport(
        payee_type=payee_type,
        payee_code=code,
        total_fen=sum(by_source.values()),
        by_source=[SourceAmount(source_code=s, amount_fen=a) for s, a in sorted(by_source.items())],
        lines=lines,
    )


async def public_funds(session: AsyncSession) -> PublicFunds:
    """资金公开: per source and per town, aggregated; no beneficiary, payee code or donor named."""
    report = await sources_report(session)
    town_of = func.substr(Account.holder_code, 1, scope.VILLAGE_PREFIX_LEN)
    held = await _sum_by(
        session,
        select(town_of, func.sum(Account.balance_fen))
        .where(Account.holder_type.in_(("town", "village")))
        .group_by(town_of),
    )
    r_town = func.substr(Reservation.holder_code, 1, 9)
    reserved = await _sum_by(
        session,
        select(r_town, func.sum(Account.balance_fen))
        .join(
            Account,
            and_(Account.holder_type == "reservation", Account.holder_code == cast(Reservation.id, String)),
        )
        .where(Reservation.holder_type.in_(("town", "village")), Reservation.state == "pending")
        .group_by(r_town),
    )
    e_town = func.substr(JournalEntry.holder_code, 1, 9)
    paid = (
        await session.execute(
            select(
                JournalEntry.holder_type,
                e_town,
                Account.holder_type,
                Account.holder_code,
                func.sum(Posting.amount_fen),
            )
            .join(Posting, Posting.entry_id == JournalEntry.id)
            .join(Account, Account.id == Posting.account_id)
            .where(Account.holder_type.in_(PAYEE_TYPES))
            .group_by(JournalEntry.holder_type, e_town, Account.holder_type, Account.holder_code)
        )
    ).all()
    disbursed: dict[str, int] = defaultdict(int)
    helped: dict[str, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
    everyone: dict[str, set[str]] = defaultdict(set)
    for by_type, prefix, payee_type, payee_code, fen in paid:
        amount = int(fen or 0)
        if amount > 0:
            everyone[payee_type].add(payee_code)
        if by_type in ("town", "village"):
            disbursed[prefix] += amount
            if amount > 0:
                helped[prefix][payee_type].add(payee_code)
    donors = await session.scalar(
        select(func.count())
        .select_from(Account)
        .where(
            Account.holder_type == "external",
            Account.holder_code.startswith("donor:"),
            Account.balance_fen < 0,
        )
    )
    names = {town.code: town.name for town in load_reference().towns}
    prefixes = sorted(p for p in set(held) | set(reserved) | set(disbursed) if _TOWN_PREFIX.match(p))
    towns = [
        PublicTown(
            town_code=f"{p}000",
            town_name=names.get(f"{p}000"),
            held_fen=held.get(p, 0),
            reserved_fen=reserved.get(p, 0),
            disbursed_fen=disbursed.get(p, 0),
            projects_paid=len(helped[p]["project"]),
            beneficiaries_helped=len(helped[p]["beneficiary"]),
        )
        for p in prefixes
    ]
    return PublicFunds(
        generated_at=report.generated_at,
        sources=[
            PublicSource(
                source_code=s.source_code,
                source_name=s.source_name,
                received_fen=s.received_fen,
                held_fen=s.held_city_fen + s.held_town_fen + s.held_village_fen,
                reserved_fen=s.reserved_fen,
                disbursed_fen=s.disbursed_fen,
            )
            for s in report.sources
        ],
        towns=towns,
        donors=int(donors or 0),
        projects_paid=len(everyone["project"]),
        beneficiaries_helped=len(everyone["beneficiary"]),
    )


async def _sum_by(session: AsyncSession, query: object) -> dict[str, int]:
    return {key: int(fen or 0) for key, fen in await session.execute(query)}  # type: ignore[call-overload]


__all__: Sequence[str] = ("holder_report", "payee_report", "public_funds", "sources_report")
