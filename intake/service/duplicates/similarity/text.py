"""Text helpers for duplicate detection: the tokenizer, and the concept and kin matchers.

The tokenizer knows our place names as whole words; the concept matcher folds every surface phrase
of the lexicon to its concept (and place names to nothing, so 东坑 is never read as a 坑).
"""

from __future__ import annotations

import re
import threading
from functools import lru_cache
from typing import Protocol

from intake.service.duplicates.lexicon import KIN, PLACE_WORDS, concept_phrases
from services.common.reference import load_reference

KEEP_RE = re.compile(r"[\u4e00-\u9fffA-Za-z]+")


class _Tokenizer(Protocol):
    def lcut(self, sentence: str) -> list[str]: ...


@lru_cache(maxsize=1)
def place_names() -> frozenset[str]:
    """Town and village names (with their aliases) of two characters or more."""
    ref = load_reference()
    names: set[str] = set(PLACE_WORDS)
    for town in ref.towns:
        names.update({town.name, town.full_name, *town.aliases})
    for village in ref.villages:
        names.update({village.name, *village.aliases})
    return frozenset(n for n in names if len(n) >= 2)


_tokenizer_lock = threading.Lock()


class _Rjieba:
    """rjieba (jieba's algorithm and dictionary in Rust) behind jieba's `lcut`: the same words on
    every labelled appeal with our place names added, ~18 times faster (bench/native_text.py)."""

    def __init__(self) -> None:
        import rjieba

        self._jieba = rjieba.Jieba()

    def add_word(self, word: str, freq: int) -> None:
        self._jieba.add_word(word, freq, None)

    def lcut(self, sentence: str) -> list[str]:
        return list(self._jieba.cut(sentence))


@lru_cache(maxsize=1)
def _tokenizer() -> _Tokenizer:
    # A private tokenizer that knows our concepts and place names as whole words.
    tok = _Rjieba()
    for name in place_names():
        tok.add_word(name, freq=200000)
    return tok


@lru_cache(maxsize=1)
def concept_re() -> tuple[re.Pattern[str], dict[str, list[tuple[str, str]]]]:
    """One pattern for every concept phrase and place name, and each phrase's (concept, sort)."""
    # Place names are alternatives of the same pattern (longest first) and fold to nothing, so
    # that 东坑 (a town) is never read as a 坑 in the road, nor 麻涌 as a river.
    lookup: dict[str, list[tuple[str, str]]] = {}
    for phrase, concept, sort in concept_phrases():
        lookup.setdefault(phrase, []).append((concept, sort))
    places = [p for p in place_names() if p not in lookup]
    alternatives = sorted([*lookup, *places], key=lambda p: (-len(p), p))
    pattern = re.compile("|".join(re.escape(p) for p in alternatives))
    return pattern, lookup


@lru_cache(maxsize=1)
def kin_re() -> tuple[re.Pattern[str], dict[str, str]]:
    """One pattern for every kin phrase (longest first), and the kin each phrase names."""
    lookup = {phrase: kin for kin, phrases in KIN.items() for phrase in phrases}
    return re.compile("|".join(re.escape(p) for p in sorted(lookup, key=len, reverse=True))), lookup


def segment(text: str) -> list[str]:
    """The words of ``text`` (jieba's segmentation, with our place names as whole words)."""
    with _tokenizer_lock:
        return _tokenizer().lcut(text)
