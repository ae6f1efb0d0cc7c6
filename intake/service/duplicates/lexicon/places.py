"""Place words: suffixes that make a token a place, and place words too common to tell two spots apart.

Place words are taken out of the text and compared separately (see `similarity.location_score`).
"""

from __future__ import annotations

# Words that name a kind of place rather than a place; a token ending in one is a place token.
PLACE_SUFFIXES: tuple[str, ...] = (
    "路",
    "街",
    "巷",
    "大道",
    "村",
    "社区",
    "小区",
    "花园",
    "新村",
    "广场",
    "市场",
    "公园",
    "大厦",
    "工业区",
    "镇",
    "街道",
    "区",
    "河",
    "小学",
    "中学",
    "学校",
    "幼儿园",
    "医院",
)
# Place words too common to say "the same spot" when both appeals use them (they still say
# "another spot" when the two use different ones).
GENERIC_PLACES: frozenset[str] = frozenset(
    [
        "市场",
        "菜市场",
        "农贸市场",
        "公园",
        "小区",
        "广场",
        "文化广场",
        "大街",
        "街道",
        "工业区",
        "小学",
        "中学",
        "学校",
        "幼儿园",
        "医院",
        "老旧小区",
        "大道",
        "河",
        "片区",
        "辖区",
        "社区",
        "村",
        "花园",
        "路口",
        "十字路口",
    ]
)
# ... except these, which are things, not places.
NOT_PLACES: frozenset[str] = frozenset({"马路", "道路", "小路", "公路", "水泥路", "村道", "巷道", "人行道"})
PLACE_WORDS: frozenset[str] = frozenset(
    {"东莞", "东莞市", "广东", "广东省", "市", "镇", "村", "社区", "街道"}
)
