"""Triage, the manual queue, and staff decisions."""

from __future__ import annotations

from services.contracts.routing.triage import (
    DecisionIn as DecisionIn,
)
from services.contracts.routing.triage import (
    DecisionOut as DecisionOut,
)
from services.contracts.routing.triage import (
    EscalationIn as EscalationIn,
)
from services.contracts.routing.triage import (
    ModelView as ModelView,
)
from services.contracts.routing.triage import (
    QueueItemView as QueueItemView,
)
from services.contracts.routing.triage import (  # one definition: the public contract
    TriageView as TriageView,
)
