"""Register files to typed rows (issue 16.12): CSV and XLSX, Chinese headers and words, and every
error named by row, column and a Chinese message. Pure: no database."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from openpyxl import Workbook

from services.common.reference import load_reference
from services.common.reference.importing import (
    RowsInvalid,
    UnreadableFile,
    credit_code_valid,
    parse_file,
)
from services.contracts.reference import DonorRow, StationRow, VillageRow

SAMPLES = Path(__file__).resolve().parents[2] / "docs" / "samples"
HEADER = "code,town_code,name,type,aliases,lat,lng,grid_prefix\n"


def errors_of(exc: pytest.ExceptionInfo[RowsInvalid]) -> set[tuple[int, str | None]]:
    return {(e["row"], e["column"]) for e in exc.value.extra["errors"]}


class TestSamples:
    def test_the_sample_files_parse_and_say_they_are_samples(self) -> None:
        ref = load_reference()
        villages = parse_file("villages", (SAMPLES / "villages.sample.csv").read_bytes(), ref)
        assert [v.code for v in villages] == ["441900003001", "441900003002", "441900003003"]
        # The sample villages are real: exactly the shipped rows.
        shipped = ref.village_by_code("441900003001")
        assert isinstance(villages[0], VillageRow) and shipped is not None
        assert (villages[0].name, villages[0].lat, tuple(villages[0].aliases)) == (
            shipped.name,
            shipped.lat,
            shipped.aliases,
        )
        stations = parse_file("stations", (SAMPLES / "stations.sample.csv").read_bytes(), ref)
        first = stations[0]
        assert isinstance(first, StationRow)
        assert first.services == ["elderly_care", "counselling"]
        assert [(m.role, m.count) for m in first.team] == [("social_worker", 3), ("volunteer", 20)]
        assert stations[1].village_code is None
        donors = parse_file("donors", (SAMPLES / "donors.sample.csv").read_bytes(), ref)
        assert [(d.kind, d.pool) for d in donors if isinstance(d, DonorRow)] == [
            ("enterprise", "city"),
            ("social_organisation", "town"),
            ("individual", "city"),
        ]
        for row in (*stations, *donors):
            assert "样例" in row.name and row.model_dump().get("code", "SAMPLE").startswith("SAMPLE")


class TestFormats:
    def test_chinese_headers_words_gb18030_and_a_town_by_name(self) -> None:
        text = "驿站编码,驿站名称,镇街,服务类别,是否启用\nT-1,虎门测试驿站,虎门,养老服务、就业帮扶,否\n"
        [row] = parse_file("stations", text.encode("gb18030"), load_reference())
        assert isinstance(row, StationRow)
        assert (row.town_code, row.services, row.active) == (
            "441900121000",
            ["elderly_care", "employment"],
            False,
        )

    def test_xlsx_reads_like_csv(self) -> None:
        book = Workbook()
        sheet = book.active
        assert sheet is not None
        sheet.append(["register_code", "kind", "name", "credit_code", "pool", "town_code"])
        sheet.append(["D-1", "企业", "某测试企业", "91441900000000000R", "镇街", 441900121000])
        sheet.append([None, None, None, None, None, None])  # an empty row is skipped
        sheet.append(["D-2", "个人", "某测试人士", None, "市级", None])
        data = io.BytesIO()
        book.save(data)
        rows = parse_file("donors", data.getvalue(), load_reference(), "register.xlsx")
        assert [(r.register_code, r.town_code) for r in rows if isinstance(r, DonorRow)] == [
            ("D-1", "441900121000"),
            ("D-2", None),
        ]

    def test_not_a_table(self) -> None:
        with pytest.raises(UnreadableFile):
            parse_file("villages", b"PK\x03\x04 not really a workbook", load_reference())
        with pytest.raises(UnreadableFile):
            parse_file("villages", b"", load_reference())


class TestErrors:
    def test_every_bad_row_is_named_and_nothing_passes(self) -> None:
        text = (
            HEADER
            + "441900121901,441900121000,测试一村,village,,22.85,113.68,441900121901\n"  # row 2: fine
            + "44190012190X,441900121000,测试二村,village,,22.85,113.68,g\n"  # row 3: code
            + "441900121903,441900999000,测试三村,village,,22.85,113.68,g\n"  # row 4: unknown town
            + "441900004903,441900121000,测试四村,village,,22.85,113.68,g\n"  # row 5: not in its town
            + "441900121905,441900121000,测试五村,小区,,22.85,113.68,g\n"  # row 6: type
            + "441900121906,441900121000,测试六村,village,,32.85,113.68,g\n"  # row 7: lat outside
            + "441900121901,441900121000,测试一村,village,,22.85,113.68,g\n"  # row 8: twice
        )
        with pytest.raises(RowsInvalid) as caught:
            parse_file("villages", text.encode(), load_reference())
        assert errors_of(caught) == {
            (3, "code"),
            (4, "town_code"),
            (5, "code"),
            (6, "type"),
            (7, "lat"),
            (8, "code"),
        }
        assert caught.value.status == 422 and caught.value.code == "reference_rows_invalid"
        messages = {(e["row"], e["message"]) for e in caught.value.extra["errors"]}
        assert (6, "类型「小区」无法识别，应为：社区、村") in messages
        assert (7, "纬度超出东莞市范围") in messages
        assert (8, "与第 2 行重复：441900121901") in messages
        assert "共 6 处错误，未导入任何数据" in caught.value.detail

    def test_the_header_is_checked_first(self) -> None:
        with pytest.raises(RowsInvalid) as caught:
            parse_file("stations", "编码,名称,备注\nX,Y,Z\n".encode(), load_reference())
        messages = [e["message"] for e in caught.value.extra["errors"]]
        assert "无法识别的列「备注」" in messages and "缺少列「镇街编码」（town_code）" in messages

    def test_donor_rules(self) -> None:
        text = (
            "register_code,kind,name,credit_code,pool,town_code\n"
            "D-1,企业,测试企业甲,91441900000000000A,市级,\n"  # bad check digit
            "D-2,社会组织,测试组织乙,,市级,\n"  # no credit code
            "D-3,个人,测试人士丙,,镇街,\n"  # town pool without a town
            "D-4,个人,测试人士丁,,市级,441900121000\n"  # city pool with a town
        )
        with pytest.raises(RowsInvalid) as caught:
            parse_file("donors", text.encode(), load_reference())
        assert errors_of(caught) == {
            (2, "credit_code"),
            (3, "credit_code"),
            (4, "town_code"),
            (5, "town_code"),
        }

    def test_station_village_must_be_in_its_town(self) -> None:
        text = "code,name,town_code,village_code,services\nS-1,测试驿站,441900121000,441900003001,养老服务\n"
        with pytest.raises(RowsInvalid) as caught:
            parse_file("stations", text.encode(), load_reference())
        assert errors_of(caught) == {(2, "village_code")}


def test_credit_code_check_digit() -> None:
    assert credit_code_valid("91441900000000000R")
    assert not credit_code_valid("91441900000000000Q")
    assert not credit_code_valid("9144190000000000R")


def test_up_says_there_is_no_station_or_donor_and_how_to_load_them() -> None:
    from services.cli import reference_help

    said = "\n".join(reference_help())
    assert "no service station" in said and "no donor" in said
    assert "guanjia reference import --kind villages|stations|donors FILE" in said
    assert "POST /api/v1/reference/{kind}/file" in said
    counted = reference_help({"villages": 209, "imported": 2, "stations": 0, "donors": 0})[0]
    assert (
        counted == "registers loaded: 209 villages and communities (2 imported), 0 service stations, 0 donors"
    )
    assert {p.name for p in SAMPLES.glob("*.sample.csv")} == {
        "villages.sample.csv",
        "stations.sample.csv",
        "donors.sample.csv",
    }
