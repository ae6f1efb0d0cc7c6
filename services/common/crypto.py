"""Personal data at rest: Fernet encryption plus a keyed lookup hash (DESIGN §7).

The hash lets us find "the same phone number again" without decrypting anything; it is keyed
(HMAC) so that a stolen table cannot be reversed by hashing every possible phone number.
"""

from __future__ import annotations

import hashlib
import hmac
from functools import lru_cache

from cryptography.fernet import Fernet

from services.common.settings import get_settings


@lru_cache(maxsize=1)
def _fernet() -> Fernet:
    return Fernet(get_settings().require("pii_key").encode())


@lru_cache(maxsize=1)
def _hash_key() -> bytes:
    return hashlib.sha256(b"guanjia-lookup:" + get_settings().require("pii_key").encode()).digest()


def encrypt_pii(value: str) -> bytes:
    """Encrypt a phone or ID number for storage."""
    return _fernet().encrypt(value.encode())


def decrypt_pii(token: bytes) -> str:
    """Decrypt for a reveal (callers audit the reveal)."""
    return _fernet().decrypt(token).decode()


def encrypt_pii_text(value: str) -> str:
    """Encrypt personal data kept inside a JSON value (an Open311 e-mail): the Fernet token as text."""
    return encrypt_pii(value).decode("ascii")


def decrypt_pii_text(token: str) -> str:
    """The value `encrypt_pii_text` encrypted (callers audit the reveal)."""
    return decrypt_pii(token.encode("ascii"))


def lookup_hash(value: str) -> str:
    """Keyed hash for equality lookups."""
    return hmac.new(_hash_key(), value.encode(), hashlib.sha256).hexdigest()


def new_pii_key() -> str:
    """A fresh key for GUANJIA_PII_KEY."""
    return Fernet.generate_key().decode()
