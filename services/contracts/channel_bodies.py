"""What the channels send the gateway: the 12345 hotline's webhook body and the mini-program's
appeal form (DESIGN §4, §10). The staff channels' filings, checked against the reference data as
they are read, stay with their channel (`services/gateway/service/channels/staff.py`)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Final, Literal
from zoneinfo import ZoneInfo

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, model_validator

from services.contracts.vocabulary import Urgency

SHANGHAI: Final = ZoneInfo("Asia/Shanghai")


# The hotline is an outside system: accept ids sent as numbers and fields added in a later
# version of its webhook (kept verbatim in the raw message), refuse what cannot be an appeal.
IdStr = Annotated[
    str, BeforeValidator(lambda v: str(v) if isinstance(v, int) and not isinstance(v, bool) else v)
]


def _shanghai_if_naive(value: datetime) -> datetime:
    # The hotline runs in Dongguan: a time without an offset is local time.
    return value.replace(tzinfo=SHANGHAI) if value.tzinfo is None else value


LocalDateTime = Annotated[datetime, AfterValidator(_shanghai_if_naive)]


# What an appeal can hold (`AppealDraft`): the caller's words and the summary become its
# description, every turn with its speaker and time its transcript. The per-field limits alone
# would let a call past them, so the totals are checked too and published in the schema.
MAX_TURN_CHARS: Final = 10000
MAX_TURNS: Final = 2000
MAX_SUMMARY_CHARS: Final = 5000
MAX_WORDS_CHARS: Final = 19000  # the caller's turns and the summary together (description: 20,000)
MAX_TRANSCRIPT_CHARS: Final = 90000  # every turn with its label and time (transcript: 100,000)
MAX_OFFSET_MS: Final = 86_400_000  # a day
TURN_LABEL_CHARS: Final = 20  # "[86400.0s] 来电人：" and the line break, with room to spare


class TranscriptTurn(BaseModel):
    """One speaker's turn of the call."""

    model_config = ConfigDict(extra="ignore")

    speaker: Literal["caller", "operator"]
    text: str = Field(max_length=MAX_TURN_CHARS)
    offset_ms: int = Field(default=0, ge=0, le=MAX_OFFSET_MS)


def described_turns(call: HotlineCall) -> list[str]:
    """The turns whose words describe the appeal: the caller's; when neither the caller said
    anything nor the operator summed up, the operator's (a transcription that heard one voice)."""
    caller = [t.text for t in call.transcript if t.speaker == "caller" and t.text.strip()]
    if caller or (call.summary or "").strip():
        return caller
    return [t.text for t in call.transcript if t.text.strip()]


class HotlineCall(BaseModel):
    """The hotline's webhook body."""

    model_config = ConfigDict(extra="ignore")

    call_id: IdStr = Field(min_length=1, max_length=128)
    caller_number: IdStr = Field(min_length=1, max_length=32)
    started_at: LocalDateTime
    ended_at: LocalDateTime | None = None
    operator_id: IdStr | None = Field(default=None, max_length=64)
    transcript: list[TranscriptTurn] = Field(
        default_factory=list,
        max_length=MAX_TURNS,
        description=f"At most {MAX_TURNS} turns. The caller's turns and `summary` together hold at "
        f"most {MAX_WORDS_CHARS} characters, all turns at most {MAX_TRANSCRIPT_CHARS} (each turn "
        f"counted with {TURN_LABEL_CHARS} more for its speaker and time); past either, a `422`.",
    )
    summary: str | None = Field(default=None, max_length=MAX_SUMMARY_CHARS)
    category_hint: str | None = Field(default=None, max_length=100)
    address: str | None = Field(default=None, max_length=300)
    callback_requested: bool = False

    @model_validator(mode="after")
    def _consistent(self) -> HotlineCall:
        if self.ended_at is not None and self.ended_at < self.started_at:
            raise ValueError("ended_at is before started_at")
        if not any(t.text.strip() for t in self.transcript) and not (self.summary or "").strip():
            raise ValueError("a call needs a transcript or a summary")
        words = sum(len(text) + 1 for text in described_turns(self))
        if words + len(self.summary or "") + 10 > MAX_WORDS_CHARS:
            raise ValueError(f"the caller's turns and the summary exceed {MAX_WORDS_CHARS} characters")
        if sum(len(t.text) + TURN_LABEL_CHARS for t in self.transcript) > MAX_TRANSCRIPT_CHARS:
            raise ValueError(f"the transcript exceeds {MAX_TRANSCRIPT_CHARS} characters")
        return self


# --- the mini-program -------------------------------------------------------------------------------


MAX_PHOTOS: Final = 9


class ResidentAppealForm(BaseModel):
    """What a resident fills in (JSON, or the `appeal` part of a multipart request)."""

    model_config = ConfigDict(extra="forbid")

    title: str | None = Field(default=None, max_length=60)
    description: str = Field(min_length=1, max_length=5000)
    category_hint: str | None = Field(default=None, max_length=100)
    address: str | None = Field(default=None, max_length=300)
    lat: float | None = Field(default=None, ge=-90, le=90)
    lng: float | None = Field(default=None, ge=-180, le=180)
    # wx.getLocation({type: 'gcj02'}) is what the mini-program's map needs.
    datum: Literal["gcj02", "wgs84"] = "gcj02"
    town_code: str | None = Field(default=None, max_length=32)
    village_code: str | None = Field(default=None, max_length=32)
    name: str | None = Field(default=None, max_length=50)
    phone: str | None = Field(default=None, max_length=30)
    hukou_local: bool | None = None
    anonymous: bool = False
    confidential: bool = False
    beneficiary_count: int | None = Field(default=None, ge=0, le=1_000_000)
    beneficiary_group: str | None = Field(default=None, max_length=50)
    help_requested: str | None = Field(default=None, max_length=2000)
    estimated_amount_fen: int | None = Field(default=None, ge=0)
    urgency: Urgency | None = None
    photos: list[str] = Field(default_factory=list, max_length=MAX_PHOTOS, description="ids from /media")
