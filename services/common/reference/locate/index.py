"""The text index: every town, place and village name in its written forms, found in a text.

Built once per :class:`~services.common.reference.loader.Reference` (and cached): names are
canonicalised (simplified, half-width, no spaces), villages get their suffix variants
(北栅社区 / 北栅村 / 北栅), and the noise every address carries (广东省, 东莞市) is cut out before
matching. :func:`_find_hits` lists the names a text mentions; deciding what they mean is
``textmatch``'s concern.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

from services.common.reference.loader import Reference, Village
from services.common.text import fold_width, normalise_text

# Prefixes every local address carries; they name no town, and "东莞" would otherwise leak
# "莞城" out of phrases like "东莞城市花园".
_NOISE = ("广东省", "东莞市", "东莞")
# Stand-in for removed noise: a character no term contains, so matches cannot span the cut.
_CUT = "|"
_VILLAGE_SUFFIXES = ("社区居委会", "居委会", "村委会", "社区", "村")

# ``contested``: a name several towns claim; matched only so that the shorter names inside it
# (鹊桥湾 in 鹊桥湾社区) are not read on their own.
_TermKind = Literal["town_full", "town_short", "village", "contested"]


@dataclass(frozen=True, slots=True)
class _Term:
    text: str
    kind: _TermKind
    codes: tuple[str, ...]  # one town code for town terms; every village the term may name


@dataclass(frozen=True, slots=True)
class _Hit:
    start: int
    end: int
    term: _Term

    @property
    def length(self) -> int:
        return self.end - self.start


@dataclass(frozen=True, slots=True)
class _Index:
    by_first_char: dict[str, tuple[_Term, ...]]
    noise: re.Pattern[str]  # 广东省 / 东莞市 / 东莞, except where they begin a known place
    village_town: dict[str, str]
    villages: dict[str, Village]
    grid: dict[str, str]
    grid_lengths: tuple[int, ...]
    town_codes: frozenset[str]
    contested: frozenset[str]  # names borne in several towns: never placing an appeal on their own


def _canon(text: str) -> str:
    return normalise_text(text).replace(" ", "")


def _suffix_forms(name: str) -> set[str]:
    """A village's name in the forms residents use (北栅社区 / 北栅村 / 北栅), whichever is given.

    Many 村 became 社区 and everyday speech kept the old name, so the full ~600-row file needs no
    hand-made aliases."""
    form = _canon(name)
    stem = next((form[: -len(s)] for s in _VILLAGE_SUFFIXES if form.endswith(s) and len(form) > len(s)), form)
    if len(stem) < 2:
        return {form} - {""}
    forms = {form, stem, stem + "社区"}
    if not stem.endswith("村"):
        forms.add(stem + "村")
    return forms


def _village_forms(village: Village) -> set[str]:
    return _suffix_forms(village.name) | {_canon(a) for a in village.aliases} - {""}


def _place_terms(
    ref: Reference, village_codes: dict[str, list[str]], village_town: dict[str, str], exclude: Iterable[str]
) -> tuple[dict[str, _Term], set[str]]:
    """The town terms of ``places.csv`` and the names that tell no town because several claim it.

    Old names, landmarks, roads and villages not in the village file tell the town as its name
    does: a long one like its full name, a two-character one only weakly. A village is known in
    all its suffix forms; a form some table wrote down outweighs one derived from another town's
    name (望牛墩's 寮厦村 against 厚街's 寮厦 / 寮厦社区). A form still claimed by several towns (a
    shared row, two compilations that disagree) tells none of them: "unknown" goes to a person, a
    wrong town sends the appeal to the wrong office.
    """
    skip = set(exclude)
    written: dict[str, set[str]] = {}
    derived: dict[str, set[str]] = {}

    def claim(forms: set[str], town: str, table: dict[str, set[str]]) -> None:
        for form in forms - skip:
            table.setdefault(form, set()).add(town)

    for place in ref.places:
        for name in (place.name, *place.aliases):
            is_village = place.kind in ("village", "shared")
            forms = _suffix_forms(name) if is_village else {_canon(name)}
            # A shared row says every form of the name is borne in each of its towns.
            claim(forms if place.kind == "shared" else {_canon(name)}, place.town_code, written)
            claim(forms, place.town_code, derived)
    for village in ref.villages:
        claim(
            {_canon(village.name), *(_canon(a) for a in village.aliases)} - {""}, village.town_code, written
        )
        claim(_village_forms(village), village.town_code, derived)

    terms: dict[str, _Term] = {}
    contested: set[str] = set()
    for form in written.keys() | derived.keys():
        towns = written.get(form) or derived[form]
        if len(towns) > 1:
            contested.add(form)
            if form not in village_codes:
                terms[form] = _Term(form, "contested", ())
            continue
        (town,) = towns
        if form in village_codes and {village_town[c] for c in village_codes[form]} == towns:
            continue  # the village file's own name: a village term, which can pick the village
        if form in written:
            terms[form] = _Term(form, "town_full" if len(form) >= 3 else "town_short", (town,))
        elif len(form) > 2:
            # A derived form is weak evidence (沙新村 of 沙新社区 also reads in 罗沙新村), and a bare
            # two-character stem nobody wrote down is an everyday word too often (上截 in 以上截肢).
            terms[form] = _Term(form, "town_short", (town,))
    return terms, contested


def _build_index(ref: Reference) -> _Index:
    town_terms: dict[str, _Term] = {}
    for town in ref.towns:
        full = {_canon(town.full_name)} | {_canon(a) for a in town.aliases if len(_canon(a)) >= 3}
        # Two-character forms are everyday words too (长安街, 沙田 in Hong Kong): weaker evidence.
        short = ({_canon(town.name)} | {_canon(a) for a in town.aliases}) - full
        for form in full:
            town_terms[form] = _Term(form, "town_full", (town.code,))
        for form in short:
            town_terms.setdefault(form, _Term(form, "town_short", (town.code,)))
    village_codes: dict[str, list[str]] = {}
    for village in ref.villages:
        for form in _village_forms(village):
            # A village spelled like a town (长安社区 -> 长安) must not steal the town's name.
            if form not in town_terms:
                village_codes.setdefault(form, []).append(village.code)
    village_town = {v.code: v.town_code for v in ref.villages}
    place_terms, contested = _place_terms(ref, village_codes, village_town, exclude=town_terms.keys())
    town_terms.update(place_terms)

    terms = list(town_terms.values())
    terms += [_Term(form, "village", tuple(sorted(codes))) for form, codes in village_codes.items()]
    by_first: dict[str, list[_Term]] = {}
    for term in terms:
        by_first.setdefault(term.text[0], []).append(term)

    grid = {_canon_grid(v.grid_prefix): v.code for v in ref.villages}
    kept = sorted((t.text for t in terms if t.text.startswith(_NOISE)), key=len, reverse=True)
    noise = "|".join(map(re.escape, _NOISE))
    if kept:
        # 东莞东站 is a place in 常平, not the city's name before 东站.
        noise = "(?!" + "|".join(map(re.escape, kept)) + ")(?:" + noise + ")"
    return _Index(
        by_first_char={ch: tuple(sorted(ts, key=lambda t: -len(t.text))) for ch, ts in by_first.items()},
        noise=re.compile(noise),
        village_town=village_town,
        villages={v.code: v for v in ref.villages},
        grid=grid,
        grid_lengths=tuple(sorted({len(p) for p in grid}, reverse=True)),
        town_codes=frozenset(t.code for t in ref.towns),
        contested=frozenset(contested),
    )


@lru_cache(maxsize=8)
def _index_for(ref: Reference) -> _Index:
    return _build_index(ref)


def _prepare(text: str, index: _Index) -> str:
    return index.noise.sub(_CUT, _canon(text))


def _find_hits(text: str, index: _Index) -> list[_Hit]:
    hits: list[_Hit] = []
    for i, ch in enumerate(text):
        for term in index.by_first_char.get(ch, ()):
            if text.startswith(term.text, i):
                hits.append(_Hit(i, i + len(term.text), term))
    # "横沥村头村" is 横沥 (the town) + 村头村 (its village), not 横沥村 (a village of 望牛墩) + 头村:
    # a village named like a town gives way when the town's own village follows the town's name.
    towns_at = {(h.start, h.end): h.term.codes[0] for h in hits if h.term.kind in ("town_full", "town_short")}
    hits = [
        h
        for h in hits
        if not (
            h.term.kind == "village"
            and any(
                s == h.start
                and any(
                    g.start == e
                    and g.term.kind == "village"
                    and town in {index.village_town[c] for c in g.term.codes}
                    for g in hits
                )
                for (s, e), town in towns_at.items()
            )
        )
    ]
    # A term inside a longer matched term is part of that name, not a mention of its own
    # ("虎门" in "虎门寨社区", "长安" in "长安塘村").
    return [
        h
        for h in hits
        if not any(g.length > h.length and g.start <= h.start and h.end <= g.end for g in hits if g is not h)
    ]


def _canon_grid(code: str) -> str:
    return fold_width(code).strip().replace(" ", "").upper()
