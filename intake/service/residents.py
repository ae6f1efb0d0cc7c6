"""A resident's own appeals (我的诉求), for the gateway's mini-program and official account.

`GET /internal/residents/appeals?openid=` or `?phone_hash=` (the keyed lookup hash of the E.164
number, `services.common.crypto.lookup_hash`): newest first, public-safe fields, each with its
public timeline, its return visit state and the query code (the resident's own).
"""

from __future__ import annotations

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from intake.models import Appeal, Evaluation, Reporter
from intake.schemas import OwnAppeal, OwnEvaluation
from intake.service.public import master_ticket, public_deadlines, public_timeline, town_name, village_name

MAX_APPEALS = 100


async def own_appeals(
    session: AsyncSession, *, openid: str | None, phone_hash: str | None
) -> list[OwnAppeal]:
    """The appeals where the resident is a reporter (or the family reported for), newest first."""
    conds = []
    if openid:
        conds.append(Reporter.openid == openid)
    if phone_hash:
        conds.append(Reporter.phone_hash == phone_hash)
    if not conds:
        return []
    ids = select(Reporter.appeal_id).where(or_(*conds))
    appeals = (
        await session.scalars(
            select(Appeal).where(Appeal.id.in_(ids)).order_by(Appeal.received_at.desc()).limit(MAX_APPEALS)
        )
    ).all()
    out = []
    for a in appeals:
        visits = (
            await session.scalars(
                select(Evaluation).where(Evaluation.appeal_id == a.id).order_by(Evaluation.round)
            )
        ).all()
        rated_rounds = {v.round for v in visits}
        awaiting = a.round not in rated_rounds and (
            a.status == "completed" or (a.status == "merged" and a.evaluation_due_at is not None)
        )
        out.append(
            OwnAppeal(
                appeal_id=a.id,
                ticket_no=a.ticket_no,
                query_code=a.query_code,
                channel=a.channel,
                status=a.status,
                kind=a.kind,
                category=a.category,
                track=a.track,
                town=town_name(a.town_code),
                village=village_name(a.village_code),
                title=a.title,
                received_at=a.received_at,
                round=a.round,
                awaiting_evaluation=awaiting,
                evaluation_due_at=a.evaluation_due_at if awaiting else None,
                duplicate_of=await master_ticket(session, a),
                timeline=await public_timeline(session, a),
                deadlines=await public_deadlines(session, a),
                evaluations=[
                    OwnEvaluation(round=v.round, result=v.result, rating=v.rating, at=v.at)
                    for v in visits
                    if v.by != "system"
                ],
            )
        )
    return out
