"""The import check (services.common.importcheck): it finds circles, hidden ones too, and
imports between services; and the code base as it stands has neither."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from services.common import importcheck


def test_strongly_connected_finds_circles_and_self_imports() -> None:
    edges = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"d"}, "e": {"a"}}
    assert importcheck.strongly_connected(edges) == [["a", "b", "c"], ["d"]]
    assert importcheck.strongly_connected({"a": {"b"}, "b": set()}) == []


@pytest.fixture
def packages(tmp_path: Path) -> Iterator[Path]:
    """Two throwaway top-level packages on sys.path, removed afterwards."""
    sys.path.insert(0, str(tmp_path))
    yield tmp_path
    sys.path.remove(str(tmp_path))
    for name in [m for m in sys.modules if m.startswith("shapecheck_")]:
        del sys.modules[name]


def _write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")


def test_a_circle_hidden_in_a_function_and_a_cross_service_import_fail(packages: Path) -> None:
    _write(
        packages,
        {
            "shapecheck_a/__init__.py": "from shapecheck_a import api\n",
            "shapecheck_a/api.py": "from shapecheck_a import service\n",
            "shapecheck_a/service.py": "def f() -> None:\n    from shapecheck_a import api  # hidden\n",
        },
    )
    report = importcheck.check(("shapecheck_a",))
    assert not report.ok
    assert [members for members, _ in report.cycles] == [["shapecheck_a.api", "shapecheck_a.service"]]
    assert report.cycles[0][1][0] == report.cycles[0][1][-1]  # a closed path


def test_an_import_between_services_fails(packages: Path) -> None:
    _write(
        packages,
        {
            "shapecheck_x/__init__.py": "",
            "shapecheck_x/jobs.py": "def f() -> None:\n    import shapecheck_y.models\n",
            "shapecheck_y/__init__.py": "",
            "shapecheck_y/models.py": "",
        },
    )
    report = importcheck.check(("shapecheck_x", "shapecheck_y"), frozenset({"shapecheck_x", "shapecheck_y"}))
    assert report.cycles == []
    assert report.cross_service == [("shapecheck_x.jobs", "shapecheck_y.models", 2)]


def test_a_package_init_importing_its_submodules_is_no_circle(packages: Path) -> None:
    _write(
        packages,
        {
            "shapecheck_b/__init__.py": "from shapecheck_b.one import x\n",
            "shapecheck_b/one.py": "x = 1\n",
        },
    )
    assert importcheck.check(("shapecheck_b",)).ok


def test_the_code_base_is_clean() -> None:
    report = importcheck.check()
    assert report.cycles == []
    assert report.cross_service == []
