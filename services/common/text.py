"""Text normalisation shared by channels and triage: one place, pure functions, no I/O."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from functools import lru_cache
from typing import Any

_SPACE_RE = re.compile(r"\s+")


@lru_cache(maxsize=1)
def _converter() -> object:
    # Imported lazily: building OpenCC's tables costs ~100 ms and most processes never need it.
    import opencc

    return opencc.OpenCC("t2s")


def to_simplified(text: str) -> str:
    """Traditional -> simplified Chinese (繁体 -> 简体)."""
    return str(_converter().convert(text))  # type: ignore[attr-defined]


# Full-width letters and digits (Ａ-Ｚ, ａ-ｚ, ０-９) and the ideographic space fold to ASCII;
# full-width punctuation （，！？：；） is what Chinese text is written with and stays.
_WIDTH_TABLE = {
    **{cp: cp - 0xFEE0 for cp in range(0xFF10, 0xFF1A)},
    **{cp: cp - 0xFEE0 for cp in range(0xFF21, 0xFF3B)},
    **{cp: cp - 0xFEE0 for cp in range(0xFF41, 0xFF5B)},
    0x3000: 0x20,
}


def fold_width(text: str) -> str:
    """Full-width letters, digits and spaces -> half-width (全角 -> 半角); NFC-composed."""
    return unicodedata.normalize("NFC", text).translate(_WIDTH_TABLE)


def collapse_whitespace(text: str) -> str:
    """Runs of whitespace (including newlines) -> one space; trimmed."""
    return _SPACE_RE.sub(" ", text).strip()


def normalise_text(text: str) -> str:
    """The canonical form of free text from any channel: simplified, half-width, single-spaced."""
    return collapse_whitespace(to_simplified(fold_width(text)))


def label_of(names: Mapping[Any, str], value: str) -> str:
    """The Chinese label of a vocabulary value (``CATEGORY_NAMES`` …), or the value itself when the
    vocabulary does not know it (a stored row older than a renamed term)."""
    return names.get(value, value)
