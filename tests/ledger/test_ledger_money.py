"""Pure ledger arithmetic: which sources pay, legs, reversals, matching, the chain, amounts in words."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ledger.errors import InvalidHolder
from ledger.service import rules
from ledger.service.amounts import capital_amount, yuan
from ledger.service.chain import (
    GENESIS_HASH,
    EntryFacts,
    Link,
    PostingFacts,
    check_link,
    entry_content,
    link_hash,
    micros,
)
from ledger.service.rules import AccountKey, Leg

balances = st.lists(st.integers(min_value=-50, max_value=1_000), min_size=1, max_size=5)


class TestSplit:
    def test_documented_order(self) -> None:
        assert rules.DISBURSEMENT_ORDER == (
            "donation",
            "city_charity",
            "city_finance",
            "town_matching",
            "village_collective",
        )
        assert rules.paying_sources(None) == rules.DISBURSEMENT_ORDER
        assert rules.paying_sources("donation") == ("donation",)

    def test_each_source_pays_what_it_has_before_the_next(self) -> None:
        available = [
            ("donation", 200),
            ("city_charity", 0),
            ("city_finance", 100),
            ("village_collective", 300),
        ]
        assert rules.split_amount(450, available) == [
            ("donation", 200),
            ("city_finance", 100),
            ("village_collective", 150),
        ]
        assert rules.split_amount(601, available) is None
        assert rules.split_amount(600, available) == [
            ("donation", 200),
            ("city_finance", 100),
            ("village_collective", 300),
        ]

    @given(balances, st.integers(min_value=1, max_value=5_000))
    def test_parts_cover_exactly_or_nothing(self, held: list[int], amount: int) -> None:
        available = [(f"s{i}", b) for i, b in enumerate(held)]
        parts = rules.split_amount(amount, available)
        if sum(max(b, 0) for b in held) < amount:
            assert parts is None
            return
        assert parts is not None and sum(p for _, p in parts) == amount
        limits = dict(available)
        assert all(0 < p <= limits[s] for s, p in parts)
        # Order: every source before the last one used gave all it had.
        used = [s for s, _ in parts]
        last = int(used[-1][1:])
        for i in range(last):
            name = f"s{i}"
            assert dict(parts).get(name, 0) == max(held[i], 0)


class TestLegs:
    @given(
        st.lists(
            st.tuples(st.sampled_from(rules.DISBURSEMENT_ORDER), st.integers(1, 10**9)),
            max_size=5,
            unique_by=lambda t: t[0],
        )
    )
    def test_transfer_balances_per_source(self, parts: list[tuple[str, int]]) -> None:
        legs = rules.transfer_legs(("town", "441900121000"), ("project", "P1"), parts)
        for source, _ in parts:
            assert sum(leg.amount_fen for leg in legs if leg.account.source_code == source) == 0

    def test_reversal_negates_and_redirects_within_the_source(self) -> None:
        reserved = AccountKey("reservation", "r1", "city_finance")
        original = [Leg(reserved, -300), Leg(AccountKey("beneficiary", "A1", "city_finance"), 300)]
        back = {reserved: AccountKey("town", "441900121000", "city_finance")}
        assert rules.reversal_legs(original, back) == [
            Leg(AccountKey("town", "441900121000", "city_finance"), 300),
            Leg(AccountKey("beneficiary", "A1", "city_finance"), -300),
        ]
        assert rules.reversal_legs(original) == [Leg(reserved, 300), Leg(original[1].account, -300)]
        with pytest.raises(ValueError):
            rules.reversal_legs(original, {reserved: AccountKey("town", "441900121000", "donation")})


class TestMatching:
    @pytest.mark.parametrize(
        ("allocated", "ratio", "required"),
        [
            (10_000, "1:1", 10_000),
            (10_000, "1:0.5", 5_000),
            (10_001, "1:0.5", 5_001),
            (0, "1:1", 0),
            (-5, "1:1", 0),
        ],
    )
    def test_required(self, allocated: int, ratio: str, required: int) -> None:
        assert rules.matching_required(allocated, ratio) == required

    @given(st.integers(min_value=0, max_value=10**14))
    def test_half_is_never_short_by_a_fen(self, allocated: int) -> None:
        required = rules.matching_required(allocated, "1:0.5")
        assert (2 * required >= allocated and 2 * (required - 1) < allocated) or allocated == 0


class TestReferenceCodes:
    @pytest.mark.parametrize("code", ["A-1", "3f1c7c1e-2b1a-4c1e-9a8b-0f1e2d3c4b5a", "donor:X1", "P.2026_01"])
    def test_opaque_codes(self, code: str) -> None:
        rules.validate_reference_code("beneficiary", code)

    @pytest.mark.parametrize(
        "code", ["44190019800101123X", "id-441900198001011234", "13812345678", "张三", "-x", ""]
    )
    def test_no_names_id_or_phone_numbers(self, code: str) -> None:
        with pytest.raises(InvalidHolder):
            rules.validate_reference_code("beneficiary", code)


def facts(**overrides: object) -> EntryFacts:
    values: dict[str, object] = {
        "id": uuid.UUID("11111111-1111-1111-1111-111111111111"),
        "kind": "income",
        "idempotency_key": "k1",
        "request_hash": "0" * 64,
        "memo": 'a\nb"市',
        "appeal_id": None,
        "created_at": datetime(2026, 11, 27, 19, 51, 55, 363754, tzinfo=UTC),
        "created_by": "test",
        "holder_type": None,
        "holder_code": None,
        "reverses_id": None,
        "reservation_id": None,
        "pledge_id": None,
        "postings": (
            PostingFacts(2, "city", "441900000000", "city_finance", 100, 100),
            PostingFacts(1, "external", "outside", "city_finance", -100, -100),
        ),
    }
    values.update(overrides)
    return EntryFacts(**values)  # type: ignore[arg-type]


class TestChain:
    def test_canonical_content(self) -> None:
        # Byte for byte what ledger.entry_content() returned for the same rows on PostgreSQL.
        assert entry_content(facts()) == "\n".join(
            [
                "ledger-entry-v1",
                "id=11111111-1111-1111-1111-111111111111",
                "kind=income",
                "key=6b31",
                "request=" + "0" * 64,
                "memo=610a6222e5b882",
                "appeal=-",
                "created_at=1795809115363754",
                "created_by=74657374",
                "holder=-",
                "reverses=-",
                "reservation=-",
                "pledge=-",
                "posting=1,external,6f757473696465,city_finance,-100,-100",
                "posting=2,city,343431393030303030303030,city_finance,100,100",
            ]
        )

    def test_the_city_renamed_city_hashes_as_before(self) -> None:
        # Rows say `city` since revision b8d2f4a61c37; the content still spells the city the way
        # links hashed before it did, so the old links verify and the new ones are alike.
        renamed = facts(
            holder_type="city",
            holder_code="city",
            postings=(
                PostingFacts(2, "city", "city", "city_finance", 100, 100),
                PostingFacts(1, "external", "outside", "city_finance", -100, -100),
            ),
        )
        before = facts(holder_type="city", holder_code="441900000000")
        assert entry_content(renamed) == entry_content(before)
        assert "posting=2,city,343431393030303030303030," in entry_content(renamed)
        # Only the city is read that way: a village spelled `city` would be another holder.
        village = facts(postings=(PostingFacts(2, "village", "city", "city_finance", 100, 100),))
        assert "posting=2,village,63697479," in entry_content(village)

    def test_time_zone_does_not_change_the_content(self) -> None:
        moment = datetime(2026, 11, 27, 19, 51, 55, 363754, tzinfo=UTC)
        shanghai = moment.astimezone(timezone(timedelta(hours=8)))
        assert micros(moment) == micros(shanghai) == 1795809115363754
        assert entry_content(facts(created_at=shanghai)) == entry_content(facts())

    @pytest.mark.parametrize(
        "change",
        [
            {"memo": None},
            {"memo": ""},
            {"kind": "allocation"},
            {"holder_type": "town", "holder_code": "441900121000"},
            {"postings": (PostingFacts(1, "external", "outside", "city_finance", -101, -101),)},
        ],
    )
    def test_any_change_changes_the_hash(self, change: dict[str, object]) -> None:
        assert link_hash(GENESIS_HASH, entry_content(facts(**change))) != link_hash(
            GENESIS_HASH, entry_content(facts())
        )

    def test_check_link(self) -> None:
        entry = facts()
        good = Link(1, entry.id, GENESIS_HASH, link_hash(GENESIS_HASH, entry_content(entry)))
        assert check_link(1, GENESIS_HASH, good, entry) == []
        assert [b.problem for b in check_link(1, GENESIS_HASH, good, facts(memo="x"))] == ["content_mismatch"]
        assert [b.problem for b in check_link(2, "f" * 64, good, entry)] == ["gap", "broken_link"]
        assert [b.problem for b in check_link(1, GENESIS_HASH, good, None)] == ["missing_entry"]


class TestAmounts:
    @pytest.mark.parametrize(
        ("fen", "words"),
        [
            (10_500_000_000, "人民币壹亿零伍佰万元整"),  # 2020 city finance: 105 million yuan
            (2_100_000_000, "人民币贰仟壹佰万元整"),
            (105, "人民币壹元零伍分"),
            (50, "人民币伍角"),
            (1, "人民币壹分"),
            (0, "人民币零元整"),
            (100_100, "人民币壹仟零壹元整"),
            (1_000_001_000, "人民币壹仟万零壹拾元整"),
            (10_100_000, "人民币壹拾万壹仟元整"),
            (123_456_789, "人民币壹佰贰拾叁万肆仟伍佰陆拾柒元捌角玖分"),
            (10**14, "人民币壹万亿元整"),
        ],
    )
    def test_capital_figures(self, fen: int, words: str) -> None:
        assert capital_amount(fen) == words

    def test_yuan(self) -> None:
        assert (yuan(123_456_789), yuan(5), yuan(-150)) == ("1,234,567.89", "0.05", "-1.50")

    def test_negative_receipts_do_not_exist(self) -> None:
        with pytest.raises(ValueError):
            capital_amount(-1)
