"""SMS through the city's SMS gateway (`GUANJIA_SMS_URL`).

Protocol (JSON over HTTPS, documented here because we define it):

    POST {GUANJIA_SMS_URL}
    Content-Type: application/json
    Idempotency-Key: <delivery id>          # the same message is never texted twice
    X-Request-ID: <delivery id>/<attempt>

    {"phone": "+8613912345678",            # E.164
     "template": "appeal_status_changed",   # GUANJIA_SMS_TEMPLATE, registered with the carrier
     "params": {"ticket_no": "MS20261127000042", "status": "已办结",
                "text": "【民生大莞家】您反映的诉求（受理编号MS20261127000042）已办结，稍后将回访。"}}

Answers: `200`/`201`/`202` with `{"message_id": "..."}` — accepted (a replayed key answers the
first acceptance again); `4xx` — refused for good (a bad number, an unknown template), except
`408` and `429`, which are retried like `5xx` and network errors.
"""

from __future__ import annotations

import httpx

from services.gateway.service.feedback.outcome import Outcome

RETRYABLE_4XX = frozenset({408, 425, 429})


async def send_sms(
    url: str | None,
    *,
    phone: str,
    template: str,
    params: dict[str, str],
    idempotency_key: str,
    request_id: str,
    timeout_s: float,
) -> Outcome:
    """One attempt; safe to repeat (the gateway de-duplicates on the key)."""
    if not url:
        return Outcome("failed", detail="GUANJIA_SMS_URL 未配置")
    try:
        async with httpx.AsyncClient(timeout=timeout_s) as client:
            response = await client.post(
                url,
                json={"phone": phone, "template": template, "params": params},
                headers={"Idempotency-Key": idempotency_key, "X-Request-ID": request_id},
            )
    except httpx.HTTPError as exc:
        return Outcome("retry", detail=f"transport: {type(exc).__name__}")
    status = response.status_code
    if status in (200, 201, 202):
        return Outcome("delivered", http_status=status, detail=_message_id(response))
    if status >= 500 or status in RETRYABLE_4XX:
        return Outcome("retry", http_status=status, detail=response.text[:200])
    return Outcome("failed", http_status=status, detail=response.text[:200])


def _message_id(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return ""
    return str(body.get("message_id", "")) if isinstance(body, dict) else ""
