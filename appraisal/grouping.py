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
    """Group equal keys: ``np.unique(keys, return_index=True, return_inverse=True)`` without its values.

    Where every key's rows are one run (ascending keys, or keys such as
    (rater, ratee) over rows sorted by ratee and rater) only the runs are
    ranked: at 6.9M ratings in 700,000 runs a sort of 700,000 keys instead of
    6.9M (0.05 s against 0.4-0.5 s).

    :returns: ``(codes, first)``: ``codes[i]`` numbers the distinct keys in
        ascending key order (``int64[N]``), and ``first[k]`` is the index of
        the first occurrence of distinct key ``k``.
    """
    keys = np.asarray(keys).reshape(-1)
    boundary = np.empty(keys.size, dtype=bool)
    boundary[:1] = True
    np.not_equal(keys[1:], keys[:-1], out=boundary[1:])
    # Runs two rows long on average or more, or ascending keys: rank the runs. Else sort the keys.
    short_runs = np.count_nonzero(boundary) > keys.size // 2
    if not short_runs or is_ascending(keys):
        starts = np.flatnonzero(boundary)
        run_keys = keys[starts]
        # Ascending keys (all that gets here with short runs) have ascending runs.
        by_key = None if short_runs or is_ascending(run_keys) else np.argsort(run_keys, kind="stable")
        ranked = run_keys if by_key is None else run_keys[by_key]
        if by_key is None or np.all(ranked[1:] != ranked[:-1]):  # no key in two runs
            codes = np.cumsum(boundary, dtype=np.int64)  # a bool cumsum without dtype takes twice as long
            codes -= 1
            if by_key is None:
                return codes, starts
            rank = np.empty(by_key.size, dtype=np.int64)
            rank[by_key] = np.arange(by_key.size)
            return rank[codes], starts[by_key]
    _, first, codes = np.unique(keys, return_index=True, return_inverse=True)
    return codes.reshape(-1).astype(np.int64), first


def distinct(keys: np.ndarray) -> np.ndarray:
    """``np.unique(keys)`` for integer keys: no sort when they are ascending, else one ``np.sort``.

    numpy 2.3+ finds the distinct values of an integer array through a hash
    table when nothing else is asked for, which is slow once there are many:
    8 million unsorted employee codes (100,000 distinct) take 3.9 s there,
    0.12 s sorted, and 700,000 pair keys 0.88 s against 0.01 s.  Keys that
    come in runs (a rater's cells of one ratee, say) are sorted one per run.
    """
    keys = np.asarray(keys).reshape(-1)
    if keys.dtype.kind not in "iub":
        return np.unique(keys)
    if not is_ascending(keys):
        changes = keys[1:] != keys[:-1]
        if np.count_nonzero(changes) <= keys.size // 2:  # runs of equal keys: their first keys hold every value
            keys = keys[np.r_[True, changes]]
        del changes
        keys = np.sort(keys)
    return keys[np.r_[True, keys[1:] != keys[:-1]][: keys.size]]


def compact(keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``np.unique(keys, return_inverse=True)``, by counting instead of sorting where it can.

    Integer keys whose range is at most a few times their number (employee,
    rater or form codes) are ranked through a table as long as that range:
    on 8 million rater codes 0.05 s instead of 2.6 s.  Anything else is
    sorted by ``np.unique``.

    :returns: ``(values, inverse)``: the distinct keys ascending, and each
        key's position among them (``int64[N]``).
    """
    keys = np.asarray(keys).reshape(-1)
    if keys.size and keys.dtype.kind in "iub":
        low, high = int(keys.min()), int(keys.max())
        span = high - low + 1
        if span <= max(4 * keys.size, 1 << 16):
            shifted = keys.astype(np.int64) - low
            seen = np.bincount(shifted, minlength=span) > 0
            rank = np.cumsum(seen) - 1
            return (np.flatnonzero(seen) + low).astype(keys.dtype), rank[shifted]
    values, inverse = np.unique(keys, return_inverse=True)
    return values, inverse.reshape(-1).astype(np.int64)


def stable_order(keys: np.ndarray, form_width: int = 1) -> np.ndarray:
    """``np.argsort(keys, kind="stable")``, quick when the keys arrive form by form.

    Survey exports list each response's rows together: with a sort key of
    ``form * form_width + slot`` (form: a rater's ratings of one ratee; slot:
    the competency) the keys rise within each form while the forms come in
    any order.  The forms are placed whole, ordered by their first keys (a
    sort of one key per form instead of one per rating: 0.2 s instead of
    0.9 s at 8 million ratings), and the junctions checked: where a form's
    rows are split and the pieces interleave, or an equal key would pass one
    that comes earlier in the file, the keys are sorted one by one after all.
    """
    keys = np.asarray(keys).reshape(-1)
    n = keys.size
    if n < 2:
        return np.arange(n)
    breaks = keys[1:] < keys[:-1]
    if form_width > 1:
        form = keys // form_width
        breaks |= form[1:] != form[:-1]
        del form
    starts = np.flatnonzero(np.r_[True, breaks])
    del breaks
    if len(starts) == 1:
        return np.arange(n)
    if len(starts) > n // 4:  # short forms: placing them would not pay
        return np.argsort(keys, kind="stable")
    ends = np.r_[starts[1:], n]
    # Not a stable sort: forms that start on equal keys are duplicates, and the check below sends them,
    # in whatever order, to the full sort.  numpy's default sort is several times faster here.
    by_first_key = np.argsort(keys[starts])
    placed, placed_ends = starts[by_first_key], ends[by_first_key]
    # The result is a stable sort iff (key, position) rises across each junction; inside a form it does.
    last_key, next_key = keys[placed_ends[:-1] - 1], keys[placed[1:]]
    if not np.all((last_key < next_key) | ((last_key == next_key) & (placed_ends[:-1] <= placed[1:]))):
        return np.argsort(keys, kind="stable")
    lengths = placed_ends - placed
    order = np.repeat(placed - (np.cumsum(lengths) - lengths), lengths)
    order += np.arange(n)
    return order


class Pairs:
    """The distinct (first, second) code pairs among some records, and each record's pair.

    A sum over records of a weight times a value of the pair's other member
    (``sum w * v[rater]`` by ratee, say) only needs the weights summed per
    pair: with a dozen competencies per rater-ratee pair, a pass over the
    pairs instead of the records.  When every pair could occur in fewer cells
    than there are records (ratees x competencies) the pairs are a dense
    matrix and products are matrix products.
    """

    def __init__(self, first: np.ndarray, second: np.ndarray, n_first: int, n_second: int) -> None:
        key = first.astype(np.int64, copy=False) * n_second
        key += second
        self.shape = (n_first, n_second)
        self.dense = n_first * n_second <= key.size
        if self.dense:
            keys, self.of = np.arange(n_first * n_second), key
        else:
            self.of, where = factorize(key)
            keys = key[where]
        self.first, self.second = keys // n_second, keys % n_second

    def occurring(self) -> tuple[np.ndarray, np.ndarray]:
        """``(first, second)`` of the pairs some record has: in a dense Pairs ``first`` and ``second``
        list every possible pair, which is not the graph the records draw."""
        if not self.dense:
            return self.first, self.second
        seen = np.bincount(self.of, minlength=self.first.size) > 0
        return self.first[seen], self.second[seen]

    def sums(self, values: np.ndarray) -> np.ndarray:
        """``values`` of the records summed per pair."""
        return np.bincount(self.of, values, self.first.size)

    def cross(self, weight: np.ndarray, first: np.ndarray, second: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(sum over pairs of weight * second[pair's second], by first; and of weight * first[pair's first], by second)."""
        if self.dense:
            grid = weight.reshape(self.shape)
            return grid @ second, grid.T @ first
        return (
            np.bincount(self.first, weight * second[self.second], self.shape[0]),
            np.bincount(self.second, weight * first[self.first], self.shape[1]),
        )
