"""The concept tables as the text matcher reads them: every surface phrase with its concept."""

from __future__ import annotations

from intake.service.duplicates.lexicon.conditions import CONDITIONS
from intake.service.duplicates.lexicon.objects import OBJECTS


def concept_phrases() -> list[tuple[str, str, str]]:
    """(surface phrase, concept, sort) for every phrase, longest first; sort is 'o' or 'c'."""
    rows = [(p, c, "o") for c, ps in OBJECTS.items() for p in ps]
    rows += [(p, c, "c") for c, ps in CONDITIONS.items() for p in ps]
    return sorted(rows, key=lambda r: (-len(r[0]), r[0]))
