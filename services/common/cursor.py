"""Opaque cursors for keyset paging (工作台 lists): the last row's sort key, sealed so that a
client can neither read nor forge it, and refused with a stable problem when it is not ours.

A cursor is the URL-safe base64 of a JSON list (the sort key of the last row served) with a short
keyed MAC, so a tampered or foreign cursor is a `422 invalid_cursor`, never a 500 or a wrong page.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Any

from services.common.errors import InvalidInput
from services.common.settings import get_settings

_MAC_BYTES = 8


class InvalidCursor(InvalidInput):
    """A cursor this list did not hand out (edited, truncated, from another list)."""

    code, title = "invalid_cursor", "Invalid cursor"
    message = "翻页参数无效，请从第一页重新查询。"


def _mac(list_name: str, raw: bytes) -> bytes:
    key = get_settings().require("internal_secret").encode()
    return hmac.new(key, list_name.encode() + b"|" + raw, hashlib.sha256).digest()[:_MAC_BYTES]


def encode_cursor(list_name: str, key: list[Any]) -> str:
    """The cursor after a row whose sort key is ``key`` (JSON-serialisable values)."""
    raw = json.dumps(key, separators=(",", ":"), ensure_ascii=False).encode()
    return base64.urlsafe_b64encode(_mac(list_name, raw) + raw).decode().rstrip("=")


def decode_cursor(list_name: str, cursor: str, length: int) -> list[Any]:
    """The sort key a cursor of ``list_name`` holds; :class:`InvalidCursor` for anything else."""
    try:
        blob = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
    except (ValueError, TypeError):
        raise InvalidCursor() from None
    mac, raw = blob[:_MAC_BYTES], blob[_MAC_BYTES:]
    if len(mac) != _MAC_BYTES or not hmac.compare_digest(mac, _mac(list_name, raw)):
        raise InvalidCursor()
    try:
        key = json.loads(raw)
    except ValueError:
        raise InvalidCursor() from None
    if not isinstance(key, list) or len(key) != length:
        raise InvalidCursor()
    return key


__all__ = ["InvalidCursor", "decode_cursor", "encode_cursor"]
