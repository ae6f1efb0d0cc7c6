"""The journal's hash chain (哈希链), rebuilt in Python: canonical entry content and link hashes.

The database appends every entry at COMMIT (`ledger.chain_append()` in the migration):
`hash = sha256(prev_hash + "\\n" + content)`, with the genesis `prev_hash` 64 zeros. This module
rebuilds `content` from the rows alone, independently of the SQL function, so a verifier
trusts nothing the database computed: a posted row edited behind the triggers' back (or a
link rewritten) no longer matches its link, and every later link still names the old hash.

Content format `ledger-entry-v1`: one `name=value` field per line, in this order; text is the
hex of its UTF-8 bytes, absent values are `-`, times are microseconds since the Unix epoch,
postings follow in posting-id order. The city holder is written `441900000000`, the code the
ledger gave it when the format was made (its rows say `city` since revision b8d2f4a61c37, and
every link hashed before still verifies). Pure: no I/O.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from uuid import UUID

GENESIS_HASH = "0" * 64
FORMAT = "ledger-entry-v1"
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# The city's code in the content, whatever its rows say (see the module).
CONTENT_CITY_CODE = "441900000000"


@dataclass(frozen=True)
class PostingFacts:
    """One posting as stored, with its account's identity."""

    id: int
    holder_type: str
    holder_code: str
    source_code: str
    amount_fen: int
    balance_after_fen: int


@dataclass(frozen=True)
class EntryFacts:
    """One journal entry as stored: every column the chain covers."""

    id: UUID
    kind: str
    idempotency_key: str
    request_hash: str
    memo: str | None
    appeal_id: UUID | None
    created_at: datetime
    created_by: str
    holder_type: str | None
    holder_code: str | None
    reverses_id: UUID | None
    reservation_id: UUID | None
    pledge_id: UUID | None
    postings: Sequence[PostingFacts]


@dataclass(frozen=True)
class Link:
    """One stored link of the chain."""

    seq: int
    entry_id: UUID
    prev_hash: str
    hash: str


@dataclass(frozen=True)
class Break:
    """Where the chain does not hold, and why (a stable code for machines)."""

    seq: int | None
    entry_id: UUID | None
    problem: str
    detail: str


def _hex(text: str | None) -> str:
    return "-" if text is None else text.encode("utf-8").hex()


def _code(holder_type: str, holder_code: str) -> str:
    return CONTENT_CITY_CODE if holder_type == "city" and holder_code == "city" else holder_code


def _opt(value: UUID | None) -> str:
    return "-" if value is None else str(value)


def micros(moment: datetime) -> int:
    """Microseconds since the Unix epoch, exactly (integer arithmetic, no float)."""
    return (moment - _EPOCH) // timedelta(microseconds=1)


def entry_content(entry: EntryFacts) -> str:
    """The canonical text of an entry, byte for byte what `ledger.entry_content()` returns."""
    holder = "-"
    if entry.holder_type is not None and entry.holder_code is not None:
        holder = f"{entry.holder_type}:{_hex(_code(entry.holder_type, entry.holder_code))}"
    lines = [
        FORMAT,
        f"id={entry.id}",
        f"kind={entry.kind}",
        f"key={_hex(entry.idempotency_key)}",
        f"request={entry.request_hash}",
        f"memo={_hex(entry.memo)}",
        f"appeal={_opt(entry.appeal_id)}",
        f"created_at={micros(entry.created_at)}",
        f"created_by={_hex(entry.created_by)}",
        f"holder={holder}",
        f"reverses={_opt(entry.reverses_id)}",
        f"reservation={_opt(entry.reservation_id)}",
        f"pledge={_opt(entry.pledge_id)}",
    ]
    for p in sorted(entry.postings, key=lambda p: p.id):
        lines.append(
            f"posting={p.id},{p.holder_type},{_hex(_code(p.holder_type, p.holder_code))},{p.source_code},"
            f"{p.amount_fen},{p.balance_after_fen}"
        )
    return "\n".join(lines)


def link_hash(prev_hash: str, content: str) -> str:
    """sha256(prev_hash ‖ "\\n" ‖ content), hex."""
    return hashlib.sha256(f"{prev_hash}\n{content}".encode()).hexdigest()


def check_link(expected_seq: int, expected_prev: str, link: Link, entry: EntryFacts | None) -> list[Break]:
    """What is wrong with one link, given the link before it (empty when it holds)."""
    found: list[Break] = []
    if link.seq != expected_seq:
        found.append(Break(link.seq, link.entry_id, "gap", f"expected link {expected_seq}, found {link.seq}"))
    if link.prev_hash != expected_prev:
        found.append(
            Break(link.seq, link.entry_id, "broken_link", "prev_hash is not the hash of the link before it")
        )
    if entry is None:
        found.append(Break(link.seq, link.entry_id, "missing_entry", "the chained entry does not exist"))
    elif link_hash(link.prev_hash, entry_content(entry)) != link.hash:
        found.append(
            Break(
                link.seq, link.entry_id, "content_mismatch", "the entry or its postings changed after posting"
            )
        )
    return found
