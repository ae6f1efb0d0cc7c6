"""Reference data: towns, villages, departments, and the village-file loader."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from services.common.reference import (
    DONGGUAN_LAT_RANGE,
    DONGGUAN_LNG_RANGE,
    VILLAGE_CSV_COLUMNS,
    Reference,
    ReferenceDataError,
    Town,
    Village,
    load_reference,
    load_villages_csv,
)

# DESIGN §4, verbatim.
SUBDISTRICTS = ["莞城", "南城", "东城", "万江"]
TOWNS = [
    "石碣",
    "石龙",
    "茶山",
    "石排",
    "企石",
    "横沥",
    "桥头",
    "谢岗",
    "东坑",
    "常平",
    "寮步",
    "樟木头",
    "大朗",
    "黄江",
    "清溪",
    "塘厦",
    "凤岗",
    "大岭山",
    "长安",
    "虎门",
    "厚街",
    "沙田",
    "道滘",
    "洪梅",
    "麻涌",
    "望牛墩",
    "中堂",
    "高埗",
]
DEPARTMENT_CODES = {
    "civil_affairs",
    "hrss",
    "medical_security",
    "health",
    "education",
    "housing",
    "disabled_persons",
    "justice",
    "veterans",
    "women",
    "youth",
    "trade_union",
    "urban_management",
    "ecology",
    "agriculture",
    "emergency",
    "natural_resources",
}
HEADER = ",".join(VILLAGE_CSV_COLUMNS)


@pytest.fixture(scope="module")
def ref() -> Reference:
    return load_reference()


def test_thirty_three_towns_with_unique_codes(ref: Reference) -> None:
    assert len(ref.towns) == 33
    assert len({t.code for t in ref.towns}) == 33
    assert len({t.name for t in ref.towns}) == 33
    assert sorted(t.name for t in ref.towns if t.type == "subdistrict") == sorted(SUBDISTRICTS)
    assert sorted(t.name for t in ref.towns if t.type == "town") == sorted(TOWNS)
    assert [t.name for t in ref.towns if t.type == "zone"] == ["松山湖"]
    for town in ref.towns:
        assert re.fullmatch(r"441900\d{3}000", town.code), town


def test_full_names_follow_the_town_type(ref: Reference) -> None:
    for town in ref.towns:
        if town.type == "subdistrict":
            assert town.full_name == town.name + "街道"
        elif town.type == "town":
            assert town.full_name == town.name + "镇"
        else:
            assert town.full_name == "松山湖"


@pytest.mark.parametrize(
    ("name", "code"),
    [("东城", "441900003000"), ("莞城", "441900006000"), ("虎门", "441900121000"), ("长安", "441900119000")],
)
def test_known_statistical_codes(ref: Reference, name: str, code: str) -> None:
    town = ref.town_by_code(code)
    assert town is not None and town.name == name


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("虎门", "虎门镇"),
        ("虎门镇", "虎门镇"),
        ("東城區", "东城街道"),
        ("东城区", "东城街道"),
        ("东城街道", "东城街道"),
        ("松山湖高新区", "松山湖"),
        ("松山湖园区", "松山湖"),
        ("广东省东莞市长安镇", "长安镇"),
        (" 長安鎮 ", "长安镇"),
        ("ＳＳ", None),
        ("江南城", None),
    ],
)
def test_town_by_name(ref: Reference, query: str, expected: str | None) -> None:
    town = ref.town_by_name(query)
    assert (town.full_name if town else None) == expected


def test_every_village_belongs_to_a_known_town(ref: Reference) -> None:
    assert len(ref.villages) >= 120
    codes = [v.code for v in ref.villages]
    assert len(codes) == len(set(codes))
    for village in ref.villages:
        assert ref.town_by_code(village.town_code) is not None
        assert village.code[:9] == village.town_code[:9]
        assert village.grid_prefix == village.code
        assert DONGGUAN_LAT_RANGE[0] <= village.lat <= DONGGUAN_LAT_RANGE[1]
        assert DONGGUAN_LNG_RANGE[0] <= village.lng <= DONGGUAN_LNG_RANGE[1]
        assert ref.village_by_code(village.code) is village


def test_coverage_per_town(ref: Reference) -> None:
    for name in ("虎门", "长安", "东城", "南城", "莞城", "常平", "塘厦"):
        town = ref.town_by_name(name)
        assert town is not None
        assert len(ref.villages_of(town.code)) >= 8, name
    for town in ref.towns:
        # 松山湖 is a functional zone; no village of it could be confirmed (see the data notes).
        if town.type != "zone":
            assert len(ref.villages_of(town.code)) >= 2, town.name


def test_humen_communities(ref: Reference) -> None:
    humen = ref.town_by_name("虎门")
    assert humen is not None
    names = {v.name for v in ref.villages_of(humen.code)}
    assert {
        "北栅社区",
        "南栅社区",
        "白沙社区",
        "大宁社区",
        "龙眼社区",
        "怀德社区",
        "沙角社区",
        "赤岗社区",
    } <= names


def test_departments(ref: Reference) -> None:
    assert {d.code for d in ref.departments} == DEPARTMENT_CODES
    civil = ref.department_by_code("civil_affairs")
    assert civil is not None
    assert (civil.name, civil.short_name) == ("东莞市民政局", "民政局")
    assert all(d.name.startswith(("东莞市", "共青团东莞市")) for d in ref.departments)
    assert ref.department_by_code("nope") is None


def test_lookups_of_unknown_codes(ref: Reference) -> None:
    assert ref.town_by_code("441900999000") is None
    assert ref.village_by_code("441900121999") is None
    assert ref.villages_of("441900999000") == ()


def test_load_reference_is_cached() -> None:
    assert load_reference() is load_reference()


def test_packaged_file_round_trips_through_the_loader(ref: Reference, tmp_path: Path) -> None:
    lines = [HEADER]
    for v in ref.villages:
        lines.append(
            f"{v.code},{v.town_code},{v.name},{v.type},{'|'.join(v.aliases)},{v.lat},{v.lng},{v.grid_prefix}"
        )
    path = tmp_path / "villages.csv"
    # A BOM, as spreadsheet exports write it, must not break the header.
    path.write_text("\ufeff" + "\n".join(lines) + "\n", encoding="utf-8")
    loaded = load_villages_csv(path)
    assert loaded == list(ref.villages)
    merged = ref.with_villages(loaded[:5])
    assert len(merged.villages) == 5
    assert len(merged.towns) == 33


def _write(tmp_path: Path, *rows: str, header: str = HEADER) -> Path:
    path = tmp_path / "v.csv"
    path.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    return path


GOOD_ROW = "441900121901,441900121000,测试社区,community,测试|测试村,22.82,113.67,441900121901"


def test_loader_accepts_a_good_row(tmp_path: Path) -> None:
    [village] = load_villages_csv(_write(tmp_path, GOOD_ROW))
    assert village == Village(
        "441900121901",
        "441900121000",
        "测试社区",
        "community",
        ("测试", "测试村"),
        22.82,
        113.67,
        "441900121901",
    )


@pytest.mark.parametrize(
    ("row", "header", "message"),
    [
        (GOOD_ROW, "code,town,name,type,aliases,lat,lng,grid_prefix", "header"),
        (GOOD_ROW.replace("441900121901,4", "44190012190,4"), HEADER, "village code"),
        (GOOD_ROW.replace("441900121000", "441900122000"), HEADER, "not inside town"),
        (GOOD_ROW.replace("community", "hamlet"), HEADER, "unknown type"),
        (GOOD_ROW.replace("22.82", "31.23"), HEADER, "outside Dongguan"),
        (GOOD_ROW.replace("113.67", "east"), HEADER, "not a number"),
        (GOOD_ROW.rsplit(",", 1)[0], HEADER, "expected 8 fields"),
        (GOOD_ROW.rsplit(",", 1)[0] + ",", HEADER, "empty grid_prefix"),
    ],
)
def test_loader_rejects_bad_rows(tmp_path: Path, row: str, header: str, message: str) -> None:
    with pytest.raises(ReferenceDataError, match=message):
        load_villages_csv(_write(tmp_path, row, header=header))


def test_loader_rejects_duplicate_codes(tmp_path: Path) -> None:
    with pytest.raises(ReferenceDataError, match=r"v\.csv:3: duplicate"):
        load_villages_csv(_write(tmp_path, GOOD_ROW, GOOD_ROW))


def test_reference_rejects_a_village_of_an_unknown_town() -> None:
    town = Town("441900121000", "虎门", "虎门镇", "town")
    stray = Village("441900122001", "441900122000", "某社区", "community", (), 22.9, 113.7, "441900122001")
    with pytest.raises(ReferenceDataError, match="unknown town"):
        Reference([town], [stray])


def test_reference_rejects_a_name_shared_by_two_towns() -> None:
    a = Town("441900121000", "虎门", "虎门镇", "town", ("海边",))
    b = Town("441900122000", "厚街", "厚街镇", "town", ("海边",))
    with pytest.raises(ReferenceDataError, match="names both"):
        Reference([a, b], [])


def test_places_file_states_its_source_and_refuses_bad_rows(ref: Reference) -> None:
    from services.common.reference import parse_places_csv

    text = (Path(__file__).parents[2] / "services/common/reference/places.csv").read_text(encoding="utf-8")
    assert text.startswith("#") and "Source:" in text
    good = "name,town,kind,note\n威远炮台|威远岛,虎门,landmark,fort\n"
    [place] = parse_places_csv(good, ref.towns)
    assert (place.name, place.aliases, place.kind) == ("威远炮台", ("威远岛",), "landmark")
    for bad in ("name,town,kind,note\nX,火星,landmark,\n", "name,town,kind,note\nX,虎门,castle,\n", "a,b\n"):
        with pytest.raises(ReferenceDataError):
            parse_places_csv(bad, ref.towns)
    twice = parse_places_csv("name,town,kind,note\n同名,虎门,village,\n同名,长安,village,\n", ref.towns)
    with pytest.raises(ReferenceDataError):
        Reference(ref.towns, ref.villages, ref.departments, twice)
