"""Donors, the pool of claimable appeals, and claims."""

from __future__ import annotations

from services.contracts.routing.donors import (
    ClaimIn as ClaimIn,
)
from services.contracts.routing.donors import (
    ClaimView as ClaimView,
)
from services.contracts.routing.donors import (
    DonorCreated as DonorCreated,
)
from services.contracts.routing.donors import (  # one definition: the public contract
    DonorIn as DonorIn,
)
from services.contracts.routing.donors import (
    DonorStateIn as DonorStateIn,
)
from services.contracts.routing.donors import (
    DonorView as DonorView,
)
from services.contracts.routing.donors import (
    ListingIn as ListingIn,
)
from services.contracts.routing.donors import (
    ListingView as ListingView,
)
from services.contracts.routing.donors import (
    ReportView as ReportView,
)
