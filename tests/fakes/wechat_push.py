"""Plays WeChat's servers pushing to an official account: signed query strings, message XML,
safe-mode encryption, and checking our encrypted replies.

Written from WeChat's published protocol, independently of `services.gateway.service.channels`, so
that the tests catch a misreading of the protocol rather than repeat it.
"""

from __future__ import annotations

import base64
import hashlib
import os
import secrets
import struct
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes


def new_encoding_aes_key() -> str:
    """What WeChat's console generates: 43 characters of base64."""
    return base64.b64encode(os.urandom(32)).decode()[:43]


def _sha1(*parts: str) -> str:
    return hashlib.sha1("".join(sorted(parts)).encode()).hexdigest()


def _cdata(value: str) -> str:
    return f"<![CDATA[{value}]]>"


@dataclass
class WeChatServer:
    """One official account as WeChat's side knows it."""

    token: str
    app_id: str
    encoding_aes_key: str
    account: str = "gh_8a2f4c1d9e0b"

    @property
    def _key(self) -> bytes:
        return base64.b64decode(self.encoding_aes_key + "=")

    # --- query strings -------------------------------------------------------------------------

    def query(
        self, *, timestamp: int | None = None, nonce: str | None = None, openid: str = ""
    ) -> dict[str, str]:
        """`signature`, `timestamp`, `nonce` (and `openid`) as WeChat puts them on the URL."""
        ts = str(int(time.time()) if timestamp is None else timestamp)
        n = nonce or str(secrets.randbelow(10**10))
        q = {"signature": _sha1(self.token, ts, n), "timestamp": ts, "nonce": n}
        if openid:
            q["openid"] = openid
        return q

    def verify_query(self, echostr: str, **kwargs: Any) -> dict[str, str]:
        """The server-verification GET."""
        return {**self.query(**kwargs), "echostr": echostr}

    # --- messages ------------------------------------------------------------------------------

    def message(
        self,
        openid: str,
        msg_type: str,
        msg_id: int | None = None,
        create_time: int | None = None,
        **fields: str,
    ) -> bytes:
        """A pushed message (or event) as XML."""
        parts = [
            f"<ToUserName>{_cdata(self.account)}</ToUserName>",
            f"<FromUserName>{_cdata(openid)}</FromUserName>",
            f"<CreateTime>{int(time.time()) if create_time is None else create_time}</CreateTime>",
            f"<MsgType>{_cdata(msg_type)}</MsgType>",
        ]
        for name, value in fields.items():
            parts.append(
                f"<{name}>{value if name in ('Location_X', 'Location_Y', 'Scale') else _cdata(value)}</{name}>"
            )
        if msg_id is not None:
            parts.append(f"<MsgId>{msg_id}</MsgId>")
        return ("<xml>" + "".join(parts) + "</xml>").encode()

    # --- safe mode -----------------------------------------------------------------------------

    def encrypt(self, xml: bytes) -> str:
        """random(16) + length (network order) + message + appid, PKCS#7 to 32, AES-256-CBC."""
        plain = os.urandom(16) + struct.pack("!I", len(xml)) + xml + self.app_id.encode()
        pad = 32 - len(plain) % 32
        plain += bytes([pad]) * pad
        enc = Cipher(algorithms.AES(self._key), modes.CBC(self._key[:16])).encryptor()
        return base64.b64encode(enc.update(plain) + enc.finalize()).decode()

    def decrypt(self, encrypted: str) -> bytes:
        """Open an envelope of ours; checks padding, length and app id."""
        dec = Cipher(algorithms.AES(self._key), modes.CBC(self._key[:16])).decryptor()
        plain = dec.update(base64.b64decode(encrypted)) + dec.finalize()
        pad = plain[-1]
        assert 1 <= pad <= 32 and plain[-pad:] == bytes([pad]) * pad, "bad PKCS#7 padding"
        plain = plain[:-pad]
        (length,) = struct.unpack("!I", plain[16:20])
        message, app_id = plain[20 : 20 + length], plain[20 + length :]
        assert app_id == self.app_id.encode(), f"reply for app id {app_id!r}"
        return message

    def safe_push(self, xml: bytes, **query: Any) -> tuple[dict[str, str], bytes]:
        """The query and body of a safe-mode push of `xml`."""
        q = self.query(**query)
        encrypted = self.encrypt(xml)
        q.update(encrypt_type="aes", msg_signature=_sha1(self.token, q["timestamp"], q["nonce"], encrypted))
        body = f"<xml><ToUserName>{_cdata(self.account)}</ToUserName><Encrypt>{_cdata(encrypted)}</Encrypt></xml>"
        return q, body.encode()

    def open_reply(self, body: bytes) -> dict[str, str]:
        """Check a safe-mode reply's msg_signature and return the decrypted reply's fields."""
        outer = {child.tag: child.text or "" for child in ET.fromstring(body)}
        expected = _sha1(self.token, outer["TimeStamp"], outer["Nonce"], outer["Encrypt"])
        assert outer["MsgSignature"] == expected, "reply msg_signature does not match"
        return fields_of(self.decrypt(outer["Encrypt"]))


def fields_of(xml: bytes) -> dict[str, str]:
    """A plain reply's fields."""
    return {child.tag: child.text or "" for child in ET.fromstring(xml)}
