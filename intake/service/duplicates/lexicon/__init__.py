"""Words for duplicate detection (重复诉求识别): what a problem is called, and what to ignore.

Residents name the same problem in many ways (路灯坏了 / 街灯不亮 / 灯杆没电); duplicate detection
compares *concepts*, so each surface phrase folds to one canonical token before segmentation.
Concepts are of two sorts: an *object* (the thing: 路灯, 井盖, 下水道) and a *condition* (what is
wrong with it: 损坏, 缺失, 堵塞). Two appeals about different objects are different problems even
in the same street; that is the strongest signal against a link.

Place words (town and village names, roads, estates) are taken out of the text and compared
separately (see `similarity.location_score`), so that "the same place, another problem" does not
look alike just because both name the place.

The tables live one concern a module: `objects` (objects and their families), `conditions`,
`words` (kin, synonyms, stop words) and `places`; `phrases` reads the concept tables as the text
matcher needs them. Import from this package: it re-exports them all.
"""

from __future__ import annotations

from intake.service.duplicates.lexicon.conditions import CONDITIONS
from intake.service.duplicates.lexicon.objects import FAMILIES, GENERIC_OBJECTS, OBJECTS, PERSONAL_FAMILIES
from intake.service.duplicates.lexicon.phrases import concept_phrases
from intake.service.duplicates.lexicon.places import GENERIC_PLACES, NOT_PLACES, PLACE_SUFFIXES, PLACE_WORDS
from intake.service.duplicates.lexicon.words import KIN, STOPWORDS, WORD_SYNONYMS

__all__ = [
    "CONDITIONS",
    "FAMILIES",
    "GENERIC_OBJECTS",
    "GENERIC_PLACES",
    "KIN",
    "NOT_PLACES",
    "OBJECTS",
    "PERSONAL_FAMILIES",
    "PLACE_SUFFIXES",
    "PLACE_WORDS",
    "STOPWORDS",
    "WORD_SYNONYMS",
    "concept_phrases",
]
