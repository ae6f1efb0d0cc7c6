"""Intake's request and response models: one definition of each.

The shapes the gateway also speaks (staff commands and views, reveals, duplicates, a resident's
own appeals, the statistics) are the public contract's (`services.contracts.staff`,
`services.contracts.stats`) and re-exported here; only the internal shapes no client sees
(batches of drafts, the internal return-visit and withdrawal bodies) are defined in this module.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, model_validator

from services.contracts.appeals import AppealAccepted, AppealDraft
from services.contracts.appeals import CodeEvaluation as CodeEvaluation
from services.contracts.appeals import CodeWithdrawal as CodeWithdrawal
from services.contracts.staff import AuditEntry as AuditEntry
from services.contracts.staff import CloseRequest as CloseRequest
from services.contracts.staff import ComplainedUnit as ComplainedUnit
from services.contracts.staff import DuplicateView as DuplicateView
from services.contracts.staff import EvaluationResult as EvaluationResult
from services.contracts.staff import Moved as Moved
from services.contracts.staff import OwnAppeal as OwnAppeal
from services.contracts.staff import OwnEvaluation as OwnEvaluation
from services.contracts.staff import QuotedNumberView as QuotedNumberView
from services.contracts.staff import Rating as Rating
from services.contracts.staff import Reason as Reason
from services.contracts.staff import ReporterView as ReporterView
from services.contracts.staff import Revealed as Revealed
from services.contracts.staff import RevealField as RevealField
from services.contracts.staff import RevealRequest as RevealRequest
from services.contracts.staff import StaffAppealView as StaffAppealView
from services.contracts.staff import StaffTimelineEntry as StaffTimelineEntry
from services.contracts.staff import TransitionRequest as TransitionRequest
from services.contracts.stats import By as By
from services.contracts.stats import DemandReport as DemandReport
from services.contracts.stats import KpiReport as KpiReport
from services.contracts.stats import Level as Level
from services.contracts.stats import Period as Period
from services.contracts.stats import Spot as Spot
from services.contracts.vocabulary import Evaluator

MAX_BATCH = 50
"""The most drafts one batch (a meeting's minutes) may carry."""


class DraftBatch(BaseModel):
    """Drafts to record together."""

    model_config = ConfigDict(extra="forbid")

    drafts: list[AppealDraft] = Field(min_length=1, max_length=MAX_BATCH)

    @model_validator(mode="after")
    def _distinct(self) -> DraftBatch:
        keys = [(d.channel, d.channel_ref) for d in self.drafts]
        if len(set(keys)) != len(keys):
            raise ValueError("each draft of a batch needs its own (channel, channel_ref)")
        return self


class BatchAccepted(BaseModel):
    """One answer per draft, in the order given."""

    appeals: list[AppealAccepted]


class EvaluationRequest(BaseModel):
    """A return visit: the result, the rating, once per round."""

    # The gateway's `EvaluationIn` plus who rated and, for a resident, their openid.

    model_config = ConfigDict(extra="forbid")

    round: int | None = Field(default=None, ge=1)
    result: EvaluationResult
    rating: Rating
    comment: str | None = Field(default=None, max_length=2000)
    by: Evaluator = "reporter"
    openid: str | None = Field(default=None, max_length=64)


class ResidentWithdrawal(BaseModel):
    """Who the resident is (the gateway vouches) and why."""

    model_config = ConfigDict(extra="forbid")

    openid: str | None = Field(default=None, max_length=64)
    phone_hash: str | None = Field(default=None, max_length=64)
    reason: str | None = Field(default=None, max_length=1000)
