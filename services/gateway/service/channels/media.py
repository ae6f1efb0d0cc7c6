"""Residents' photos, stored by reference: `GUANJIA_DATA_DIR/media/<sha256>`, content-addressed.

A photo is accepted only when its first bytes say JPEG, PNG or WebP (whatever the client
claims) and it is at most 10 MiB. The same photo uploaded twice is stored once; an appeal
refers to it as `media/<sha256>`.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from starlette.datastructures import UploadFile

from services.common.errors import DomainError, InvalidInput
from services.common.settings import get_settings
from services.contracts.appeals import Attachment

MAX_PHOTO_BYTES: Final = 10 * 1024 * 1024
CHUNK: Final = 256 * 1024
_SHA256 = re.compile(r"^[0-9a-f]{64}$")


class UnsupportedMedia(DomainError):
    status, code, title = 415, "unsupported_media_type", "Only JPEG, PNG or WebP photos"
    message = "只能上传 JPEG、PNG 或 WebP 格式的照片。"


class MediaTooLarge(DomainError):
    status, code, title = 413, "media_too_large", "Photo over 10 MiB"
    message = "照片不能超过 10MB，请压缩后再上传。"


class UnknownMedia(InvalidInput):
    code, title = "unknown_media", "No photo stored under this id"
    message = "找不到该照片，请重新上传。"


@dataclass(frozen=True)
class StoredMedia:
    """A stored photo."""

    sha256: str
    media_type: str
    size_bytes: int

    @property
    def uri(self) -> str:
        """How an appeal refers to it (relative to GUANJIA_DATA_DIR)."""
        return f"media/{self.sha256}"

    def attachment(self) -> Attachment:
        """As an appeal's attachment."""
        return Attachment(
            kind="photo",
            uri=self.uri,
            media_type=self.media_type,
            size_bytes=self.size_bytes,
            sha256=self.sha256,
        )


def sniff(head: bytes) -> str | None:
    """The media type the magic bytes announce, among the ones we take."""
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if len(head) >= 12 and head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    return None


def media_root() -> Path:
    """Where photos live."""
    return get_settings().data_dir / "media"


def _persist(data: bytes, digest: str) -> None:
    root = media_root()
    root.mkdir(parents=True, exist_ok=True)
    target = root / digest
    if target.exists():
        return  # content-addressed: the same bytes are already there
    fd, tmp = tempfile.mkstemp(dir=root, prefix=".upload-")
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def check_photo(data: bytes) -> str:
    """The media type of a photo's bytes; refused when too large or not a photo we take."""
    if len(data) > MAX_PHOTO_BYTES:
        raise MediaTooLarge()
    media_type = sniff(data[:16])
    if media_type is None:
        raise UnsupportedMedia()
    return media_type


async def save_upload(upload: UploadFile) -> StoredMedia:
    """Check and store one uploaded photo; never reads more than the limit plus one chunk."""
    chunks: list[bytes] = []
    size = 0
    while chunk := await upload.read(CHUNK):
        size += len(chunk)
        if size > MAX_PHOTO_BYTES:
            raise MediaTooLarge()
        chunks.append(chunk)
    return await save_bytes(b"".join(chunks))


async def save_bytes(data: bytes) -> StoredMedia:
    """Check and store a photo's bytes."""
    if not data:
        raise UnsupportedMedia("照片内容为空。")
    media_type = check_photo(data)
    digest = hashlib.sha256(data).hexdigest()
    await asyncio.to_thread(_persist, data, digest)
    return StoredMedia(sha256=digest, media_type=media_type, size_bytes=len(data))


def _lookup(digest: str) -> StoredMedia | None:
    path = media_root() / digest
    try:
        with path.open("rb") as f:
            head = f.read(16)
        size = path.stat().st_size
    except FileNotFoundError:
        return None
    media_type = sniff(head)
    return StoredMedia(digest, media_type, size) if media_type else None


async def lookup(media_id: str) -> StoredMedia:
    """A stored photo by its id (the sha256); `UnknownMedia` otherwise."""
    digest = media_id.strip().lower()
    if not _SHA256.match(digest):
        raise UnknownMedia(field="photos")
    found = await asyncio.to_thread(_lookup, digest)
    if found is None:
        raise UnknownMedia(field="photos")
    return found
