"""The data dir is its owner's alone (issue 15.10): what `guanjia up` finds is tightened, what it
and its children create afterwards is 0600, PostgreSQL's own directory is left alone."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from services.embedded import make_private


@pytest.fixture
def restore_umask() -> Iterator[None]:
    saved = os.umask(0o022)
    os.umask(saved)
    try:
        yield
    finally:
        os.umask(saved)


def mode(path: Path) -> int:
    return path.stat().st_mode & 0o777


def test_an_earlier_runs_files_are_tightened_and_new_ones_are_private(
    tmp_path: Path, restore_umask: None
) -> None:
    root = tmp_path / "data"
    (root / "logs").mkdir(parents=True)
    (root / "redis").mkdir()
    (root / "pg").mkdir(mode=0o700)
    for path in (
        root / "logs" / "gateway.log",
        root / "redis" / "appendonly.aof",
        root / "redis" / "dump.rdb",
    ):
        path.write_text("我叫王小明，患有糖尿病")
        path.chmod(0o644)
    (root / "logs").chmod(0o755)
    root.chmod(0o755)
    (root / "pg" / "PG_VERSION").write_text("16")
    (root / "pg" / "PG_VERSION").chmod(0o640)

    make_private(root)

    assert mode(root) == (0o711 if os.geteuid() == 0 else 0o700)
    assert mode(root / "logs") == 0o700 and mode(root / "redis") == 0o700
    for path in (
        root / "logs" / "gateway.log",
        root / "redis" / "appendonly.aof",
        root / "redis" / "dump.rdb",
    ):
        assert mode(path) == 0o600, path
    assert mode(root / "pg" / "PG_VERSION") == 0o640  # PostgreSQL's, untouched
    # Whatever this process and a child it starts create from now on: owner only.
    (root / "logs" / "worker.log").write_text("x")
    subprocess.run(
        [sys.executable, "-c", f"open({str(root / 'redis' / 'dump2.rdb')!r}, 'w').write('x')"], check=True
    )
    assert mode(root / "logs" / "worker.log") == 0o600
    assert mode(root / "redis" / "dump2.rdb") == 0o600
