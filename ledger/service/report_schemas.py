"""What the ledger reports: per source, holder, project and donor; receipts; audits; disclosure.

Staff reports name holders and payees by their codes; the public summary (`PublicFunds`) only
aggregates, and never names a beneficiary or a donor.
"""

from __future__ import annotations

from services.contracts.ledger_reports import (
    ChainBreak as ChainBreak,
)
from services.contracts.ledger_reports import (
    ChainReport as ChainReport,
)
from services.contracts.ledger_reports import (
    DonorReport as DonorReport,
)
from services.contracts.ledger_reports import (
    HolderReport as HolderReport,
)
from services.contracts.ledger_reports import (
    HolderSourceLine as HolderSourceLine,
)
from services.contracts.ledger_reports import (
    Mismatch as Mismatch,
)
from services.contracts.ledger_reports import (
    PayeeLine as PayeeLine,
)
from services.contracts.ledger_reports import (
    PayeeReport as PayeeReport,
)
from services.contracts.ledger_reports import (
    PublicFunds as PublicFunds,
)
from services.contracts.ledger_reports import (
    PublicSource as PublicSource,
)
from services.contracts.ledger_reports import (
    PublicTown as PublicTown,
)
from services.contracts.ledger_reports import (
    ReceiptDocument as ReceiptDocument,
)
from services.contracts.ledger_reports import (
    ReceiptLine as ReceiptLine,
)
from services.contracts.ledger_reports import (
    ReconcileReport as ReconcileReport,
)
from services.contracts.ledger_reports import (  # one definition: the public contract
    SourceReport as SourceReport,
)
from services.contracts.ledger_reports import (
    SourcesReport as SourcesReport,
)
from services.contracts.ledger_reports import (
    VillageLine as VillageLine,
)
