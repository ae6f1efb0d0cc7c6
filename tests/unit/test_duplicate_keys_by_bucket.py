"""The lookup's keys split by time bucket (`lsh.query_keys_by_bucket`), which the database function
reads newest bucket first, stopping at each tier's cap: the same keys as `query_keys`, each bucket's
being those a stored appeal of that bucket carries."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from intake.service.duplicates import lsh
from intake.service.duplicates.similarity import Doc, analyse

AT = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)


def _doc() -> Doc:
    return analyse(
        None,
        "东方路路灯坏了好几盏，晚上很黑",
        "东方路",
        town_code="441900121000",
        village_code="441900121001",
        lat=23.05,
        lng=113.75,
    )


def test_the_buckets_together_are_the_lookup_keys() -> None:
    doc = _doc()
    by_bucket = lsh.query_keys_by_bucket(doc, AT, 30)
    fine, coarse = lsh.query_keys(doc, AT, 30)
    assert sorted({k for f, _ in by_bucket for k in f}) == fine
    assert sorted({k for _, c in by_bucket for k in c}) == coarse
    assert all(f == sorted(f) and c == sorted(c) for f, c in by_bucket)


def test_newest_bucket_first_and_each_meets_its_own_bucket() -> None:
    doc = _doc()
    by_bucket = lsh.query_keys_by_bucket(doc, AT, 30)
    buckets = lsh.buckets_between(AT - timedelta(days=30), AT)
    assert len(by_bucket) == len(buckets)
    for (fine, coarse), bucket in zip(by_bucket, reversed(buckets), strict=True):
        # The same appeal stored within this bucket shares a key with this bucket's keys only.
        stored_at = datetime.fromordinal(lsh._EPOCH + bucket * lsh.BUCKET_DAYS).replace(tzinfo=UTC)
        assert lsh.bucket_of(stored_at) == bucket
        stored = set(lsh.keys(doc, stored_at))
        assert stored & set(fine + coarse)
        for other_fine, other_coarse in by_bucket:
            if (other_fine, other_coarse) != (fine, coarse):
                assert not stored & set(other_fine + other_coarse)
