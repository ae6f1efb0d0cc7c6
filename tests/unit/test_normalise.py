"""Normalisation in one place (services/gateway/normalise.py): text, phones, ID numbers, places."""

from __future__ import annotations

import pytest

from services.common.personal import id_check_char, lenient_phone
from services.contracts.appeals import AppealDraft, Location, Reporter
from services.gateway.service.channels.hotline import HotlineCall, to_draft
from services.gateway.service.normalise import (
    InvalidIdNumberProblem,
    InvalidPhoneProblem,
    UnknownPlace,
    body_digest,
    id_number,
    locate,
    mask_person,
    normalise_draft,
    paragraphs,
    phone,
    redact,
    text,
)
from tests.system.harness import hotline_body

HUMEN, BEIZHA, HUMENZHAI = "441900121000", "441900121001", "441900121016"
CHANGAN = "441900119000"
ID_BODY = "44190019850315123"
ID_NUMBER = ID_BODY + id_check_char(ID_BODY)
WRONG_CHECK = ID_BODY + ("0" if id_check_char(ID_BODY) != "0" else "1")


def _draft(**overrides: object) -> AppealDraft:
    body: dict[str, object] = {
        "channel": "village_visit",
        "channel_ref": "ref-1",
        "description": "  北柵社區　獨居老人家裏屋頂漏水，\n\n  需要維修ＡＢＣ  ",
        "reporter": {"name": " 李 ", "role": "cadre"},
        "on_behalf_of": {"name": "陈伯", "phone": "139 1234 3210", "id_number": ID_NUMBER.lower()},
    }
    body.update(overrides)
    return AppealDraft.model_validate(body)


def test_text_is_simplified_half_width_and_single_spaced() -> None:
    assert text("  虎門鎮　路燈壞了ＡＢＣ１２３ ") == "虎门镇 路灯坏了ABC123"
    assert text("   ") is None and text(None) is None
    assert paragraphs("第一行　\n\n  第二行  \r\n") == "第一行\n第二行"


@pytest.mark.parametrize(
    ("raw", "e164"),
    [
        ("139 1234 3210", "+8613912343210"),
        ("+86 139-1234-3210", "+8613912343210"),
        ("１３９１２３４３２１０", "+8613912343210"),
        ("0769-22221234", "+8676922221234"),
    ],
)
def test_phones_become_e164(raw: str, e164: str) -> None:
    assert phone(raw) == e164


def test_a_bad_phone_is_a_chinese_422_naming_the_field() -> None:
    with pytest.raises(InvalidPhoneProblem) as info:
        phone("12345", field="on_behalf_of.phone")
    problem = info.value.to_problem()
    assert problem["status"] == 422 and problem["code"] == "invalid_phone"
    assert problem["field"] == "on_behalf_of.phone"
    assert problem["detail"].startswith("代报对象电话号码无效")
    # A machine's caller id that cannot be dialled is simply absent.
    assert lenient_phone("anonymous") is None


def test_id_numbers_are_checked_against_gb11643() -> None:
    assert id_number(ID_NUMBER.lower()) == ID_NUMBER
    with pytest.raises(InvalidIdNumberProblem) as info:
        id_number(WRONG_CHECK, field="on_behalf_of.id_number")
    problem = info.value.to_problem()
    assert problem["code"] == "invalid_id_number" and problem["reason"] == "check_digit"
    assert problem["detail"] == "代报对象身份证号码校验位不正确，请核对。"


def test_the_draft_is_normalised_in_one_pass() -> None:
    draft = normalise_draft(_draft())
    assert draft.description == "北栅社区 独居老人家里屋顶漏水,\n需要维修ABC".replace(",", "，")
    assert draft.reporter.name == "李"
    assert draft.on_behalf_of is not None
    assert draft.on_behalf_of.phone == "+8613912343210"
    assert draft.on_behalf_of.id_number == ID_NUMBER
    # The village named in the description places the appeal.
    assert (draft.location.town_code, draft.location.village_code) == (HUMEN, BEIZHA)


def test_an_invalid_family_id_refuses_the_draft() -> None:
    with pytest.raises(InvalidIdNumberProblem):
        normalise_draft(_draft(on_behalf_of={"name": "陈伯", "id_number": WRONG_CHECK}))


def test_places_from_grid_code_coordinates_and_typed_codes() -> None:
    by_grid, match = locate(Location(grid_code="441900121001-07", lat=22.85, lng=113.68, datum="gcj02"))
    assert (by_grid.town_code, by_grid.village_code, by_grid.datum) == (HUMEN, BEIZHA, "gcj02")
    assert match is not None and match.method == "grid_code"
    near, _ = locate(Location(lat=22.8501, lng=113.6801))
    assert near.village_code == BEIZHA
    typed, match = locate(Location(town_code="虎门", village_code=HUMENZHAI, address="北栅社区"))
    assert (typed.town_code, typed.village_code, match) == (HUMEN, HUMENZHAI, None)
    vague, _ = locate(Location(address="幸福小区3栋"))
    assert vague.town_code is None  # not confident: routing's triage decides later


def test_a_village_outside_the_named_town_is_refused() -> None:
    with pytest.raises(UnknownPlace):
        locate(Location(town_code=CHANGAN, village_code=BEIZHA))
    with pytest.raises(UnknownPlace):
        locate(Location(village_code="441900999999"))


def test_the_hotline_goes_through_the_same_normalisation() -> None:
    draft = to_draft(HotlineCall.model_validate_json(hotline_body("call-n1")))
    assert draft.reporter.phone == "+8613976543210"
    assert (draft.location.town_code, draft.location.village_code) == (HUMEN, BEIZHA)
    assert draft.description.startswith("你好，我是虎门镇北栅社区的居民")
    assert draft.category_hint == "城市管理/路灯" and draft.callback_requested is True


def test_masking_and_redaction_hide_personal_data() -> None:
    person = Reporter(name="陈小明", phone="+8613912343210", id_number=ID_NUMBER)
    assert mask_person(person) == {
        "name": "陈**",
        "phone": "139****3210",
        "id_number": f"4419**********{ID_NUMBER[-4:]}",
        "role": "resident",
    }
    kept = redact({"family": {"name": "陈小明", "phone": "13912343210", "id_number": ID_NUMBER}, "n": [1]})
    flat = str(kept)
    assert "13912343210" not in flat and ID_NUMBER not in flat and "陈小明" not in flat
    assert kept["n"] == [1]
    assert redact({"caller_number": 13976543210}) == {"caller_number": "139****3210"}


def test_body_digest_is_keyed_and_order_independent() -> None:
    assert body_digest({"a": 1, "b": "x"}) == body_digest({"b": "x", "a": 1})
    assert body_digest({"a": 1}) != body_digest({"a": 2})
