"""The shared vocabulary (共同词汇) of the programme: one definition of each term, with its Chinese label.

Every service, the gateway and the public contract take these types from here, so a value means
the same thing at every boundary and `/openapi.json` names one enum for each idea (DESIGN §4).
"""

from __future__ import annotations

from typing import Final, Literal, get_args

Kind = Literal["micro_project", "micro_wish"]
"""民生微实事 micro_project (public or group interest) | 民生微心愿 micro_wish (a person or family)."""

Category = Literal[
    "environment",
    "housing_repair",
    "facility",
    "public_service",
    "living",
    "medical",
    "education",
    "elderly_care",
    "employment",
    "housing",
    "counselling",
    "rights",
    "hospice",
]
"""DESIGN §4 taxonomy: the first four belong to micro-projects, the rest to micro-wishes."""

Urgency = Literal["normal", "urgent", "emergency"]
"""`emergency` is an individual's 急难事; `urgent` a hazard to many."""

Track = Literal["policy", "express", "direct", "station"]
"""政策办理 policy (a department) | 莞家速递 express | 莞家直达 direct (donors) | 莞家驿站 station."""

SecondaryTrack = Literal["express", "direct"]
"""A top-up beside a policy benefit: 莞家速递 (the special fund) or 莞家直达 (donors)."""

UnitType = Literal["city", "town", "village", "department", "station"]
"""The kinds of unit (单位) that hold appeals, clocks and money."""

Role = Literal["city_admin", "town_staff", "village_staff", "department_staff", "station_staff", "auditor"]
"""Staff roles (DESIGN §10)."""

Channel = Literal[
    "hotline_12345",
    "wechat_official",
    "wechat_miniprogram",
    "web_portal",
    "leader_station",
    "grid_inspector",
    "village_visit",
    "consultation_meeting",
    "online_consultation",
    "party_member_visit",
    "station_walk_in",
    "department_referral",
]
"""The twelve doors an appeal comes in by (DESIGN §4)."""

Status = Literal[
    "received",
    "triaged",
    "consulting",
    "approved",
    "in_progress",
    "completed",
    "reopened",
    "closed",
    "on_hold",
    "returned",
    "rejected",
    "merged",
    "withdrawn",
]
"""An appeal's state (DESIGN §4): 已受理, 已分拣, 协商中, 已批准, 办理中, 已办结, 重办, 已关闭, 暂缓, 退回,
不予受理, 已合并, 已撤回."""

EvaluationResult = Literal["resolved", "partly", "not"]
"""A return visit's (回访) result: 已解决 / 部分解决 / 未解决."""

Rating = Literal["satisfied", "basically_satisfied", "dissatisfied"]
"""A return visit's rating: 满意 / 基本满意 / 不满意."""

Evaluator = Literal["reporter", "staff"]
"""Who gave a return visit's rating: the reporter themself, or staff who asked them."""

ConsultationForm = Literal["residents_council", "party_masses_joint", "public_hearing", "online"]
"""The forms of a community consultation (协商议事): 居民议事会, 党群联席会议, 民情恳谈会, 网络协商."""

MeetingForm = Literal["residents_council", "party_masses_joint", "public_hearing", "consultation"]
"""A meeting whose minutes (会议纪要) staff file as appeals: the in-person consultation forms, spelt
as `ConsultationForm` spells them, or a consultation meeting of another kind (协商会议). 网络协商 has
its own channel, so it is no meeting here."""

KINDS: Final[tuple[Kind, ...]] = get_args(Kind)
CATEGORIES: Final[tuple[Category, ...]] = get_args(Category)
URGENCIES: Final[tuple[Urgency, ...]] = get_args(Urgency)
TRACKS: Final[tuple[Track, ...]] = get_args(Track)
UNIT_TYPES: Final[tuple[UnitType, ...]] = get_args(UnitType)
ROLES: Final[tuple[Role, ...]] = get_args(Role)
CHANNELS: Final[tuple[Channel, ...]] = get_args(Channel)
STATUSES: Final[tuple[Status, ...]] = get_args(Status)
EVALUATION_RESULTS: Final[tuple[EvaluationResult, ...]] = get_args(EvaluationResult)
RATINGS: Final[tuple[Rating, ...]] = get_args(Rating)
CONSULTATION_FORMS: Final[tuple[ConsultationForm, ...]] = get_args(ConsultationForm)
MEETING_FORMS: Final[tuple[MeetingForm, ...]] = get_args(MeetingForm)

PROJECT_CATEGORIES: Final[tuple[Category, ...]] = (
    "environment",
    "housing_repair",
    "facility",
    "public_service",
)
WISH_CATEGORIES: Final[tuple[Category, ...]] = tuple(c for c in CATEGORIES if c not in PROJECT_CATEGORIES)
CATEGORIES_BY_KIND: Final[dict[Kind, tuple[Category, ...]]] = {
    "micro_project": PROJECT_CATEGORIES,
    "micro_wish": WISH_CATEGORIES,
}
KIND_OF: Final[dict[Category, Kind]] = {
    category: kind for kind, categories in CATEGORIES_BY_KIND.items() for category in categories
}

KIND_NAMES: Final[dict[Kind, str]] = {"micro_project": "民生微实事", "micro_wish": "民生微心愿"}
CATEGORY_NAMES: Final[dict[Category, str]] = {
    "environment": "环境美化",
    "housing_repair": "房屋修缮",
    "facility": "服务设施建设",
    "public_service": "公益服务",
    "living": "生活救助",
    "medical": "医疗救助",
    "education": "教育帮扶",
    "elderly_care": "养老服务",
    "employment": "就业帮扶",
    "housing": "住房保障",
    "counselling": "心理疏导",
    "rights": "权益维护",
    "hospice": "安宁疗护",
}
URGENCY_NAMES: Final[dict[Urgency, str]] = {"normal": "一般", "urgent": "紧急", "emergency": "急难"}
TRACK_NAMES: Final[dict[Track, str]] = {
    "policy": "政策办理",
    "express": "莞家速递",
    "direct": "莞家直达",
    "station": "莞家驿站",
}
UNIT_NAMES: Final[dict[UnitType, str]] = {
    "city": "市级",
    "town": "镇街",
    "village": "村（社区）",
    "department": "职能部门",
    "station": "莞家驿站",
}
ROLE_NAMES: Final[dict[Role, str]] = {
    "city_admin": "市级管理员",
    "town_staff": "镇街工作人员",
    "village_staff": "村（社区）工作人员",
    "department_staff": "部门工作人员",
    "station_staff": "驿站工作人员",
    "auditor": "审计人员",
}
CHANNEL_NAMES: Final[dict[Channel, str]] = {
    "hotline_12345": "12345热线",
    "wechat_official": "莞家政务公众号",
    "wechat_miniprogram": "民生大莞家小程序",
    "web_portal": "网上平台",
    "leader_station": "领导干部驻点",
    "grid_inspector": "网格员巡查",
    "village_visit": "村（社区）干部走访",
    "consultation_meeting": "协商会议",
    "online_consultation": "网络协商",
    "party_member_visit": "党员干部走访",
    "station_walk_in": "莞家驿站",
    "department_referral": "部门转办",
}
RESULT_NAMES: Final[dict[EvaluationResult, str]] = {
    "resolved": "已解决",
    "partly": "部分解决",
    "not": "未解决",
}
RATING_NAMES: Final[dict[Rating, str]] = {
    "satisfied": "满意",
    "basically_satisfied": "基本满意",
    "dissatisfied": "不满意",
}
CONSULTATION_FORM_NAMES: Final[dict[ConsultationForm, str]] = {
    "residents_council": "居民议事会",
    "party_masses_joint": "党群联席会议",
    "public_hearing": "民情恳谈会",
    "online": "网络协商",
}
MEETING_FORM_NAMES: Final[dict[MeetingForm, str]] = {
    "residents_council": CONSULTATION_FORM_NAMES["residents_council"],
    "party_masses_joint": CONSULTATION_FORM_NAMES["party_masses_joint"],
    "public_hearing": CONSULTATION_FORM_NAMES["public_hearing"],
    "consultation": "协商会议",
}
# The minutes channel's first spellings, still accepted from clients built against them.
MEETING_FORM_ALIASES: Final[dict[str, MeetingForm]] = {
    "party_mass_joint": "party_masses_joint",
    "public_opinion_talk": "public_hearing",
}


SEND_BACK_REASON_NAMES: Final[dict[str, str]] = {
    "not_our_remit": "不属于本单位职责范围",
    "policy_not_applicable": "不符合所引政策的条件",
    "wrong_location": "属地错误，不在本辖区",
    "wrong_category": "诉求类别或性质判断有误",
    "insufficient_information": "诉求信息不全，无法办理",
    "duplicate": "与已办理诉求重复",
    "other": "其他原因",
}
"""Reason codes a unit may give for a send-back (退单), with the Chinese shown to the next desk
(routing checks them; the gateway's notifications name them)."""
