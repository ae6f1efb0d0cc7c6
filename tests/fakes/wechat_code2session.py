"""A stand-in for WeChat's mini-program login API, speaking its real protocol.

    GET /sns/jscode2session?appid=&secret=&js_code=&grant_type=authorization_code
        → {"openid", "session_key"} (unionid when bound)

As WeChat does, it answers HTTP 200 labelled `text/plain` even for errors:
41002 appid missing, 41004 appsecret missing, 41008 code missing, 40013 invalid appid,
40125 invalid appsecret, 40029 invalid code (unknown or older than 5 minutes), 40163 code
been used, 45011 minute quota reached, -1 system busy. Codes come from `issue_code(openid)`,
as `wx.login` would hand them to the mini-program; each works once.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse

CODE_TTL_S = 300


@dataclass
class _State:
    app_id: str
    secret: str
    lock: threading.Lock = field(default_factory=threading.Lock)
    codes: dict[str, tuple[str, float]] = field(default_factory=dict)  # code -> (openid, issued)
    used: set[str] = field(default_factory=set)
    session_keys: dict[str, str] = field(default_factory=dict)
    quota_exhausted: bool = False
    busy_next: int = 0
    calls: int = 0


class FakeCode2Session:
    """One mini-program (AppID, AppSecret); point GUANJIA_WECHAT_API_BASE at `base`."""

    def __init__(self, app_id: str, secret: str) -> None:
        self.state = _State(app_id=app_id, secret=secret)
        state = self.state

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                return

            def do_GET(self) -> None:
                url = urlparse(self.path)
                if url.path != "/sns/jscode2session":
                    self._answer({"errcode": 40066, "errmsg": "invalid url rid: fake"})
                    return
                query = {k: v[0] for k, v in parse_qs(url.query).items()}
                self._answer(_login(state, query))

            def _answer(self, body: dict[str, Any]) -> None:
                raw = json.dumps(body).encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/plain")
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def base(self) -> str:
        """The API base URL."""
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def start(self) -> FakeCode2Session:
        """Serve in a thread."""
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving."""
        self._server.shutdown()
        self._server.server_close()

    def issue_code(self, openid: str, *, age_s: float = 0.0) -> str:
        """A login code as wx.login returns it, `age_s` seconds old."""
        code = secrets.token_hex(16)
        with self.state.lock:
            self.state.codes[code] = (openid, time.time() - age_s)
        return code

    def session_key_of(self, openid: str) -> str | None:
        """The session_key last handed out for `openid` (to check it never leaks)."""
        with self.state.lock:
            return self.state.session_keys.get(openid)


def _error(code: int, message: str) -> dict[str, Any]:
    return {"errcode": code, "errmsg": f"{message}, rid: {secrets.token_hex(4)}-{secrets.token_hex(4)}"}


def _login(state: _State, query: dict[str, str]) -> dict[str, Any]:
    with state.lock:
        state.calls += 1
        if not query.get("appid"):
            return _error(41002, "appid missing")
        if not query.get("secret"):
            return _error(41004, "appsecret missing")
        if not query.get("js_code"):
            return _error(41008, "missing code")
        if query["appid"] != state.app_id:
            return _error(40013, "invalid appid")
        if query["secret"] != state.secret:
            return _error(40125, "invalid appsecret")
        if query.get("grant_type") != "authorization_code":
            return _error(40002, "invalid grant_type")
        if state.busy_next > 0:
            state.busy_next -= 1
            return _error(-1, "system error")
        if state.quota_exhausted:
            return _error(45011, "api minute-quota reach limit  mustslower  retry next minute")
        code = query["js_code"]
        if code in state.used:
            return _error(40163, "code been used")
        issued = state.codes.get(code)
        if issued is None or time.time() - issued[1] > CODE_TTL_S:
            return _error(40029, "invalid code")
        state.used.add(code)
        openid = issued[0]
        session_key = base64.b64encode(os.urandom(16)).decode()
        state.session_keys[openid] = session_key
        return {"session_key": session_key, "openid": openid}
