"""Dead letters (死信), read and resolved by a person: the same in every service.

`services.common.jobs` parks a job that will not succeed by retrying; until someone acts, the
appeal its event carried may wait for good (a triage never made, a clock never started). Each
service answers `GET /internal/dead-letters` and `POST /internal/dead-letters/{id}/resolution`
for the city's administrators (the gateway gathers all five): replay runs the job again on the
service's queue, under a job id of its own so that a repeated replay enqueues it once, and its
consumer's inbox makes an effect already made a no-op; dismiss closes it with a note.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from redis.exceptions import RedisError
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from services.common.auth import Principal, Role, StaffActor, require_role
from services.common.db import DbSession
from services.common.errors import (
    Conflict,
    Forbidden,
    NotFound,
    ServiceUnavailable,
    Unauthorized,
    problem_responses,
)
from services.common.messaging import MessagingTables, carried_event, utcnow
from services.common.queue import connect, queue_name
from services.contracts.events import Service
from services.contracts.ops import DeadLetterList, DeadLetterResolutionIn, DeadLetterView, Resolution

READERS: tuple[Role, ...] = ("city_admin", "auditor")


class DeadLetterNotFound(NotFound):
    code, title, message = "dead_letter_not_found", "No such dead letter", "没有找到这条待处理的失败任务。"


class DeadLetterResolved(Conflict):
    code, title = "dead_letter_resolved", "The dead letter was resolved another way"
    message = "这条失败任务已由他人处理（重放或关闭），请刷新后查看。"


class NotReplayable(Conflict):
    code, title = "dead_letter_not_replayable", "The job's arguments were kept masked"
    message = "这条失败任务的参数含有已遮蔽的个人号码，无法原样重放；请按原始记录人工处理后关闭。"


def _view(service: Service, row: Any) -> DeadLetterView:
    args = row.args if isinstance(row.args, dict) else {}
    event_type, appeal_id = carried_event(row.job_name, args)
    return DeadLetterView(
        service=service,
        id=row.id,
        job_name=row.job_name,
        job_id=row.job_id,
        event_type=event_type,
        appeal_id=appeal_id,
        args=args,
        error=row.error,
        tries=row.tries,
        failed_at=row.failed_at,
        replayable=row.replayable,
        resolved_at=row.resolved_at,
        resolution=row.resolution,
        resolved_by=row.resolved_by,
        note=row.note,
    )


async def listing(
    session: AsyncSession, tables: MessagingTables, service: Service, *, include_resolved: bool, limit: int
) -> DeadLetterList:
    """The service's dead letters, newest first (open ones only unless `include_resolved`)."""
    t = tables.dead_letters
    stmt = select(t).order_by(t.c.failed_at.desc(), t.c.id.desc()).limit(limit)
    if not include_resolved:
        stmt = stmt.where(t.c.resolved_at.is_(None))
    rows = (await session.execute(stmt)).all()
    open_count = await session.scalar(select(func.count()).select_from(t).where(t.c.resolved_at.is_(None)))
    return DeadLetterList(service=service, open=int(open_count or 0), items=[_view(service, r) for r in rows])


def replay_job_id(service: Service, letter_id: int, failed_at: datetime) -> str:
    """The arq job id of a replay: one per letter, so a replay asked again after its enqueue
    (the marking failed) enqueues nothing new. The time it failed keeps it unique where letter
    ids start again (a database restored or rebuilt while Redis keeps the results of replays)."""
    return f"replay:{service}:dead-letter:{letter_id}:{failed_at.isoformat()}"


async def _enqueue_again(service: Service, letter_id: int, row: Any) -> None:
    args = row.args if isinstance(row.args, dict) else {}
    try:
        redis = await connect()
        try:
            await redis.enqueue_job(
                row.job_name,
                *(args.get("args") or []),
                _job_id=replay_job_id(service, letter_id, row.failed_at),
                _queue_name=queue_name(service),
                **(args.get("kwargs") or {}),
            )
        finally:
            await redis.aclose()
    except (RedisError, OSError) as exc:
        # Nothing enqueued and nothing marked: the letter stays open, to be replayed later.
        raise ServiceUnavailable() from exc


async def resolve(
    session: AsyncSession,
    tables: MessagingTables,
    service: Service,
    letter_id: int,
    command: DeadLetterResolutionIn,
    by: Principal,
) -> DeadLetterView:
    """Replay or dismiss one letter. The same action again answers the letter as it is; the other
    action on a resolved letter is refused. A replay is enqueued before the letter is marked,
    so a failure in between leaves it open (and a second try enqueues nothing new)."""
    t = tables.dead_letters
    row = (await session.execute(select(t).where(t.c.id == letter_id).with_for_update())).first()
    if row is None:
        raise DeadLetterNotFound()
    wanted: Resolution = "replayed" if command.action == "replay" else "dismissed"
    if row.resolution is not None:
        if row.resolution != wanted:
            raise DeadLetterResolved()
        return _view(service, row)
    if command.action == "replay":
        if not row.replayable:
            raise NotReplayable()
        await _enqueue_again(service, letter_id, row)
    done = (
        await session.execute(
            update(t)
            .where(t.c.id == letter_id)
            .values(resolved_at=utcnow(), resolution=wanted, resolved_by=by.staff_id, note=command.note)
            .returning(t)
        )
    ).one()
    return _view(service, done)


def router(service: Service, tables: MessagingTables) -> APIRouter:
    """The service's two internal routes on its dead letters (thin: the logic is above)."""
    api = APIRouter(prefix="/internal/dead-letters", tags=["operations"])

    @api.get("", response_model=DeadLetterList, responses=problem_responses(Unauthorized, Forbidden))
    async def list_dead_letters(
        db: DbSession,
        actor: StaffActor,
        include_resolved: Annotated[bool, Query()] = False,
        limit: Annotated[int, Query(ge=1, le=500)] = 100,
    ) -> DeadLetterList:
        require_role(actor, *READERS)
        return await listing(db, tables, service, include_resolved=include_resolved, limit=limit)

    @api.post(
        "/{letter_id}/resolution",
        response_model=DeadLetterView,
        responses=problem_responses(
            Unauthorized, Forbidden, DeadLetterNotFound, DeadLetterResolved, NotReplayable, ServiceUnavailable
        ),
    )
    async def resolve_dead_letter(
        letter_id: Annotated[int, Path(ge=1, le=2**63 - 1)],
        body: DeadLetterResolutionIn,
        db: DbSession,
        actor: StaffActor,
    ) -> DeadLetterView:
        require_role(actor, "city_admin")
        return await resolve(db, tables, service, letter_id, body, actor)

    return api
