"""Labelled appeals: the shipped training files, the held-out file, and staff corrections.

Training data lives in ``routing/data/train/*.yaml``; the held-out set in
``routing/data/heldout.yaml`` is only ever scored (:func:`training_examples` refuses it). Staff
corrections of triage (``routing.triage_corrections``) join the training data on the next
``guanjia routing train``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from importlib import resources
from importlib.resources.abc import Traversable
from typing import Any

import yaml

from routing.classifier.model import ALL_CATEGORIES, KIND_OF, URGENCIES

HELDOUT_FILE = "heldout.yaml"


@dataclass(frozen=True)
class Example:
    """One labelled appeal."""

    text: str
    kind: str
    category: str
    urgency: str
    title: str | None = None
    hint: str | None = None
    town: str | None = None
    source: str = "file"

    @classmethod
    def from_mapping(cls, row: Mapping[str, Any], source: str) -> Example:
        """Validate one YAML row (or correction) into an example."""
        category = str(row["category"])
        if category not in ALL_CATEGORIES:
            raise ValueError(f"{source}: unknown category {category!r}")
        kind = str(row.get("kind") or KIND_OF[category])
        if KIND_OF[category] != kind:
            raise ValueError(f"{source}: category {category} is not a {kind}")
        urgency = str(row.get("urgency", "normal"))
        if urgency not in URGENCIES:
            raise ValueError(f"{source}: unknown urgency {urgency!r}")
        return cls(
            text=str(row["text"]),
            kind=kind,
            category=category,
            urgency=urgency,
            title=row.get("title"),
            hint=row.get("hint"),
            town=row.get("town"),
            source=source,
        )


def _data_dir() -> Traversable:
    return resources.files("routing.data")


def _read(file: Traversable, source: str) -> list[Example]:
    rows = yaml.safe_load(file.read_text(encoding="utf-8")) or []
    if not isinstance(rows, list):
        raise ValueError(f"{source}: expected a YAML list")
    return [Example.from_mapping(row, f"{source}[{i}]") for i, row in enumerate(rows)]


def training_examples() -> list[Example]:
    """Every shipped training example, file by file in name order."""
    folder = _data_dir().joinpath("train")
    out: list[Example] = []
    for file in sorted(folder.iterdir(), key=lambda f: f.name):
        if file.name.endswith(".yaml"):
            if file.name == HELDOUT_FILE:
                raise ValueError("the held-out file must never be used for training")
            out += _read(file, f"train/{file.name}")
    return out


def heldout_examples() -> list[Example]:
    """The held-out appeals: for scoring only."""
    return _read(_data_dir().joinpath(HELDOUT_FILE), HELDOUT_FILE)


def correction_examples(rows: Iterable[Mapping[str, Any]]) -> list[Example]:
    """Staff corrections as examples (the latest correction of each appeal wins)."""
    latest: dict[str, Mapping[str, Any]] = {}
    for row in rows:
        latest[str(row["appeal_id"])] = row
    return [Example.from_mapping(row, f"correction:{key}") for key, row in latest.items()]
