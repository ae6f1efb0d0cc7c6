"""How alike two appeals are (pure functions, no I/O): concepts, words, characters and place.

Why this method. Appeals are short (one to five sentences), written or spoken by different people
through different doors, so the same broken street light arrives as "东方路路灯坏了好几盏" from the
mini-program and "来电反映北栅社区东方路一带夜间照明不足" from the 12345 operator. Measures over raw
text shingles (MinHash or SimHash over character n-grams) see little overlap in such pairs, and they
see a lot of overlap in "the same street, another problem" (both texts name the street). So:

1. **Concepts first.** Each surface phrase folds to a canonical concept (`lexicon`): an *object*
   (路灯, 井盖, 下水道, 医疗费…) and a *condition* (损坏, 堵塞, 缺失…). Different objects are the
   strongest evidence of different problems.
2. **Words** (jieba segmentation, stop words out) and **character bigrams** catch what the concept
   table does not know (a family's name, a shop, an unusual object).
3. **Place apart.** Place words come out of the text and are compared as place: same village,
   distance between coordinates (GCJ-02 folded to WGS-84 first), a shared road or estate name.

The score is text likeness times place likeness, in [0, 1]. Candidate *retrieval* (which appeals to
score at all) uses MinHash with LSH banding over the same concept and word sets, plus concept keys,
each key scoped by village, town or a ~500 m grid cell (`lsh`), and stored in a GIN-indexed array:
an arrival is compared with a few dozen appeals, never with all of them.

One concern a module: `text` (the tokenizer and the concept and kin matchers), `places` (place
tokens), `doc` (what is kept of an appeal), `analysis` (an appeal read into a `Doc`) and `measures`
(how alike two of them are). Import from this package: it re-exports the public names.
"""

from __future__ import annotations

from intake.service.duplicates.similarity.analysis import TEXT_CAP, analyse, warm_up
from intake.service.duplicates.similarity.doc import Doc, doc_from_stored, stored_tokens
from intake.service.duplicates.similarity.measures import (
    dice,
    distance_m,
    idf,
    idf_overlap,
    jaccard,
    location_score,
    same_persons,
    text_score,
)
from intake.service.duplicates.similarity.places import place_kind

__all__ = [
    "TEXT_CAP",
    "Doc",
    "analyse",
    "dice",
    "distance_m",
    "doc_from_stored",
    "idf",
    "idf_overlap",
    "jaccard",
    "location_score",
    "place_kind",
    "same_persons",
    "stored_tokens",
    "text_score",
    "warm_up",
]
