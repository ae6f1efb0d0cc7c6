"""Staff channels (DESIGN §4): appeals that town and village cadres, grid inspectors, stations and
departments enter for the people they meet.

Pure: the request bodies, who may file through which channel, the organisation scope, and the
mapping of a filing to an `AppealDraft`. Drafts leave through `services.gateway.service.normalise`.

The filing member of staff is the draft's `reporter` (role cadre, inspector, station worker or
department); the resident or family they file for is `on_behalf_of`, and it is that person who
hears back (SMS) on every change of status. The portal and online consultations carry the
resident as the reporter: the resident wrote the words, staff only forward them.
"""

from __future__ import annotations

from typing import Annotated, Any, Final, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from services.common.auth import Principal, Role
from services.common.errors import Forbidden
from services.common.reference import load_reference
from services.contracts.appeals import AppealDraft, Attachment, Location, Reporter, ReporterRole
from services.contracts.vocabulary import CHANNEL_NAMES, ROLE_NAMES, Urgency
from services.gateway.service.channels.hotline import LocalDateTime
from services.gateway.service.normalise import normalise_draft

StaffChannel = Literal[
    "leader_station",
    "grid_inspector",
    "village_visit",
    "party_member_visit",
    "station_walk_in",
    "department_referral",
    "web_portal",
    "online_consultation",
    "consultation_meeting",
]

# Who may file through which door (DESIGN §4 "level"; §7 roles). Auditors only read.
FILERS: Final[dict[StaffChannel, frozenset[Role]]] = {
    "leader_station": frozenset({"city_admin", "town_staff"}),
    "grid_inspector": frozenset({"town_staff", "village_staff"}),
    "village_visit": frozenset({"town_staff", "village_staff"}),
    "party_member_visit": frozenset({"town_staff", "village_staff"}),
    "station_walk_in": frozenset({"station_staff"}),
    "department_referral": frozenset({"department_staff", "city_admin"}),
    "web_portal": frozenset({"city_admin", "town_staff", "village_staff"}),
    "online_consultation": frozenset({"town_staff", "village_staff"}),
    "consultation_meeting": frozenset({"town_staff", "village_staff"}),
}
FILER_ROLE: Final[dict[StaffChannel, ReporterRole]] = {
    "leader_station": "cadre",
    "grid_inspector": "inspector",
    "village_visit": "cadre",
    "party_member_visit": "cadre",
    "station_walk_in": "station_worker",
    "department_referral": "department",
    "web_portal": "resident",
    "online_consultation": "resident",
    "consultation_meeting": "cadre",
}
PHOTO_TYPES: Final = frozenset({"image/jpeg", "image/png", "image/webp", "image/heic"})
MAX_PHOTO_BYTES: Final = 10 * 1024 * 1024
URI_SCHEMES: Final = ("https://", "http://", "oss://", "s3://", "media://")


class WrongRole(Forbidden):
    code, title = "role_not_allowed", "This role may not file through this channel"


class OutOfScope(Forbidden):
    code, title = "out_of_scope", "The appeal lies outside the filer's organisation"
    message = "该诉求所在地不在您的管辖范围内，不能代为提交。"


def require_filer(principal: Principal, channel: StaffChannel) -> None:
    """Refuse a role that does not file through `channel`."""
    if principal.role not in FILERS[channel]:
        raise WrongRole(
            f"{ROLE_NAMES.get(principal.role, principal.role)}不能通过「{CHANNEL_NAMES[channel]}」提交诉求。",
            channel=channel,
            role=principal.role,
        )


def within_scope(principal: Principal, location: Location) -> Location:
    """The location inside the filer's organisation (a village files for itself, a town for its
    villages, city, departments and stations anywhere); an unplaced appeal is placed there."""
    ref = load_reference()
    if principal.org_type == "village":
        village = ref.village_by_code(principal.org_code)
        if village is None:  # an account whose village left the reference data
            raise OutOfScope()
        if location.village_code is None and location.town_code in (None, village.town_code):
            return location.model_copy(update={"town_code": village.town_code, "village_code": village.code})
        if location.village_code != village.code:
            raise OutOfScope()
    elif principal.org_type == "town":
        if location.town_code is None:
            return location.model_copy(update={"town_code": principal.org_code})
        if location.town_code != principal.org_code:
            raise OutOfScope()
    return location


# --- request bodies ------------------------------------------------------------------------------


class StaffBody(BaseModel):
    """Base of every staff request body: unknown fields are refused, not silently dropped."""

    model_config = ConfigDict(extra="forbid", str_max_length=20000)


def _uri(value: str) -> str:
    if not value.startswith(URI_SCHEMES):
        raise ValueError(f"uri must start with one of {', '.join(URI_SCHEMES)}")
    return value


def _photo_type(value: str) -> str:
    if value.lower() not in PHOTO_TYPES:
        raise ValueError(f"media_type must be one of {', '.join(sorted(PHOTO_TYPES))}")
    return value.lower()


class PhotoRef(StaffBody):
    """A photo already stored (by the inspector app or the portal); we keep its reference."""

    uri: Annotated[str, AfterValidator(_uri)] = Field(max_length=500)
    media_type: Annotated[str, AfterValidator(_photo_type)] = Field(max_length=100)
    size_bytes: int = Field(gt=0, le=MAX_PHOTO_BYTES)
    sha256: str | None = Field(default=None, pattern=r"^[0-9a-fA-F]{64}$")

    def as_attachment(self) -> Attachment:
        """The contract's attachment."""
        return Attachment(
            kind="photo",
            uri=self.uri,
            media_type=self.media_type,
            size_bytes=self.size_bytes,
            sha256=self.sha256.lower() if self.sha256 else None,
        )


class PersonIn(StaffBody):
    """A resident or family as staff write them down."""

    name: str | None = Field(default=None, max_length=50)
    phone: str | None = Field(default=None, max_length=32)
    id_number: str | None = Field(default=None, max_length=32)
    hukou_local: bool | None = Field(default=None, description="户籍 or not")
    anonymous: bool = False
    confidential: bool = Field(default=False, description="保密")

    def as_reporter(self, role: ReporterRole = "resident") -> Reporter:
        """The contract's reporter (normalised later, in one place)."""
        return Reporter(
            name=self.name,
            phone=self.phone,
            id_number=self.id_number,
            hukou_local=self.hukou_local,
            anonymous=self.anonymous,
            confidential=self.confidential,
            role=role,
        )


class FamilyIn(PersonIn):
    """The family a cadre files for (代报): a name and a checked ID number are required."""

    name: str = Field(min_length=1, max_length=50)
    id_number: str = Field(min_length=1, max_length=32)


class PlaceIn(StaffBody):
    """Where the matter is: codes, address text, coordinates (with their datum) or a grid code."""

    address: str | None = Field(default=None, max_length=300)
    town: str | None = Field(default=None, max_length=20, description="town code or name")
    village_code: str | None = Field(default=None, max_length=12)
    lat: float | None = Field(default=None, ge=-90, le=90)
    lng: float | None = Field(default=None, ge=-180, le=180)
    datum: Literal["wgs84", "gcj02"] = "wgs84"
    grid_code: str | None = Field(default=None, max_length=40)

    def as_location(self) -> Location:
        """The contract's location."""
        return Location(
            address=self.address,
            town_code=self.town,
            village_code=self.village_code,
            lat=self.lat,
            lng=self.lng,
            datum=self.datum,
            grid_code=self.grid_code,
        )


class MatterIn(StaffBody):
    """What the appeal is about: common to every staff channel."""

    title: str | None = Field(default=None, max_length=200)
    description: str = Field(min_length=1, max_length=20000)
    location: PlaceIn = Field(default_factory=PlaceIn)
    photos: list[PhotoRef] = Field(default_factory=list, max_length=9)
    beneficiary_count: int | None = Field(default=None, ge=0, le=1_000_000)
    beneficiary_group: str | None = Field(default=None, max_length=50)
    help_requested: str | None = Field(default=None, max_length=2000)
    estimated_amount_fen: int | None = Field(default=None, ge=0)
    urgency: Urgency | None = None
    category_hint: str | None = Field(default=None, max_length=100)
    reported_at: LocalDateTime | None = None
    filed_by_name: str | None = Field(default=None, max_length=50, description="the filer's own name")
    extra: dict[str, Any] = Field(default_factory=dict, description="kept verbatim")


class LeaderStationFiling(MatterIn):
    """领导干部驻点联系群众: a resident met at a leader cadre's contact station."""

    station_name: str | None = Field(default=None, max_length=100)
    resident: PersonIn | None = None
    callback_requested: bool = False


class GridInspection(MatterIn):
    """网格员巡查: what an inspector found on patrol, with photos, GPS and the grid code."""

    grid_code: str = Field(min_length=4, max_length=40)
    lat: float = Field(ge=-90, le=90)
    lng: float = Field(ge=-180, le=180)
    datum: Literal["wgs84", "gcj02"] = "wgs84"
    accuracy_m: float | None = Field(default=None, ge=0)
    photos: list[PhotoRef] = Field(min_length=1, max_length=9)
    patrol_id: str | None = Field(default=None, max_length=64)


class VisitFiling(MatterIn):
    """村（社区）干部日常走访 / 基层党员干部走访: filed on behalf of a family."""

    family: FamilyIn
    household_size: int | None = Field(default=None, ge=1, le=50)
    visited_at: LocalDateTime | None = None
    party_branch: str | None = Field(default=None, max_length=100, description="党支部 (party visits)")
    callback_requested: bool = True


class StationWalkIn(MatterIn):
    """A resident who walked into a 莞家驿站 service station."""

    visitor: PersonIn
    service_wanted: str | None = Field(default=None, max_length=200)
    callback_requested: bool = True


class DepartmentReferral(MatterIn):
    """A case another department (信访, the 12345 back office…) refers, with its own case number."""

    referring_case_no: str = Field(min_length=1, max_length=64, pattern=r"^[^\s]+$")
    referring_system: str | None = Field(default=None, max_length=50)
    original_reporter: PersonIn | None = None
    referral_note: str | None = Field(default=None, max_length=2000)


class PortalForm(MatterIn):
    """The information system's own portal: a resident's form, forwarded by its operator."""

    submitter: PersonIn
    callback_requested: bool = False


# --- drafts --------------------------------------------------------------------------------------


def filed_by(principal: Principal) -> dict[str, str]:
    """Who filed, kept with the appeal."""
    return {
        "staff_id": principal.staff_id,
        "username": principal.username,
        "role": principal.role,
        "org_type": principal.org_type,
        "org_code": principal.org_code,
    }


def draft_of(
    channel: StaffChannel,
    channel_ref: str,
    principal: Principal,
    matter: MatterIn,
    *,
    reporter: Reporter | None = None,
    on_behalf_of: Reporter | None = None,
    location: Location | None = None,
    description: str | None = None,
    transcript: str | None = None,
    attachments: list[Attachment] | None = None,
    callback_requested: bool = False,
    extra: dict[str, Any] | None = None,
) -> AppealDraft:
    """A staff filing as a draft; the filer is the reporter unless the resident wrote it."""
    return AppealDraft(
        channel=channel,
        channel_ref=channel_ref,
        reported_at=matter.reported_at,
        reporter=reporter or Reporter(name=matter.filed_by_name, role=FILER_ROLE[channel]),
        on_behalf_of=on_behalf_of,
        title=matter.title,
        description=description or matter.description,
        transcript=transcript,
        location=location or matter.location.as_location(),
        attachments=attachments if attachments is not None else [p.as_attachment() for p in matter.photos],
        beneficiary_count=matter.beneficiary_count,
        beneficiary_group=matter.beneficiary_group,
        help_requested=matter.help_requested,
        estimated_amount_fen=matter.estimated_amount_fen,
        urgency=matter.urgency,
        category_hint=matter.category_hint,
        callback_requested=callback_requested,
        channel_extra={"filed_by": filed_by(principal), **(extra or {}), "extra": matter.extra},
    )


def leader_station(ref: str, principal: Principal, body: LeaderStationFiling) -> AppealDraft:
    """A resident's appeal taken at a leader cadre's station."""
    return draft_of(
        "leader_station",
        ref,
        principal,
        body,
        on_behalf_of=body.resident.as_reporter() if body.resident else None,
        callback_requested=body.callback_requested,
        extra={"station_name": body.station_name},
    )


def grid_inspection(ref: str, principal: Principal, body: GridInspection) -> AppealDraft:
    """An inspector's finding: the grid code and GPS (with datum) settle the village."""
    place = body.location.as_location().model_copy(
        update={"grid_code": body.grid_code, "lat": body.lat, "lng": body.lng, "datum": body.datum}
    )
    return draft_of(
        "grid_inspector",
        ref,
        principal,
        body,
        location=place,
        extra={"patrol_id": body.patrol_id, "gps_accuracy_m": body.accuracy_m},
    )


def visit(
    channel: Literal["village_visit", "party_member_visit"], ref: str, principal: Principal, body: VisitFiling
) -> AppealDraft:
    """A cadre's or party member's visit, filed for the family."""
    return draft_of(
        channel,
        ref,
        principal,
        body,
        on_behalf_of=body.family.as_reporter(),
        callback_requested=body.callback_requested,
        extra={
            "household_size": body.household_size,
            "visited_at": body.visited_at.isoformat() if body.visited_at else None,
            "party_branch": body.party_branch,
        },
    )


def station_walk_in(ref: str, principal: Principal, body: StationWalkIn) -> AppealDraft:
    """A walk-in at a station, filed by its worker for the visitor."""
    return draft_of(
        "station_walk_in",
        ref,
        principal,
        body,
        on_behalf_of=body.visitor.as_reporter(),
        callback_requested=body.callback_requested,
        extra={"station_code": principal.org_code, "service_wanted": body.service_wanted},
    )


def department_referral(ref: str, principal: Principal, body: DepartmentReferral) -> AppealDraft:
    """A referral; `ref` is the referring case number (with the referring unit)."""
    return draft_of(
        "department_referral",
        ref,
        principal,
        body,
        on_behalf_of=body.original_reporter.as_reporter() if body.original_reporter else None,
        extra={
            "referring_case_no": body.referring_case_no,
            "referring_unit": principal.org_code,
            "referring_system": body.referring_system,
            "referral_note": body.referral_note,
        },
    )


def portal_form(ref: str, principal: Principal, body: PortalForm) -> AppealDraft:
    """A portal form: the resident is the reporter."""
    return draft_of(
        "web_portal",
        ref,
        principal,
        body,
        reporter=body.submitter.as_reporter("resident"),
        callback_requested=body.callback_requested,
    )


def referral_ref(principal: Principal, case_no: str) -> str:
    """The channel_ref of a referral: the referring unit and its case number."""
    return f"{principal.org_code}:{case_no.strip()}"


def staff_ref(principal: Principal, idempotency_key: str) -> str:
    """The channel_ref of a staff command: the key, scoped to who sent it."""
    return f"{principal.staff_id}:{idempotency_key}"


def prepared(principal: Principal, draft: AppealDraft) -> AppealDraft:
    """The draft normalised (the one place) and placed inside the filer's organisation."""
    draft = normalise_draft(draft)
    return draft.model_copy(update={"location": within_scope(principal, draft.location)})
