"""appraisal.grouping: the fast paths give exactly what ``np.unique`` gives, on every kind of key."""

from __future__ import annotations

import numpy as np
import pytest

from appraisal.grouping import compact, distinct, factorize

KEYS = {
    "empty": np.zeros(0, dtype=np.int64),
    "one": np.array([7]),
    "ascending runs": np.repeat(np.arange(0, 50, 3), 4),
    "unsorted codes": np.random.default_rng(1).integers(0, 1_000, 20_000),
    "unsorted wide keys": np.random.default_rng(2).integers(-(10**12), 10**12, 5_000),
    "int32 with negatives": np.random.default_rng(3).integers(-5, 5, 300).astype(np.int32),
    "bool": np.array([True, False, True, True]),
    "floats": np.array([2.5, np.nan, 1.0, 2.5, np.nan]),
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
