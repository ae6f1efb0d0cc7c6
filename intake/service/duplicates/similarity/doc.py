"""What duplicate detection keeps of one appeal (`Doc`), and that record rebuilt from storage."""

from __future__ import annotations

import operator
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from intake.service.duplicates.lexicon import FAMILIES, GENERIC_OBJECTS, GENERIC_PLACES, PERSONAL_FAMILIES
from intake.service.duplicates.similarity.places import place_kind
from intake.service.duplicates.similarity.text import KEEP_RE
from services.common.reference.locate import gcj02_to_wgs84

if TYPE_CHECKING:  # to mypy it is what it stands for
    from functools import cached_property as _once
else:

    class _once:
        """`functools.cached_property` without its lock (Python 3.11 takes an RLock on every
        first access): a lookup rebuilds dozens of candidates and reads five of these on each."""

        def __init__(self, fn: Callable[[Any], Any]) -> None:
            self._fn = fn
            self._name = fn.__name__
            self.__doc__ = fn.__doc__

        def __set_name__(self, owner: type, name: str) -> None:
            self._name = name

        def __get__(self, obj: Any, owner: type | None = None) -> Any:
            if obj is None:  # looked up on the class (help(), introspection)
                return self
            # Not a data descriptor: once the value is in the instance's __dict__, it is read
            # from there and this is never called again for that instance.
            value = obj.__dict__[self._name] = self._fn(obj)
            return value


@dataclass(frozen=True)
class Doc:
    """What duplicate detection keeps of one appeal."""

    objects: frozenset[str]
    conditions: frozenset[str]
    words: frozenset[str]
    places: frozenset[str]
    bigrams: frozenset[str]
    text: str
    persons: frozenset[str] = frozenset()
    kin: frozenset[str] = frozenset()  # 父, 母, 子… (lexicon.KIN)
    ages: frozenset[int] = frozenset()  # "81岁" -> 81
    spots: frozenset[str] = frozenset()  # 东门, 三巷, 5栋…
    town_code: str | None = None
    village_code: str | None = None
    lat: float | None = None  # WGS-84
    lng: float | None = None
    extra: dict[str, Any] = field(default_factory=dict, compare=False)

    # The values below depend on the fields only, and one Doc is compared with dozens of others
    # (an arrival with every candidate; a remembered candidate with arrival after arrival), so
    # each is worked out once per Doc (`_once` writes past the frozen fields).

    @_once
    def families(self) -> frozenset[str]:
        """The families of the objects named (照明交通, 排水, 医疗…)."""
        return frozenset(FAMILIES[o] for o in self.objects if o in FAMILIES)

    @_once
    def personal(self) -> bool:
        """Whether a family of personal need (医疗, 教育…) is named."""
        return bool(self.families & PERSONAL_FAMILIES)

    @_once
    def specific_objects(self) -> frozenset[str]:
        """The objects without the generic ones (房屋)."""
        return self.objects - GENERIC_OBJECTS

    @_once
    def specific_places(self) -> frozenset[str]:
        """The places named without the generic ones (市场, 小区…)."""
        return self.places - GENERIC_PLACES

    @_once
    def specific_place_kinds(self) -> frozenset[str]:
        """The kinds (路, 市场…) of the specific places named."""
        return frozenset(place_kind(p) for p in self.specific_places)

    @property
    def tokens(self) -> list[str]:
        """The stored form: objects, conditions and words with a prefix each (sorted)."""
        return sorted(
            [f"o:{o}" for o in self.objects]
            + [f"c:{c}" for c in self.conditions]
            + [f"w:{w}" for w in self.words]
            + [f"n:{n}" for n in self.persons]
            + [f"k:{k}" for k in self.kin]
            + [f"a:{a}" for a in self.ages]
            + [f"s:{x}" for x in self.spots]
        )


def bigrams_of(chars: str) -> frozenset[str]:
    """The character bigrams of `chars` (chars[i:i+2] for every i), joined in C rather than
    sliced one by one in Python: a rebuilt candidate spends most of its time here."""
    return frozenset(map(operator.add, chars, chars[1:]))


def doc_from_stored(
    tokens: Iterable[str],
    text: str,
    *,
    town_code: str | None,
    village_code: str | None,
    lat: float | None,
    lng: float | None,
    datum: str,
    places: Iterable[str] = (),
) -> Doc:
    """Rebuild a Doc from what the fingerprints table keeps (no segmentation needed)."""
    objects: set[str] = set()
    conditions: set[str] = set()
    words: set[str] = set()
    persons: set[str] = set()
    kin: set[str] = set()
    spots: set[str] = set()
    ages: set[int] = set()
    stored_places: set[str] = set(places)
    into = {"o": objects, "c": conditions, "w": words, "p": stored_places, "n": persons, "k": kin, "s": spots}
    for t in tokens:
        sort, _, value = t.partition(":")
        if sort == "a":
            if value.isdigit():
                ages.add(int(value))
            else:
                words.add(value)
        else:
            into.get(sort, words).add(value)
    chars = "".join(KEEP_RE.findall(text))
    wlat, wlng = lat, lng
    if lat is not None and lng is not None and datum == "gcj02":
        wlat, wlng = gcj02_to_wgs84(lat, lng)
    return Doc(
        objects=frozenset(objects),
        conditions=frozenset(conditions),
        words=frozenset(words),
        places=frozenset(stored_places),
        bigrams=bigrams_of(chars),
        text=text,
        persons=frozenset(persons),
        kin=frozenset(kin),
        ages=frozenset(ages),
        spots=frozenset(spots),
        town_code=town_code,
        village_code=village_code,
        lat=wlat,
        lng=wlng,
    )


def stored_tokens(doc: Doc) -> list[str]:
    """Tokens plus places, as the fingerprints table keeps them."""
    return doc.tokens + sorted(f"p:{p}" for p in doc.places)
