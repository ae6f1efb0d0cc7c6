"""Community consultation channels (DESIGN §4): 网络协商 threads and 协商会议 minutes.

Pure, like `staff`: request bodies and their drafts. One set of minutes files several appeals;
the route sends them to intake as one batch, so either all are recorded or none is.
"""

from __future__ import annotations

from typing import Annotated, Any, Final

from pydantic import BeforeValidator, Field, model_validator

from services.common.auth import Principal
from services.contracts.appeals import AppealDraft
from services.contracts.vocabulary import MEETING_FORM_ALIASES, MEETING_FORM_NAMES, MeetingForm
from services.gateway.service.channels.hotline import LocalDateTime
from services.gateway.service.channels.staff import MatterIn, PersonIn, StaffBody, draft_of


def _canonical_form(value: Any) -> Any:
    return MEETING_FORM_ALIASES.get(value, value) if isinstance(value, str) else value


# The vocabulary's meeting form; the minutes channel's first spellings still read.
MeetingType = Annotated[MeetingForm, BeforeValidator(_canonical_form)]
MAX_ITEMS: Final = 30


class Post(StaffBody):
    """One post or reply of an online consultation thread."""

    post_id: str = Field(min_length=1, max_length=64)
    author: str | None = Field(default=None, max_length=50, description="display name")
    text: str = Field(min_length=1, max_length=5000)
    posted_at: LocalDateTime
    reply_to: str | None = Field(default=None, max_length=64)
    likes: int = Field(default=0, ge=0)


class OnlineConsultation(MatterIn):
    """A 网络协商 thread: the opening post states the appeal, replies add to it."""

    description: str | None = Field(default=None, max_length=20000)  # type: ignore[assignment]
    thread_id: str = Field(min_length=1, max_length=64)
    platform: str | None = Field(default=None, max_length=50)
    posts: list[Post] = Field(min_length=1, max_length=500)
    opener: PersonIn | None = Field(default=None, description="the author of the first post, if known")

    @model_validator(mode="after")
    def _threaded(self) -> OnlineConsultation:
        ids = [p.post_id for p in self.posts]
        if len(set(ids)) != len(ids):
            raise ValueError("post_id must be unique within a thread")
        known = set(ids)
        if any(p.reply_to is not None and p.reply_to not in known for p in self.posts):
            raise ValueError("reply_to names a post not in the thread")
        return self


def _post_line(post: Post, opener: Post) -> str:
    who = post.author or "网友"
    verb = "回复" if post.reply_to and post.reply_to != opener.post_id else "跟帖"
    support = f"（{post.likes}人赞同）" if post.likes else ""
    return f"{who}{verb}：{post.text}{support}"


def online_consultation(ref: str, principal: Principal, body: OnlineConsultation) -> AppealDraft:
    """The thread as one appeal: the opening post's words first, then the replies in order."""
    ordered = sorted(body.posts, key=lambda p: p.posted_at)
    opener = next((p for p in ordered if p.reply_to is None), ordered[0])
    replies = [p for p in ordered if p is not opener]
    description = body.description or opener.text
    if replies:
        description += "\n" + "\n".join(_post_line(p, opener) for p in replies)
    transcript = "\n".join(f"[{p.posted_at.isoformat()}] {p.author or '网友'}：{p.text}" for p in ordered)
    reporter = (body.opener or PersonIn(name=opener.author, anonymous=opener.author is None)).as_reporter()
    return draft_of(
        "online_consultation",
        ref,
        principal,
        body.model_copy(update={"reported_at": body.reported_at or opener.posted_at}),
        reporter=reporter,
        description=description,
        transcript=transcript,
        extra={
            "thread_id": body.thread_id,
            "platform": body.platform,
            "posts": len(body.posts),
            "supporters": sum(p.likes for p in body.posts),
        },
    )


class MeetingItem(MatterIn):
    """One appeal the meeting raised, with what the meeting agreed about it (议定事项)."""

    proposer: PersonIn | None = None
    resolution: str | None = Field(default=None, max_length=5000)
    votes_for: int | None = Field(default=None, ge=0)
    votes_against: int | None = Field(default=None, ge=0)
    callback_requested: bool = False


class MeetingMinutes(StaffBody):
    """The minutes of one meeting (会议纪要): several appeals, filed together or not at all."""

    meeting_type: MeetingType = Field(
        description="the vocabulary's meeting form; the first spellings party_mass_joint and "
        "public_opinion_talk are still read"
    )
    held_at: LocalDateTime
    venue: str | None = Field(default=None, max_length=200)
    host: str | None = Field(default=None, max_length=50)
    attendees: int | None = Field(default=None, ge=1, le=10000)
    minutes: str | None = Field(default=None, max_length=50000, description="the minutes' full text")
    items: list[MeetingItem] = Field(min_length=1, max_length=MAX_ITEMS)


def item_ref(meeting_ref: str, index: int) -> str:
    """The channel_ref of the n-th appeal (from 1) of a meeting."""
    return f"{meeting_ref}#{index}"


def meeting_drafts(meeting_ref: str, principal: Principal, body: MeetingMinutes) -> list[AppealDraft]:
    """Each item of the minutes as a draft, all pointing at the same meeting."""
    meeting = {
        "type": body.meeting_type,
        "name": MEETING_FORM_NAMES[body.meeting_type],
        "held_at": body.held_at.isoformat(),
        "venue": body.venue,
        "host": body.host,
        "attendees": body.attendees,
        "items": len(body.items),
    }
    drafts = []
    for index, item in enumerate(body.items, start=1):
        description = item.description
        if item.resolution:
            description += f"\n（{MEETING_FORM_NAMES[body.meeting_type]}议定）{item.resolution}"
        drafts.append(
            draft_of(
                "consultation_meeting",
                item_ref(meeting_ref, index),
                principal,
                item.model_copy(update={"reported_at": item.reported_at or body.held_at}),
                on_behalf_of=item.proposer.as_reporter() if item.proposer else None,
                description=description,
                transcript=body.minutes,
                callback_requested=item.callback_requested,
                extra={
                    "meeting": meeting,
                    "item_no": index,
                    "votes_for": item.votes_for,
                    "votes_against": item.votes_against,
                },
            )
        )
    return drafts
