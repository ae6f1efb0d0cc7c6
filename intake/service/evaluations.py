"""Return visits (回访) and satisfaction: one rating per round, reopen when not satisfied.

- The reporter rates on their channel (the gateway calls `POST /internal/appeals/{id}/evaluation`
  with `by: "reporter"`), or staff record what the resident said on the phone (`by: "staff"`).
- Once per round: a second rating of the same round is a `409`.
- 不满意 (dissatisfied) reopens the appeal for another round of work (redone work counts apart);
  anything else closes it with the result and the rating.
- Nobody answered within `GUANJIA_RETURN_VISIT_DAYS` → closed unrated by a cron that reads only
  the due rows (partial index on `evaluation_due_at` where status = 'completed'), counted apart.
- A linked duplicate's reporter rates too, once the master is completed: their rating counts in
  the satisfaction figures, and dissatisfaction reopens the master while it awaits its visit.
"""

from __future__ import annotations

import hmac
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from intake.errors import AlreadyEvaluated, NotAwaitingEvaluation
from intake.models import Appeal, Evaluation, Reporter, TimelineEntry, messaging
from intake.service.moves import transition
from intake.service.stats.kpi import evaluation_deltas
from intake.service.stats.recorder import count, facts_of
from services.common.errors import Forbidden, NotFound
from services.common.messaging import emit, utcnow
from services.contracts.events import AppealClosed, AppealEvaluated, AppealReopened, make_event
from services.contracts.vocabulary import RATING_NAMES, RESULT_NAMES, EvaluationResult, Evaluator, Rating

BATCH = 200


async def _already(session: AsyncSession, appeal: Appeal, round_no: int) -> bool:
    found = await session.scalar(
        select(Evaluation.id).where(Evaluation.appeal_id == appeal.id, Evaluation.round == round_no)
    )
    return found is not None


async def _check_reporter(session: AsyncSession, appeal: Appeal, openid: str | None) -> None:
    if openid is None:
        return
    found = await session.scalar(
        select(Reporter.id).where(Reporter.appeal_id == appeal.id, Reporter.openid == openid)
    )
    if found is None:
        raise Forbidden("只有反映人本人可以评价该诉求。")


async def evaluate(
    session: AsyncSession,
    appeal: Appeal,
    *,
    round_no: int | None,
    result: EvaluationResult,
    rating: Rating,
    comment: str | None,
    by: Evaluator,
    actor: str,
    openid: str | None = None,
) -> Evaluation:
    """Record one return visit of one round; close the appeal or reopen it. Locks the appeal."""
    await _check_reporter(session, appeal, openid)
    master: Appeal | None = None
    if appeal.status == "merged" and appeal.duplicate_of is not None:
        master = await session.get(Appeal, appeal.duplicate_of, with_for_update=True)
    waiting = master if master is not None else appeal
    current = waiting.round
    wanted = round_no if round_no is not None else current
    if await _already(session, appeal, wanted):
        raise AlreadyEvaluated(round=wanted)
    # A linked duplicate's reporter may still rate after the master's own visit closed it.
    open_states = ("completed", "closed") if master is not None else ("completed",)
    if wanted != current or waiting.status not in open_states:
        raise NotAwaitingEvaluation(appeal.status, current)
    now = utcnow()
    row = Evaluation(
        appeal_id=appeal.id,
        round=wanted,
        result=result,
        rating=rating,
        comment=comment,
        by=by,
        actor=actor,
        at=now,
    )
    try:
        async with session.begin_nested():
            session.add(row)
            await session.flush()
    except IntegrityError:
        raise AlreadyEvaluated(round=wanted) from None
    said = f"回访结果：{RESULT_NAMES[result]}，评价：{RATING_NAMES[rating]}"
    await emit(
        session,
        messaging,
        make_event(
            "appeal.evaluated",
            "intake",
            AppealEvaluated(
                round=wanted, result=result, rating=rating, by=by, master_id=master.id if master else None
            ),
            appeal_id=appeal.id,
        ),
    )
    await count(session, facts_of(waiting), now, evaluation_deltas(result, rating))
    if master is not None:
        await _follower_rated(session, appeal, master, said, rating, actor)
    elif rating == "dissatisfied":
        await transition(
            session,
            appeal,
            "reopened",
            actor=actor,
            reason=f"{said}。{comment or ''}".strip("。") or None,
            description=f"{said}，重新办理（第{appeal.round + 1}轮）",
            data=AppealReopened(round=appeal.round + 1, reason=comment),
        )
    else:
        await transition(
            session,
            appeal,
            "closed",
            actor=actor,
            reason=comment,
            description=f"已回访（{said}），办理结束",
            data=AppealClosed(round=appeal.round, result=result, rating=rating, reason=comment),
        )
    return row


async def _follower_rated(
    session: AsyncSession, follower: Appeal, master: Appeal, said: str, rating: str, actor: str
) -> None:
    session.add(
        TimelineEntry(
            appeal_id=follower.id,
            at=utcnow(),
            from_status="merged",
            to_status="merged",
            actor=actor,
            public_description=f"已回访（{said}）",
            round=follower.round,
        )
    )
    follower.version += 1
    if rating == "dissatisfied" and master.status == "completed":
        await transition(
            session,
            master,
            "reopened",
            actor=actor,
            reason=f"合并诉求 {follower.ticket_no} 的反映人不满意",
            description=f"合并办理的诉求群众不满意，重新办理（第{master.round + 1}轮）",
            data=AppealReopened(round=master.round + 1, reason="dissatisfied duplicate reporter"),
        )


async def close_unrated(session: AsyncSession, now: datetime | None = None, batch: int = BATCH) -> int:
    """Close, unrated, the completed appeals whose return visit is overdue. Reads due rows only."""
    now = now or utcnow()
    due = (
        await session.scalars(
            select(Appeal)
            .where(Appeal.status == "completed", Appeal.evaluation_due_at <= now)
            .order_by(Appeal.evaluation_due_at)
            .limit(batch)
            .with_for_update(skip_locked=True)
        )
    ).all()
    for appeal in due:
        session.add(
            Evaluation(
                appeal_id=appeal.id, round=appeal.round, by="system", actor="system:return_visit", at=now
            )
        )
        appeal.closed_unrated = True
        await transition(
            session,
            appeal,
            "closed",
            actor="system:return_visit",
            reason="回访期限内未评价",
            description="回访期限内未收到评价，办理结束（未评价）",
            data=AppealClosed(
                round=appeal.round, unrated=True, reason="no answer within the return-visit period"
            ),
        )
    return len(due)


CODE_ACTOR = "query_code"


async def evaluate_by_code(
    session: AsyncSession,
    appeal: Appeal,
    *,
    code: str,
    round_no: int | None,
    result: EvaluationResult,
    rating: Rating,
    comment: str | None,
    caller: str,
) -> Appeal:
    """满意度评价 by whoever holds the appeal's query code (查询码), under the mini-program's rules
    (a reporter's rating, while the round waits for its return visit). A wrong code is exactly as
    unknown as a wrong ticket. Sending the same rating again answers as the first time did: a
    resident on a bad connection presses twice, and the second must not read as a refusal."""
    if not hmac.compare_digest(appeal.query_code.encode(), code.encode()):
        raise NotFound()
    try:
        await evaluate(
            session,
            appeal,
            round_no=round_no,
            result=result,
            rating=rating,
            comment=comment,
            by="reporter",
            actor=f"resident:{caller}:{CODE_ACTOR}",
        )
    except (AlreadyEvaluated, NotAwaitingEvaluation):
        last = await session.scalar(
            select(Evaluation)
            .where(Evaluation.appeal_id == appeal.id, Evaluation.actor.like(f"resident:%:{CODE_ACTOR}"))
            .order_by(Evaluation.round.desc())
            .limit(1)
        )
        if last is None or (last.result, last.rating, last.comment) != (result, rating, comment):
            raise
        if round_no is not None and last.round != round_no:
            raise
        # The rating of this round, or the 不满意 that opened it (and nothing since): a replay.
        reopened_by_it = last.rating == "dissatisfied" and last.round == appeal.round - 1
        if last.round != appeal.round and not (reopened_by_it and appeal.status != "completed"):
            raise
    return appeal
