"""Which triage model decides: the newest one ``guanjia routing train`` stored, else the shipped one.

Every routing process (API replicas, workers) looks in the database at most every
``model_refresh_s`` seconds, so a retrained model reaches all of them without a restart.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from routing.config import RoutingSettings
from routing.models import TriageCorrection, TriageModelRecord
from routing.service.classifier.data import Example, correction_examples
from routing.service.classifier.model import TriageModel, shipped_model
from services.common.settings import get_settings

_state: dict[str, Any] = {"checked": 0.0, "model": None}


def reset_cache() -> None:
    """Forget the cached model (tests, and after storing a new one in this process)."""
    _state.update(checked=0.0, model=None)


async def current_model(session: AsyncSession) -> TriageModel:
    """The model new appeals are triaged with."""
    now = time.monotonic()
    cached: TriageModel | None = _state["model"]
    if cached is not None and now - _state["checked"] < get_settings(RoutingSettings).model_refresh_s:
        return cached
    newest = await session.scalar(
        select(TriageModelRecord.version)
        .where(TriageModelRecord.active)
        .order_by(TriageModelRecord.created_at.desc())
        .limit(1)
    )
    if newest is None:
        model = shipped_model()
    elif cached is not None and cached.version == newest:
        model = cached
    else:
        blob = await session.scalar(select(TriageModelRecord.blob).where(TriageModelRecord.version == newest))
        assert blob is not None
        model = TriageModel.loads(blob)
    _state.update(checked=now, model=model)
    return model


async def correction_rows(session: AsyncSession) -> list[dict[str, Any]]:
    """Every staff correction, oldest first, as training rows."""
    rows = await session.scalars(select(TriageCorrection).order_by(TriageCorrection.created_at))
    return [
        {
            "appeal_id": r.appeal_id,
            "text": r.description,
            "title": r.title,
            "hint": r.category_hint,
            "kind": r.kind,
            "category": r.category,
            "urgency": r.urgency,
        }
        for r in rows
    ]


async def corrections(session: AsyncSession) -> list[Example]:
    """Staff corrections as labelled examples (the latest per appeal)."""
    return correction_examples(await correction_rows(session))


async def store(
    session: AsyncSession,
    model: TriageModel,
    *,
    created_by: str,
    examples: Sequence[Example],
    heldout: dict[str, Any],
) -> TriageModelRecord:
    """Keep a trained model; it becomes the one every process uses.

    ``heldout`` fills the record's column of that name: the figures on the validation split the
    retrain was gated on (``{"validation": ...}``), never an evaluation set's.
    """
    await session.execute(update(TriageModelRecord).values(active=False))
    record = TriageModelRecord(
        version=model.version,
        created_by=created_by,
        blob=model.dumps(),
        examples=len(examples),
        corrections=sum(1 for e in examples if e.source.startswith("correction:")),
        cv=dict(model.meta.get("cv", {})),
        heldout=heldout,
        active=True,
    )
    session.add(record)
    await session.flush()
    reset_cache()
    return record
