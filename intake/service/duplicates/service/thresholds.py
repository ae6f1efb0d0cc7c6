"""The thresholds in force (link at / suggest at): configured, recomputed by `tune`, or shipped."""

from __future__ import annotations

import time

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from intake.config import get_intake_settings
from intake.models import DuplicateThresholds
from intake.service.duplicates import scorer


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
