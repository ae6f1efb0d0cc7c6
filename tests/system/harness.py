"""Start the real system (`guanjia up`) against the test database and Redis, as a user would."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from services.common.db import async_url

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    """A port nobody listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def free_port_block(size: int = 5, *, avoid: int | None = None) -> int:
    """A base port such that base+1..base+size are free, none of them `avoid` (a port already
    chosen and released: free again, it could fall in the block, and two of the system's servers
    would then share it, the first to bind answering the other's requests)."""
    for _ in range(50):
        base = free_port()
        if base + size > 65000 or (avoid is not None and base <= avoid <= base + size):
            continue
        ok = True
        for p in range(base + 1, base + size + 1):
            with socket.socket() as s:
                try:
                    s.bind(("127.0.0.1", p))
                except OSError:
                    ok = False
                    break
        if ok:
            return base
    raise RuntimeError("no free port block")


@dataclass
class RunningSystem:
    """A started `guanjia up` and how to reach it."""

    proc: subprocess.Popen[bytes]
    output: BinaryIO
    base_url: str
    data_dir: Path
    env: dict[str, str]

    def pid_of(self, name: str) -> int:
        """The pid of a supervised child, e.g. `routing-worker-1`."""
        return int((self.data_dir / "pids" / f"{name}.pid").read_text())

    def children(self) -> dict[str, int]:
        """Every child the supervisor recorded, by name (`intake`, `routing-first-1`…)."""
        return {p.stem: int(p.read_text()) for p in (self.data_dir / "pids").glob("*.pid")}

    def child_pids(self) -> list[int]:
        """Every pid the supervisor recorded."""
        return list(self.children().values())

    def logs(self) -> str:
        """All children's logs, for a failing test's message."""
        out = []
        for log in sorted((self.data_dir / "logs").glob("*.log")):
            out.append(f"== {log.name}\n{log.read_text(errors='replace')[-3000:]}")
        return "\n".join(out)

    def stop(self) -> int:
        """SIGTERM, as an operator's Ctrl-C would, and wait."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.output.close()
        return int(self.proc.returncode)


@contextmanager
def embedded_data_dir(name: str) -> Iterator[Path]:
    """A data directory for embedded servers, outside pytest's base temp: as root, pgserver runs
    PostgreSQL as its own user, which must traverse the path, and every pytest session start
    resets `/tmp/pytest-of-root` to 0700 (another suite running beside this one would lock it out)."""
    path = Path(tempfile.mkdtemp(prefix=f"guanjia-{name}-"))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def start_system(
    tmp: Path,
    extra_env: dict[str, str] | None = None,
    timeout: float = 120.0,
    *,
    embedded: bool = False,
    workers: int = 1,
) -> RunningSystem:
    """`python -m services.cli up` with the test session's database, Redis and secrets, or with
    its own embedded servers under `tmp` when `embedded` (as on a fresh machine); `workers`
    worker processes per service (0: the HTTP services alone)."""
    port = free_port()
    env = dict(os.environ)
    if embedded:
        env.pop("DATABASE_URL", None)
        env.pop("REDIS_URL", None)
    env.update(
        {
            "GUANJIA_PORT": str(port),
            "GUANJIA_INTERNAL_PORT_BASE": str(free_port_block(avoid=port)),
            "GUANJIA_DATA_DIR": str(tmp),
            "GUANJIA_JOB_TIMEOUT": "5",
            "PYTHONUNBUFFERED": "1",
            **(extra_env or {}),
        }
    )
    out = open(tmp / "up.log", "wb")  # noqa: SIM115 - closed with the process
    proc = subprocess.Popen(
        [sys.executable, "-m", "services.cli", "up", "--workers", str(workers)],
        cwd=ROOT,
        env=env,
        stdout=out,
        stderr=subprocess.STDOUT,
    )
    system = RunningSystem(proc=proc, output=out, base_url=f"http://127.0.0.1:{port}", data_dir=tmp, env=env)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            out.close()
            raise RuntimeError(f"guanjia up exited: {(tmp / 'up.log').read_text()}")
        try:
            if httpx.get(f"{system.base_url}/readyz", timeout=2).status_code == 200:
                return system
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    system.stop()
    raise RuntimeError(f"not ready in {timeout}s:\n{system.logs()}")


def db_scalar(sql: str, **params: Any) -> Any:
    """One value from the test database, on a throwaway connection (safe from any thread or loop)."""

    async def run() -> Any:
        engine = create_async_engine(async_url(os.environ["DATABASE_URL"]), poolclass=NullPool)
        try:
            async with engine.connect() as conn:
                return await conn.scalar(text(sql), params)
        finally:
            await engine.dispose()

    return asyncio.run(run())


def signed_headers(secret: str, body: bytes, timestamp: int | None = None) -> dict[str, str]:
    """The 12345 hotline's signature headers."""
    ts = str(int(time.time()) if timestamp is None else timestamp)
    sig = hmac.new(secret.encode(), ts.encode() + b"." + body, hashlib.sha256).hexdigest()
    return {"X-Signature-Timestamp": ts, "X-Signature": sig, "Content-Type": "application/json"}


def hotline_body(call_id: str, **overrides: Any) -> bytes:
    """A realistic transcribed call about broken street lights in 虎门镇北栅社区."""
    call: dict[str, Any] = {
        "call_id": call_id,
        "caller_number": "139 7654 3210",
        "started_at": "2026-11-27T09:15:00+08:00",
        "ended_at": "2026-11-27T09:19:30+08:00",
        "operator_id": "op-1024",
        "transcript": [
            {"speaker": "operator", "text": "您好，12345热线，请讲。", "offset_ms": 0},
            {
                "speaker": "caller",
                "text": "你好，我是虎门镇北栅社区的居民，我们这边大街上的路灯坏了好几盏，晚上黑漆漆的，老人小孩走路很危险。",
                "offset_ms": 2500,
            },
            {"speaker": "operator", "text": "好的，具体是哪个位置？", "offset_ms": 15000},
            {
                "speaker": "caller",
                "text": "就在北栅社区东坊大街那一段，坏了快一个星期了。",
                "offset_ms": 18000,
            },
        ],
        "summary": "来电反映虎门镇北栅社区东坊大街多盏路灯损坏，夜间照明不足，存在安全隐患，请求尽快维修。",
        "category_hint": "城市管理/路灯",
        "address": "东莞市虎门镇北栅社区东坊大街",
        "callback_requested": True,
    }
    call.update(overrides)
    return json.dumps(call, ensure_ascii=False).encode()
