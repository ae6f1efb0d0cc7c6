"""The ledger's REST shapes: commands in (strict, `extra="forbid"`), results out.

Reports, audits and the public disclosure have their own module, `ledger.service.report_schemas`.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from services.contracts.ledger import (
    AllocationCommand as AllocationCommand,
)
from services.contracts.ledger import (
    DisbursementCommand as DisbursementCommand,
)
from services.contracts.ledger import (
    EntryOut as EntryOut,
)
from services.contracts.ledger import (
    FundHolder as FundHolder,
)
from services.contracts.ledger import (
    HolderBalances as HolderBalances,
)
from services.contracts.ledger import (
    IncomeCommand as IncomeCommand,
)
from services.contracts.ledger import (
    MatchingCommand as MatchingCommand,
)
from services.contracts.ledger import (
    MatchingOut as MatchingOut,
)
from services.contracts.ledger import (
    MatchingRatioCommand as MatchingRatioCommand,
)
from services.contracts.ledger import (
    MatchingStatus as MatchingStatus,
)
from services.contracts.ledger import (
    Payee as Payee,
)
from services.contracts.ledger import (
    PledgeCommand as PledgeCommand,
)
from services.contracts.ledger import (
    PledgeOut as PledgeOut,
)
from services.contracts.ledger import (
    PostingOut as PostingOut,
)
from services.contracts.ledger import (
    ReceiptCommand as ReceiptCommand,
)
from services.contracts.ledger import (
    ReceiptOut as ReceiptOut,
)
from services.contracts.ledger import (
    ReleaseCommand as ReleaseCommand,
)
from services.contracts.ledger import (
    ReservationCommand as ReservationCommand,
)
from services.contracts.ledger import (
    ReservationOut as ReservationOut,
)
from services.contracts.ledger import (
    ReservedDisbursementCommand as ReservedDisbursementCommand,
)
from services.contracts.ledger import (
    ReversalCommand as ReversalCommand,
)
from services.contracts.ledger import (
    SourceAmount as SourceAmount,
)
from services.contracts.ledger import (
    SourceBalance as SourceBalance,
)
from services.contracts.ledger import (
    Statement as Statement,
)
from services.contracts.ledger import (
    StatementLine as StatementLine,
)
from services.contracts.ledger import (  # one definition: the public contract
    _Command as _Command,
)

HolderType = Literal["city", "town", "village", "project", "beneficiary", "donor", "external", "reservation"]
# The levels that hold fund money (专项资金) and take part in income and allocation.
FundHolderType = Literal["city", "town", "village"]
PayeeType = Literal["project", "beneficiary"]
EntryKind = Literal[
    "income", "allocation", "matching", "reservation", "disbursement", "release", "receipt", "reversal"
]
ReservationState = Literal["pending", "posted", "released", "expired"]
MatchingRatio = Literal["1:1", "1:0.5"]

# A trillion yuan in fen: far above any real amount, far below bigint, so no sum can overflow.
MAX_AMOUNT_FEN = 10**14

AmountFen = Annotated[int, Field(strict=True, gt=0, le=MAX_AMOUNT_FEN, description="金额，单位：分")]
SourceCode = Annotated[str, Field(min_length=1, max_length=32, pattern=r"^[a-z][a-z_]*$")]
HolderCode = Annotated[str, Field(min_length=1, max_length=64)]
# An opaque reference (project, beneficiary, donor, plan, claim): never a name or an ID number.
ReferenceCode = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9:._-]*$")]
Memo = Annotated[str | None, Field(max_length=500)]
