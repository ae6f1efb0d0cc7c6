"""A stand-in for the city's SMS gateway, speaking the protocol of services/gateway/service/feedback/sms.py.

A real HTTP server in a thread. `POST /` with `{"phone", "template", "params"}` and an
`Idempotency-Key` header: `202 {"message_id"}`; the same key again answers the first message id
and texts nobody twice. `fail_next(503, 502)` scripts failures for the next requests.
"""

from __future__ import annotations

import json
import re
import threading
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

E164 = re.compile(r"^\+[1-9]\d{6,14}$")


@dataclass
class SmsRequest:
    """One request as it arrived."""

    key: str | None
    body: dict[str, Any]
    status: int


@dataclass
class SentSms:
    """One text message actually sent."""

    key: str
    message_id: str
    phone: str
    template: str
    params: dict[str, str]


@dataclass
class _State:
    lock: threading.Lock = field(default_factory=threading.Lock)
    requests: list[SmsRequest] = field(default_factory=list)
    sent: dict[str, SentSms] = field(default_factory=dict)
    failures: list[int] = field(default_factory=list)


class FakeSmsGateway:
    """Start with `start()`, point GUANJIA_SMS_URL at `url`, stop with `stop()`."""

    def __init__(self) -> None:
        self.state = _State()
        state = self.state

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                return

            def _answer(self, status: int, body: dict[str, Any]) -> None:
                raw = json.dumps(body, ensure_ascii=False).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json; charset=utf-8")
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                key = self.headers.get("Idempotency-Key")
                try:
                    body = json.loads(raw)
                except ValueError:
                    body = {}
                status, answer = self._handle(key, body)
                with state.lock:
                    state.requests.append(SmsRequest(key=key, body=body, status=status))
                self._answer(status, answer)

            def _handle(self, key: str | None, body: Any) -> tuple[int, dict[str, Any]]:
                with state.lock:
                    if state.failures:
                        status = state.failures.pop(0)
                        return status, {"code": "unavailable", "message": "gateway busy"}
                    if not key:
                        return 400, {"code": "idempotency_key_required"}
                    if key in state.sent:
                        return 200, {"message_id": state.sent[key].message_id}
                    if not isinstance(body, dict) or not E164.match(str(body.get("phone", ""))):
                        return 400, {"code": "invalid_phone"}
                    if not body.get("template") or not isinstance(body.get("params"), dict):
                        return 400, {"code": "invalid_template"}
                    sms = SentSms(
                        key=key,
                        message_id=uuid.uuid4().hex,
                        phone=body["phone"],
                        template=body["template"],
                        params=body["params"],
                    )
                    state.sent[key] = sms
                    return 202, {"message_id": sms.message_id}

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        """Where to POST."""
        return f"http://127.0.0.1:{self._server.server_address[1]}/sms/send"

    def start(self) -> FakeSmsGateway:
        """Serve in a thread."""
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving."""
        self._server.shutdown()
        self._server.server_close()

    def fail_next(self, *statuses: int) -> None:
        """Answer the next requests with these HTTP statuses."""
        with self.state.lock:
            self.state.failures.extend(statuses)

    def sent_to(self, phone: str) -> list[SentSms]:
        """Every message texted to a number, in order."""
        with self.state.lock:
            return [s for s in self.state.sent.values() if s.phone == phone]

    def requests_with_key(self, key: str) -> list[SmsRequest]:
        """Every request made with one idempotency key."""
        with self.state.lock:
            return [r for r in self.state.requests if r.key == key]
