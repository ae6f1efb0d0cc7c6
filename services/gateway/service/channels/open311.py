"""Open311 GeoReport v2 (DESIGN §10): our categories as services, appeals as service requests.

Pure functions: the service catalogue and definitions, the mapping of a request to an
`AppealDraft` (channel `web_portal`, marked `"via": "open311"` in channel_extra), the mapping
of a public status to a GeoReport request, and the JSON / XML documents, errors included
(GeoReport's own `[{"code", "description"}]` list, never problem+json).
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final, Literal

from services.common.crypto import encrypt_pii_text
from services.common.personal import mask_email, mask_name
from services.common.public_text import public_text
from services.common.reference import load_reference
from services.common.timeutil import to_local
from services.contracts.appeals import AppealDraft, Location, PublicAppeal, Reporter
from services.contracts.disclosure import DisclosedAppeal
from services.contracts.vocabulary import (
    CATEGORY_NAMES,
    KIND_NAMES,
    KIND_OF,
    URGENCIES,
    URGENCY_NAMES,
    Category,
    Kind,
)

Format = Literal["json", "xml"]
JURISDICTION: Final = "dongguan.gov.cn"
SPECIFICATION: Final = "http://wiki.open311.org/GeoReport_v2"
CHANGESET: Final = "2026-11-27T00:00:00+08:00"
CLOSED_STATES: Final = frozenset({"completed", "closed", "rejected", "merged", "withdrawn"})
MAX_DESCRIPTION: Final = 4000
PAGE_SIZE_DEFAULT: Final = 50
PAGE_SIZE_MAX: Final = 200
MAX_REQUESTS: Final = 1000
# Containers of repeated elements in GeoReport's XML, and the name of each element.
XML_ITEMS: Final = {
    "services": "service",
    "service_requests": "request",
    "attributes": "attribute",
    "values": "value",
    "endpoints": "endpoint",
    "formats": "format",
    "errors": "error",
}


class Open311Error(Exception):
    """An error as Open311 clients expect it: HTTP status = code, with a description."""

    def __init__(self, code: int, description: str) -> None:
        super().__init__(description)
        self.code = code
        self.description = description


# --- services ------------------------------------------------------------------------------------


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


# --- creating a request --------------------------------------------------------------------------


@dataclass(frozen=True)
class NewRequest:
    """The parameters of POST requests, checked."""

    service: Service
    lat: float | None
    lng: float | None
    address: str | None
    address_id: str | None
    description: str
    media_url: str | None
    first_name: str | None
    last_name: str | None
    phone: str | None
    email: str | None
    device_id: str | None
    account_id: str | None
    attributes: dict[str, str]


def _text(form: Mapping[str, str], name: str, limit: int) -> str | None:
    value = (form.get(name) or "").strip()
    if len(value) > limit:
        raise Open311Error(400, f"{name} is longer than {limit} characters")
    return value or None


def _coordinate(form: Mapping[str, str], name: str, bound: float) -> float | None:
    raw = (form.get(name) or "").strip()
    if not raw:
        return None
    try:
        value = float(raw)
    except ValueError:
        raise Open311Error(400, f"{name} is not a number") from None
    if not -bound <= value <= bound:
        raise Open311Error(400, f"{name} is out of range")
    return value


_ATTRIBUTE = re.compile(r"^attribute\[([A-Za-z0-9_]{1,40})\]$")


def parse_new_request(form: Mapping[str, str]) -> NewRequest:
    """Check POST requests' parameters (GeoReport names, form-encoded)."""
    code = (form.get("service_code") or "").strip()
    if not code:
        raise Open311Error(400, "service_code was not provided")
    service = SERVICES_BY_CODE.get(code)
    if service is None:
        raise Open311Error(404, f"service_code {code} was not found")
    lat, lng = _coordinate(form, "lat", 90), _coordinate(form, "long", 180)
    if (lat is None) != (lng is None):
        raise Open311Error(400, "lat and long must be given together")
    address, address_id = _text(form, "address_string", 300), _text(form, "address_id", 64)
    if lat is None and address is None and address_id is None:
        raise Open311Error(400, "a location is required: lat/long, address_string or address_id")
    description = _text(form, "description", MAX_DESCRIPTION)
    if description is None:
        raise Open311Error(400, "description was not provided")
    media_url = _text(form, "media_url", 500)
    if media_url is not None and not media_url.startswith(("http://", "https://")):
        raise Open311Error(400, "media_url must be an http(s) URL")
    attributes = {
        m.group(1): str(v).strip() for k, v in form.items() if (m := _ATTRIBUTE.match(k)) and str(v).strip()
    }
    return NewRequest(
        service=service,
        lat=lat,
        lng=lng,
        address=address,
        address_id=address_id,
        description=description,
        media_url=media_url,
        first_name=_text(form, "first_name", 25),
        last_name=_text(form, "last_name", 25),
        phone=_text(form, "phone", 30),
        email=_text(form, "email", 120),
        device_id=_text(form, "device_id", 64),
        account_id=_text(form, "account_id", 64),
        attributes=attributes,
    )


def _int_attribute(attributes: Mapping[str, str], name: str) -> int | None:
    raw = attributes.get(name)
    if raw is None:
        return None
    try:
        value = float(raw)
    except ValueError:
        raise Open311Error(400, f"attribute[{name}] is not a number") from None
    if value < 0 or value > 1e9:
        raise Open311Error(400, f"attribute[{name}] is out of range")
    return int(value)


def to_draft(req: NewRequest, channel_ref: str, client_name: str) -> AppealDraft:
    """The request as an appeal of the portal channel, marked as coming through Open311."""
    attrs = req.attributes
    urgency = attrs.get("urgency")
    if urgency is not None and urgency not in URGENCIES:
        raise Open311Error(400, "attribute[urgency] must be normal, urgent or emergency")
    town = attrs.get("town")
    if town is not None and load_reference().town_by_code(town) is None:
        raise Open311Error(400, f"attribute[town] {town} is not a town code of services/{req.service.code}")
    amount = _int_attribute(attrs, "estimated_amount_yuan")
    hukou = {"yes": True, "no": False}.get(attrs.get("hukou_local", ""))
    name = "".join(filter(None, [req.last_name, req.first_name])) or None
    return AppealDraft(
        channel="web_portal",
        channel_ref=channel_ref,
        reporter=Reporter(name=name, phone=req.phone, hukou_local=hukou, role="resident"),
        description=req.description,
        location=Location(address=req.address, town_code=town, lat=req.lat, lng=req.lng, datum="wgs84"),
        beneficiary_count=_int_attribute(attrs, "beneficiary_count"),
        estimated_amount_fen=amount * 100 if amount is not None else None,
        urgency=urgency,
        category_hint=req.service.code,
        channel_extra={
            "via": "open311",
            "open311": {
                "client": client_name,
                "service_code": req.service.code,
                "address_id": req.address_id,
                "media_url": req.media_url,
                # An e-mail is personal data: kept encrypted, shown masked (issue 15).
                "email_masked": mask_email(req.email) if req.email else None,
                "email_enc": encrypt_pii_text(req.email) if req.email else None,
                "device_id": req.device_id,
                "account_id": req.account_id,
                "attributes": attrs,
            },
        },
    )


# --- reading requests ----------------------------------------------------------------------------

# Seven or more digits, also when written with spaces, dashes or dots between them ("139 2345 6789").
_LONG_DIGITS = re.compile(r"\d(?:[\s.\-]?\d){6,}")


def _mask_digits(number: str) -> str:
    kept = 0
    out = []
    for ch in number:
        if ch.isdigit():
            kept += 1
            out.append(ch if kept <= 3 else "*")
        else:
            out.append(ch)
    return "".join(out)


def public_description(text: str, names: Sequence[str | None] = ()) -> str:
    """A description fit for the public: long digit runs (phone, ID numbers) and the reporter's own
    name masked, then every other form of personal data `services.common.public_text` finds (names
    by context and surname, numbers in Chinese numerals, WeChat and QQ ids, plates, e-mail)."""
    out = _LONG_DIGITS.sub(lambda m: _mask_digits(m.group(0)), text)
    for name in sorted({n.strip() for n in names if n and len(n.strip()) >= 2}, key=len, reverse=True):
        out = out.replace(name, mask_name(name))
    return public_text(out)[:MAX_DESCRIPTION]


def iso(value: datetime | None) -> str | None:
    """RFC 3339 in Dongguan's local time."""
    return to_local(value).isoformat(timespec="seconds") if value is not None else None


def open_or_closed(status: str) -> Literal["open", "closed"]:
    """GeoReport knows two states."""
    return "closed" if status in CLOSED_STATES else "open"


def expected_at(appeal: PublicAppeal | DisclosedAppeal) -> datetime | None:
    """When the appeal should be done: the earliest pending handling deadline."""
    pending = [
        d.due_at
        for d in appeal.deadlines
        if d.due_at is not None
        and d.state in ("running", "paused", "overdue")
        and d.clock not in ("triage", "sign_off")
    ]
    return min(pending) if pending else None


@dataclass(frozen=True)
class RequestView:
    """What GET requests shows of one request."""

    service_request_id: str
    service_code: str
    status: str
    status_notes: str | None
    category: str | None
    requested_at: datetime
    updated_at: datetime | None
    expected_at: datetime | None
    address: str | None
    lat: float | None
    lng: float | None
    description: str | None
    media_url: str | None


def disclosed_view(item: DisclosedAppeal) -> RequestView | None:
    """A publicly disclosed appeal from any channel as a GeoReport request (None when its category
    is no Open311 service). Its words were already made public-safe by disclosure."""
    if item.category not in SERVICES_BY_CODE:
        return None
    ended = item.closed_at or item.completed_at
    return RequestView(
        service_request_id=item.ticket_no,
        service_code=item.category,
        status=item.status,
        status_notes=item.progress[:300] if item.progress else None,
        category=item.category,
        requested_at=item.received_at,
        updated_at=ended or item.received_at,
        expected_at=expected_at(item),
        address=item.address,
        lat=None,
        lng=None,
        description=item.description,
        media_url=None,
    )


def request_doc(view: RequestView) -> dict[str, Any]:
    """A GeoReport request. Micro-wishes concern a family: their place and words stay private."""
    code = view.category if view.category in SERVICES_BY_CODE else view.service_code
    service = SERVICES_BY_CODE[code]
    public_place = service.kind == "micro_project"
    return {
        "service_request_id": view.service_request_id,
        "status": open_or_closed(view.status),
        "status_notes": view.status_notes,
        "service_name": service.name,
        "service_code": service.code,
        "description": public_description(view.description) if public_place and view.description else None,
        "agency_responsible": None,
        "service_notice": None,
        "requested_datetime": iso(view.requested_at),
        "updated_datetime": iso(view.updated_at),
        "expected_datetime": iso(view.expected_at),
        "address": view.address if public_place else None,
        "address_id": None,
        "zipcode": None,
        "lat": view.lat if public_place else None,
        "long": view.lng if public_place else None,
        "media_url": view.media_url if public_place else None,
    }


# --- documents -----------------------------------------------------------------------------------


def _xml_text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _fill(parent: ET.Element, tag: str, value: Any) -> None:
    element = ET.SubElement(parent, tag)
    if isinstance(value, dict):
        for key, inner in value.items():
            _fill(element, key, inner)
    elif isinstance(value, list):
        item_tag = XML_ITEMS.get(tag, "item")
        for inner in value:
            _fill(element, item_tag, inner)
    else:
        element.text = _xml_text(value)


def to_xml(root: str, body: dict[str, Any] | list[Any]) -> bytes:
    """A GeoReport XML document: `root` wraps a list's items or a document's fields."""
    element = ET.Element(root)
    if isinstance(body, list):
        item_tag = XML_ITEMS.get(root, "item")
        for item in body:
            _fill(element, item_tag, item)
    else:
        for key, value in body.items():
            _fill(element, key, value)
    return bytes(ET.tostring(element, encoding="utf-8", xml_declaration=True))


def error_list(code: int, description: str) -> list[dict[str, Any]]:
    """GeoReport's error document."""
    return [{"code": code, "description": description}]
