"""Clock tables (时限规则): every version, and publishing a new one (city staff)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Response

from deadlines.api.common import DbSession, staff_of
from deadlines.errors import (
    InvalidEffectiveFrom,
    InvalidRules,
    RuleSetNotFound,
    RuleVersionConflict,
    RuleVersionExists,
    StaffRequired,
)
from deadlines.schemas import RuleSetIn, RuleSetOut
from deadlines.service import rulesets
from services.common.auth import InternalCaller, internal_caller, require_role
from services.common.errors import Forbidden, InvalidInput, Unauthorized, problem_responses
from services.common.messaging import utcnow

router = APIRouter(
    prefix="/internal/deadlines/rules",
    tags=["deadlines"],
    dependencies=[Depends(internal_caller)],
    responses=problem_responses(Unauthorized),
)


def _out(version: rulesets.Version, in_effect: str) -> RuleSetOut:
    rules = version.rules
    return RuleSetOut(
        version=rules.version,
        base_version=version.base_version,
        effective_from=version.effective_from,
        builtin=version.builtin,
        in_effect=rules.version == in_effect,
        warn_ratio=rules.warn_ratio,
        max_extensions=rules.max_extensions,
        rules=[rulesets.rule_row(r) for r in rules.rules],
        note=version.note,
        published_at=version.published_at,
        published_by=version.published_by,
    )


async def _in_effect(session: DbSession) -> str:
    return (await rulesets.version_at(session, utcnow())).rules.version


@router.get("", summary="Every version of the clock table, newest first")
async def list_rule_sets(session: DbSession) -> list[RuleSetOut]:
    """The built-in table is last; ``in_effect`` marks the one new clocks start under now."""
    current = await _in_effect(session)
    return [_out(v, current) for v in await rulesets.all_versions(session)]


@router.get(
    "/{version}", summary="One version of the clock table", responses=problem_responses(RuleSetNotFound)
)
async def get_rule_set(version: str, session: DbSession) -> RuleSetOut:
    """One version by its number."""
    return _out(await rulesets.get_version(session, version), await _in_effect(session))


@router.post(
    "",
    status_code=201,
    summary="Publish a new version of the clock table (city staff)",
    responses=problem_responses(
        Forbidden,
        StaffRequired,
        RuleVersionExists,
        RuleVersionConflict,
        InvalidRules,
        InvalidEffectiveFrom,
        InvalidInput,
    ),
)
async def publish_rule_set(
    body: RuleSetIn, session: DbSession, caller: InternalCaller, response: Response
) -> RuleSetOut:
    """A new version applies to clocks started from its effective time on; clocks already running
    keep theirs. The same body under the same number again answers 200 with the stored version."""
    actor = staff_of(caller)
    require_role(actor, "city_admin")
    version, created = await rulesets.publish(session, body, actor.username)
    if not created:
        response.status_code = 200
        response.headers["Idempotent-Replayed"] = "true"
    return _out(version, await _in_effect(session))
