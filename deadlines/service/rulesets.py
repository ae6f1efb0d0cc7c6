"""Versioned clock tables (时限规则版本) in the database: publish, look up the one in effect.

City staff publish a new version through the API; it takes effect at ``effective_from`` (now by
default, or later) and is never edited afterwards. A clock starts under the version in effect at
its start (the time its event happened), and copies what it needs from it, so a new version
applies to clocks started after it and never to a deadline already issued. Before the first
published version, the built-in ``rules.DEFAULT_RULES`` is in effect.

Each process keeps the versions in memory and checks a fingerprint of the table (row count and
newest publication, one small query) before using them, like the calendar.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from deadlines.errors import (
    InvalidEffectiveFrom,
    InvalidRules,
    RuleSetNotFound,
    RuleVersionConflict,
    RuleVersionExists,
)
from deadlines.models import RuleSetRecord
from deadlines.schemas import RuleIn, RuleSetIn
from deadlines.service.calendar import TZ
from deadlines.service.rules import (
    CLOCK_TRIGGERS,
    DEFAULT_RULES,
    ClockRule,
    Limit,
    RuleSet,
    rule_set_problems,
)
from services.common.messaging import utcnow

# A client's clock may lag ours a little; an effective time this close to now means "now".
CLOCK_SKEW = timedelta(minutes=1)
_LOCK_KEY = 0x6465_6164_7275_6C65  # "deadrule": one publisher at a time


@dataclass(frozen=True)
class Version:
    """A version of the clock table as stored: the built-in one has no effective time."""

    rules: RuleSet
    effective_from: datetime | None
    base_version: str | None = None
    note: str | None = None
    published_at: datetime | None = None
    published_by: str | None = None

    @property
    def builtin(self) -> bool:
        """True for the table shipped with the system."""
        return self.effective_from is None


BUILTIN = Version(DEFAULT_RULES, None)


def rule_from_row(row: RuleIn) -> ClockRule:
    """A published row as the pure ``ClockRule``."""
    limit = Limit.working_days(row.working_days) if row.working_days else Limit.months(row.months or 0)
    return ClockRule(
        row.clock,
        CLOCK_TRIGGERS[row.clock],
        limit,
        row.label,
        kind=row.kind,
        urgency=row.urgency,
        track=row.track,
        policy_code=row.policy_code,
        warn_ratio=row.warn_ratio,
        max_extensions=row.max_extensions,
    )


def rule_to_row(rule: ClockRule) -> dict[str, Any]:
    """A ``ClockRule`` as stored and shown (the shape of ``RuleIn``)."""
    return {
        "clock": rule.clock,
        "label": rule.label,
        "working_days": rule.limit.value if rule.limit.kind == "working_days" else None,
        "months": rule.limit.value if rule.limit.kind == "months" else None,
        "kind": rule.kind,
        "urgency": rule.urgency,
        "track": rule.track,
        "policy_code": rule.policy_code,
        "warn_ratio": rule.warn_ratio,
        "max_extensions": rule.max_extensions,
    }


def _version_of(record: RuleSetRecord) -> Version:
    rows = tuple(rule_from_row(RuleIn.model_validate(r)) for r in record.rules)
    return Version(
        RuleSet(record.version, rows, record.warn_ratio, record.max_extensions),
        record.effective_from,
        record.base_version,
        record.note,
        record.published_at,
        record.published_by,
    )


class RuleCache:
    """One process's view of the published versions, reloaded when the table changes."""

    def __init__(self) -> None:
        """Start empty; the first use loads the table."""
        self._fingerprint: tuple[int, datetime | None] | None = None
        self._versions: list[Version] = []

    def invalidate(self) -> None:
        """Forget the versions, so the next use reloads them."""
        self._fingerprint = None

    async def versions(self, session: AsyncSession) -> list[Version]:
        """Every published version, oldest effective first (the built-in one not included)."""
        row = (await session.execute(select(func.count(), func.max(RuleSetRecord.published_at)))).one()
        fingerprint = (int(row[0]), cast("datetime | None", row[1]))
        if fingerprint != self._fingerprint:
            records = (
                await session.scalars(
                    select(RuleSetRecord)
                    .order_by(RuleSetRecord.effective_from)
                    .execution_options(populate_existing=True)
                )
            ).all()
            self._versions = [_version_of(r) for r in records]
            self._fingerprint = fingerprint
        return self._versions


CACHE = RuleCache()


async def version_at(session: AsyncSession, at: datetime) -> Version:
    """The version in effect at ``at``: the last one whose effective time is not after it."""
    versions = await CACHE.versions(session)
    moments = [cast(datetime, v.effective_from) for v in versions]
    index = bisect.bisect_right(moments, at)
    return versions[index - 1] if index else BUILTIN


async def rules_at(session: AsyncSession, at: datetime) -> RuleSet:
    """The clock table a clock started at ``at`` runs under."""
    return (await version_at(session, at)).rules


async def all_versions(session: AsyncSession) -> list[Version]:
    """Every version, newest first, the built-in one last."""
    return [*reversed(await CACHE.versions(session)), BUILTIN]


async def get_version(session: AsyncSession, version: str) -> Version:
    """One version by its number, or 404 ``rule_set_not_found``."""
    for candidate in await all_versions(session):
        if candidate.rules.version == version:
            return candidate
    raise RuleSetNotFound(version=version)


def _aware(moment: datetime) -> datetime:
    return moment if moment.utcoffset() is not None else moment.replace(tzinfo=TZ)


def _same(record: RuleSetRecord, body: RuleSetIn) -> bool:
    # A replay: the same content under the same number (its effective time as stored, unless given).
    rows = [rule_to_row(rule_from_row(r)) for r in body.rules]
    same_time = body.effective_from is None or _aware(body.effective_from) == record.effective_from
    return (
        record.rules == rows
        and record.base_version == body.base_version
        and record.warn_ratio == body.warn_ratio
        and record.max_extensions == body.max_extensions
        and (record.note or None) == (body.note or None)
        and same_time
    )


async def publish(session: AsyncSession, body: RuleSetIn, published_by: str) -> tuple[Version, bool]:
    """Publish a new version; returns it and whether it is new (False: a replay of the same body).

    Refused: a number already used for other content (409 ``rule_version_exists``), an edit of a
    version that is no longer the newest (409 ``rule_version_conflict``), a table with a clock
    left out or a row that can never apply (422 ``invalid_rules``), an effective time in the past
    or before the newest version's (422 ``invalid_effective_from``).
    """
    await session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _LOCK_KEY})
    existing = await session.get(RuleSetRecord, body.version, populate_existing=True)
    if existing is not None or body.version == BUILTIN.rules.version:
        if existing is not None and _same(existing, body):
            return _version_of(existing), False
        raise RuleVersionExists(version=body.version)
    newest = await session.scalar(
        select(RuleSetRecord).order_by(RuleSetRecord.effective_from.desc()).limit(1)
    )
    current = newest.version if newest is not None else BUILTIN.rules.version
    if body.base_version != current:
        raise RuleVersionConflict(current_version=current, base_version=body.base_version)
    rules = tuple(rule_from_row(r) for r in body.rules)
    if problems := rule_set_problems(rules):
        raise InvalidRules(errors=problems)
    now = utcnow()
    effective = _aware(body.effective_from) if body.effective_from is not None else now
    if effective < now - CLOCK_SKEW or (newest is not None and effective <= newest.effective_from):
        raise InvalidEffectiveFrom(effective_from=effective.isoformat())
    record = RuleSetRecord(
        version=body.version,
        base_version=body.base_version,
        effective_from=max(effective, now),
        warn_ratio=body.warn_ratio,
        max_extensions=body.max_extensions,
        rules=[rule_to_row(r) for r in rules],
        note=body.note,
        published_at=now,
        published_by=published_by[:64],
    )
    session.add(record)
    await session.flush()
    CACHE.invalidate()
    return _version_of(record), True


def rule_row(rule: ClockRule) -> RuleIn:
    """A ``ClockRule`` in its published shape."""
    return RuleIn.model_validate(rule_to_row(rule))


__all__ = [
    "BUILTIN",
    "CACHE",
    "Version",
    "all_versions",
    "get_version",
    "publish",
    "rule_row",
    "rules_at",
    "version_at",
]
