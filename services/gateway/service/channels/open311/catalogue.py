"""The service catalogue: our categories as Open311 service types, and the discovery document.

Each category of the vocabulary is a GeoReport service with a Chinese description and
keywords; a service's definition lists the attributes a request of it may carry (town,
beneficiaries, urgency, and for a micro-wish the hukou and the amount).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final

from services.common.reference import load_reference
from services.contracts.vocabulary import (
    CATEGORY_NAMES,
    KIND_NAMES,
    KIND_OF,
    URGENCY_NAMES,
    Category,
    Kind,
)

JURISDICTION: Final = "dongguan.gov.cn"
SPECIFICATION: Final = "http://wiki.open311.org/GeoReport_v2"
CHANGESET: Final = "2026-11-27T00:00:00+08:00"


@dataclass(frozen=True)
class Service:
    """One of our categories as an Open311 service type (its name and kind are the vocabulary's)."""

    code: Category
    description: str
    keywords: str

    @property
    def name(self) -> str:
        """The category's Chinese name."""
        return CATEGORY_NAMES[self.code]

    @property
    def kind(self) -> Kind:
        """民生微实事 or 民生微心愿, by the category."""
        return KIND_OF[self.code]


SERVICES: Final[tuple[Service, ...]] = (
    Service("environment", "公共区域的绿化、卫生、路灯、道路等环境问题", "绿化,垃圾,路灯,卫生,道路,排水"),
    Service("housing_repair", "老旧房屋、楼道、屋面、外墙等的修缮", "漏水,楼道,外墙,屋面,危房"),
    Service("facility", "无障碍通道、休闲设施、便民设施等的建设", "无障碍,坡道,健身器材,座椅,便民"),
    Service(
        "public_service", "为长者、青少年、残疾人等特殊群体提供的公益服务", "长者,青少年,残疾人,志愿服务"
    ),
    Service("living", "个人或家庭遭遇突发事件后的临时生活困难", "临时救助,困难,火灾,意外"),
    Service("medical", "因病致困家庭的医疗费用帮扶", "看病,住院,医疗费,大病"),
    Service("education", "学费、助学等教育困难", "学费,助学,上学"),
    Service("elderly_care", "长者照护、居家养老等服务", "老人,照护,居家养老"),
    Service("employment", "失业人员就业、技能培训等帮扶", "失业,找工作,培训"),
    Service("housing", "住房困难、危房改造等", "住房,租房,危房"),
    Service("counselling", "心理咨询与疏导服务", "心理,情绪,疏导"),
    Service("rights", "法律援助与权益保护", "法律援助,维权,欠薪"),
    Service("hospice", "临终关怀与安宁疗护服务", "临终关怀,安宁疗护"),
)
SERVICES_BY_CODE: Final[dict[str, Service]] = {s.code: s for s in SERVICES}


def service_doc(service: Service) -> dict[str, Any]:
    """A `service` of GET services."""
    return {
        "service_code": service.code,
        "service_name": service.name,
        "description": f"{service.description}（{KIND_NAMES[service.kind]}）",
        "metadata": True,
        "type": "realtime",
        "keywords": service.keywords,
        "group": KIND_NAMES[service.kind],
    }


def _attribute(
    code: str, datatype: str, description: str, order: int, values: Sequence[tuple[str, str]] = ()
) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "variable": True,
        "code": code,
        "datatype": datatype,
        "required": False,
        "datatype_description": None,
        "order": order,
        "description": description,
    }
    if values:
        doc["values"] = [{"key": key, "name": name} for key, name in values]
    return doc


def definition_doc(service: Service) -> dict[str, Any]:
    """GET services/{code}: the attributes a request of this type may carry."""
    towns = [(t.code, t.name) for t in load_reference().towns]
    urgency = [(u, URGENCY_NAMES[u]) for u in ("normal", "urgent")]
    attributes = [
        _attribute("town", "singlevaluelist", "所在镇街", 1, towns),
        _attribute("beneficiary_count", "number", "受益人数", 2),
    ]
    if service.kind == "micro_wish":
        attributes += [
            _attribute(
                "urgency",
                "singlevaluelist",
                "紧急程度",
                3,
                [*urgency, ("emergency", URGENCY_NAMES["emergency"])],
            ),
            _attribute("hukou_local", "singlevaluelist", "是否东莞户籍", 4, [("yes", "是"), ("no", "否")]),
            _attribute("estimated_amount_yuan", "number", "所需帮扶金额（元）", 5),
        ]
    else:
        attributes += [_attribute("urgency", "singlevaluelist", "紧急程度", 3, urgency)]
    return {"service_code": service.code, "attributes": attributes}


def discovery_doc(base_url: str) -> dict[str, Any]:
    """GET discovery: where the endpoint is and what it speaks."""
    return {
        "changeset": CHANGESET,
        "contact": "东莞市民生大莞家 12345 / https://guanjia.dg.gov.cn",
        "key_service": "API keys are issued by the city (guanjia apikey create)",
        "endpoints": [
            {
                "specification": SPECIFICATION,
                "url": base_url.rstrip("/") + "/open311/v2",
                "changeset": CHANGESET,
                "type": "production",
                "formats": ["application/json", "text/xml"],
            }
        ],
    }
