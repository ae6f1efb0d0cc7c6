"""The shared vocabulary: each term's label table names exactly the values of its type."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest

from services.contracts import vocabulary as v

TABLES: dict[str, tuple[tuple[str, ...], Mapping[Any, str]]] = {
    "kind": (v.KINDS, v.KIND_NAMES),
    "category": (v.CATEGORIES, v.CATEGORY_NAMES),
    "urgency": (v.URGENCIES, v.URGENCY_NAMES),
    "track": (v.TRACKS, v.TRACK_NAMES),
    "unit": (v.UNIT_TYPES, v.UNIT_NAMES),
    "role": (v.ROLES, v.ROLE_NAMES),
    "channel": (v.CHANNELS, v.CHANNEL_NAMES),
    "result": (v.EVALUATION_RESULTS, v.RESULT_NAMES),
    "rating": (v.RATINGS, v.RATING_NAMES),
    "consultation form": (v.CONSULTATION_FORMS, v.CONSULTATION_FORM_NAMES),
    "meeting form": (v.MEETING_FORMS, v.MEETING_FORM_NAMES),
}


@pytest.mark.parametrize("term", sorted(TABLES))
def test_every_value_has_one_label(term: str) -> None:
    values, names = TABLES[term]
    assert list(names) == list(values)
    assert all(label.strip() for label in names.values())
    assert len(set(names.values())) == len(names), "two values share a label"


def test_the_lifecycle_speaks_the_vocabulary() -> None:
    from intake.service import lifecycle

    # Every state has its public description, and the moves know no state outside the vocabulary.
    assert set(lifecycle.DESCRIPTIONS) == set(v.STATUSES)
    assert lifecycle.STATUSES is v.STATUSES


def test_a_meeting_form_is_a_consultation_form_spelt_and_named_alike() -> None:
    from services.gateway.service.channels.consultation import MeetingMinutes

    shared = set(v.MEETING_FORMS) & set(v.CONSULTATION_FORMS)
    assert shared == set(v.MEETING_FORMS) - {"consultation"}
    assert all(v.MEETING_FORM_NAMES[f] == v.CONSULTATION_FORM_NAMES[f] for f in shared)  # type: ignore[index]
    # The minutes channel's first spellings still read, as the vocabulary spells them.
    minutes = {"held_at": "2026-11-25 19:30:00", "items": [{"title": "座椅", "description": "增设座椅"}]}
    for old, new in v.MEETING_FORM_ALIASES.items():
        assert new in v.MEETING_FORMS
        assert MeetingMinutes.model_validate({**minutes, "meeting_type": old}).meeting_type == new
    with pytest.raises(ValueError):
        MeetingMinutes.model_validate({**minutes, "meeting_type": "online"})
