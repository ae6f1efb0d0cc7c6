"""The labelled pairs of `tests/data/duplicates.yaml`, as appeals intake would hold.

The earlier appeal of each pair is loaded into the large database; the later one is what
arrives and asks for candidates, so the benchmark can tell how many labelled duplicates the
lookup still retrieves among 1,000,000 appeals.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from pathlib import Path
from typing import Any

import yaml

from intake.models import Appeal
from services.common.reference import load_reference

PAIRS_FILE = Path(__file__).resolve().parents[2] / "tests" / "data" / "duplicates.yaml"


def pairs() -> list[dict[str, Any]]:
    """The labelled pairs (tests/data/duplicates.yaml)."""
    return list(yaml.safe_load(PAIRS_FILE.read_text(encoding="utf-8"))["pairs"])


def appeal_of(raw: dict[str, Any], received_at: datetime, ticket: str) -> Appeal:
    """A pair's appeal as intake would hold it (village and its town, or the town alone)."""
    village, town = raw.get("v"), raw.get("t")
    if village:
        found = load_reference().village_by_code(village)
        assert found is not None, village
        town = found.town_code
    return Appeal(
        id=uuid.uuid4(),
        ticket_no=ticket,
        channel=raw.get("ch", "hotline_12345"),
        channel_ref=f"bench-{ticket}",
        received_at=received_at,
        title=None,
        description=raw["text"],
        address=raw.get("addr"),
        town_code=town,
        village_code=village,
        lat=raw.get("lat"),
        lng=raw.get("lng"),
        datum=raw.get("datum", "wgs84"),
    )
