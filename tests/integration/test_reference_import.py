"""The city's registers imported through the real gateway into the real routing service (its own
process), and by `guanjia reference import` (issue 16.12): CSV and XLSX, all rows or none, errors
by row and column, idempotent, city staff only; imported villages reach other processes."""

from __future__ import annotations

import asyncio
import io
import os
import secrets
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from openpyxl import Workbook
from sqlalchemy import text

from services.common.db import session_scope
from services.common.reference import load_reference
from services.common.reference import store as reference_store
from services.gateway.api.app import app as gateway_app
from tests.fakes.live_service import environment, live_service
from tests.fixtures import bearer, staff
from tests.system.harness import ROOT

PROBLEM = "application/problem+json"


def as_city() -> dict[str, str]:
    return bearer(staff("city_admin", "city"))


def as_town() -> dict[str, str]:
    return bearer(staff("town_staff", "441900121000"))


R = "/api/v1/reference"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@pytest.fixture(scope="module")
async def gw(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[httpx.AsyncClient]:
    logs: Path = tmp_path_factory.mktemp("reference")
    with live_service("routing", logs) as routing_url:
        async with (
            environment({"GUANJIA_ROUTING_URL": routing_url}),
            httpx.AsyncClient(transport=httpx.ASGITransport(app=gateway_app), base_url="http://gw") as client,
        ):
            try:
                yield client
            finally:
                # The test villages leave nothing behind for other modules of the session.
                async with session_scope() as session:
                    await session.execute(text("DELETE FROM reference.villages WHERE name LIKE '测试%'"))
                await reference_store.refresh()


def tag() -> str:
    return secrets.token_hex(3).upper()


def stations_csv(code: str, name: str, village: str = "441900121001") -> bytes:
    return (
        "驿站编码,驿站名称,镇街编码,村（社区）编码,服务类别,服务团队,是否启用\n"
        f"{code}-1,{name},441900121000,{village},养老服务|心理疏导,社工:测试社工站:3,是\n"
        f"{code}-2,测试驿站乙{code},虎门,,公益服务,,是\n"
    ).encode()


async def upload(
    gw: httpx.AsyncClient, kind: str, data: bytes, name: str = "register.csv", **params: Any
) -> httpx.Response:
    return await gw.post(f"{R}/{kind}/file", files={"file": (name, data)}, headers=as_city(), params=params)


async def station(code: str) -> Any:
    async with session_scope() as session:
        return (
            await session.execute(
                text("SELECT name, services, team, updated_at FROM routing.stations WHERE code = :c"),
                {"c": code},
            )
        ).first()


class TestStations:
    async def test_import_then_again_changes_nothing_then_a_change_updates(
        self, gw: httpx.AsyncClient
    ) -> None:
        code = f"T{tag()}"
        first = await upload(gw, "stations", stations_csv(code, f"测试驿站甲{code}"))
        assert first.status_code == 200, first.text
        assert {k: first.json()[k] for k in ("rows", "created", "updated", "unchanged")} == {
            "rows": 2,
            "created": 2,
            "updated": 0,
            "unchanged": 0,
        }
        stored = await station(f"{code}-1")
        assert stored.services == ["elderly_care", "counselling"]
        assert stored.team == [{"role": "social_worker", "name": "测试社工站", "count": 3}]

        again = await upload(gw, "stations", stations_csv(code, f"测试驿站甲{code}"))
        assert (again.json()["created"], again.json()["updated"], again.json()["unchanged"]) == (0, 0, 2)
        assert await station(f"{code}-1") == stored

        changed = await upload(gw, "stations", stations_csv(code, f"测试驿站甲{code}（新址）"))
        assert (changed.json()["created"], changed.json()["updated"], changed.json()["unchanged"]) == (
            0,
            1,
            1,
        )
        public = await gw.get(f"/api/v1/stations/{code}-1")
        assert public.json()["name"] == f"测试驿站甲{code}（新址）"

    async def test_a_bad_row_refuses_the_whole_file(self, gw: httpx.AsyncClient) -> None:
        code = f"T{tag()}"
        good = stations_csv(code, f"测试驿站甲{code}")
        bad = (
            good
            + f"{code}-3,测试驿站丙,441900121000,441900003001,养老服务,,是\n{code}-4,测,虎门,,不存在的类别,,也许\n".encode()
        )
        r = await upload(gw, "stations", bad)
        assert r.status_code == 422
        assert r.headers["content-type"].startswith(PROBLEM)
        body = r.json()
        assert body["code"] == "reference_rows_invalid"
        assert {(e["row"], e["column"]) for e in body["errors"]} == {
            (4, "village_code"),
            (5, "name"),
            (5, "services"),
            (5, "active"),
        }
        assert all(e["message"] for e in body["errors"]) and "未导入任何数据" in body["detail"]
        for n in (1, 2, 3):
            assert await station(f"{code}-{n}") is None

    async def test_dry_run_writes_nothing(self, gw: httpx.AsyncClient) -> None:
        code = f"T{tag()}"
        r = await upload(gw, "stations", stations_csv(code, f"测试驿站甲{code}"), dry_run="true")
        assert r.status_code == 200 and r.json()["dry_run"] is True and r.json()["created"] == 2
        assert await station(f"{code}-1") is None

    async def test_concurrent_imports_of_one_new_station_make_one(self, gw: httpx.AsyncClient) -> None:
        code = f"T{tag()}"
        rows = {
            "rows": [
                {"code": code, "name": f"测试驿站{code}", "town_code": "441900121000", "services": ["living"]}
            ]
        }
        answers = await asyncio.gather(
            *(gw.post(f"{R}/stations", json=rows, headers=as_city()) for _ in range(4))
        )
        statuses = [r.status_code for r in answers]
        assert set(statuses) <= {200, 409} and 200 in statuses, [r.text for r in answers]
        for refused in (r for r in answers if r.status_code == 409):
            assert refused.json()["code"] == "reference_import_concurrent"
        assert sum(r.json()["created"] for r in answers if r.status_code == 200) == 1
        assert await station(code) is not None

    async def test_city_staff_only(self, gw: httpx.AsyncClient) -> None:
        data = stations_csv(f"T{tag()}", "测试驿站")
        town = await gw.post(f"{R}/stations/file", files={"file": ("s.csv", data)}, headers=as_town())
        assert town.status_code == 403
        anonymous = await gw.post(f"{R}/stations/file", files={"file": ("s.csv", data)})
        assert anonymous.status_code == 401
        rows = {
            "rows": [{"code": "X", "name": "测试驿站", "town_code": "441900121000", "services": ["living"]}]
        }
        assert (await gw.post(f"{R}/stations", json=rows, headers=as_town())).status_code == 403


class TestVillagesAndDonors:
    async def test_xlsx_villages_reach_routing_and_this_process(self, gw: httpx.AsyncClient) -> None:
        code = f"4419001219{secrets.randbelow(90) + 10}"
        book = Workbook()
        sheet = book.active
        assert sheet is not None
        sheet.append(["村（社区）编码", "镇街编码", "名称", "类型", "别名", "纬度", "经度", "网格编码前缀"])
        sheet.append([int(code), 441900121000, f"测试村{code[-2:]}", "村", "", 22.84, 113.67, code])
        data = io.BytesIO()
        book.save(data)
        r = await gw.post(
            f"{R}/villages/file", content=data.getvalue(), headers={**as_city(), "Content-Type": XLSX}
        )
        assert r.status_code == 200, r.text
        assert r.json()["created"] == 1
        # Routing (another process) knows the village at once: a station may be placed in it.
        placed = await upload(gw, "stations", stations_csv(f"T{tag()}", "测试驿站新村", village=code))
        assert placed.status_code == 200, placed.text
        # This process sees it after its refresh, as every process does within GUANJIA_REFERENCE_REFRESH.
        await reference_store.refresh()
        village = load_reference().village_by_code(code)
        assert village is not None and village.town_code == "441900121000"
        assert load_reference().village_by_code("441900121001") is not None  # the shipped ones stay
        again = await gw.post(
            f"{R}/villages/file", content=data.getvalue(), headers={**as_city(), "Content-Type": XLSX}
        )
        assert again.json()["unchanged"] == 1

    async def test_donors_as_json_rows_get_a_key_once(self, gw: httpx.AsyncClient) -> None:
        reg = f"D{tag()}"
        rows = {
            "rows": [
                {"register_code": reg, "kind": "enterprise", "name": "测试企业甲", "credit_code": "91441900000000000R"},
                {"register_code": f"{reg}-2", "kind": "individual", "name": "测试人士乙", "pool": "town",
                 "town_code": "441900121000"},
            ]
        }  # fmt: skip
        r = await gw.post(f"{R}/donors", json=rows, headers=as_city())
        assert r.status_code == 200, r.text
        keys = {k["register_code"]: k["key"] for k in r.json()["issued_keys"]}
        assert set(keys) == {reg, f"{reg}-2"}
        me = await gw.get("/api/v1/donors/me", headers={"X-Donor-Key": keys[reg]})
        assert me.status_code == 200 and me.json()["state"] == "verified"
        again = await gw.post(f"{R}/donors", json=rows, headers=as_city())
        assert (again.json()["unchanged"], again.json()["issued_keys"]) == (2, [])
        bad = {"rows": [{**rows["rows"][0], "credit_code": "91441900000000000A"}]}
        refused = await gw.post(f"{R}/donors", json=bad, headers=as_city())
        assert refused.status_code == 422
        assert refused.json()["errors"] == [
            {"row": 1, "column": "credit_code", "message": "统一社会信用代码校验位不正确"}
        ]

    async def test_a_retried_donors_import_answers_the_first_report_keys_included(
        self, gw: httpx.AsyncClient
    ) -> None:
        reg = f"D{tag()}"
        rows = {"rows": [{"register_code": reg, "kind": "individual", "name": "测试人士丙"}]}
        keyed = {**as_city(), "Idempotency-Key": f"import-{reg}"}
        first = await gw.post(f"{R}/donors", json=rows, headers=keyed)
        assert first.status_code == 200, first.text
        [issued] = first.json()["issued_keys"]
        # The answer was lost: the retry under the same key gets the same report, the key with it.
        retry = await gw.post(f"{R}/donors", json=rows, headers=keyed)
        assert retry.status_code == 200, retry.text
        assert retry.headers.get("Idempotent-Replayed") == "true"
        assert retry.json() == first.json()
        me = await gw.get("/api/v1/donors/me", headers={"X-Donor-Key": issued["key"]})
        assert me.status_code == 200 and me.json()["state"] == "verified"
        # Kept encrypted: the command table holds no usable key.
        async with session_scope() as session:
            kept = await session.scalar(
                text("SELECT response::text FROM routing.commands WHERE idempotency_key LIKE :k"),
                {"k": f"donors:%:import-{reg}"},
            )
        assert kept is not None and issued["key"] not in kept
        # Other rows under the key are refused; without a key, an import is as before.
        other = {"rows": [{**rows["rows"][0], "name": "测试人士丁"}]}
        reused = await gw.post(f"{R}/donors", json=other, headers=keyed)
        assert reused.status_code == 409 and reused.json()["code"] == "idempotency_key_reused"
        plain = await gw.post(f"{R}/donors", json=rows, headers=as_city())
        assert (plain.json()["unchanged"], plain.json()["issued_keys"]) == (1, [])
        # A file import under a key replays alike.
        csv = f"register_code,kind,name,credit_code,pool,town_code\nF{reg},个人,测试人士戊,,市级,\n".encode()
        file_keyed = {**keyed, "Idempotency-Key": f"file-{reg}", "Content-Type": "text/csv"}
        sent = await gw.post(f"{R}/donors/file", content=csv, headers=file_keyed)
        assert sent.status_code == 200, sent.text
        assert len(sent.json()["issued_keys"]) == 1
        resent = await gw.post(f"{R}/donors/file", content=csv, headers=file_keyed)
        assert resent.json() == sent.json()


def test_the_cli_imports_once_and_lists_errors(tmp_path: Path) -> None:
    code = f"C{tag()}"
    good = tmp_path / "stations.csv"
    good.write_bytes(stations_csv(code, f"测试驿站甲{code}"))
    env = {**os.environ, "GUANJIA_DATA_DIR": str(tmp_path)}

    def guanjia(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "services.cli", "reference", "import", *args],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )

    first = guanjia("--kind", "stations", str(good))
    assert first.returncode == 0, first.stderr
    assert "imported 2 stations: 2 created, 0 updated, 0 unchanged" in first.stdout
    second = guanjia("--kind", "stations", str(good))
    assert "imported 2 stations: 0 created, 0 updated, 2 unchanged" in second.stdout
    bad = tmp_path / "bad.csv"
    bad.write_bytes(good.read_bytes() + f"{code}-9,测试驿站,441900999000,,养老服务,,是\n".encode())
    refused = guanjia("--kind", "stations", str(bad))
    assert refused.returncode == 1
    assert "row 4 [town_code]: 镇街编码 441900999000 不存在" in refused.stderr
    samples = guanjia("--kind", "donors", "--dry-run", str(ROOT / "docs" / "samples" / "donors.sample.csv"))
    assert "would import 3 donors: 3 created" in samples.stdout, samples.stderr
