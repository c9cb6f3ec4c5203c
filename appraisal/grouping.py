"""Grouping integer keys without sorting them when they already are.

The rating frame comes out of ingestion sorted by (employee, rater,
competency, item), so keys built from those codes in that order are already
ascending: their groups are runs, found in one pass.  Anything else falls back
to ``np.unique`` (a sort), with the same results.
"""

from __future__ import annotations

import numpy as np


def is_ascending(keys: np.ndarray) -> bool:
    return bool(keys.size < 2 or np.all(keys[1:] >= keys[:-1]))


def factorize(keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Group equal keys.

    :returns: ``(codes, first)``: ``codes[i]`` numbers the distinct keys in
        ascending key order (``int64[N]``), and ``first[k]`` is the index of
        the first occurrence of distinct key ``k``.
    """
    keys = np.asarray(keys).reshape(-1)
    if is_ascending(keys):
        boundary = np.empty(keys.size, dtype=bool)
        boundary[:1] = True
        np.not_equal(keys[1:], keys[:-1], out=boundary[1:])
        return np.cumsum(boundary) - 1, np.flatnonzero(boundary)
    _, first, codes = np.unique(keys, return_index=True, return_inverse=True)
    return codes.reshape(-1).astype(np.int64), first


def distinct(keys: np.ndarray) -> np.ndarray:
    """The distinct keys, ascending (``np.unique`` without the sort when they already are)."""
    keys = np.asarray(keys).reshape(-1)
    if is_ascending(keys):
        return keys[np.r_[True, keys[1:] != keys[:-1]][: keys.size]]
    return np.unique(keys)
