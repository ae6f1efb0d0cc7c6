"""Issue 16.6 and 16.12 on a real `guanjia up`: the registers loaded by API and CLI reach the
other processes; a photo sent after a voice appeal on the official account joins it; 查询 answers.

Real processes, the test session's PostgreSQL and Redis; WeChat's side is `tests.fakes.wechat_push`.
"""

from __future__ import annotations

import re
import secrets
import subprocess
import sys
import time
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Iterator

import httpx
import pytest

from tests.fakes.wechat_push import WeChatServer, new_encoding_aes_key
from tests.fixtures import bearer, staff
from tests.system.harness import ROOT, RunningSystem, db_scalar, hotline_body, signed_headers, start_system
from tests.system.test_end_to_end import SECRET, wait_for

WECHAT = WeChatServer(
    token=secrets.token_hex(16), app_id="wx1a2b3c4d5e6f7a8b", encoding_aes_key=new_encoding_aes_key()
)
HUMEN = "441900121000"  # 虎门镇


def city() -> dict[str, str]:
    return bearer(staff("city_admin", "city"))


def humen_town() -> dict[str, str]:
    return bearer(staff("town_staff", HUMEN))


TICKET = re.compile(r"受理编号[:：]\s*(MS\d{14})")


@pytest.fixture(scope="module")
def system(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningSystem]:
    running = start_system(
        tmp_path_factory.mktemp("guanjia-registers"),
        {
            "GUANJIA_WECHAT_TOKEN": WECHAT.token,
            "GUANJIA_WECHAT_AES_KEY": WECHAT.encoding_aes_key,
            "GUANJIA_WECHAT_APP_ID": WECHAT.app_id,
            "GUANJIA_WECHAT_REPLY_BUDGET": "4",
        },
    )
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture
def client(system: RunningSystem) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=system.base_url, timeout=20) as c:
        yield c


def wechat(client: httpx.Client, user: str, msg_type: str, when: int, **fields: str) -> str:
    body = WECHAT.message(
        user, msg_type, 6_100_000_000_000_000_000 + secrets.randbelow(10**18), create_time=when, **fields
    )
    r = client.post("/api/v1/channels/wechat-official", params=WECHAT.query(openid=user), content=body)
    assert r.status_code == 200, r.text
    return {c.tag: c.text or "" for c in ET.fromstring(r.content)}["Content"]


def test_up_says_how_to_load_the_registers(system: RunningSystem) -> None:
    # `up` says it once it has seen the system ready, which may be a moment after this test did.
    log = system.data_dir / "up.log"

    def whole() -> str:
        text = log.read_text()
        return text if "[guanjia] logs:" in text else ""

    said = wait_for(whole)
    assert "no service station (莞家驿站) and no donor (爱心资源库) is shipped" in said
    assert "guanjia reference import --kind villages|stations|donors FILE" in said
    assert re.search(
        r"registers loaded: \d{3} villages and communities \(\d+ imported\), \d+ service stations", said
    )


def _village_with_a_station(client: httpx.Client) -> tuple[str, str, str]:
    """A new village of 虎门镇 and a station in it, loaded by the city's register files:
    (village code, village name, station code). Codes are drawn afresh: the system is shared."""
    for _ in range(20):
        code, name = f"4419001219{secrets.randbelow(90) + 10}", f"测试新村{secrets.token_hex(2)}"
        if not db_scalar("SELECT count(*) FROM intake.appeals WHERE village_code = :c", c=code):
            break
    villages = f"code,town_code,name,type,aliases,lat,lng,grid_prefix\n{code},{HUMEN},{name},village,,22.84,113.67,{code}\n"
    r = client.post(
        "/api/v1/reference/villages/file", files={"file": ("v.csv", villages.encode())}, headers=city()
    )
    assert r.status_code == 200 and r.json()["created"] == 1, r.text
    # Routing (its own process) places a station in the new village.
    station = f"S{secrets.token_hex(3).upper()}"
    stations = (
        f"code,name,town_code,village_code,services\n{station},测试驿站{station},{HUMEN},{code},养老服务\n"
    )
    r = client.post(
        "/api/v1/reference/stations/file", files={"file": ("s.csv", stations.encode())}, headers=city()
    )
    assert r.status_code == 200 and r.json()["created"] == 1, r.text
    return code, name, station


def _call(client: httpx.Client, said: str, address: str) -> str:
    """A 12345 call saying `said`, accepted; its call id."""
    call_id = f"call-{uuid.uuid4()}"
    body = hotline_body(
        call_id,
        address=address,
        summary=said,
        transcript=[{"speaker": "caller", "text": said, "offset_ms": 0}],
    )
    accepted = client.post(
        "/api/v1/channels/hotline-12345/calls", content=body, headers=signed_headers(SECRET, body)
    )
    assert accepted.status_code == 202, accepted.text
    return call_id


def test_registers_reach_every_process(system: RunningSystem, client: httpx.Client) -> None:
    code, name, station = _village_with_a_station(client)
    listed = client.get("/api/v1/stations", params={"village_code": code}).json()
    assert [s["code"] for s in listed] == [station]
    # The gateway places a 12345 call in the new village; intake (another process) keeps it.
    call_id = _call(client, f"我是虎门镇{name}的居民，{name}路口的路灯坏了好几盏。", f"东莞市虎门镇{name}")
    stored = wait_for(
        lambda: db_scalar("SELECT village_code FROM intake.appeals WHERE channel_ref = :r", r=call_id)
    )
    assert stored == code

    cli = subprocess.run(
        [sys.executable, "-m", "services.cli", "reference", "import", "--kind", "donors", "--dry-run",
         str(ROOT / "docs" / "samples" / "donors.sample.csv")],
        env=system.env, capture_output=True, text=True, check=False, timeout=120,
    )  # fmt: skip
    assert cli.returncode == 0, cli.stderr
    assert "would import 3 donors: 3 created" in cli.stdout


def test_a_photo_joins_the_voice_appeal_and_the_ticket_answers(client: httpx.Client) -> None:
    user, now = f"o{secrets.token_hex(13)}", int(time.time())
    filed = wechat(
        client, user, "voice", now, MediaId="M1", Format="amr", Recognition="虎门镇北栅社区的井盖丢了。"
    )
    match = TICKET.search(filed)
    assert match, filed
    ticket = match.group(1)
    joined = wechat(client, user, "image", now + 1, PicUrl="http://mmbiz.qpic.cn/mmbiz_jpg/x/0", MediaId="P1")
    assert ticket in joined
    photos = db_scalar(
        "SELECT count(*) FROM intake.attachments t JOIN intake.appeals a ON a.id = t.appeal_id"
        " WHERE a.ticket_no = :t AND t.kind = 'photo'",
        t=ticket,
    )
    assert photos == 1
    assert "当前状态" in wechat(client, user, "text", now + 2, Content=f"查询 {ticket}")
    assert "没有查到您本人" in wechat(
        client, f"o{secrets.token_hex(13)}", "text", now + 3, Content=f"查询 {ticket}"
    )


def test_a_hand_over_to_the_towns_station_is_a_hop_not_a_return(client: httpx.Client) -> None:
    """首次办结率 (issue 16.8): the town passing an appeal from its village to its own station takes
    the hop back on the way, but that is no send-back (退单): nothing is counted as returned."""
    code, name, station = _village_with_a_station(client)
    call_id = _call(
        client, f"我是虎门镇{name}的居民，隔壁独居老人行动不便，想请人定期上门照看。", f"东莞市虎门镇{name}"
    )
    appeal_id = wait_for(
        lambda: db_scalar(
            "SELECT id::text FROM intake.appeals WHERE channel_ref = :r AND status <> 'received'", r=call_id
        ),
        timeout=120,
    )
    # The town first hands it to the village (whatever triage chose), so that a hop is active.
    decided = client.post(
        f"/api/v1/routing/triage/{appeal_id}/decision",
        json={"unit_type": "village", "unit_code": code, "reason": "属地办理"},
        headers=humen_town(),
    )
    assert decided.status_code == 200, decided.text
    wait_for(
        lambda: db_scalar(
            "SELECT holder_code = :c FROM intake.appeals WHERE id = CAST(:a AS uuid)", c=code, a=appeal_id
        ),
        timeout=120,
    )
    sent = client.post(
        f"/api/v1/stations/{station}/assignments",
        json={"appeal_id": appeal_id, "note": "转本镇驿站上门服务"},
        headers=humen_town(),
    )
    assert sent.status_code == 200, sent.text
    wait_for(
        lambda: db_scalar(
            "SELECT holder_type = 'station' AND holder_code = :s FROM intake.appeals WHERE id = CAST(:a AS uuid)",
            s=station,
            a=appeal_id,
        ),
        timeout=120,
    )
    assert db_scalar("SELECT returns_count FROM intake.appeals WHERE id = CAST(:a AS uuid)", a=appeal_id) == 0
    # The arrival is counted after the caller had the ticket (intake's worker), perhaps after triage.
    wait_for(
        lambda: db_scalar(
            "SELECT count(*) = 0 FROM intake.pending_arrivals WHERE appeal_id = CAST(:a AS uuid)", a=appeal_id
        ),
        timeout=120,
    )
    report = client.get(
        "/api/v1/stats/kpis", params={"level": "village", "code": code, "by": "all"}, headers=humen_town()
    )
    assert report.status_code == 200, report.text
    (row,) = report.json()["rows"]
    assert row["counts"]["received"] == 1
    assert row["counts"].get("returned", 0) == 0, row
