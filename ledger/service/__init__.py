"""The ledger's domain operations (记账), one module per concern.

- `journal`: the entry writer, account locks, what the database refuses;
- `commands`: idempotency keys and their first answers (failures included);
- `funds`: income, allocation, matching; `reservations` (and `settlement`, how they end without
  a command); `disbursements`; `donors`; `reversals`: the operations;
- `queries`: balances (also as of a moment) and statements; `reports`: per source, holder,
  payee and the public disclosure; `audit`: the hash chain's verification and reconciliation;
- `linker`: appends committed entries to the hash chain, right after their COMMIT.

Only `flush()`, never commit: the caller's unit of work commits (the linker, which runs after
it, is its own unit of work).
"""

from __future__ import annotations

from ledger.service.audit import reconcile, verify_chain
from ledger.service.commands import PROCESS_BATCHER, EntryBatcher, Outcome
from ledger.service.disbursements import disburse
from ledger.service.donors import donor_report, get_pledge, pledge, receipt_document, receive
from ledger.service.funds import allocate, matching_status, record_income, record_matching, set_matching_ratio
from ledger.service.journal import constraint_name, get_entry
from ledger.service.linker import PROCESS_LINKER, ChainLinker, link_all, link_pending
from ledger.service.queries import account_statement, balances
from ledger.service.reports import holder_report, payee_report, public_funds, sources_report
from ledger.service.reservations import disburse_reserved, get_reservation, release, reserve
from ledger.service.reversals import reverse
from ledger.service.settlement import expire_due, release_for_appeal, settle

__all__ = [
    "PROCESS_BATCHER",
    "PROCESS_LINKER",
    "ChainLinker",
    "EntryBatcher",
    "Outcome",
    "account_statement",
    "allocate",
    "balances",
    "constraint_name",
    "disburse",
    "disburse_reserved",
    "donor_report",
    "expire_due",
    "get_entry",
    "get_pledge",
    "get_reservation",
    "holder_report",
    "link_all",
    "link_pending",
    "matching_status",
    "payee_report",
    "pledge",
    "public_funds",
    "receipt_document",
    "receive",
    "reconcile",
    "record_income",
    "record_matching",
    "release",
    "release_for_appeal",
    "reserve",
    "reverse",
    "set_matching_ratio",
    "settle",
    "sources_report",
    "verify_chain",
]
