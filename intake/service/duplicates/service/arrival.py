"""On arrival: fingerprint the new appeal, then link it, suggest candidates to staff, flag a repeat.

At or above the link threshold the arrival is linked to the master at once; between the thresholds
the candidate is suggested to staff. An earlier appeal of the same person that is not the same
matter is a *repeat*: suggested (flagged `repeat`), never merged.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from intake.models import Appeal, DuplicateLink, Fingerprint, Reporter
from intake.service.duplicates import lsh, scorer
from intake.service.duplicates.service.candidates import Candidate, doc_of, find_candidates
from intake.service.duplicates.service.linking import link, root_of, rounded
from intake.service.duplicates.service.thresholds import current_thresholds
from intake.service.duplicates.similarity import stored_tokens
from intake.service.lifecycle import ACTIVE, MERGEABLE
from intake.service.stats.recorder import count, facts_of
from services.common.messaging import utcnow

MAX_SUGGESTIONS = 5
SYSTEM_ACTOR = "system:duplicates"


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
    await _suggest(session, appeal, candidates[:MAX_SUGGESTIONS])


def _linkable(c: Candidate, link_at: float) -> bool:
    # The same person again (重复诉求) is never merged, even about the very same thing: it usually
    # says the first appeal was not answered well enough, which staff should see; nor is one
    # family's need merged with another need of theirs. `scorer.may_link` judges both from the
    # pair's features, whose `same_person` is the candidate's own.
    return c.match.score >= link_at and scorer.may_link(c.match.features)


async def _flag_repeat(session: AsyncSession, appeal: Appeal, earlier: Candidate) -> None:
    # Kept on the appeal (staff view) and in the candidates list, not on the timeline.
    appeal.repeat_of = earlier.appeal.id
    await count(session, facts_of(appeal), appeal.received_at, {"repeats": 1}, dims=("all", "channel"))


async def _suggest(session: AsyncSession, appeal: Appeal, shown: Sequence[Candidate]) -> None:
    # One statement for all of them (a lookup's follow-up runs for every arrival of a burst); a
    # pair suggested before (the arrival analysed again after a retry) is left as it is.
    if not shown:
        return
    now = utcnow()
    await session.execute(
        pg_insert(DuplicateLink)
        .values(
            [
                {
                    "appeal_id": appeal.id,
                    "master_id": c.appeal.id,
                    "score": c.match.score,
                    "reasons": list(c.match.reasons),
                    "state": "suggested",
                    "auto": False,
                    "repeat": c.same_person,
                    "created_at": now,
                    "features": rounded(c.match.features),
                }
                for c in shown
            ]
        )
        .on_conflict_do_nothing(index_elements=["appeal_id", "master_id"])
    )
