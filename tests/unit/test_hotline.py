"""12345 hotline: signature window and the mapping of a call to an appeal draft (pure)."""

from __future__ import annotations

import json

import pytest
from pydantic import ValidationError

from services.gateway.service.channels.hotline import (
    BadSignature,
    HotlineCall,
    sign,
    to_draft,
    verify_signature,
)
from tests.system.harness import hotline_body

SECRET = "k" * 32
BODY = b'{"call_id":"1"}'
NOW = 1_800_000_000.0


def test_a_fresh_correct_signature_passes() -> None:
    ts = str(int(NOW))
    verify_signature(SECRET, ts, sign(SECRET, ts, BODY), BODY, now=NOW, window_s=300)
    # Upper-case hex is the same signature.
    verify_signature(SECRET, ts, sign(SECRET, ts, BODY).upper(), BODY, now=NOW, window_s=300)


@pytest.mark.parametrize("skew", [300, -300])
def test_the_window_edge_is_inclusive(skew: int) -> None:
    ts = str(int(NOW) + skew)
    verify_signature(SECRET, ts, sign(SECRET, ts, BODY), BODY, now=NOW, window_s=300)


@pytest.mark.parametrize("skew", [301, -301, 86_400])
def test_stale_or_future_timestamps_fail(skew: int) -> None:
    ts = str(int(NOW) + skew)
    with pytest.raises(BadSignature):
        verify_signature(SECRET, ts, sign(SECRET, ts, BODY), BODY, now=NOW, window_s=300)


@pytest.mark.parametrize(
    ("timestamp", "signature", "body"),
    [
        (None, "x", BODY),
        ("1800000000", None, BODY),
        ("soon", "x", BODY),
        ("1800000000", sign(SECRET, "1800000000", BODY), BODY + b" "),  # body changed
        ("1800000000", sign("other", "1800000000", BODY), BODY),  # other key
        ("1800000001", sign(SECRET, "1800000000", BODY), BODY),  # timestamp not the signed one
    ],
)
def test_wrong_signatures_fail(timestamp: str | None, signature: str | None, body: bytes) -> None:
    with pytest.raises(BadSignature):
        verify_signature(SECRET, timestamp, signature, body, now=NOW, window_s=300)


def test_draft_puts_the_callers_words_first_and_normalises() -> None:
    call = HotlineCall.model_validate_json(hotline_body("call-9"))
    draft = to_draft(call)
    assert draft.channel == "hotline_12345" and draft.channel_ref == "call-9"
    assert draft.description.startswith("你好，我是虎门镇北栅社区的居民")
    assert "（话务员摘要）" in draft.description
    assert draft.description.index("东坊大街那一段") < draft.description.index("（话务员摘要）")
    assert draft.reporter.phone == "+8613976543210"
    assert draft.location.address == "东莞市虎门镇北栅社区东坊大街"
    assert draft.callback_requested is True
    assert draft.category_hint == "城市管理/路灯"
    assert draft.transcript is not None and "话务员：" in draft.transcript and "来电人：" in draft.transcript
    assert draft.channel_extra["duration_s"] == 270


def test_a_withheld_caller_number_keeps_the_appeal() -> None:
    call = HotlineCall.model_validate_json(hotline_body("call-10", caller_number="anonymous"))
    draft = to_draft(call)
    assert draft.reporter.phone is None
    assert draft.channel_extra["caller_number_valid"] is False


def test_traditional_and_full_width_text_is_folded() -> None:
    body = json.loads(hotline_body("call-11"))
    body["transcript"] = [{"speaker": "caller", "text": "虎門鎮　路燈壞了ＡＢＣ", "offset_ms": 0}]
    body["summary"] = None
    draft = to_draft(HotlineCall.model_validate(body))
    assert draft.description == "虎门镇 路灯坏了ABC"


@pytest.mark.parametrize(
    "override",
    [
        {"started_at": "not a time"},
        {"ended_at": "2026-11-27T09:00:00+08:00"},  # before the start
        {"transcript": [], "summary": "  "},
        {"call_id": ""},
        {"call_id": None},
        {"transcript": [{"speaker": "robot", "text": "hi"}]},
        {"transcript": "not a list"},
    ],
)
def test_malformed_calls_are_refused(override: dict[str, object]) -> None:
    body = json.loads(hotline_body("call-12"))
    body.update(override)
    with pytest.raises(ValidationError):
        HotlineCall.model_validate(body)


def test_lenient_where_the_hotline_may_differ() -> None:
    body = json.loads(hotline_body("ignored"))
    body.update(
        call_id=90017,
        operator_id=1024,
        started_at="2026-11-27 09:15:00",  # no offset: Dongguan local time
        ended_at=None,
        new_field_from_a_later_version={"x": 1},
    )
    for turn in body["transcript"]:
        turn.pop("offset_ms")
    call = HotlineCall.model_validate(body)
    assert call.call_id == "90017" and call.operator_id == "1024"
    assert call.started_at.utcoffset() is not None
    assert call.started_at.isoformat() == "2026-11-27T09:15:00+08:00"
