"""Public status documents in Redis (issue 14.4): what intake writes and the gateway reads, so that
a poll is one Redis round trip and never shows a state older than the last committed change.

One hash per ticket: `rev` (intake's `appeals.public_rev` the document shows), `mac` (HMAC of the
查询码 under the internal secret: Redis' files never hold a code), `etag` and `body`. Two writes,
both ordered by `rev` in Lua so that neither can move a ticket backwards:
- **mark** (`rev` alone, no body): intake's transaction that changes an appeal's public status
  writes it *before* it commits, at the revision it commits; from then on no document older than
  that revision can be stored, and the gateway, finding no body, asks intake;
- **fill**: intake, answering the gateway from PostgreSQL, stores the document at the revision it
  read; refused when a newer mark or document is there.
When Redis cannot be written, the commit goes on (an appeal is never refused for a cache) and the
gateway reads what Redis has: documents expire after `DOCUMENT_TTL_S`, which bounds how long a
document written before such a failure can outlive the change.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from functools import lru_cache

from redis.asyncio import Redis
from redis.commands.core import AsyncScript

from services.common.settings import get_settings

DOCUMENT_TTL_S = 300
FIRST_REV = 1
MARK_TTL_S = 600

_FILL = """
local cur = tonumber(redis.call('HGET', KEYS[1], 'rev') or '-1')
local rev = tonumber(ARGV[1])
if cur > rev or (cur == rev and redis.call('HEXISTS', KEYS[1], 'body') == 1) then return 0 end
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], 'rev', ARGV[1], 'mac', ARGV[2], 'etag', ARGV[3], 'body', ARGV[4])
redis.call('EXPIRE', KEYS[1], ARGV[5])
return 1
"""
_MARK = """
local cur = tonumber(redis.call('HGET', KEYS[1], 'rev') or '-1')
if cur >= tonumber(ARGV[1]) then return 0 end
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], 'rev', ARGV[1])
redis.call('EXPIRE', KEYS[1], ARGV[2])
return 1
"""


@dataclass(frozen=True, slots=True)
class Stored:
    """A document as the gateway finds it."""

    mac: bytes
    etag: str
    body: bytes


def key(ticket_no: str) -> str:
    """The Redis key of a ticket's document."""
    return f"{get_settings().queue_prefix}:status:{ticket_no}"


def code_mac(ticket_no: str, code: str) -> bytes:
    """What Redis keeps of a 查询码: useless without the internal secret."""
    secret = get_settings().require("internal_secret").encode()
    return hmac.new(secret, f"{ticket_no}:{code}".encode(), hashlib.sha256).digest()


@lru_cache(maxsize=1)
def redis() -> Redis:
    """This process's client (short timeouts: a slow Redis is a miss, not a wait)."""
    url = get_settings().redis_url
    if not url:
        raise RuntimeError("REDIS_URL is not set")
    client: Redis = Redis.from_url(url, socket_connect_timeout=0.5, socket_timeout=0.5)
    return client


async def read(ticket_no: str) -> Stored | None:
    """The stored document of a ticket, or None (none, or marked changed: ask intake)."""
    return (await read_beside(ticket_no, None))[0]


async def read_beside(ticket_no: str, other: str | None) -> tuple[Stored | None, bytes | None]:
    """The stored document of a ticket and the value of key `other`, in one round trip."""
    pipe = redis().pipeline(transaction=False)
    pipe.hmget(key(ticket_no), ["mac", "etag", "body"])
    if other is not None:
        pipe.get(other)
    answers = await pipe.execute()
    mac, etag, body = answers[0]
    value = answers[1] if other is not None else None
    if mac is None or etag is None or body is None:
        return None, value
    return Stored(mac=bytes(mac), etag=bytes(etag).decode(), body=bytes(body)), value


async def fill(ticket_no: str, code: str, rev: int, etag: str, body: bytes) -> bool:
    """Store the document read at `rev`, unless something newer is there. Revision 0 (an appeal
    older than the revisions, never changed since) is never stored: its first change is not
    marked (`FIRST_REV`)."""
    if rev < FIRST_REV:
        return False
    args: list[bytes | str | int] = [rev, code_mac(ticket_no, code), etag, body, DOCUMENT_TTL_S]
    return bool(await _scripts()[0](keys=[key(ticket_no)], args=args))


def to_mark(changes: dict[str, int]) -> dict[str, int]:
    """The changes that need a mark: revision `FIRST_REV` is an appeal recorded in this very
    transaction (its first public step), or one older than the revisions changing for the first
    time — neither can have a document stored, so recording an appeal costs no Redis write."""
    return {ticket: rev for ticket, rev in changes.items() if rev > FIRST_REV}


async def mark(changes: dict[str, int]) -> None:
    """Before a commit: these tickets change to these revisions."""
    script = _scripts()[1]
    pipe = redis().pipeline(transaction=False)
    for ticket_no, rev in changes.items():
        await script(keys=[key(ticket_no)], args=[rev, MARK_TTL_S], client=pipe)
    await pipe.execute()


@lru_cache(maxsize=1)
def _scripts() -> tuple[AsyncScript, AsyncScript]:
    return redis().register_script(_FILL), redis().register_script(_MARK)
