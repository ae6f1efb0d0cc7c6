"""Reference data of the three levels: towns / subdistricts, villages / communities, departments.

The data ships as package files next to this module (``towns.json``, ``villages.csv``,
``departments.json``, and ``places.csv``: old names, landmarks, roads and villages that tell a
town without naming it) so every service sees the same codes without a database round trip.
The shipped village file is a real subset; the full list (~600 rows, same CSV format) is read
with :func:`load_villages_csv` and merged with :meth:`Reference.with_villages`.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Literal, cast

from services.common.text import normalise_text

__all__ = [
    "DONGGUAN_LAT_RANGE",
    "DONGGUAN_LNG_RANGE",
    "VILLAGE_CSV_COLUMNS",
    "Department",
    "Place",
    "PlaceKind",
    "Reference",
    "ReferenceDataError",
    "Town",
    "TownType",
    "Village",
    "VillageType",
    "load_reference",
    "load_villages_csv",
    "parse_places_csv",
    "parse_villages_csv",
    "shipped_reference",
    "use_imported_villages",
]

TownType = Literal["subdistrict", "town", "zone"]
VillageType = Literal["community", "village"]
# ``shared``: a village name borne in several towns (新基 of 南城 and of 麻涌); one row per town, so
# the name tells none of them on its own.
PlaceKind = Literal["old_name", "landmark", "road", "village", "shared"]
_PLACE_KINDS: frozenset[str] = frozenset({"old_name", "landmark", "road", "village", "shared"})

VILLAGE_CSV_COLUMNS: tuple[str, ...] = (
    "code",
    "town_code",
    "name",
    "type",
    "aliases",
    "lat",
    "lng",
    "grid_prefix",
)

# A generous bounding box of Dongguan: a centroid outside it is a typo (swapped lat/lng, a
# GCJ-02 / BD-09 value pasted as WGS-84 far away, a missing decimal point), not a real village.
DONGGUAN_LAT_RANGE: tuple[float, float] = (22.6, 23.2)
DONGGUAN_LNG_RANGE: tuple[float, float] = (113.5, 114.3)

_CODE_RE = re.compile(r"^4419\d{8}$")
_TOWN_TYPES: frozenset[str] = frozenset({"subdistrict", "town", "zone"})
_VILLAGE_TYPES: frozenset[str] = frozenset({"community", "village"})
_PACKAGE = "services.common.reference"


class ReferenceDataError(ValueError):
    """The reference data is malformed: the message names the file, line and field."""


@dataclass(frozen=True, slots=True)
class Town:
    """A town (镇), subdistrict (街道) or the 松山湖 functional zone."""

    code: str
    name: str
    full_name: str
    type: TownType
    aliases: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Village:
    """A village (村) or community (社区); ``lat``/``lng`` are an approximate WGS-84 centroid."""

    code: str
    town_code: str
    name: str
    type: VillageType
    aliases: tuple[str, ...]
    lat: float
    lng: float
    grid_prefix: str


@dataclass(frozen=True, slots=True)
class Department:
    """A city department that owns livelihood policies (our own stable ``code``)."""

    code: str
    name: str
    short_name: str


@dataclass(frozen=True, slots=True)
class Place:
    """A name that tells the town without naming it: an old name, a landmark, a road, a village."""

    name: str
    town_code: str
    kind: PlaceKind
    aliases: tuple[str, ...] = ()


def _key(name: str) -> str:
    # Names are compared in canonical form so that 長安鎮 / 长安镇 / " 长安镇 " are one key.
    return normalise_text(name).replace(" ", "")


class Reference:
    """Immutable, indexed view of the reference data.

    Construction validates the cross-references (unique codes, every village's town exists), so a
    ``Reference`` that exists is consistent.
    """

    __slots__ = (
        "_departments",
        "_departments_by_code",
        "_places",
        "_towns",
        "_towns_by_code",
        "_towns_by_name",
        "_villages",
        "_villages_by_code",
        "_villages_by_town",
    )

    def __init__(
        self,
        towns: Iterable[Town],
        villages: Iterable[Village],
        departments: Iterable[Department] = (),
        places: Iterable[Place] = (),
    ) -> None:
        self._towns: tuple[Town, ...] = tuple(towns)
        self._villages: tuple[Village, ...] = tuple(villages)
        self._departments: tuple[Department, ...] = tuple(departments)
        self._places: tuple[Place, ...] = tuple(places)

        self._towns_by_code: dict[str, Town] = {}
        for town in self._towns:
            if town.code in self._towns_by_code:
                raise ReferenceDataError(f"duplicate town code {town.code}")
            self._towns_by_code[town.code] = town

        self._towns_by_name: dict[str, Town] = {}
        for town in self._towns:
            for name in (town.name, town.full_name, *town.aliases):
                key = _key(name)
                other = self._towns_by_name.get(key)
                if other is not None and other.code != town.code:
                    raise ReferenceDataError(f"town name {name!r} names both {other.code} and {town.code}")
                self._towns_by_name[key] = town

        self._villages_by_code: dict[str, Village] = {}
        by_town: dict[str, list[Village]] = {code: [] for code in self._towns_by_code}
        for village in self._villages:
            if village.code in self._villages_by_code:
                raise ReferenceDataError(f"duplicate village code {village.code}")
            if village.town_code not in self._towns_by_code:
                raise ReferenceDataError(f"village {village.code} names unknown town {village.town_code}")
            self._villages_by_code[village.code] = village
            by_town[village.town_code].append(village)
        self._villages_by_town: dict[str, tuple[Village, ...]] = {
            code: tuple(sorted(vs, key=lambda v: v.code)) for code, vs in by_town.items()
        }

        place_town: dict[str, str] = {}
        for place in self._places:
            if place.town_code not in self._towns_by_code:
                raise ReferenceDataError(f"place {place.name} names unknown town {place.town_code}")
            for name in (place.name, *place.aliases):
                key = _key(name)
                if key in self._towns_by_name:
                    raise ReferenceDataError(f"place {name!r} is spelled like a town")
                if place.kind == "shared":
                    continue
                if place_town.setdefault(key, place.town_code) != place.town_code:
                    raise ReferenceDataError(f"place {name!r} is given to two towns")

        self._departments_by_code: dict[str, Department] = {}
        for dept in self._departments:
            if dept.code in self._departments_by_code:
                raise ReferenceDataError(f"duplicate department code {dept.code}")
            self._departments_by_code[dept.code] = dept

    @property
    def towns(self) -> tuple[Town, ...]:
        """All towns, subdistricts and the zone, in file order."""
        return self._towns

    @property
    def villages(self) -> tuple[Village, ...]:
        """All loaded villages and communities."""
        return self._villages

    @property
    def departments(self) -> tuple[Department, ...]:
        """All departments."""
        return self._departments

    @property
    def places(self) -> tuple[Place, ...]:
        """Old names, landmarks, roads and villages that tell a town (``places.csv``)."""
        return self._places

    def town_by_code(self, code: str) -> Town | None:
        """The town with this 12-digit code, or ``None``."""
        return self._towns_by_code.get(code.strip())

    def town_by_name(self, name: str) -> Town | None:
        """The town called ``name``: short name (虎门), full name (虎门镇) or alias (东城区).

        Traditional characters, full-width forms and a leading 广东省 / 东莞市 are tolerated.
        """
        key = _key(name)
        for prefix in ("广东省", "广东", "东莞市", "东莞"):
            key = key.removeprefix(prefix)
        return self._towns_by_name.get(key)

    def villages_of(self, town_code: str) -> tuple[Village, ...]:
        """The villages and communities of a town, by code; empty for an unknown town."""
        return self._villages_by_town.get(town_code.strip(), ())

    def village_by_code(self, code: str) -> Village | None:
        """The village or community with this 12-digit code, or ``None``."""
        return self._villages_by_code.get(code.strip())

    def department_by_code(self, code: str) -> Department | None:
        """The department with this code (e.g. ``civil_affairs``), or ``None``."""
        return self._departments_by_code.get(code.strip())

    def with_villages(self, villages: Iterable[Village]) -> Reference:
        """A new ``Reference`` whose villages are replaced by ``villages`` (e.g. the full list)."""
        return Reference(self._towns, villages, self._departments, self._places)


def _parse_towns(raw: object, source: str) -> list[Town]:
    if not isinstance(raw, list):
        raise ReferenceDataError(f"{source}: expected a JSON list of towns")
    towns: list[Town] = []
    for i, item in enumerate(raw):
        where = f"{source}[{i}]"
        if not isinstance(item, dict):
            raise ReferenceDataError(f"{where}: expected an object")
        entry = cast(Mapping[str, object], item)
        code = _require_str(entry, "code", where)
        if not _CODE_RE.match(code) or not code.endswith("000"):
            raise ReferenceDataError(f"{where}: town code {code!r} is not a 12-digit 4419xxxxx000 code")
        town_type = _require_str(entry, "type", where)
        if town_type not in _TOWN_TYPES:
            raise ReferenceDataError(f"{where}: unknown town type {town_type!r}")
        aliases = entry.get("aliases", [])
        if not isinstance(aliases, list) or not all(isinstance(a, str) and a for a in aliases):
            raise ReferenceDataError(f"{where}: aliases must be a list of non-empty strings")
        towns.append(
            Town(
                code=code,
                name=_require_str(entry, "name", where),
                full_name=_require_str(entry, "full_name", where),
                type=cast(TownType, town_type),
                aliases=tuple(cast(list[str], aliases)),
            )
        )
    return towns


def _parse_departments(raw: object, source: str) -> list[Department]:
    if not isinstance(raw, list):
        raise ReferenceDataError(f"{source}: expected a JSON list of departments")
    departments: list[Department] = []
    for i, item in enumerate(raw):
        where = f"{source}[{i}]"
        if not isinstance(item, dict):
            raise ReferenceDataError(f"{where}: expected an object")
        entry = cast(Mapping[str, object], item)
        departments.append(
            Department(
                code=_require_str(entry, "code", where),
                name=_require_str(entry, "name", where),
                short_name=_require_str(entry, "short_name", where),
            )
        )
    return departments


def _require_str(entry: Mapping[str, object], field: str, where: str) -> str:
    value = entry.get(field)
    if not isinstance(value, str) or not value.strip():
        raise ReferenceDataError(f"{where}: {field!r} must be a non-empty string")
    return value.strip()


def _parse_float(value: str, field: str, bounds: tuple[float, float], where: str) -> float:
    try:
        number = float(value)
    except ValueError:
        raise ReferenceDataError(f"{where}: {field} {value!r} is not a number") from None
    low, high = bounds
    if not low <= number <= high:
        raise ReferenceDataError(f"{where}: {field} {number} is outside Dongguan ({low}..{high})")
    return number


def parse_villages_csv(text: str, source: str = "<villages>") -> list[Village]:
    """Parse village CSV text (header :data:`VILLAGE_CSV_COLUMNS`) into validated villages.

    Raises :class:`ReferenceDataError` naming the line of the first bad row. Town existence is
    checked later, by :class:`Reference`, which knows the towns.
    """
    # Spreadsheet exports often start with a UTF-8 BOM; it would otherwise glue onto "code".
    reader = csv.reader(io.StringIO(text.removeprefix("\ufeff")))
    header = next(reader, None)
    if header is None:
        raise ReferenceDataError(f"{source}: empty file")
    columns = tuple(h.strip() for h in header)
    if columns != VILLAGE_CSV_COLUMNS:
        raise ReferenceDataError(f"{source}: header {list(columns)} != expected {list(VILLAGE_CSV_COLUMNS)}")

    villages: list[Village] = []
    seen: set[str] = set()
    for row in reader:
        where = f"{source}:{reader.line_num}"
        if not row or all(not cell.strip() for cell in row):
            continue
        if len(row) != len(VILLAGE_CSV_COLUMNS):
            raise ReferenceDataError(f"{where}: expected {len(VILLAGE_CSV_COLUMNS)} fields, got {len(row)}")
        code, town_code, name, vtype, aliases, lat, lng, grid_prefix = (cell.strip() for cell in row)
        if not _CODE_RE.match(code):
            raise ReferenceDataError(f"{where}: village code {code!r} is not a 12-digit 4419 code")
        if not _CODE_RE.match(town_code) or not town_code.endswith("000"):
            raise ReferenceDataError(f"{where}: town code {town_code!r} is not a 12-digit town code")
        # The national scheme nests codes: the first 9 digits of a village are its town's.
        if code[:9] != town_code[:9] or code == town_code:
            raise ReferenceDataError(f"{where}: village code {code} is not inside town {town_code}")
        if code in seen:
            raise ReferenceDataError(f"{where}: duplicate village code {code}")
        if not name:
            raise ReferenceDataError(f"{where}: empty name")
        if vtype not in _VILLAGE_TYPES:
            raise ReferenceDataError(f"{where}: unknown type {vtype!r} (community|village)")
        if not grid_prefix:
            raise ReferenceDataError(f"{where}: empty grid_prefix")
        seen.add(code)
        villages.append(
            Village(
                code=code,
                town_code=town_code,
                name=name,
                type=cast(VillageType, vtype),
                aliases=tuple(a.strip() for a in aliases.split("|") if a.strip()),
                lat=_parse_float(lat, "lat", DONGGUAN_LAT_RANGE, where),
                lng=_parse_float(lng, "lng", DONGGUAN_LNG_RANGE, where),
                grid_prefix=grid_prefix,
            )
        )
    return villages


def parse_places_csv(text: str, towns: Iterable[Town], source: str = "<places>") -> list[Place]:
    """Parse the places file: ``#`` comment lines (its source), then ``name,town,kind,note``.

    A ``shared`` row names several towns (``南城|麻涌``) and gives one place per town."""
    by_name = {t.name: t.code for t in towns}
    lines = [line for line in text.removeprefix("\ufeff").splitlines() if not line.startswith("#")]
    reader = csv.reader(lines)
    header = next(reader, None)
    if header is None or tuple(h.strip() for h in header) != ("name", "town", "kind", "note"):
        raise ReferenceDataError(f"{source}: header must be name,town,kind,note")
    places: list[Place] = []
    for number, row in enumerate(reader, start=2):
        if not row or all(not cell.strip() for cell in row):
            continue
        if len(row) != 4:
            raise ReferenceDataError(f"{source}: row {number}: expected 4 fields, got {len(row)}")
        names = [n.strip() for n in row[0].split("|") if n.strip()]
        kind = row[2].strip()
        towns_named = [t.strip() for t in row[1].split("|")] if kind == "shared" else [row[1].strip()]
        bad = [t for t in towns_named if t not in by_name]
        if not names or bad or kind not in _PLACE_KINDS or (kind == "shared" and len(towns_named) < 2):
            raise ReferenceDataError(f"{source}: row {number}: bad name, town {row[1]!r} or kind {kind!r}")
        places += [Place(names[0], by_name[t], cast(PlaceKind, kind), tuple(names[1:])) for t in towns_named]
    return places


def load_villages_csv(path: str | Path) -> list[Village]:
    """Read and validate a village file in the shipped format (e.g. the full ~600-row list)."""
    file = Path(path)
    return parse_villages_csv(file.read_text(encoding="utf-8"), source=str(file))


def _read_packaged(name: str) -> str:
    return resources.files(_PACKAGE).joinpath(name).read_text(encoding="utf-8")


_overlay: dict[str, Reference | None] = {"reference": None}


def load_reference() -> Reference:
    """The reference data in force: the packaged data, with the villages the city imported laid
    over it (`services.common.reference.store` refreshes them in every process)."""
    return _overlay["reference"] or shipped_reference()


def use_imported_villages(villages: Iterable[Village]) -> None:
    """Lay imported villages over the shipped ones (an imported code replaces a shipped one)."""
    shipped, imported = shipped_reference(), list(villages)
    merged = {v.code: v for v in shipped.villages} | {v.code: v for v in imported}
    _overlay["reference"] = shipped.with_villages(merged.values()) if imported else None


@lru_cache(maxsize=1)
def shipped_reference() -> Reference:
    """The packaged reference data, parsed and validated once per process."""
    towns = _parse_towns(json.loads(_read_packaged("towns.json")), "towns.json")
    villages = parse_villages_csv(_read_packaged("villages.csv"), "villages.csv")
    departments = _parse_departments(json.loads(_read_packaged("departments.json")), "departments.json")
    places = parse_places_csv(_read_packaged("places.csv"), towns, "places.csv")
    return Reference(towns, villages, departments, places)
