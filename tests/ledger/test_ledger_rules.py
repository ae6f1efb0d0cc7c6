"""Pure ledger rules: holder codes, allocation levels, income targets, legs, request hashing."""

from __future__ import annotations

import json
from typing import Any, get_args

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from ledger.errors import InvalidAllocation, InvalidHolder, InvalidIncomeTarget
from ledger.models import ENTRY_KINDS, HOLDER_TYPES
from ledger.schemas import MAX_AMOUNT_FEN, AllocationCommand, EntryKind, FundHolder, HolderType, IncomeCommand
from ledger.service import rules
from services.common import scope

TOWN = "441900121000"
OWN_VILLAGE = "441900121201"
OTHER_TOWN = "441900122000"
OTHER_VILLAGE = "441900122201"


def holder(holder_type: str, code: str) -> FundHolder:
    return FundHolder.model_validate({"holder_type": holder_type, "holder_code": code})


def allocation(payer: FundHolder, payee: FundHolder, amount: int = 100) -> AllocationCommand:
    return AllocationCommand(
        source_code="city_finance", from_holder=payer, to_holder=payee, amount_fen=amount
    )


class TestCanonicalHash:
    def test_key_order_and_whitespace_do_not_matter(self) -> None:
        a = json.loads('{"source_code": "donation", "amount_fen": 5, "holder": {"holder_type": "city", '
                       '"holder_code": "441900000000"}}')  # fmt: skip
        b = json.loads('{"holder":{"holder_code":"441900000000","holder_type":"city"},'
                       '"amount_fen":5,"source_code":"donation"}')  # fmt: skip
        assert rules.request_hash("income", a) == rules.request_hash("income", b)

    def test_canonical_form_is_compact_sorted_utf8(self) -> None:
        assert rules.canonical_json({"b": 1, "a": "市财政"}) == '{"a":"市财政","b":1}'

    def test_omitted_default_equals_explicit_null(self) -> None:
        base = {
            "source_code": "city_finance",
            "holder": {"holder_type": "city", "holder_code": rules.CITY_CODE},
        }
        omitted = IncomeCommand.model_validate({**base, "amount_fen": 10})
        explicit = IncomeCommand.model_validate({**base, "amount_fen": 10, "memo": None, "appeal_id": None})
        assert rules.request_hash("income", omitted.model_dump(mode="json")) == rules.request_hash(
            "income", explicit.model_dump(mode="json")
        )

    def test_operation_and_every_field_count(self) -> None:
        body: dict[str, Any] = {"amount_fen": 10, "memo": "x"}
        digest = rules.request_hash("income", body)
        assert len(digest) == 64 and all(c in "0123456789abcdef" for c in digest)
        assert digest != rules.request_hash("allocation", body)
        assert digest != rules.request_hash("income", {**body, "amount_fen": 11})
        assert digest != rules.request_hash("income", {**body, "memo": "y"})

    @given(st.dictionaries(st.text(max_size=8), st.integers() | st.text(max_size=8), max_size=6))
    def test_any_permutation_hashes_alike(self, payload: dict[str, Any]) -> None:
        reversed_payload = dict(reversed(list(payload.items())))
        assert rules.request_hash("x", payload) == rules.request_hash("x", reversed_payload)


class TestHolderCodes:
    @pytest.mark.parametrize(
        ("holder_type", "code"),
        [
            ("city", "city"),
            ("town", TOWN),
            ("village", OWN_VILLAGE),
            ("project", "P-1"),
            ("donor", "D1"),
        ],
    )
    def test_valid(self, holder_type: str, code: str) -> None:
        rules.validate_holder(holder_type, code)

    def test_the_old_city_code_reads_as_city(self) -> None:
        assert rules.canonical_code("city", "441900000000") == "city"
        assert rules.canonical_code("town", "441900000000") == "441900000000"
        assert FundHolder(holder_type="city", holder_code="441900000000").holder_code == "city"
        assert FundHolder(holder_type="town", holder_code=TOWN).holder_code == TOWN

    @pytest.mark.parametrize(
        ("holder_type", "code"),
        [
            ("city", "441900"),
            ("city", TOWN),
            ("city", "441900000000"),  # the old spelling is read as `city`, never stored
            ("town", OWN_VILLAGE),  # a village code is not a town
            ("town", "441900000000"),  # nor is the city
            ("town", "440300121000"),  # Shenzhen
            ("town", "44190012100"),
            ("town", "44190012100a"),
            ("village", TOWN),
            ("village", "441900000201"),
            ("project", "  "),
        ],
    )
    def test_invalid(self, holder_type: str, code: str) -> None:
        with pytest.raises(InvalidHolder) as info:
            rules.validate_holder(holder_type, code)
        assert info.value.status == 422 and info.value.code == "invalid_holder"

    def test_town_of_village(self) -> None:
        assert scope.town_code_of_village(OWN_VILLAGE) == TOWN


class TestAllocationLevels:
    @pytest.mark.parametrize(
        ("payer", "payee"),
        [(("city", rules.CITY_CODE), ("town", TOWN)), (("town", TOWN), ("village", OWN_VILLAGE))],
    )
    def test_one_level_down_is_allowed(self, payer: tuple[str, str], payee: tuple[str, str]) -> None:
        rules.check_allocation(holder(*payer), holder(*payee))

    @pytest.mark.parametrize(
        ("payer", "payee"),
        [
            (("town", TOWN), ("village", OTHER_VILLAGE)),  # another town's village
            (("city", rules.CITY_CODE), ("village", OWN_VILLAGE)),  # skips a level
            (("town", TOWN), ("city", rules.CITY_CODE)),  # upwards
            (("village", OWN_VILLAGE), ("town", TOWN)),
            (("town", TOWN), ("town", OTHER_TOWN)),  # sideways
            (("city", rules.CITY_CODE), ("city", rules.CITY_CODE)),
        ],
    )
    def test_anything_else_is_refused(self, payer: tuple[str, str], payee: tuple[str, str]) -> None:
        with pytest.raises(InvalidAllocation) as info:
            rules.check_allocation(holder(*payer), holder(*payee))
        assert info.value.status == 422 and info.value.code == "invalid_allocation"


class TestIncomeTargets:
    def test_allowed_level(self) -> None:
        rules.check_income_target("town_matching", ["town"], holder("town", TOWN))

    def test_other_level_refused(self) -> None:
        with pytest.raises(InvalidIncomeTarget) as info:
            rules.check_income_target("city_finance", ["city"], holder("town", TOWN))
        assert info.value.code == "invalid_income_target" and "市" in info.value.detail


class TestLegs:
    @given(st.integers(min_value=1, max_value=MAX_AMOUNT_FEN))
    def test_income_balances(self, amount: int) -> None:
        cmd = IncomeCommand(source_code="donation", holder=holder("town", TOWN), amount_fen=amount)
        legs = rules.income_legs(cmd)
        assert sum(leg.amount_fen for leg in legs) == 0
        assert legs[0].account == rules.AccountKey("external", rules.EXTERNAL_CODE, "donation")
        assert legs[1] == rules.Leg(rules.AccountKey("town", TOWN, "donation"), amount)

    @given(st.integers(min_value=1, max_value=MAX_AMOUNT_FEN))
    def test_allocation_balances_within_one_source(self, amount: int) -> None:
        legs = rules.allocation_legs(allocation(holder("town", TOWN), holder("village", OWN_VILLAGE), amount))
        assert sum(leg.amount_fen for leg in legs) == 0
        assert {leg.account.source_code for leg in legs} == {"city_finance"}
        assert legs[0] == rules.Leg(rules.AccountKey("town", TOWN, "city_finance"), -amount)


class TestCommandShapes:
    @pytest.mark.parametrize("amount", [0, -1, "100", 1.5, True, MAX_AMOUNT_FEN + 1])
    def test_amount_is_a_positive_integer_of_fen(self, amount: object) -> None:
        with pytest.raises(ValidationError):
            IncomeCommand.model_validate(
                {
                    "source_code": "donation",
                    "holder": {"holder_type": "city", "holder_code": "x"},
                    "amount_fen": amount,
                }
            )

    def test_unknown_fields_are_refused(self) -> None:
        with pytest.raises(ValidationError):
            AllocationCommand.model_validate(
                {
                    "source_code": "city_finance",
                    "from_holder": {"holder_type": "city", "holder_code": rules.CITY_CODE},
                    "to_holder": {"holder_type": "town", "holder_code": TOWN},
                    "amount_fen": 1,
                    "currency": "CNY",
                }
            )

    def test_only_fund_holders_take_part(self) -> None:
        with pytest.raises(ValidationError):
            holder("beneficiary", "B1")


def test_api_literals_match_the_database_checks() -> None:
    assert set(get_args(HolderType)) == set(HOLDER_TYPES)
    assert set(get_args(EntryKind)) == set(ENTRY_KINDS)
