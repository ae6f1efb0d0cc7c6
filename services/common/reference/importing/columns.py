"""The columns of each register, under our English names or the Chinese a clerk would write."""

from __future__ import annotations

from typing import Final

from services.contracts.reference import ReferenceKind
from services.contracts.vocabulary import CATEGORY_NAMES

# kind -> column -> (Chinese label, required, other spellings accepted in a header)
COLUMNS: Final[dict[ReferenceKind, dict[str, tuple[str, bool, tuple[str, ...]]]]] = {
    "villages": {
        "code": ("村（社区）编码", True, ("编码", "代码", "村社区编码", "区划代码")),
        "town_code": ("镇街编码", True, ("镇街", "所属镇街", "镇街代码")),
        "name": ("名称", True, ("村（社区）名称", "村社区名称", "村名")),
        "type": ("类型", True, ("村或社区",)),
        "aliases": ("别名", False, ("曾用名",)),
        "lat": ("纬度", True, ("latitude",)),
        "lng": ("经度", True, ("longitude", "lon")),
        "grid_prefix": ("网格编码前缀", True, ("网格前缀",)),
    },
    "stations": {
        "code": ("驿站编码", True, ("编码",)),
        "name": ("驿站名称", True, ("名称",)),
        "town_code": ("镇街编码", True, ("镇街", "所属镇街")),
        "village_code": ("村（社区）编码", False, ("村社区编码", "所属村（社区）")),
        "services": ("服务类别", True, ("服务",)),
        "team": ("服务团队", False, ("团队",)),
        "active": ("是否启用", False, ("启用", "状态")),
    },
    "donors": {
        "register_code": ("资源库编号", True, ("编号", "登记编号")),
        "kind": ("类型", True, ("主体类型",)),
        "name": ("名称", True, ("单位或个人名称",)),
        "credit_code": ("统一社会信用代码", False, ("信用代码",)),
        "pool": ("资源库", True, ("所属资源库",)),
        "town_code": ("镇街编码", False, ("镇街", "所属镇街")),
    },
}

VILLAGE_TYPES: Final = {"社区": "community", "村": "village", "community": "community", "village": "village"}
DONOR_KINDS: Final = {
    "企业": "enterprise",
    "社会组织": "social_organisation",
    "个人": "individual",
    "enterprise": "enterprise",
    "social_organisation": "social_organisation",
    "individual": "individual",
}
POOLS: Final = {"市级": "city", "市": "city", "city": "city", "镇街": "town", "镇级": "town", "town": "town"}
TEAM_ROLES: Final = {
    "社会组织": "social_organisation",
    "社工": "social_worker",
    "社会工作者": "social_worker",
    "志愿者": "volunteer",
    "志愿服务队": "volunteer",
    "social_organisation": "social_organisation",
    "social_worker": "social_worker",
    "volunteer": "volunteer",
}
_NAMED: dict[str, str] = {name: code for code, name in CATEGORY_NAMES.items()}
CATEGORY_BY_NAME: Final[dict[str, str]] = _NAMED | {code: code for code in CATEGORY_NAMES}
TRUE_WORDS: Final = frozenset({"是", "启用", "true", "1", "yes", "y"})
FALSE_WORDS: Final = frozenset({"否", "停用", "false", "0", "no", "n"})


def header_map(kind: ReferenceKind, header: list[str]) -> tuple[dict[str, int], list[str]]:
    """Column name -> index in the file, and the problems of the header (Chinese)."""
    spellings = {
        spelling.lower(): name
        for name, (label, _required, others) in COLUMNS[kind].items()
        for spelling in (name, label, *others)
    }
    found: dict[str, int] = {}
    problems: list[str] = []
    for index, title in enumerate(header):
        name = spellings.get(title.strip().lower())
        if name is None:
            if title.strip():
                problems.append(f"无法识别的列「{title}」")
            continue
        if name in found:
            problems.append(f"列「{title}」重复")
        found[name] = index
    for name, (label, required, _) in COLUMNS[kind].items():
        if required and name not in found:
            problems.append(f"缺少列「{label}」（{name}）")
    return found, problems
