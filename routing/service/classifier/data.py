"""Labelled appeals: the shipped training files and staff corrections.

Training data lives in ``routing/data/train/*.yaml``. Staff corrections of triage
(``routing.triage_corrections``) join it on the next ``guanjia routing train``, which gates a
retrain on a validation split drawn from these (``routing.service.classifier.training.split``).

An evaluation file (the independent set, ``tests/data/independent/*.yaml``: rows with ``id`` and
``labels``, or a file that declares itself one in its first lines) must never be trained on:
:func:`read_training_file` refuses it, so copying one into ``train/`` fails loudly.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any

import yaml

from routing.service.classifier.model import ALL_CATEGORIES, KIND_OF, URGENCIES

# A file whose opening comment lines carry this tag declares itself an evaluation file.
EVALUATION_MARK = "@evaluation-only"


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


class EvaluationFileRefused(ValueError):
    """An evaluation file was offered as training data."""


def _is_evaluation(text: str, rows: list[Any]) -> bool:
    head = [line for line in text.splitlines()[:10] if line.startswith("#")]
    if any(EVALUATION_MARK in line.lower() for line in head):
        return True
    # The independent set's schema: an id, the channel's own fields and the labels (beside them or
    # nested under ``labels``); training rows have neither an id nor a channel.
    return any(
        isinstance(row, Mapping) and "id" in row and ("labels" in row or "channel" in row) for row in rows
    )


def read_training_file(file: Traversable | Path, source: str) -> list[Example]:
    """The examples of one training file; an evaluation file is refused, never read as training."""
    text = file.read_text(encoding="utf-8")
    rows = yaml.safe_load(text) or []
    if not isinstance(rows, list):
        raise ValueError(f"{source}: expected a YAML list")
    if _is_evaluation(text, rows):
        raise EvaluationFileRefused(f"{source}: an evaluation file must never be used for training")
    return [Example.from_mapping(row, f"{source}[{i}]") for i, row in enumerate(rows)]


def training_examples(folder: Traversable | Path | None = None) -> list[Example]:
    """Every training example of ``folder`` (default: the shipped ``train/``), file by file in name order."""
    where = folder if folder is not None else _data_dir().joinpath("train")
    out: list[Example] = []
    for file in sorted(where.iterdir(), key=lambda f: f.name):
        if file.name.endswith(".yaml"):
            out += read_training_file(file, f"train/{file.name}")
    return out


def heldout_examples() -> list[Example]:
    """Nothing: the old held-out file is training data now (kept so older callers still run)."""
    return []


def correction_examples(rows: Iterable[Mapping[str, Any]]) -> list[Example]:
    """Staff corrections as examples (the latest correction of each appeal wins)."""
    latest: dict[str, Mapping[str, Any]] = {}
    for row in rows:
        latest[str(row["appeal_id"])] = row
    return [Example.from_mapping(row, f"correction:{key}") for key, row in latest.items()]
