"""Community consultations on micro-projects."""

from __future__ import annotations

from services.contracts.routing.consultations import (
    Attendee as Attendee,
)
from services.contracts.routing.consultations import (
    Beneficiaries as Beneficiaries,
)
from services.contracts.routing.consultations import (
    ConsultationIn as ConsultationIn,
)
from services.contracts.routing.consultations import (
    ConsultationView as ConsultationView,
)
from services.contracts.routing.consultations import (
    ObjectionIn as ObjectionIn,
)
from services.contracts.routing.consultations import (  # one definition: the public contract
    VoteIn as VoteIn,
)
from services.contracts.routing.consultations import (
    Votes as Votes,
)
