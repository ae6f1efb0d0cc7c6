"""Data preparation: each labelled example read once (terms and the rules' evidence), and written
calls added as the hotline gateway passes them on."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace

from routing.service.classifier.data import Example
from routing.service.classifier.model import RuleEvidence
from routing.service.classifier.triage import read


@dataclass(frozen=True)
class Prepared:
    """An example read once: its terms and the rules' evidence."""

    example: Example
    terms: tuple[str, ...]
    evidence: RuleEvidence


def prepare(examples: Iterable[Example]) -> list[Prepared]:
    """Read every example (normalise, tokenise, match the cue tables)."""
    out = []
    for ex in examples:
        reading = read(ex.title, ex.text, ex.hint)
        out.append(Prepared(ex, reading.features, reading.evidence()))
    return out


_SPEAKER = re.compile(r"(话务员|接线员|市民|来电人)[：:]")


def caller_words(text: str) -> str | None:
    """A written call (市民：… 话务员：…) as the hotline gateway passes it on: the caller's turns only.

    ``None`` when the text is not a call with at least one operator turn.
    """
    parts = _SPEAKER.split(text)
    turns = [(parts[i], parts[i + 1].strip()) for i in range(1, len(parts) - 1, 2)]
    if not any(who in ("话务员", "接线员") for who, _ in turns):
        return None
    words = [said for who, said in turns if who in ("市民", "来电人") and said]
    return "\n".join(words) or None


def with_received_calls(prepared: Sequence[Prepared]) -> list[Prepared]:
    """The training rows plus each written call as the system receives it (operator turns dropped).

    Only ever added to the rows a model is fitted on, never to the rows it is scored on.
    """
    extra = []
    for p in prepared:
        words = caller_words(p.example.text)
        if words is not None:
            ex = replace(p.example, text=words, title=None)
            reading = read(None, words, ex.hint)
            extra.append(Prepared(ex, reading.features, reading.evidence()))
    return [*prepared, *extra]
