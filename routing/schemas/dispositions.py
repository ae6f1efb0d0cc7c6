"""Hops, sign-off, send-back and joint meetings."""

from __future__ import annotations

from services.contracts.routing.dispositions import (
    AgendaIn as AgendaIn,
)
from services.contracts.routing.dispositions import (
    AgendaItemView as AgendaItemView,
)
from services.contracts.routing.dispositions import (  # one definition: the public contract
    AssignmentView as AssignmentView,
)
from services.contracts.routing.dispositions import (
    MeetingDecisionIn as MeetingDecisionIn,
)
from services.contracts.routing.dispositions import (
    MeetingIn as MeetingIn,
)
from services.contracts.routing.dispositions import (
    MeetingView as MeetingView,
)
from services.contracts.routing.dispositions import (
    SendBack as SendBack,
)
from services.contracts.routing.dispositions import (
    Unit as Unit,
)
from services.contracts.vocabulary import UnitType as UnitType  # one definition: the vocabulary
