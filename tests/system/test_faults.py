"""A worker killed with kill -9 in the middle of a job: after restart, exactly one effect."""

from __future__ import annotations

import os
import signal
import time
import uuid
from pathlib import Path
from typing import Any

import httpx

from tests.system.harness import db_scalar, hotline_body, signed_headers, start_system

scalar = db_scalar


def wait_for(predicate: Any, timeout: float, interval: float = 0.2) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if value := predicate():
            return value
        time.sleep(interval)
    raise AssertionError(f"condition not met within {timeout}s")


def test_routing_worker_killed_before_commit_triages_exactly_once(tmp_path: Path) -> None:
    # Every consumer holds its transaction open for 10 s after writing its effect, so the kill
    # lands between "effect written" and "committed" even on a loaded box (the jobs' timeout is
    # longer than the pause, or arq would cancel every try).
    system = start_system(tmp_path, {"GUANJIA_FAULT_PAUSE_BEFORE_COMMIT": "10", "GUANJIA_JOB_TIMEOUT": "30"})
    try:
        body = hotline_body(f"call-{uuid.uuid4()}")
        secret = os.environ["GUANJIA_HOTLINE_SECRET"]
        r = httpx.post(
            f"{system.base_url}/api/v1/channels/hotline-12345/calls",
            content=body,
            headers=signed_headers(secret, body),
            timeout=10,
        )
        assert r.status_code == 202, r.text
        appeal_id = r.json()["appeal_id"]

        wait_for(
            lambda: scalar(
                "SELECT count(*) FROM intake.outbox WHERE appeal_id = :a AND type = 'appeal.received' "
                "AND published_at IS NOT NULL",
                a=appeal_id,
            ),
            timeout=20,
        )
        time.sleep(1.5)  # routing has taken the job and sits before its commit
        assert scalar("SELECT count(*) FROM routing.triage_results WHERE appeal_id = :a", a=appeal_id) == 0
        # Triage runs in routing's first lane (`guanjia up` runs one): kill the worker holding the job.
        os.kill(system.pid_of("routing-first-1"), signal.SIGKILL)

        # The supervisor restarts the worker; arq re-runs the job when its lease lapses.
        wait_for(
            lambda: scalar("SELECT count(*) FROM routing.triage_results WHERE appeal_id = :a", a=appeal_id),
            timeout=90,
        )
        wait_for(
            lambda: scalar("SELECT status FROM intake.appeals WHERE id = :a", a=appeal_id) != "received",
            timeout=30,
        )
        time.sleep(2)
        assert scalar("SELECT count(*) FROM routing.triage_results WHERE appeal_id = :a", a=appeal_id) == 1
        assert scalar("SELECT count(*) FROM routing.assignments WHERE appeal_id = :a", a=appeal_id) == 1
        assert (
            scalar(
                "SELECT count(*) FROM routing.outbox WHERE appeal_id = :a AND type = 'appeal.triaged'",
                a=appeal_id,
            )
            == 1
        )
        assert (
            scalar(
                "SELECT count(*) FROM intake.timeline WHERE appeal_id = :a AND to_status = 'triaged'",
                a=appeal_id,
            )
            == 1
        )
        assert scalar("SELECT count(*) FROM routing.dead_letters") == 0
    finally:
        system.stop()
