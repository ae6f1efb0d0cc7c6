"""Duplicates across channels (多口收集，一口办理) and repeats of the same person, on the database.

On arrival (`on_arrival`, in intake's worker right after the recording transaction commits): the appeal's fingerprint is stored under
its keys (`lsh`: concepts, bands, places and people, each with its place and 10-day time scope);
the appeals that share a key within the window are fetched through the GIN index (never a scan),
each tier of keys with its own cap, plus the same person's earlier appeals (phone / ID lookup
hash, openid); each is scored by the fitted model (`scorer`). At or above the link threshold the
arrival is linked to the master at once (status `merged`, `duplicate_of` on its public status);
between the thresholds the candidate is suggested to staff. An earlier appeal of the same person
that is not the same matter is a *repeat*: suggested (flagged `repeat`), never merged. Staff
confirm, reject or undo; each decision keeps the pair's features and feeds the thresholds
(`tune`). Nothing is ever deleted, and a linked appeal keeps its own reporters, feedback and
return visit.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from cachetools import LRUCache
from sqlalchemy import ColumnElement, Select, func, or_, select, text, union
from sqlalchemy.ext.asyncio import AsyncSession

from intake.config import get_intake_settings
from intake.models import (
    Appeal,
    DuplicateLink,
    DuplicateThresholds,
    Fingerprint,
    Reporter,
    TimelineEntry,
    messaging,
)
from intake.service.duplicates import lsh, scorer
from intake.service.duplicates.scorer import Match
from intake.service.duplicates.similarity import Doc, analyse, doc_from_stored, stored_tokens
from intake.service.lifecycle import ACTIVE, MERGEABLE, Status, can_unmerge
from intake.service.stats.recorder import count, facts_of
from services.common.errors import Conflict, IllegalTransition
from services.common.messaging import emit, utcnow
from services.contracts.events import AppealMerged, StatusChanged, make_event

MAX_FINE = 30  # candidates by the selective keys (village, cell, place, person)
MAX_COARSE = 30  # candidates by the town-wide keys (concept, family, bands)
MAX_SUGGESTIONS = 5
SYSTEM_ACTOR = "system:duplicates"


class HasFollowers(Conflict):
    code, title = "has_duplicates", "The appeal is itself the master of linked duplicates"
    message = "该诉求已有关联的重复诉求，不能再合并到其他诉求。"


class NotLinked(Conflict):
    code, title = "not_linked", "The appeal is not linked as a duplicate"
    message = "该诉求未被关联为重复诉求。"


class SameAppeal(Conflict):
    code, title = "same_appeal", "An appeal cannot be its own duplicate"
    message = "不能将诉求与其自身合并。"


def thresholds() -> tuple[float, float]:
    """(link_at, suggest_at) as configured, else the shipped model's (no database)."""
    s = get_intake_settings()
    model = scorer.model()
    link = s.duplicate_link_threshold if s.duplicate_link_threshold is not None else model.link_at
    suggest = s.duplicate_suggest_threshold if s.duplicate_suggest_threshold is not None else model.suggest_at
    return link, min(suggest, link)


_TUNED_TTL_S = 60.0
_tuned: dict[str, tuple[float, tuple[float, float] | None]] = {}


async def current_thresholds(session: AsyncSession) -> tuple[float, float]:
    """The thresholds in force: the environment's when set, else the newest recomputed ones
    (`tune`, read at most once a minute per process), else the shipped model's."""
    s = get_intake_settings()
    if s.duplicate_link_threshold is not None or s.duplicate_suggest_threshold is not None:
        return thresholds()
    now = time.monotonic()
    cached = _tuned.get("newest")
    if cached is None or now - cached[0] > _TUNED_TTL_S:
        row = (
            await session.execute(
                select(DuplicateThresholds.link_at, DuplicateThresholds.suggest_at)
                .order_by(DuplicateThresholds.id.desc())
                .limit(1)
            )
        ).first()
        cached = (now, (float(row[0]), float(row[1])) if row is not None else None)
        _tuned["newest"] = cached
    if cached[1] is None:
        return thresholds()
    link, suggest = cached[1]
    return link, min(suggest, link)


def forget_tuned_thresholds() -> None:
    """Read the newest thresholds again at the next arrival (after `tune` stored new ones)."""
    _tuned.clear()


def doc_of(appeal: Appeal) -> Doc:
    """Analyse an appeal's text and place."""
    return analyse(
        appeal.title,
        appeal.description,
        appeal.address,
        town_code=appeal.town_code,
        village_code=appeal.village_code,
        lat=appeal.lat,
        lng=appeal.lng,
        datum=appeal.datum,
    )


@dataclass(frozen=True)
class Earlier:
    """What scoring needs of an earlier appeal (a few columns, not the whole record: a lookup
    loads dozens of them)."""

    id: uuid.UUID
    received_at: datetime
    town_code: str | None
    village_code: str | None
    lat: float | None
    lng: float | None
    datum: str
    tokens: list[str]
    text: str

    def doc(self) -> Doc:
        """The stored analysis, rebuilt (remembered: a fingerprint's tokens and text never change
        after arrival, and the same recent appeals of a town are candidates of arrival after
        arrival; the place is part of the key, since staff may correct it)."""
        place = (self.id, self.town_code, self.village_code, self.lat, self.lng, self.datum)
        doc = _rebuilt.get(place)
        if doc is None:
            doc = doc_from_stored(
                self.tokens,
                self.text,
                town_code=self.town_code,
                village_code=self.village_code,
                lat=self.lat,
                lng=self.lng,
                datum=self.datum,
            )
            _rebuilt[place] = doc
        return doc


# Rebuilt candidates, per process: a lookup scores up to MAX_FINE + MAX_COARSE of them, and
# rebuilding was a third of its CPU (README, Intake).
_rebuilt: LRUCache[tuple[object, ...], Doc] = LRUCache(maxsize=4096)  # about 8 KB each


_EARLIER_COLUMNS = (
    Appeal.id,
    Appeal.received_at,
    Appeal.town_code,
    Appeal.village_code,
    Appeal.lat,
    Appeal.lng,
    Appeal.datum,
    Fingerprint.tokens,
    Fingerprint.text,
)


@dataclass(frozen=True)
class Candidate:
    """A scored earlier appeal."""

    appeal: Earlier
    match: Match
    same_person: bool


async def _same_person_appeals(
    session: AsyncSession, appeal: Appeal, people: Sequence[Reporter]
) -> set[uuid.UUID]:
    conds = []
    for p in people:
        if p.relation != "reporter" or p.anonymous:
            continue
        if p.phone_hash:
            conds.append(Reporter.phone_hash == p.phone_hash)
        if p.id_number_hash:
            conds.append(Reporter.id_number_hash == p.id_number_hash)
        if p.openid:
            conds.append(Reporter.openid == p.openid)
    if not conds:
        return set()
    since = appeal.received_at - timedelta(days=get_intake_settings().repeat_window_days)
    rows = await session.scalars(
        select(Reporter.appeal_id)
        .join(Appeal, Appeal.id == Reporter.appeal_id)
        .where(
            or_(*conds), Reporter.relation == "reporter", Appeal.id != appeal.id, Appeal.received_at >= since
        )
        .order_by(Appeal.received_at.desc())
        .limit(20)
    )
    return set(rows.all())


def _by_keys(appeal: Appeal, keys: list[int], cap: int) -> Select[uuid.UUID]:
    since = appeal.received_at - timedelta(days=get_intake_settings().duplicate_window_days)
    return (
        select(Fingerprint.appeal_id)
        .where(
            Fingerprint.keys.overlap(keys),
            Fingerprint.received_at >= since,
            Fingerprint.received_at <= appeal.received_at,
            Fingerprint.appeal_id != appeal.id,
        )
        .order_by(Fingerprint.received_at.desc())
        .limit(cap)
    )


async def _earlier(session: AsyncSession, where: ColumnElement[bool]) -> list[Earlier]:
    rows = await session.execute(
        select(*_EARLIER_COLUMNS).join(Fingerprint, Fingerprint.appeal_id == Appeal.id).where(where)
    )
    return [Earlier(*row) for row in rows]


async def find_candidates(
    session: AsyncSession, appeal: Appeal, doc: Doc, people: Sequence[Reporter] = ()
) -> list[Candidate]:
    """Earlier appeals sharing a key within the window (GIN index; each tier capped) or filed by
    the same person, scored."""
    fine, coarse = lsh.query_keys(doc, appeal.received_at, get_intake_settings().duplicate_window_days)
    mine = await _same_person_appeals(session, appeal, people)
    tiers = [_by_keys(appeal, k, cap) for k, cap in ((fine, MAX_FINE), (coarse, MAX_COARSE)) if k]
    rows: list[Earlier] = []
    if tiers:
        # One statement: both tiers of keys through the GIN index (each with its own cap, so a
        # flood of same-concept appeals in a big town cannot crowd out the one from the same
        # street), then the rows by primary key. The GIN index is the only path: a plan made for
        # one arrival's keys could otherwise misjudge how many rows share them and read the whole
        # table (README).
        ids = union(*tiers) if len(tiers) > 1 else tiers[0]
        await session.execute(text("SET LOCAL enable_seqscan TO off"))
        try:
            rows += await _earlier(session, Appeal.id.in_(ids))
        finally:
            await session.execute(text("SET LOCAL enable_seqscan TO DEFAULT"))
    missing = mine - {e.id for e in rows}
    if missing:
        rows += await _earlier(session, Appeal.id.in_(missing))
    out = []
    for e in rows:
        gap = (appeal.received_at - e.received_at).total_seconds() / 3600
        match = scorer.score(e.doc(), doc, same_person=e.id in mine, gap_hours=gap)
        out.append(Candidate(e, match, e.id in mine))
    return sorted(out, key=lambda c: (-c.match.score, c.appeal.received_at))


async def root_of(session: AsyncSession, appeal: Appeal) -> Appeal:
    """The master at the end of a chain of links (a link never points at a duplicate for long)."""
    seen = {appeal.id}
    while appeal.duplicate_of is not None and appeal.status == "merged":
        master = await session.get(Appeal, appeal.duplicate_of)
        if master is None or master.id in seen:
            break
        seen.add(master.id)
        appeal = master
    return appeal


async def on_arrival(session: AsyncSession, appeal: Appeal, people: Sequence[Reporter]) -> None:
    """Fingerprint the new appeal; link it, suggest candidates, flag a repeat."""
    doc = doc_of(appeal)
    session.add(
        Fingerprint(
            appeal_id=appeal.id,
            received_at=appeal.received_at,
            tokens=stored_tokens(doc),
            text=doc.text,
            keys=lsh.keys(doc, appeal.received_at),
        )
    )
    await session.flush()
    link_at, suggest_at = await current_thresholds(session)
    found = await find_candidates(session, appeal, doc, people)
    # The same person's earlier appeals are always shown (a repeat, 重复诉求: it usually says the
    # first was not answered well enough); others only at or above the suggestion threshold.
    candidates = [c for c in found if c.same_person or c.match.score >= suggest_at]
    if not candidates:
        return
    best = next((c for c in candidates if _linkable(c, link_at)), None)
    if best is not None:
        earlier = await session.get(Appeal, best.appeal.id)
        master = await root_of(session, earlier) if earlier is not None else appeal
        # Detection runs after the commit: triage may have moved the appeal on meanwhile.
        if master.status in ACTIVE and master.id != appeal.id and appeal.status in MERGEABLE:
            await link(session, appeal, master, actor=SYSTEM_ACTOR, match=best.match, auto=True)
            candidates = [c for c in candidates if c is not best]
        else:
            best = None
    repeat = next((c for c in candidates if c.same_person), None)
    if repeat is not None:
        await _flag_repeat(session, appeal, repeat)
    for c in candidates[:MAX_SUGGESTIONS]:
        await _suggest(session, appeal, c)


def _linkable(c: Candidate, link_at: float) -> bool:
    # The same person again (重复诉求) is never merged, even about the very same thing: it usually
    # says the first appeal was not answered well enough, which staff should see.
    return c.match.score >= link_at and not c.same_person


def _rounded(features: dict[str, float]) -> dict[str, float]:
    return {k: round(v, 4) for k, v in features.items()}


async def _flag_repeat(session: AsyncSession, appeal: Appeal, earlier: Candidate) -> None:
    # Kept on the appeal (staff view) and in the candidates list, not on the timeline.
    appeal.repeat_of = earlier.appeal.id
    await count(session, facts_of(appeal), appeal.received_at, {"repeats": 1}, dims=("all", "channel"))


async def _suggest(session: AsyncSession, appeal: Appeal, c: Candidate) -> None:
    exists = await session.scalar(
        select(DuplicateLink.id).where(
            DuplicateLink.appeal_id == appeal.id, DuplicateLink.master_id == c.appeal.id
        )
    )
    if exists is None:
        session.add(
            DuplicateLink(
                appeal_id=appeal.id,
                master_id=c.appeal.id,
                score=c.match.score,
                reasons=list(c.match.reasons),
                state="suggested",
                auto=False,
                repeat=c.same_person,
                created_at=utcnow(),
                features=_rounded(c.match.features),
            )
        )


async def link(
    session: AsyncSession,
    appeal: Appeal,
    master: Appeal,
    *,
    actor: str,
    match: Match | None = None,
    auto: bool = False,
    repeat: bool = False,
    reason: str | None = None,
) -> DuplicateLink:
    """Link `appeal` to `master` as its duplicate: status merged, nothing deleted."""
    from intake.service.moves import transition  # the moves module imports nothing from here

    if appeal.id == master.id:
        raise SameAppeal()
    if appeal.status not in MERGEABLE:
        raise IllegalTransition(appeal.status, "merged")
    if master.status not in ACTIVE:
        raise IllegalTransition(master.status, "merged")
    followers = await session.scalar(
        select(func.count())
        .select_from(Appeal)
        .where(Appeal.duplicate_of == appeal.id, Appeal.status == "merged")
    )
    if followers:
        raise HasFollowers()
    if match is None:
        gap = (appeal.received_at - master.received_at).total_seconds() / 3600
        match = scorer.score(doc_of(master), doc_of(appeal), gap_hours=gap)
    row = await session.scalar(
        select(DuplicateLink)
        .where(DuplicateLink.appeal_id == appeal.id, DuplicateLink.master_id == master.id)
        .with_for_update()
    )
    now = utcnow()
    if row is None:
        row = DuplicateLink(
            appeal_id=appeal.id,
            master_id=master.id,
            score=match.score,
            reasons=list(match.reasons),
            created_at=now,
            features=_rounded(match.features),
        )
        session.add(row)
    row.state, row.auto, row.repeat = "linked", auto, repeat or row.repeat
    row.decided_by, row.decided_at, row.reason = actor, now, reason
    appeal.pre_merge_status = appeal.status
    appeal.duplicate_of = master.id
    why = reason or f"与 {master.ticket_no} 为同一事项（相似度{match.score:.2f}）"
    data = AppealMerged(
        master_id=master.id, master_ticket_no=master.ticket_no, score=match.score, auto=auto, reason=why
    )
    await transition(
        session,
        appeal,
        "merged",
        actor=actor,
        reason=why,
        description=f"与诉求 {master.ticket_no} 为同一事项，合并办理；办理进展和回访照常告知您",
        data=data,
    )
    await count(session, facts_of(appeal), now, {"duplicates": 1})
    return row


async def decide_suggestion(
    session: AsyncSession, appeal: Appeal, master_id: uuid.UUID, *, actor: str, reason: str | None
) -> DuplicateLink:
    """Staff say a suggested candidate is not the same matter."""
    row = await session.scalar(
        select(DuplicateLink)
        .where(DuplicateLink.appeal_id == appeal.id, DuplicateLink.master_id == master_id)
        .with_for_update()
    )
    if row is None or row.state not in ("suggested", "rejected"):
        raise NotLinked("没有找到该疑似重复诉求的建议。")
    row.state, row.decided_by, row.decided_at, row.reason = "rejected", actor, utcnow(), reason
    return row


async def undo(session: AsyncSession, appeal: Appeal, *, actor: str, reason: str) -> Appeal:
    """Staff undo a wrong link: the appeal goes back where it was; the link stays, marked undone."""
    pre: Status | None = appeal.pre_merge_status  # type: ignore[assignment]
    if appeal.duplicate_of is None or appeal.status != "merged":
        raise NotLinked()
    if not can_unmerge("merged", pre):
        raise IllegalTransition("merged", str(pre))
    assert pre is not None
    master_id = appeal.duplicate_of
    rows = (
        await session.scalars(
            select(DuplicateLink).where(
                DuplicateLink.appeal_id == appeal.id,
                DuplicateLink.master_id == master_id,
                DuplicateLink.state == "linked",
            )
        )
    ).all()
    now = utcnow()
    for row in rows:
        row.state, row.decided_by, row.decided_at, row.reason = "undone", actor, now, reason
    appeal.status, appeal.duplicate_of, appeal.pre_merge_status = pre, None, None
    appeal.status_changed_at = now
    appeal.version += 1
    session.add(
        TimelineEntry(
            appeal_id=appeal.id,
            at=now,
            from_status="merged",
            to_status=pre,
            actor=actor,
            reason=reason,
            public_description="经核实不属同一事项，已取消合并，单独办理",
            round=appeal.round,
        )
    )
    await emit(
        session,
        messaging,
        make_event(
            "appeal.status_changed",
            "intake",
            StatusChanged(from_status="merged", to_status=pre, reason=reason),
            appeal_id=appeal.id,
        ),
    )
    await count(session, facts_of(appeal), now, {"duplicates": -1})
    return appeal
