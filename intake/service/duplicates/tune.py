"""Staff decisions feed the duplicate thresholds (as triage corrections feed the triage model).

Every suggestion and link keeps the pair's features (`duplicate_links.features`). A decision by
staff is a labelled pair: a suggestion confirmed (linked by a person) is the same matter; a
suggestion rejected, or a link undone, is not. `recompute` scores every decided pair with the
model in use, adds the shipped tuning pairs' out-of-fold scores (`model.json`), chooses the link
threshold (precision ≥ 0.95) and the suggestion threshold (recall ≥ 0.95) as `training` does, and
stores them as the newest `duplicate_thresholds` row, which every arrival uses from then on
(`service.current_thresholds`; the environment still overrides).

    guanjia intake tune-duplicates
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Coroutine
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from intake.models import DuplicateLink, DuplicateThresholds
from intake.service.duplicates import scorer, training
from intake.service.duplicates.service import SYSTEM_ACTOR, forget_tuned_thresholds
from services.common.messaging import utcnow

Runner = Callable[[Callable[[], Coroutine[Any, Any, Any]]], Any]
Wrapper = Callable[[Callable[[argparse.Namespace], int]], Callable[[argparse.Namespace], int]]


async def decisions(session: AsyncSession) -> list[tuple[dict[str, float], bool]]:
    """(features, same matter?) of every pair a member of staff decided."""
    rows = await session.scalars(
        select(DuplicateLink).where(
            DuplicateLink.features.is_not(None),
            DuplicateLink.decided_by.is_not(None),
            DuplicateLink.decided_by != SYSTEM_ACTOR,
            DuplicateLink.state.in_(("linked", "rejected", "undone")),
        )
    )
    out = []
    for row in rows:
        assert row.features is not None
        out.append((dict(row.features), row.state == "linked"))
    return out


async def recompute(session: AsyncSession, *, actor: str = "cli:tune-duplicates") -> DuplicateThresholds:
    """New thresholds from staff decisions plus the shipped tuning pairs, stored as the newest."""
    model = scorer.model()
    decided = await decisions(session)
    shipped = model.raw.get("oof", [])
    scored = [(float(r[0]), bool(r[1])) for r in shipped]
    scored += [(round(model.probability(f), 4), same) for f, same in decided]
    groups = [str(r[2]) for r in shipped] + ["staff decisions"] * len(decided)
    # A decided suggestion between two appeals of one person, or two needs of one family, is
    # never linkable (`scorer.may_link`).
    linkable = [bool(r[3]) for r in shipped] + [scorer.may_link(f) for f, _ in decided]
    link_at, suggest_at = training.thresholds(scored, groups, linkable)
    row = DuplicateThresholds(
        link_at=link_at,
        suggest_at=suggest_at,
        decisions=len(decided),
        pairs=len(shipped),
        figures=training.figures(scored, link_at, suggest_at)
        | {
            "confirmed": sum(same for _, same in decided),
            "rejected": sum(not same for _, same in decided),
        },
        computed_at=utcnow(),
        computed_by=actor,
    )
    session.add(row)
    await session.flush()
    forget_tuned_thresholds()
    return row


def add_commands(sub: Any, with_servers: Wrapper, run: Runner) -> None:
    """Add ``intake tune-duplicates`` to the ``guanjia`` parser."""
    intake = sub.add_parser("intake", help="intake: duplicate thresholds").add_subparsers(
        dest="intake_command", required=True
    )
    tune = intake.add_parser(
        "tune-duplicates", help="recompute the duplicate thresholds from staff decisions and the tuning pairs"
    )

    def cmd(args: argparse.Namespace) -> int:
        from services.common.db import session_scope

        async def go() -> dict[str, Any]:
            async with session_scope() as session:
                row = await recompute(session)
                return {
                    "link_at": row.link_at,
                    "suggest_at": row.suggest_at,
                    "decisions": row.decisions,
                    "pairs": row.pairs,
                    **row.figures,
                }

        import json

        print(json.dumps(run(go), ensure_ascii=False))
        return 0

    tune.set_defaults(fn=with_servers(cmd))
