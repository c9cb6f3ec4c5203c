"""appraisal.grouping: the fast paths give exactly what ``np.unique`` gives, on every kind of key."""

from __future__ import annotations

import numpy as np
import pytest

from appraisal.grouping import Pairs, compact, distinct, factorize, stable_order

KEYS = {
    "empty": np.zeros(0, dtype=np.int64),
    "one": np.array([7]),
    "ascending runs": np.repeat(np.arange(0, 50, 3), 4),
    "unsorted codes": np.random.default_rng(1).integers(0, 1_000, 20_000),
    "unsorted wide keys": np.random.default_rng(2).integers(-(10**12), 10**12, 5_000),
    "int32 with negatives": np.random.default_rng(3).integers(-5, 5, 300).astype(np.int32),
    "bool": np.array([True, False, True, True]),
    "floats": np.array([2.5, np.nan, 1.0, 2.5, np.nan]),
    "ascending distinct": np.arange(-3, 40),
    "descending distinct": np.arange(40, -3, -1),
    # (rater, ratee) keys over ratings sorted by ratee and rater, a dozen competencies each: runs, not ascending.
    "rater-major keys over ratee-sorted rows": np.repeat(
        np.concatenate([np.sort(np.random.default_rng(6).choice(500, 8, replace=False)) * 1_000 + ratee for ratee in range(300)]), 12
    ),
    "a key in two runs": np.array([5, 5, 3, 3, 5, 5, 1, 1]),
    "runs of one key": np.full(9, 4),
}


@pytest.mark.parametrize("name", KEYS)
def test_distinct_is_np_unique(name):
    keys = KEYS[name]
    got = distinct(keys)
    np.testing.assert_array_equal(got, np.unique(keys))
    assert got.dtype == keys.dtype


@pytest.mark.parametrize("name", KEYS)
def test_compact_is_np_unique_with_inverse(name):
    keys = KEYS[name]
    values, inverse = compact(keys)
    expected_values, expected_inverse = np.unique(keys, return_inverse=True)
    np.testing.assert_array_equal(values, expected_values)
    np.testing.assert_array_equal(inverse, expected_inverse.reshape(-1))


@pytest.mark.parametrize("name", [n for n in KEYS if n != "floats"])
def test_factorize_numbers_keys_in_order_and_finds_first_occurrences(name):
    keys = KEYS[name]
    codes, first = factorize(keys)
    _, expected_first, expected_codes = np.unique(keys, return_index=True, return_inverse=True)
    np.testing.assert_array_equal(codes, expected_codes.reshape(-1))
    np.testing.assert_array_equal(first, expected_first)


def _forms(rng: np.random.Generator, n_forms: int) -> np.ndarray:
    """Keys as a survey export gives them: each form's rows together and rising, forms in any order."""
    form = rng.permutation(n_forms)
    sizes = rng.integers(1, 13, n_forms)
    within = np.concatenate([np.sort(rng.choice(12, size, replace=False)) for size in sizes])
    return np.repeat(form, sizes) * 12 + within


ORDERS = {
    "empty": np.zeros(0, dtype=np.int64),
    "sorted": np.arange(10),
    "forms": _forms(np.random.default_rng(4), 2_000),
    # A form split in two, its second half earlier in the sort than its first: the runs overlap.
    "overlapping runs": np.array([5, 6, 9, 1, 2, 3, 7, 8, 4]),
    # Equal keys across runs: a duplicate row later in the file must stay after the first.
    "duplicate in a later run": np.array([10, 11, 12, 20, 21, 1, 2, 12, 13, 30]),
    "duplicate in an earlier run": np.array([1, 2, 12, 13, 30, 10, 11, 12, 20, 21]),
    # A later run that ends on the key an earlier run starts with: placed first, it would put the copy first.
    "later run ending on an earlier run's first key": np.r_[12:20, 5:13],
    "shuffled": np.random.default_rng(5).integers(0, 50, 1_000),
    "all equal": np.full(7, 3),
    "descending": np.arange(20, 0, -1),
}


@pytest.mark.parametrize("form_width", [1, 12])
@pytest.mark.parametrize("name", ORDERS)
def test_stable_order_is_a_stable_argsort(name, form_width):
    keys = ORDERS[name]
    np.testing.assert_array_equal(stable_order(keys, form_width), np.argsort(keys, kind="stable"))


@pytest.mark.parametrize("form_width", [1, 12])
def test_stable_order_of_a_survey_export_with_split_and_duplicated_forms(form_width):
    rng = np.random.default_rng(6)
    keys = _forms(rng, 500)
    split = np.r_[600 * 12 + np.arange(4), keys, 600 * 12 + np.arange(4, 12)]  # a form in two pieces that do not overlap
    np.testing.assert_array_equal(stable_order(split, form_width), np.argsort(split, kind="stable"))
    resubmitted = np.concatenate([keys, keys[rng.integers(0, len(keys), 40)], keys[:100]])
    np.testing.assert_array_equal(stable_order(resubmitted, form_width), np.argsort(resubmitted, kind="stable"))


@pytest.mark.parametrize("repeats", [1, 5], ids=["sparse", "dense"])
def test_pairs_occurring_are_the_pairs_records_have(repeats):
    """Five records per pair make 3 x 4 possible pairs fewer than the records: the Pairs is then dense."""
    first = np.repeat(np.array([0, 0, 1, 2, 2]), repeats)
    second = np.repeat(np.array([1, 3, 1, 0, 3]), repeats)
    pairs = Pairs(first, second, 3, 4)
    assert pairs.dense == (repeats == 5)
    found = sorted(zip(*(side.tolist() for side in pairs.occurring())))
    assert found == [(0, 1), (0, 3), (1, 1), (2, 0), (2, 3)]
    np.testing.assert_array_equal(pairs.sums(np.ones(first.size))[pairs.of], np.full(first.size, repeats))
