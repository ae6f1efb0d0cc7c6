"""A stand-in for WeChat's message APIs (`api.weixin.qq.com`), speaking their real protocol.

    GET  /cgi-bin/token?grant_type=client_credential&appid=&secret=
    POST /cgi-bin/message/subscribe/send?access_token=     (mini-program subscribe message)
    POST /cgi-bin/message/custom/send?access_token=        (official-account customer service)

Answers are WeChat's `{"errcode", "errmsg"}` JSON, HTTP 200 even for errors: 40013 invalid
appid, 40125 invalid secret, 40001 invalid or expired access token, 40003 invalid openid,
43101 user refused the subscribe message, 45015 past the 48-hour customer-service window,
-1 system busy. Tests set `refusing` (openids that refused), `window_closed` (openids past 48 h),
`busy_next` (how many next sends answer -1) and may `expire_tokens()`.
"""

from __future__ import annotations

import json
import secrets
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse


@dataclass
class WechatMessage:
    """One message WeChat accepted."""

    api: str  # subscribe | custom
    appid: str
    touser: str
    body: dict[str, Any]


@dataclass
class _State:
    apps: dict[str, str]
    lock: threading.Lock = field(default_factory=threading.Lock)
    tokens: dict[str, str] = field(default_factory=dict)  # token -> appid
    token_requests: int = 0
    refusing: set[str] = field(default_factory=set)
    window_closed: set[str] = field(default_factory=set)
    busy_next: int = 0
    attempts: list[tuple[str, str, int]] = field(default_factory=list)  # (api, touser, errcode)
    accepted: list[WechatMessage] = field(default_factory=list)


class FakeWechatApi:
    """`apps` maps each AppID to its AppSecret; point GUANJIA_WECHAT_API_BASE at `base`."""

    def __init__(self, apps: dict[str, str]) -> None:
        self.state = _State(apps=dict(apps))
        state = self.state

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                return

            def _answer(self, body: dict[str, Any]) -> None:
                raw = json.dumps(body, ensure_ascii=False).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json; charset=utf-8")
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

            def do_GET(self) -> None:
                url = urlparse(self.path)
                query = {k: v[0] for k, v in parse_qs(url.query).items()}
                if url.path != "/cgi-bin/token":
                    self._answer({"errcode": 40066, "errmsg": "invalid url"})
                    return
                with state.lock:
                    state.token_requests += 1
                    if query.get("grant_type") != "client_credential":
                        self._answer({"errcode": 40002, "errmsg": "invalid grant_type"})
                    elif query.get("appid") not in state.apps:
                        self._answer({"errcode": 40013, "errmsg": "invalid appid"})
                    elif state.apps[query["appid"]] != query.get("secret"):
                        self._answer({"errcode": 40125, "errmsg": "invalid appsecret"})
                    else:
                        token = secrets.token_urlsafe(24)
                        state.tokens[token] = query["appid"]
                        self._answer({"access_token": token, "expires_in": 7200})

            def do_POST(self) -> None:
                url = urlparse(self.path)
                query = {k: v[0] for k, v in parse_qs(url.query).items()}
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                api = {
                    "/cgi-bin/message/subscribe/send": "subscribe",
                    "/cgi-bin/message/custom/send": "custom",
                }
                if url.path not in api:
                    self._answer({"errcode": 40066, "errmsg": "invalid url"})
                    return
                try:
                    body = json.loads(raw)
                except ValueError:
                    self._answer({"errcode": 47001, "errmsg": "data format error"})
                    return
                self._answer(self._send(api[url.path], query.get("access_token", ""), body))

            def _send(self, api: str, token: str, body: dict[str, Any]) -> dict[str, Any]:
                result: dict[str, Any]
                with state.lock:
                    appid = state.tokens.get(token)
                    touser = str(body.get("touser", ""))
                    if appid is None:
                        result = {"errcode": 40001, "errmsg": "invalid credential, access_token is invalid"}
                    elif state.busy_next > 0:
                        state.busy_next -= 1
                        result = {"errcode": -1, "errmsg": "system error"}
                    elif not touser.startswith("o"):
                        result = {"errcode": 40003, "errmsg": "invalid openid"}
                    elif api == "subscribe" and (not body.get("template_id") or not body.get("data")):
                        result = {"errcode": 47003, "errmsg": "argument invalid! data.thing3.value invalid"}
                    elif api == "subscribe" and touser in state.refusing:
                        result = {"errcode": 43101, "errmsg": "user refuse to accept the msg"}
                    elif api == "custom" and touser in state.window_closed:
                        result = {
                            "errcode": 45015,
                            "errmsg": "response out of time limit or subscription is canceled",
                        }
                    elif api == "custom" and body.get("msgtype") != "text":
                        result = {"errcode": 40008, "errmsg": "invalid message type"}
                    else:
                        state.accepted.append(WechatMessage(api=api, appid=appid, touser=touser, body=body))
                        result = {"errcode": 0, "errmsg": "ok", "msgid": len(state.accepted)}
                    state.attempts.append((api, touser, int(result["errcode"])))
                    return result

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def base(self) -> str:
        """The API base URL."""
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def start(self) -> FakeWechatApi:
        """Serve in a thread."""
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving."""
        self._server.shutdown()
        self._server.server_close()

    def expire_tokens(self) -> None:
        """Every access token issued so far stops working (as after 7200 s)."""
        with self.state.lock:
            self.state.tokens.clear()

    def accepted_for(self, openid: str) -> list[WechatMessage]:
        """Messages WeChat accepted for one user."""
        with self.state.lock:
            return [m for m in self.state.accepted if m.touser == openid]

    def attempts_for(self, openid: str) -> list[tuple[str, str, int]]:
        """Every send tried for one user, with WeChat's errcode."""
        with self.state.lock:
            return [a for a in self.state.attempts if a[1] == openid]
