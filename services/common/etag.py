"""Strong ETags over the exact bytes sent, and RFC 9110's If-None-Match comparison (pure)."""

from __future__ import annotations

import hashlib


def etag_of(body: bytes) -> str:
    """A strong validator over the exact bytes we send."""
    return '"' + hashlib.sha256(body).hexdigest()[:32] + '"'


def etag_matches(if_none_match: str | None, etag: str) -> bool:
    """RFC 9110 weak comparison for If-None-Match, including `*` and lists."""
    if not if_none_match:
        return False
    if if_none_match.strip() == "*":
        return True
    wanted = {tag.strip().removeprefix("W/") for tag in if_none_match.split(",")}
    return etag in wanted
