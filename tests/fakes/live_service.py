"""Not a fake: one of our real services started as its own process on a free port, and a way to
point this process's gateway code at it (and at the fakes) for the length of a test module.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path

import httpx

from services.common.settings import get_settings
from services.gateway.config import feedback_settings
from services.gateway.service.client import close_clients
from tests.system.harness import ROOT, free_port


@contextmanager
def live_service(
    service: str, log_dir: Path, timeout: float = 60.0, env: dict[str, str] | None = None
) -> Iterator[str]:
    """`guanjia serve SERVICE` on the test database (and `env` on top); yields its base URL."""
    port = free_port()
    log = open(log_dir / f"{service}.log", "wb")  # noqa: SIM115 - closed below
    proc = subprocess.Popen(
        [sys.executable, "-m", "services.cli", "serve", service, "--host", "127.0.0.1", "--port", str(port)],
        cwd=ROOT,
        env={**os.environ, **(env or {})},
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout
        while True:
            if proc.poll() is not None:
                raise RuntimeError((log_dir / f"{service}.log").read_text(errors="replace"))
            try:
                if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"{service} did not start within {timeout}s")
            time.sleep(0.2)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


@asynccontextmanager
async def environment(values: dict[str, str]) -> AsyncIterator[None]:
    """Set environment variables and re-read settings; restore both afterwards."""
    saved = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    get_settings.cache_clear()
    feedback_settings.cache_clear()
    await close_clients()
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        get_settings.cache_clear()
        feedback_settings.cache_clear()
        await close_clients()
