"""The policy catalogue."""

from __future__ import annotations

from services.contracts.routing.catalogue import (
    CatalogueView as CatalogueView,
)
from services.contracts.routing.catalogue import (
    PolicyIn as PolicyIn,
)
from services.contracts.routing.catalogue import (  # one definition: the public contract
    PolicyView as PolicyView,
)
from services.contracts.routing.catalogue import (
    RetireIn as RetireIn,
)
from services.contracts.routing.catalogue import (
    VersionView as VersionView,
)
