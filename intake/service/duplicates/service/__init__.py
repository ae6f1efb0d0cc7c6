"""Duplicates across channels (多口收集，一口办理) and repeats of the same person, on the database.

On arrival (`on_arrival`, in intake's worker right after the recording transaction commits): the appeal's fingerprint is stored under
its keys (`lsh`: concepts, bands, places and people, each with its place and 10-day time scope);
the appeals that share a key within the window are fetched through the GIN index (never a scan),
each tier of keys with its own cap, plus the same person's earlier appeals (phone / ID lookup
hash, openid); each is scored by the fitted model (`scorer`). At or above the link threshold the
arrival is linked to the master at once (status `merged`, `duplicate_of` on its public status);
between the thresholds the candidate is suggested to staff. An earlier appeal of the same person
that is not the same matter is a *repeat*: suggested (flagged `repeat`), never merged. Staff
confirm, reject or undo; each decision keeps the pair's features and feeds the thresholds
(`tune`). Nothing is ever deleted, and a linked appeal keeps its own reporters, feedback and
return visit.

One concern a module: `candidates` (lookup and scoring), `arrival` (what happens on arrival),
`linking` (links and staff decisions), `thresholds` and `errors`. Import from this package: it
re-exports the public names.
"""

from __future__ import annotations

from intake.service.duplicates.service.arrival import MAX_SUGGESTIONS, SYSTEM_ACTOR, on_arrival
from intake.service.duplicates.service.candidates import (
    MAX_COARSE,
    MAX_FINE,
    Candidate,
    Earlier,
    doc_of,
    find_candidates,
)
from intake.service.duplicates.service.errors import HasFollowers, NotLinked, SameAppeal
from intake.service.duplicates.service.linking import decide_suggestion, link, root_of, undo
from intake.service.duplicates.service.thresholds import (
    current_thresholds,
    forget_tuned_thresholds,
    thresholds,
)

__all__ = [
    "MAX_COARSE",
    "MAX_FINE",
    "MAX_SUGGESTIONS",
    "SYSTEM_ACTOR",
    "Candidate",
    "Earlier",
    "HasFollowers",
    "NotLinked",
    "SameAppeal",
    "current_thresholds",
    "decide_suggestion",
    "doc_of",
    "find_candidates",
    "forget_tuned_thresholds",
    "link",
    "on_arrival",
    "root_of",
    "thresholds",
    "undo",
]
