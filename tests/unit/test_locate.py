"""Location resolution: grid code > address > free text > coordinates."""

from __future__ import annotations

from collections import Counter

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.common.reference import Reference, Town, Village, load_reference
from services.common.reference.locate import (
    NEAREST_VILLAGE_MAX_METRES,
    LocationMatch,
    bd09_to_gcj02,
    gcj02_to_wgs84,
    haversine_metres,
    resolve_location,
    wgs84_to_gcj02,
)

HUMEN = "441900121000"
BEIZHA = "441900121001"
CHANGAN = "441900119000"
DONGCHENG = "441900003000"
HENGLI = "441900106000"
DONGKENG = "441900109000"
WANGNIUDUN = "441900127000"


@pytest.fixture(scope="module")
def ref() -> Reference:
    return load_reference()


def _village(ref: Reference, town_code: str, name: str) -> Village:
    [village] = [v for v in ref.villages_of(town_code) if v.name == name]
    return village


@pytest.mark.parametrize(
    "address",
    [
        "虎门镇北栅社区",
        "东莞虎门北栅",
        "虎门北栅村",
        "广东省东莞市虎门镇北栅社区太安路88号",
        "東莞市虎門鎮北柵社區",
        "虎门镇 北栅",
        "北栅社区",  # unique in the data: the village implies its town
    ],
)
def test_address_forms_resolve_to_beizha(address: str) -> None:
    match = resolve_location(address)
    assert (match.town_code, match.village_code, match.method) == (HUMEN, BEIZHA, "address")
    assert 0.8 <= match.confidence <= 1.0


def test_traditional_town_name() -> None:
    match = resolve_location("長安鎮")
    assert (match.town_code, match.village_code, match.method) == (CHANGAN, None, "address")
    assert match.evidence == "长安镇"


def test_full_width_and_spacing_are_tolerated() -> None:
    assert resolve_location("虎门镇　北栅社区１号").village_code == BEIZHA


def test_explicit_district_beats_a_short_name_inside_a_word() -> None:
    match = resolve_location("东莞市东城区江南城市花园3栋")
    assert match.town_code == DONGCHENG
    assert match.evidence == "东城区"
    # Alone, the short name is only weak evidence.
    weak = resolve_location("江南城市花园")
    assert weak.confidence <= 0.6


def test_dongguan_prefix_does_not_leak_guancheng() -> None:
    # "东莞城市花园" contains 莞城 only because of the city's own name.
    assert resolve_location("东莞城市花园").method == "none"


def test_longest_match_wins_over_a_town_name_inside_a_village_name(ref: Reference) -> None:
    match = resolve_location("长安塘村")
    assert match.town_code == DONGKENG
    assert match.village_code == _village(ref, DONGKENG, "长安塘村").code
    match = resolve_location("望牛墩横沥村")
    assert match.town_code == WANGNIUDUN
    assert match.village_code == _village(ref, WANGNIUDUN, "横沥村").code
    assert resolve_location("横沥镇").town_code == HENGLI


def test_village_name_shared_by_two_towns(ref: Reference) -> None:
    # 村头 is a community of 虎门 and a village of 横沥.
    humen_cuntou = _village(ref, HUMEN, "村头社区")
    hengli_cuntou = _village(ref, HENGLI, "村头村")
    assert resolve_location("虎门村头社区").village_code == humen_cuntou.code
    assert resolve_location("横沥镇村头村").village_code == hengli_cuntou.code
    assert resolve_location("横沥镇村头社区").village_code == hengli_cuntou.code
    ambiguous = resolve_location("村头社区")
    assert (ambiguous.town_code, ambiguous.village_code, ambiguous.method) == (None, None, "none")


def _two_town_reference() -> Reference:
    a = Town("441900901000", "甲", "甲镇", "town")
    b = Town("441900902000", "乙", "乙镇", "town")
    villages = [
        Village("441900901001", a.code, "新村社区", "community", (), 22.9, 113.8, "441900901001"),
        Village("441900902001", b.code, "新村社区", "community", (), 23.0, 113.9, "441900902001"),
        Village("441900902002", b.code, "独有村", "village", (), 23.01, 113.91, "441900902002"),
    ]
    return Reference([a, b], villages)


def test_shared_name_rule_on_synthetic_data() -> None:
    ref = _two_town_reference()
    assert resolve_location("新村社区", ref=ref).method == "none"
    assert resolve_location("甲镇新村社区", ref=ref).village_code == "441900901001"
    assert resolve_location("乙镇新村社区", ref=ref).village_code == "441900902001"
    unique = resolve_location("独有村", ref=ref)
    assert (unique.town_code, unique.village_code) == ("441900902000", "441900902002")
    # A shared name is settled by coordinates when the text cannot settle it.
    near_a = resolve_location("新村社区", lat=22.9005, lng=113.8005, ref=ref)
    assert (near_a.village_code, near_a.method) == ("441900901001", "coordinates")


def test_grid_code_is_an_exact_prefix() -> None:
    match = resolve_location(None, grid_code="441900121001-07")
    assert match == LocationMatch(HUMEN, BEIZHA, "grid_code", 1.0, "441900121001")
    assert resolve_location(None, grid_code="４４１９００１２１００１－０７").village_code == BEIZHA
    # An unknown grid of a known town still gives the town.
    unknown = resolve_location(None, grid_code="441900121987-01")
    assert (unknown.town_code, unknown.village_code, unknown.method) == (HUMEN, None, "grid_code")
    # A code that only starts like a village code is not that village.
    assert resolve_location(None, grid_code="4419001210015").village_code is None


def test_grid_code_beats_address_and_address_beats_text() -> None:
    match = resolve_location("长安镇霄边社区", text="虎门北栅", grid_code="441900121001-01")
    assert (match.village_code, match.method) == (BEIZHA, "grid_code")
    match = resolve_location("长安镇", text="虎门北栅")
    assert (match.town_code, match.method) == (CHANGAN, "address")
    match = resolve_location("", text="我家在东莞虎门北栅，门口路灯坏了")
    assert (match.village_code, match.method) == (BEIZHA, "text")
    assert match.confidence < resolve_location("虎门北栅").confidence


def test_garbage_grid_code_falls_back_to_address() -> None:
    match = resolve_location("虎门北栅", grid_code="XYZ-1")
    assert (match.village_code, match.method) == (BEIZHA, "address")


def test_later_source_adds_the_village_inside_the_same_town(ref: Reference) -> None:
    beizha = _village(ref, HUMEN, "北栅社区")
    match = resolve_location("虎门镇", lat=beizha.lat + 0.001, lng=beizha.lng)
    assert (match.town_code, match.village_code, match.method) == (HUMEN, BEIZHA, "address")
    assert "+" in match.evidence
    # Coordinates in another town do not override the named town.
    changan = _village(ref, CHANGAN, "霄边社区")
    match = resolve_location("虎门镇", lat=changan.lat, lng=changan.lng)
    assert (match.town_code, match.village_code) == (HUMEN, None)


def test_gcj02_coordinates_near_humen(ref: Reference) -> None:
    beizha = _village(ref, HUMEN, "北栅社区")
    gcj_lat, gcj_lng = wgs84_to_gcj02(beizha.lat, beizha.lng)
    # The GCJ-02 offset here is several hundred metres: enough to matter between villages.
    assert 300 < haversine_metres(beizha.lat, beizha.lng, gcj_lat, gcj_lng) < 800
    match = resolve_location(None, lat=gcj_lat, lng=gcj_lng, datum="gcj02")
    assert (match.town_code, match.village_code, match.method) == (HUMEN, BEIZHA, "coordinates")
    assert match.confidence > 0.7
    # A WeChat point in 虎门's town centre lands on a 虎门 village.
    centre = resolve_location(None, lat=22.8172, lng=113.6751, datum="GCJ-02")
    assert centre.town_code == HUMEN


def test_coordinates_far_from_any_village_resolve_to_nothing() -> None:
    # Guangzhou, Tianhe: well outside every centroid's radius.
    assert resolve_location(None, lat=23.13, lng=113.33).method == "none"
    assert resolve_location(None, lat=float("nan"), lng=113.67).method == "none"


def test_unknown_datum_is_an_error() -> None:
    with pytest.raises(ValueError, match="datum"):
        resolve_location(None, lat=22.8, lng=113.6, datum="osgb36")


def test_nothing_to_go_on() -> None:
    assert resolve_location(None) == LocationMatch(None, None, "none", 0.0, "")
    assert resolve_location("   ", text="路灯坏了").method == "none"


def test_transform_vectors() -> None:
    # Published example of wandergis/coordtransform (README): Tiananmen.
    lat, lng = wgs84_to_gcj02(39.915, 116.404)
    assert lat == pytest.approx(39.91640428150164, abs=1e-9)
    assert lng == pytest.approx(116.41024449916938, abs=1e-9)
    lat, lng = bd09_to_gcj02(39.915, 116.404)
    assert lat == pytest.approx(39.90865673957631, abs=1e-9)
    assert lng == pytest.approx(116.39762729119315, abs=1e-9)
    # Outside China nothing is shifted.
    assert wgs84_to_gcj02(51.5, -0.12) == (51.5, -0.12)
    assert gcj02_to_wgs84(51.5, -0.12) == (51.5, -0.12)


@given(
    lat=st.floats(min_value=22.6, max_value=23.2),
    lng=st.floats(min_value=113.5, max_value=114.3),
)
def test_gcj02_inverse_round_trips(lat: float, lng: float) -> None:
    back_lat, back_lng = gcj02_to_wgs84(*wgs84_to_gcj02(lat, lng))
    assert haversine_metres(lat, lng, back_lat, back_lng) < 0.01


def test_beyond_the_radius_the_nearest_village_is_not_used(ref: Reference) -> None:
    # Out in the Pearl River estuary, west of 虎门.
    lat, lng = 22.86, 113.62
    nearest = min(haversine_metres(lat, lng, v.lat, v.lng) for v in ref.villages)
    assert NEAREST_VILLAGE_MAX_METRES < nearest < 2 * NEAREST_VILLAGE_MAX_METRES
    assert resolve_location(None, lat=lat, lng=lng).method == "none"


# --- places that tell the town without naming it (places.csv) -------------------------------


@pytest.mark.parametrize(
    ("text", "town"),
    [
        ("太平镇人民路有个井盖不见了", "虎门"),  # an old name
        ("篁村区那边的老房子漏水", "南城"),
        ("威远炮台附近的路烂了很久", "虎门"),  # a landmark
        ("旗峰公园门口的垃圾桶满了", "东城"),
        ("华南MALL旁边的路口积水", "万江"),
        ("住在华阳湖湿地公园附近", "麻涌"),
        ("常平大京九市场后面的巷子没有路灯", "常平"),
        ("连升路那边的下水道堵了", "虎门"),  # a road
        ("寮步石龙坑村的路灯坏了", "寮步"),  # a village whose name holds another town's
        ("我哋喺寮边头村，屋顶漏水", "东坑"),  # a village not in the village file
        ("溪流背坡村那边的公交站没有遮阳棚", "松山湖"),
        ("东莞东站出站口的地道积水", "常平"),  # a place that starts with the city's name
    ],
)
def test_places_tell_the_town(ref: Reference, text: str, town: str) -> None:
    match = resolve_location(None, text=text)
    assert match.town_code is not None and match.method == "text"
    found = ref.town_by_code(match.town_code)
    assert found is not None and found.name == town, (text, match)
    assert match.village_code is None  # a place names a town, never a village it cannot code


def test_a_named_town_outweighs_a_short_place_of_another(ref: Reference) -> None:
    # 溪头 is a village of 厚街 (two characters: weak); the full town name decides.
    match = resolve_location(None, text="长安镇溪头那边")
    assert match.town_code == CHANGAN


def test_every_place_is_in_a_known_town_and_named_once(ref: Reference) -> None:
    names = [n for p in ref.places if p.kind != "shared" for n in (p.name, *p.aliases)]
    assert len(names) >= 140
    assert len(names) == len(set(names))
    shared = Counter(p.name for p in ref.places if p.kind == "shared")  # one row per town bearing it
    assert shared and min(shared.values()) >= 2
    assert all(ref.town_by_code(p.town_code) is not None for p in ref.places)
    assert all(ref.town_by_name(n) is None for n in names)


@pytest.mark.parametrize(
    ("text", "town"),
    [
        ("我是樟村的，我妈妈住院了", "东城"),  # a two-character village name that is only a place
        ("我们住在雁田，孩子想学琴", "凤岗"),
        ("蛤地那个桥底下好脏", "南城"),
    ],
)
def test_a_distinctive_two_character_village_places_the_appeal(ref: Reference, text: str, town: str) -> None:
    match = resolve_location(None, text=text)
    found = ref.town_by_code(match.town_code) if match.town_code else None
    assert found is not None and found.name == town, (text, match)


def test_an_everyday_word_that_is_also_a_village_places_nothing() -> None:
    assert resolve_location(None, text="希望天下太平，大家光明正大").town_code is None


def test_the_town_followed_by_its_village_beats_a_village_named_like_the_town() -> None:
    # 望牛墩 has a 横沥村; "横沥村头村" is 横沥 (the town) and its 村头村.
    match = resolve_location(None, text="走访记录：横沥村头村低保户张某")
    assert match.town_code == HENGLI
    assert resolve_location(None, text="望牛墩横沥村的河涌很臭").town_code == WANGNIUDUN


def _with_places(ref: Reference, csv_rows: str) -> Reference:
    from services.common.reference import parse_places_csv

    places = parse_places_csv("name,town,kind,note\n" + csv_rows, ref.towns)
    return Reference(ref.towns, ref.villages, ref.departments, (*ref.places, *places))


def test_a_name_borne_in_two_towns_places_no_appeal(ref: Reference) -> None:
    # A shared row, or two towns' names that only meet in a derived form (鹊桥湾 of 虎门 and
    # 鹊桥湾村 of 长安 both give 鹊桥湾社区): "unknown" sends the appeal to a person, a guess would
    # send it to the wrong office.
    both = _with_places(ref, "鹊桥湾,虎门,village,\n鹊桥湾村,长安,village,\n雁鸣坊,虎门|长安,shared,\n")
    for text in ("鹊桥湾社区路灯坏了", "雁鸣坊那边路灯坏了", "雁鸣坊村水闸", "雁鸣坊社区门口"):
        assert resolve_location(text, ref=both).town_code is None, text
    # A form a table wrote down outweighs one derived from the other town's name.
    assert resolve_location("鹊桥湾村水闸旁的河涌发臭", ref=both).town_code == CHANGAN
    assert resolve_location("鹊桥湾那边", ref=both).town_code == HUMEN
    # The town named beside it still decides.
    assert resolve_location("长安镇雁鸣坊村水闸", ref=both).town_code == CHANGAN
    # Alone in the table, every suffix form places it.
    alone = _with_places(ref, "鹊桥湾村,长安,village,\n")
    for text in ("鹊桥湾村水闸", "鹊桥湾社区居委会门口", "鹊桥湾那边"):
        assert resolve_location(text, ref=alone).town_code == CHANGAN, text


def test_a_place_and_a_village_of_different_towns_cancel_out(ref: Reference) -> None:
    beizha = _village(ref, HUMEN, "北栅社区")
    clash = _with_places(ref, f"{beizha.name},长安,village,\n")
    assert resolve_location("北栅社区门口井盖没了", ref=clash).town_code is None
    assert resolve_location("虎门镇北栅社区门口", ref=clash).village_code == beizha.code


def test_a_bare_stem_nobody_wrote_is_no_place(ref: Reference) -> None:
    # 上截 of a village 上截村 is "以上截肢" in speech: only the forms with 村 / 社区 place it.
    with_village = _with_places(ref, "上截村,企石,village,\n")
    assert resolve_location(None, text="左腿膝盖以上截肢，想装假肢", ref=with_village).town_code is None
    assert resolve_location("上截社区", ref=with_village).town_code is not None


def test_an_everyday_word_is_a_place_when_speech_makes_it_one(ref: Reference) -> None:
    assert resolve_location(None, text="我在太平那边一家湘菜馆做服务员").town_code == HUMEN
    assert resolve_location(None, text="只求一家人平平安安，天下太平").town_code is None
