"""莞家驿站 stations and service records."""

from __future__ import annotations

from services.contracts.routing.stations import (
    ConfirmationIn as ConfirmationIn,
)
from services.contracts.routing.stations import (
    DispatchIn as DispatchIn,
)
from services.contracts.routing.stations import (
    ServiceRecordIn as ServiceRecordIn,
)
from services.contracts.routing.stations import (
    ServiceRecordView as ServiceRecordView,
)
from services.contracts.routing.stations import (
    StationIn as StationIn,
)
from services.contracts.routing.stations import (
    StationTotals as StationTotals,
)
from services.contracts.routing.stations import (
    StationView as StationView,
)
from services.contracts.routing.stations import (  # one definition: the public contract
    TeamMember as TeamMember,
)
