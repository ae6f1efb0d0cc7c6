"""12345 hotline (12345政务服务便民热线): signed JSON webhooks of transcribed calls (DESIGN §10).

Pure functions: the signature check and the mapping of a call to an AppealDraft: the caller's
own words first, the operator's summary after them, the operator's category as a hint, the
caller number in E.164 (a withheld or malformed one is dropped, never the call), the callback
wish kept; then the one normalisation of `services.gateway.service.normalise` (text, place).
"""

from __future__ import annotations

import hashlib
import hmac

from services.common.errors import InvalidInput, Unauthorized
from services.common.personal import lenient_phone
from services.common.text import normalise_text
from services.contracts.appeals import AppealDraft, Location, Reporter
from services.contracts.channel_bodies import HotlineCall as HotlineCall
from services.contracts.channel_bodies import LocalDateTime as LocalDateTime
from services.contracts.channel_bodies import TranscriptTurn as TranscriptTurn
from services.contracts.channel_bodies import described_turns
from services.gateway.service.normalise import normalise_draft

CHANNEL = "hotline_12345"
SPEAKER_LABEL = {"caller": "来电人", "operator": "话务员"}


class BadSignature(Unauthorized):
    code, title = "bad_signature", "Signature missing, wrong or stale"
    message = "请求签名无效或已过期。"


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """Hex HMAC-SHA256 over `{timestamp}.{raw body}`."""
    return hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()


def verify_signature(
    secret: str, timestamp: str | None, signature: str | None, body: bytes, now: float, window_s: int
) -> None:
    """Refuse a missing, wrong or stale signature (both past and future skew count as stale)."""
    if not timestamp or not signature:
        raise BadSignature()
    try:
        ts = int(timestamp)
    except ValueError:
        raise BadSignature() from None
    if abs(now - ts) > window_s:
        raise BadSignature("请求签名已过期，请重新签名后提交。")
    expected = sign(secret, timestamp, body)
    if not hmac.compare_digest(expected, signature.strip().lower()):
        raise BadSignature()


def to_draft(call: HotlineCall) -> AppealDraft:
    """The call as an appeal: the caller's own words first, then the operator's summary."""
    caller_words = [w for w in (normalise_text(text) for text in described_turns(call)) if w]
    summary = normalise_text(call.summary) if call.summary else None
    parts = [*caller_words]
    if summary:
        parts.append(f"（话务员摘要）{summary}")
    description = "\n".join(parts)
    if not description:  # only characters that normalise away: nothing to file
        raise InvalidInput("来电内容为空：需要来电人的陈述或话务员摘要。", field="transcript")
    transcript = "\n".join(
        f"[{t.offset_ms / 1000:.1f}s] {SPEAKER_LABEL[t.speaker]}：{normalise_text(t.text)}"
        for t in call.transcript
    )
    # A withheld or malformed caller id must not cost the caller their appeal.
    phone = lenient_phone(call.caller_number)
    title_src = summary or (caller_words[0] if caller_words else "")
    extra: dict[str, object] = {"operator_id": call.operator_id, "caller_number_valid": phone is not None}
    if call.ended_at is not None:
        extra["duration_s"] = int((call.ended_at - call.started_at).total_seconds())
    draft = AppealDraft(
        channel=CHANNEL,
        channel_ref=call.call_id,
        reported_at=call.started_at,
        reporter=Reporter(phone=phone, role="resident"),
        title=title_src[:60] or None,
        description=description,
        transcript=transcript or None,
        location=Location(address=normalise_text(call.address) if call.address else None),
        category_hint=call.category_hint,
        callback_requested=call.callback_requested,
        channel_extra=extra,
    )
    return normalise_draft(draft, strict_phone=False)
