"""Triage judged on appeals nobody here wrote: `python -m bench.judgement_triage [files ...]`.

Default files: ``tests/data/independent/triage_*.yaml`` (the independent evaluation set, written
by people who never saw the model, the lexicons or the training data; never trained or tuned on).
Each appeal is presented as the system receives it:

- ``hotline_12345``: the call (transcript turns with operator and caller, the operator's summary,
  category and address) goes through the gateway's real hotline normaliser
  (``services.gateway.service.channels.hotline.to_draft``) into the AppealDraft;
- every other channel: an AppealDraft with the same fields (title, text, address) through the
  gateway's one normalisation (``services.gateway.service.normalise.normalise_draft``);

then intake's ``appeal.received`` event is built from the draft by intake's own code, and routing's
worker decision (``routing.service.classifier.triage.decide_received``: rules, model, place, policies, manual queue)
runs on it with the shipped model and catalogue: no HTTP, no database. Prints one JSON object.

File schema (one YAML list per file): ``id``, ``channel``; for ``hotline_12345`` ``transcript``
(``[{speaker: operator|caller, text}]``), ``summary``, ``category_hint``, ``address``; for the
others ``title``, ``text``, ``address``; ``labels``: ``kind``, ``category``, ``urgency``, ``town``
(a short town name, or null when the text gives no place).
"""

from __future__ import annotations

import glob
import json
import sys
import uuid
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

from intake.models import Appeal
from intake.service.records import _received_event
from routing.service.classifier.model import ALL_CATEGORIES, TriageModel
from routing.service.classifier.triage import decide_received
from routing.service.policies import SEED_CATALOGUE
from services.common.auth import Principal
from services.common.reference import load_reference
from services.contracts.appeals import AppealDraft, Location
from services.contracts.events import AppealReceived
from services.gateway.service.channels.hotline import HotlineCall, to_draft
from services.gateway.service.channels.staff import prepared
from services.gateway.service.normalise import normalise_draft

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_GLOB = "tests/data/independent/triage_*.yaml"
RECEIVED_AT = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


@dataclass(frozen=True)
class Item:
    """One labelled appeal of an evaluation file."""

    id: str
    channel: str
    raw: Mapping[str, Any]
    kind: str
    category: str
    urgency: str
    town: str | None
    source: str


def load(path: Path) -> list[Item]:
    """The items of one evaluation file (schema in the module docstring)."""
    rows = yaml.safe_load(path.read_text(encoding="utf-8")) or []
    if not isinstance(rows, list):
        raise ValueError(f"{path}: expected a YAML list")
    items = []
    for i, row in enumerate(rows):
        # The labels sit beside the appeal (the frozen sets) or under `labels` (the fixture).
        labels = row.get("labels") or row
        items.append(
            Item(
                id=str(row.get("id", f"{path.stem}-{i}")),
                channel=str(row["channel"]),
                raw=row,
                kind=str(labels["kind"]),
                category=str(labels["category"]),
                urgency=str(labels.get("urgency") or "normal"),
                town=labels.get("town") or None,
                source=path.name,
            )
        )
    return items


# Staff doors (DESIGN §4 "level"): what their filer's own unit is. A village cadre's or a grid
# inspector's note is placed in the filer's village or town by the gateway (`staff.prepared`),
# whatever its text says; the files do not name the filer, so "as filed" puts it in a village of
# the labelled town (the filer's own), or of 虎门镇 when the labels give none.
FILER_LEVEL: dict[str, str] = {
    "village_visit": "village",
    "party_member_visit": "village",
    "consultation_meeting": "village",
    "online_consultation": "village",
    "grid_inspector": "town",
    "leader_station": "town",
}
FALLBACK_TOWN = "虎门"
# A walk-in is filed by a 莞家驿站's worker; routing places one whose words name no place in the
# station's community. "As filed" puts the station in a village of the labelled town.
BENCH_STATION = "BENCH-STATION"


def _home(item: Item, placed_town: str | None = None) -> tuple[str, str | None]:
    """The filer's own town (where the words place the appeal, else the labelled town, else
    虎门镇) and the first of its villages on record, if any."""
    ref = load_reference()
    town = (
        (ref.town_by_code(placed_town) if placed_town else None)
        or ref.town_by_name(item.town or FALLBACK_TOWN)
        or ref.town_by_name(FALLBACK_TOWN)
    )
    assert town is not None, "the reference data lost 虎门镇"
    villages = ref.villages_of(town.code)
    return town.code, (min(villages, key=lambda v: v.code).code if villages else None)


def station_of(item: Item) -> tuple[str, str | None] | None:
    """The (town, village) of the station a walk-in would be filed at, as the station register
    gives it to routing: None for any other door."""
    return _home(item) if item.channel == "station_walk_in" else None


def filer_of(item: Item, placed: Location) -> Principal | None:
    """The member of staff who would file this appeal through its door, given where its words
    place it (a cadre files for their own village): None for a resident's door, or one whose
    filer is not tied to a place (web portal, departments, stations)."""
    level = FILER_LEVEL.get(item.channel)
    if level is None:
        return None
    town, first_village = _home(item, placed.town_code)
    village = placed.village_code or first_village
    if level == "town" or village is None:  # no village of it on record
        return Principal(
            staff_id="bench", username="bench", role="town_staff", org_type="town", org_code=town
        )
    return Principal(
        staff_id="bench", username="bench", role="village_staff", org_type="village", org_code=village
    )


def draft_of(item: Item, *, as_filed: bool = False) -> AppealDraft:
    """The AppealDraft the gateway would hand to intake for this appeal: from its words alone, or
    `as_filed`, also placed in its filer's unit as a staff door places it."""
    row = item.raw
    if item.channel == "hotline_12345":
        turns = [
            {"speaker": t["speaker"], "text": str(t.get("text") or ""), "offset_ms": 1000 * i}
            for i, t in enumerate(row.get("transcript") or [])
        ]
        call = HotlineCall.model_validate(
            {
                "call_id": item.id,
                "caller_number": "withheld",  # a withheld caller id: the call is kept, the number not
                "started_at": RECEIVED_AT,
                "transcript": turns,
                "summary": row.get("summary"),
                "category_hint": row.get("category_hint"),
                "address": row.get("address"),
            }
        )
        return to_draft(call)
    draft = AppealDraft(
        channel=item.channel,
        channel_ref=item.id,
        reported_at=RECEIVED_AT,
        title=row.get("title"),
        description=str(row.get("text") or ""),
        location=Location(address=row.get("address")),
        channel_extra={"station_code": BENCH_STATION} if item.channel == "station_walk_in" else {},
    )
    normalised = normalise_draft(draft)
    filer = filer_of(item, normalised.location) if as_filed else None
    return prepared(filer, draft) if filer is not None else normalised


def received_of(draft: AppealDraft) -> AppealReceived:
    """Intake's ``appeal.received`` event for the draft, built by intake's own code."""
    appeal = Appeal(id=uuid.uuid4(), ticket_no="BENCH", received_at=RECEIVED_AT)
    return _received_event(appeal, draft)


@dataclass(frozen=True)
class Judged:
    """The system's decision on one item, next to its labels."""

    item: Item
    kind: str
    category: str
    urgency: str
    town: str | None
    needs_manual: bool  # the manual queue: unsure, or no known town (as the worker decides)
    unsure: bool  # the model's confidence alone below the thresholds


def judge(items: Iterable[Item], model: TriageModel | None = None, *, as_filed: bool = False) -> list[Judged]:
    """Run routing's worker decision on every item, as received (see `draft_of`)."""
    ref = load_reference()
    out = []
    for item in items:
        draft = draft_of(item, as_filed=as_filed)
        station = station_of(item) if as_filed else None
        decided = decide_received(
            received_of(draft), model=model, catalogue=SEED_CATALOGUE, station_place=station
        )
        town = ref.town_by_code(decided.town_code) if decided.town_code else None
        out.append(
            Judged(
                item=item,
                kind=decided.triage.kind,
                category=decided.triage.category,
                urgency=decided.urgency,
                town=town.name if town else None,
                needs_manual=decided.needs_manual,
                unsure=decided.unsure,
            )
        )
    return out


def _share(hits: int, n: int) -> float | None:
    return round(hits / n, 4) if n else None


@dataclass
class Figures:
    """Every figure of issue 12's table for a set of judged items."""

    n: int = 0
    kind: float | None = None
    category: float | None = None
    urgency: float | None = None
    emergency_recall: float | None = None
    emergency_precision: float | None = None
    town: float | None = None
    town_n: int = 0
    town_invented: int = 0  # a town named where the labels say the text gives none
    automatic: float | None = None  # not sent to the manual queue (for any reason)
    automatic_right: float | None = None  # kind and category right among those
    confident: float | None = None  # the model's confidence alone at or above the thresholds
    confident_right: float | None = None
    confusion: dict[str, dict[str, int]] = field(default_factory=dict)
    per_category: dict[str, float | None] = field(default_factory=dict)


def figures(judged: Sequence[Judged]) -> Figures:
    """Accuracy, emergency recall and precision, town, automatic share, confusion matrix."""
    c: Counter[str] = Counter()
    confusion: dict[str, Counter[str]] = {cat: Counter() for cat in ALL_CATEGORIES}
    for j in judged:
        it = j.item
        c["n"] += 1
        c["kind"] += j.kind == it.kind
        c["category"] += j.category == it.category
        c["urgency"] += j.urgency == it.urgency
        c["emergency"] += it.urgency == "emergency"
        c["said_emergency"] += j.urgency == "emergency"
        c["emergency_hit"] += it.urgency == "emergency" and j.urgency == "emergency"
        if it.town:
            c["town_n"] += 1
            c["town"] += j.town == it.town
        elif j.town:
            c["town_invented"] += 1
        right = j.kind == it.kind and j.category == it.category
        if not j.needs_manual:
            c["auto"] += 1
            c["auto_right"] += right
        if not j.unsure:
            c["confident"] += 1
            c["confident_right"] += right
        confusion.setdefault(it.category, Counter())[j.category] += 1
    n = c["n"]
    return Figures(
        n=n,
        kind=_share(c["kind"], n),
        category=_share(c["category"], n),
        urgency=_share(c["urgency"], n),
        emergency_recall=_share(c["emergency_hit"], c["emergency"]),
        emergency_precision=_share(c["emergency_hit"], c["said_emergency"]),
        town=_share(c["town"], c["town_n"]),
        town_n=c["town_n"],
        town_invented=c["town_invented"],
        automatic=_share(c["auto"], n),
        automatic_right=_share(c["auto_right"], c["auto"]),
        confident=_share(c["confident"], n),
        confident_right=_share(c["confident_right"], c["confident"]),
        confusion={k: dict(sorted(v.items())) for k, v in confusion.items() if v},
        per_category={k: _share(v[k], sum(v.values())) for k, v in confusion.items() if sum(v.values())},
    )


def default_files() -> list[Path]:
    """The independent evaluation files, if present."""
    return [Path(p) for p in sorted(glob.glob(str(ROOT / DEFAULT_GLOB)))]


def run(files: Sequence[Path], model: TriageModel | None = None) -> dict[str, Any]:
    """Judge every file; the figures overall and per file, as one JSON-ready object."""
    if not files:
        raise SystemExit(f"no evaluation files (looked for {DEFAULT_GLOB})")
    per_file: dict[str, Any] = {}
    everything: list[Judged] = []
    filed: list[Judged] = []
    for path in files:
        items = load(path)
        judged = judge(items, model)
        everything += judged
        filed += judge(items, model, as_filed=True)
        f = figures(judged)
        per_file[path.name] = {k: v for k, v in vars(f).items() if k != "confusion"}
    overall = vars(figures(everything))
    # Every figure is read from the words alone (the town above all: reading it is what is
    # judged); "as filed" repeats the automatic share with staff doors placing their appeals.
    as_filed = figures(filed)
    staff_doors = sum(
        1 for j in filed if j.item.channel in FILER_LEVEL or j.item.channel == "station_walk_in"
    )
    return {
        **overall,
        "as_filed": {
            "automatic": as_filed.automatic,
            "automatic_right": as_filed.automatic_right,
            "staff_door_items": staff_doors,
        },
        "files": per_file,
    }


if __name__ == "__main__":
    paths = [Path(a) for a in sys.argv[1:]] or default_files()
    print(json.dumps(run(paths), ensure_ascii=False, indent=1))
