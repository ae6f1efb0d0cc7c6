"""Truth over time: verify the hash chain, and rebuild every balance from the journal.

`verify_chain` walks the chain from genesis to the head, rebuilding each entry's canonical
content from the rows (`ledger.chain`, in Python) and each link's hash; an edited posting,
entry or link, a gap, or an entry that was never chained is reported, with where it is. An
entry still in the linker's queue (committed a moment ago) is not a break; the API and the CLI
link the queue before they verify, so after any burst every entry is walked.
`reconcile` recomputes each account's balance from its postings and compares it with the
stored one (and with the running balance of its last posting), checks that every entry
balances per source, that no fund account is negative, that every reservation holds what its
state says and that no pledge received more than was pledged.

Both only read; both answer with a report rather than raising, for the CLI and the API alike.
"""

from __future__ import annotations

from collections import defaultdict
from uuid import UUID

from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from ledger.models import Account, ChainHead, ChainLink, ChainQueue, JournalEntry, Posting
from ledger.service.chain import GENESIS_HASH, EntryFacts, Link, PostingFacts, check_link
from ledger.service.report_schemas import ChainBreak, ChainReport, Mismatch, ReconcileReport

BATCH = 500
MAX_REPORTED = 100


async def verify_chain(session: AsyncSession) -> ChainReport:
    """Walk the chain up to the head as it stands now; report every break (up to 100)."""
    head = (await session.execute(select(ChainHead.seq, ChainHead.hash).where(ChainHead.id == 1))).one()
    breaks: list[ChainBreak] = []
    expected_prev, expected_seq, checked = GENESIS_HASH, 1, 0
    last_seq = 0
    while True:
        links = [
            Link(r.seq, r.entry_id, r.prev_hash, r.hash)
            for r in await session.execute(
                select(ChainLink.seq, ChainLink.entry_id, ChainLink.prev_hash, ChainLink.hash)
                .where(ChainLink.seq > last_seq, ChainLink.seq <= head.seq)
                .order_by(ChainLink.seq)
                .limit(BATCH)
            )
        ]
        if not links:
            break
        facts = await entry_facts(session, [link.entry_id for link in links])
        for link in links:
            for found in check_link(expected_seq, expected_prev, link, facts.get(link.entry_id)):
                breaks.append(ChainBreak.model_validate(found, from_attributes=True))
            expected_prev, expected_seq, checked = link.hash, link.seq + 1, checked + 1
        last_seq = links[-1].seq
    if (last_seq, expected_prev) != (head.seq, head.hash):
        breaks.append(
            ChainBreak(
                seq=head.seq,
                entry_id=None,
                problem="head_mismatch",
                detail=f"the head says link {head.seq}; the chain ends at link {last_seq} with another hash",
            )
        )
    unchained = await session.scalars(
        select(JournalEntry.id)
        .where(
            ~select(ChainLink.seq).where(ChainLink.entry_id == JournalEntry.id).exists(),
            ~select(ChainQueue.ticket).where(ChainQueue.entry_id == JournalEntry.id).exists(),
        )
        .limit(MAX_REPORTED)
    )
    for entry_id in unchained:
        breaks.append(
            ChainBreak(seq=None, entry_id=entry_id, problem="unchained", detail="entry is not in the chain")
        )
    return ChainReport(
        ok=not breaks, checked=checked, head_seq=head.seq, head_hash=head.hash, breaks=breaks[:MAX_REPORTED]
    )


async def entry_facts(session: AsyncSession, entry_ids: list[UUID]) -> dict[UUID, EntryFacts]:
    """The rows of these entries as the chain covers them (for the verifier)."""
    postings: dict[UUID, list[PostingFacts]] = defaultdict(list)
    rows = await session.execute(
        select(
            Posting.entry_id,
            Posting.id,
            Account.holder_type,
            Account.holder_code,
            Account.source_code,
            Posting.amount_fen,
            Posting.balance_after_fen,
        )
        .join(Account, Account.id == Posting.account_id)
        .where(Posting.entry_id.in_(entry_ids))
    )
    for r in rows:
        postings[r.entry_id].append(
            PostingFacts(r.id, r.holder_type, r.holder_code, r.source_code, r.amount_fen, r.balance_after_fen)
        )
    entries = await session.execute(select(JournalEntry.__table__).where(JournalEntry.id.in_(entry_ids)))
    out: dict[UUID, EntryFacts] = {}
    for e in entries:
        out[e.id] = EntryFacts(
            id=e.id,
            kind=e.kind,
            idempotency_key=e.idempotency_key,
            request_hash=e.request_hash,
            memo=e.memo,
            appeal_id=e.appeal_id,
            created_at=e.created_at,
            created_by=e.created_by,
            holder_type=e.holder_type,
            holder_code=e.holder_code,
            reverses_id=e.reverses_id,
            reservation_id=e.reservation_id,
            pledge_id=e.pledge_id,
            postings=tuple(postings[e.id]),
        )
    return out


_ACCOUNTS = text(
    """
    SELECT a.id, a.holder_type, a.holder_code, a.source_code, a.balance_fen,
           coalesce(sum(p.amount_fen), 0) AS rebuilt,
           -- The account's last posting in commit order: chained ones by link, then those
           -- still queued by ticket (queued after every chained one that shares the account).
           (SELECT p2.balance_after_fen
              FROM ledger.postings p2
              LEFT JOIN ledger.chain c ON c.entry_id = p2.entry_id
              LEFT JOIN ledger.chain_queue q ON q.entry_id = p2.entry_id
             WHERE p2.account_id = a.id AND (c.seq IS NOT NULL OR q.ticket IS NOT NULL)
             ORDER BY c.seq DESC NULLS FIRST, q.ticket DESC, p2.id DESC LIMIT 1) AS last_after
      FROM ledger.accounts a LEFT JOIN ledger.postings p ON p.account_id = a.id
     GROUP BY a.id
    """
)
_UNBALANCED = text(
    """
    SELECT e.id, count(DISTINCT p.id) AS legs,
           coalesce(max(abs(s.total)), 0) AS off
      FROM ledger.journal_entries e
      LEFT JOIN ledger.postings p ON p.entry_id = e.id
      LEFT JOIN (SELECT p.entry_id, a.source_code, sum(p.amount_fen) AS total
                   FROM ledger.postings p JOIN ledger.accounts a ON a.id = p.account_id
                  GROUP BY p.entry_id, a.source_code) s ON s.entry_id = e.id
     GROUP BY e.id
    HAVING count(DISTINCT p.id) < 2 OR coalesce(max(abs(s.total)), 0) <> 0
    """
)
_RESERVATIONS = text(
    """
    SELECT r.id, r.state, r.amount_fen,
           coalesce((SELECT sum(a.balance_fen) FROM ledger.accounts a
                      WHERE a.holder_type = 'reservation' AND a.holder_code = r.id::text), 0) AS held,
           coalesce((SELECT sum(p.amount_fen)
                       FROM ledger.postings p
                       JOIN ledger.accounts a ON a.id = p.account_id
                       JOIN ledger.journal_entries e ON e.id = p.entry_id
                      WHERE a.holder_type = 'reservation' AND a.holder_code = r.id::text
                        AND e.kind = 'reservation' AND e.reservation_id = r.id), 0) AS funded
      FROM ledger.reservations r
    """
)
_PLEDGES = text(
    """
    SELECT pl.id, pl.amount_fen,
           coalesce((SELECT -sum(p.amount_fen)
                       FROM ledger.postings p
                       JOIN ledger.accounts a ON a.id = p.account_id
                       JOIN ledger.journal_entries e ON e.id = p.entry_id
                      WHERE e.pledge_id = pl.id AND a.holder_type = 'external'), 0) AS received
      FROM ledger.pledges pl
    """
)


async def reconcile(session: AsyncSession) -> ReconcileReport:
    """Rebuild every balance from the journal and compare (see the module)."""
    found: list[Mismatch] = []
    accounts = (await session.execute(_ACCOUNTS)).all()
    for a in accounts:
        ref = f"{a.holder_type}/{a.holder_code}/{a.source_code}"
        if a.balance_fen != a.rebuilt:
            found.append(
                Mismatch(
                    problem="balance",
                    reference=ref,
                    expected_fen=a.rebuilt,
                    found_fen=a.balance_fen,
                    detail="stored balance differs from the sum of the account's postings",
                )
            )
        if a.last_after is not None and a.last_after != a.balance_fen:
            found.append(
                Mismatch(
                    problem="running_balance",
                    reference=ref,
                    expected_fen=a.balance_fen,
                    found_fen=a.last_after,
                    detail="the last posting's running balance differs",
                )
            )
        if a.holder_type != "external" and a.rebuilt < 0:
            found.append(
                Mismatch(
                    problem="negative_balance",
                    reference=ref,
                    expected_fen=0,
                    found_fen=a.rebuilt,
                    detail="a fund account below zero",
                )
            )
    for e in (await session.execute(_UNBALANCED)).all():
        found.append(
            Mismatch(
                problem="unbalanced_entry",
                reference=f"entry/{e.id}",
                expected_fen=0,
                found_fen=int(e.off),
                detail=f"{e.legs} posting(s); per-source sums must be zero",
            )
        )
    reservations = (await session.execute(_RESERVATIONS)).all()
    for r in reservations:
        expected_held = 0 if r.state != "pending" else None
        if r.funded != r.amount_fen or (expected_held is not None and r.held != 0) or r.held < 0:
            found.append(
                Mismatch(
                    problem="reservation",
                    reference=f"reservation/{r.id}",
                    expected_fen=r.amount_fen,
                    found_fen=int(r.funded),
                    detail=f"state {r.state}, still holding {r.held} fen",
                )
            )
    for p in (await session.execute(_PLEDGES)).all():
        if not 0 <= p.received <= p.amount_fen:
            found.append(
                Mismatch(
                    problem="pledge",
                    reference=f"pledge/{p.id}",
                    expected_fen=p.amount_fen,
                    found_fen=int(p.received),
                    detail="received more than pledged, or less than nothing",
                )
            )
    entries = await session.scalar(select(func.count()).select_from(JournalEntry))
    return ReconcileReport(
        ok=not found,
        accounts_checked=len(accounts),
        entries_checked=int(entries or 0),
        reservations_checked=len(reservations),
        mismatches=found[:MAX_REPORTED],
    )
