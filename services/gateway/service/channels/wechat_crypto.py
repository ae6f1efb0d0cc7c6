"""WeChat message security (消息加解密): SHA-1 signatures and the AES "safe mode" envelope.

Pure functions, no I/O. The protocol, as WeChat's own sample code implements it:
- `signature` = hex SHA-1 of the lexicographically sorted, concatenated strings
  (token, timestamp, nonce); in safe mode `msg_signature` adds the `Encrypt` text to them;
- the AES key is the 43-character EncodingAESKey plus "=", base64-decoded (32 bytes: AES-256),
  CBC mode, the IV is the key's first 16 bytes;
- the plaintext is random(16) + len(msg) (4 bytes, network order) + msg + appid, padded with
  PKCS#7 to a multiple of 32 bytes; the ciphertext travels base64-encoded.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import struct
from dataclasses import dataclass

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

PAD_BLOCK = 32
RANDOM_PREFIX = 16


class WeChatCryptoError(ValueError):
    """A ciphertext that does not decrypt to a message for our app id."""


def sha1_signature(*parts: str) -> str:
    """WeChat's signature: hex SHA-1 over the sorted, concatenated parts."""
    return hashlib.sha1("".join(sorted(parts)).encode()).hexdigest()


def signature_matches(presented: str | None, *parts: str) -> bool:
    """Compare a presented signature with ours in constant time."""
    if not presented:
        return False
    expected = sha1_signature(*parts).encode()
    return hmac.compare_digest(expected, presented.strip().lower().encode())


def decode_aes_key(encoding_aes_key: str) -> bytes:
    """The 32-byte AES key of a 43-character EncodingAESKey."""
    if len(encoding_aes_key) != 43:
        raise ValueError("EncodingAESKey must be 43 characters")
    try:
        key = base64.b64decode(encoding_aes_key + "=", validate=True)
    except binascii.Error as exc:
        raise ValueError("EncodingAESKey is not base64") from exc
    if len(key) != 32:
        raise ValueError("EncodingAESKey must decode to 32 bytes")
    return key


def pkcs7_pad(data: bytes, block: int = PAD_BLOCK) -> bytes:
    """PKCS#7 padding to a multiple of `block` (WeChat uses 32, not AES's 16)."""
    n = block - len(data) % block
    return data + bytes([n]) * n


def pkcs7_unpad(data: bytes, block: int = PAD_BLOCK) -> bytes:
    """Strip PKCS#7 padding; anything malformed is refused."""
    if not data:
        raise WeChatCryptoError("empty plaintext")
    n = data[-1]
    if not 1 <= n <= block or len(data) < n or data[-n:] != bytes([n]) * n:
        raise WeChatCryptoError("bad padding")
    return data[:-n]


@dataclass(frozen=True)
class MessageCrypto:
    """One official account's token, AES key and app id."""

    token: str
    key: bytes
    app_id: str

    @classmethod
    def create(cls, token: str, encoding_aes_key: str, app_id: str) -> MessageCrypto:
        """From the values configured in WeChat's admin console."""
        return cls(token=token, key=decode_aes_key(encoding_aes_key), app_id=app_id)

    def _cipher(self) -> Cipher[modes.CBC]:
        return Cipher(algorithms.AES(self.key), modes.CBC(self.key[:16]))

    def encrypt(self, message: bytes, random_prefix: bytes | None = None) -> str:
        """The base64 `Encrypt` value for a message."""
        prefix = random_prefix if random_prefix is not None else os.urandom(RANDOM_PREFIX)
        if len(prefix) != RANDOM_PREFIX:
            raise ValueError("the random prefix is 16 bytes")
        plain = prefix + struct.pack(">I", len(message)) + message + self.app_id.encode()
        encryptor = self._cipher().encryptor()
        return base64.b64encode(encryptor.update(pkcs7_pad(plain)) + encryptor.finalize()).decode()

    def decrypt(self, encrypted: str) -> bytes:
        """The message inside an `Encrypt` value; refused unless it names our app id."""
        try:
            raw = base64.b64decode(encrypted, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise WeChatCryptoError("not base64") from exc
        if not raw or len(raw) % 16:
            raise WeChatCryptoError("ciphertext is not whole AES blocks")
        decryptor = self._cipher().decryptor()
        plain = pkcs7_unpad(decryptor.update(raw) + decryptor.finalize())
        head = RANDOM_PREFIX + 4
        if len(plain) < head:
            raise WeChatCryptoError("plaintext too short")
        (length,) = struct.unpack(">I", plain[RANDOM_PREFIX:head])
        message, app_id = plain[head : head + length], plain[head + length :]
        if len(message) != length:
            raise WeChatCryptoError("length field exceeds the plaintext")
        if not hmac.compare_digest(app_id, self.app_id.encode()):
            raise WeChatCryptoError("message for another app id")
        return message

    def msg_signature(self, timestamp: str, nonce: str, encrypted: str) -> str:
        """The `msg_signature` over token, timestamp, nonce and the ciphertext."""
        return sha1_signature(self.token, timestamp, nonce, encrypted)
