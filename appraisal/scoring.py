"""The numeric engine: grouped reductions from ratings to an overall score.

Everything here is pure numpy over integer codes (``np.unique``,
``np.bincount``, matrix products); there is no I/O and no Python loop over
ratings or employees.  The steps, in order:

1. **items → rater score**: each rater's score for a competency is the mean
   of the items they observed; it counts only when they answered at least
   ``min_item_coverage`` of the items (CCL's 50 % rule).
2. **rater scores → group means**: mean and count per employee, competency and
   rater group.  A group is *visible* when it has at least ``min_raters``
   raters; hidden groups are neither shown nor counted, so nothing shown can
   reveal them.
3. **group means → competency score**: a weighted mean of rater scores, with
   weights from the weighting scheme, restricted to visible groups that count
   in the overall score, renormalised to sum to 1 per employee × competency.
4. **competencies → clusters → overall**: weighted means, renormalised over
   the competencies (clusters) that have a score.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np

from .frame import RatingFrame
from .grouping import factorize
from .rubric import RubricLayout


@dataclass(frozen=True)
class RaterCells:
    """One row per (ratee, rater, competency): a rater's score for a competency.

    ``eligible`` cells have at least one observed item and meet the item
    coverage rule; only they enter group means.  ``group_size`` is the number
    of eligible raters in the cell's (ratee, competency, group), which the
    weighting schemes use.
    """

    ratee: np.ndarray  # int64[M]
    rater: np.ndarray  # int64[M]
    group: np.ndarray  # int64[M]
    competency: np.ndarray  # int64[M]
    score: np.ndarray  # float64[M], NaN when no item observed
    items_observed: np.ndarray  # int64[M]
    eligible: np.ndarray  # bool[M]
    group_size: np.ndarray  # int64[M]
    of_rating: np.ndarray  # int64[N] cell index of every rating

    def __len__(self) -> int:
        return len(self.score)

    @cached_property
    def forms(self) -> tuple[np.ndarray, np.ndarray]:
        """``(code, first)``: each cell's form (one rater's scores for one ratee), numbered in
        (ratee, rater) order, and the first cell of each form. Computed once: the rater spread
        and the overall standard error both need it."""
        key = self.ratee * max(int(self.rater.max(initial=0)) + 1, 1)
        key += self.rater
        return factorize(key)


@dataclass(frozen=True)
class GroupStats:
    """Per employee × competency × rater group: mean of eligible rater scores and their count."""

    mean: np.ndarray  # float64[E, C, G], NaN where n == 0
    n: np.ndarray  # int64[E, C, G]
    visible: np.ndarray  # bool[E, C, G]: n >= min_raters of the group


def rater_cells(frame: RatingFrame, layout: RubricLayout, n_employees: int, min_item_coverage: float) -> RaterCells:
    """Collapse item ratings into one score per rater, ratee and competency."""
    n_comp = len(layout.competency_ids)
    n_raters = max(len(frame.raters), 1)
    key = (frame.ratee * n_raters + frame.rater) * n_comp + frame.competency
    observed = ~np.isnan(frame.score)
    if bool(np.all(key[1:] > key[:-1])):
        # Every rating is its own cell, in frame order (competencies rated as a whole): the cells are
        # the frame's own columns, not copies, which at 8M ratings saves half a gigabyte.
        del key
        return _cells_of_single_ratings(frame, layout, n_employees, min_item_coverage, observed)
    of_rating, first = factorize(key)
    del key
    n_cells = len(first)
    items_observed = np.bincount(of_rating, weights=observed, minlength=n_cells).astype(np.int64)
    score = cell_means(of_rating, frame.score, n_cells)
    competency = frame.competency[first]
    eligible = _eligible(items_observed, competency, layout, min_item_coverage)
    ratee, group = frame.ratee[first], frame.group[first]
    return RaterCells(
        ratee=ratee,
        rater=frame.rater[first],
        group=group,
        competency=competency,
        score=score,
        items_observed=items_observed,
        eligible=eligible,
        group_size=_group_sizes(ratee, competency, group, eligible, layout, n_employees),
        of_rating=of_rating,
    )


def _cells_of_single_ratings(
    frame: RatingFrame, layout: RubricLayout, n_employees: int, min_item_coverage: float, observed: np.ndarray
) -> RaterCells:
    """:func:`rater_cells` when each rating is a cell: a cell's mean is its one score (NaN if not observed)."""
    items_observed = observed.astype(np.int64)
    eligible = _eligible(items_observed, frame.competency, layout, min_item_coverage)
    return RaterCells(
        ratee=frame.ratee,
        rater=frame.rater,
        group=frame.group,
        competency=frame.competency,
        score=frame.score,
        items_observed=items_observed,
        eligible=eligible,
        group_size=_group_sizes(frame.ratee, frame.competency, frame.group, eligible, layout, n_employees),
        of_rating=np.arange(len(frame), dtype=np.int64),
    )


def _eligible(items_observed: np.ndarray, competency: np.ndarray, layout: RubricLayout, min_item_coverage: float) -> np.ndarray:
    """``bool[M]``: the cell has an observed item and meets the item coverage rule."""
    items_expected = np.maximum(layout.items_per_competency[competency], 1)
    # A tiny tolerance so that e.g. 1 of 2 items meets a 0.5 rule despite float error.
    return (items_observed > 0) & (items_observed / items_expected >= min_item_coverage - 1e-12)


def _group_sizes(
    ratee: np.ndarray, competency: np.ndarray, group: np.ndarray, eligible: np.ndarray, layout: RubricLayout, n_employees: int
) -> np.ndarray:
    """``int64[M]``: eligible raters in each cell's (ratee, competency, group)."""
    n_comp, n_groups = len(layout.competency_ids), len(layout.group_ids)
    ecg = (ratee * n_comp + competency) * n_groups + group
    sizes = np.bincount(ecg, weights=eligible, minlength=n_employees * n_comp * n_groups).astype(np.int64)
    return sizes[ecg]


def cell_means(of_rating: np.ndarray, scores: np.ndarray, n_cells: int) -> np.ndarray:
    """Mean of the observed (non-NaN) ``scores`` per cell; NaN for cells with none."""
    observed = ~np.isnan(scores)
    sums = np.bincount(of_rating, weights=np.where(observed, scores, 0.0), minlength=n_cells)
    counts = np.bincount(of_rating, weights=observed, minlength=n_cells)
    return safe_divide(sums, counts)


def group_stats(cells: RaterCells, cell_scores: np.ndarray, layout: RubricLayout, n_employees: int) -> GroupStats:
    """Mean and count of eligible rater scores per employee, competency and group."""
    shape = (n_employees, len(layout.competency_ids), len(layout.group_ids))
    ecg = np.multiply(cells.ratee, shape[1], dtype=np.int64)  # built in place: np.ravel_multi_index takes twice as long
    ecg += cells.competency
    ecg *= shape[2]
    ecg += cells.group
    size = int(np.prod(shape))
    eligible = cells.eligible
    if not eligible.all():  # usually every cell is: then no copies of 8M codes and scores
        ecg, cell_scores = ecg[eligible], cell_scores[eligible]
    n = np.bincount(ecg, minlength=size).reshape(shape)
    sums = np.bincount(ecg, weights=cell_scores, minlength=size).reshape(shape)
    del ecg
    mean = safe_divide(sums, n)
    visible = (n > 0) & (n >= layout.group_min_raters[np.newaxis, np.newaxis, :])
    return GroupStats(mean=mean, n=n.astype(np.int64), visible=visible)


def counting(cells: RaterCells, layout: RubricLayout) -> np.ndarray:
    """Which rater cells count: eligible, in a group that counts, and the group meets its minimum.

    This is core policy, not a plugin's choice: it is what keeps hidden groups
    hidden.  Weighting schemes may call it to spread weight only over what counts.
    """
    visible = cells.group_size >= layout.group_min_raters[cells.group]
    return cells.eligible & layout.group_counts[cells.group] & visible


@dataclass(frozen=True)
class WeightTotals:
    """Rater-cell weights with their sum per employee × competency, and each cell's index into it.

    Combining scores, renormalising weights, the groups' shares and the standard
    errors all divide by these totals: they are summed once per set of weights
    (each pass over 8 million cells costs 50 ms, and leave-one-rater-out
    rescores a million pseudo-employees).
    """

    weights: np.ndarray  # float64[M]
    cell_index: np.ndarray  # int64[M]: ratee × C + competency
    total: np.ndarray  # float64[E·C]
    shape: tuple[int, int, int]  # (E, C, G)


def weight_totals(cells: RaterCells, weights: np.ndarray, shape: tuple[int, int, int]) -> WeightTotals:
    """Sum ``weights`` per employee × competency."""
    n_employees, n_comp, _ = shape
    cell_index = cells.ratee * n_comp
    cell_index += cells.competency
    return WeightTotals(weights, cell_index, np.bincount(cell_index, weights=weights, minlength=n_employees * n_comp), shape)


def combine(cell_scores: np.ndarray, totals: WeightTotals) -> np.ndarray:
    """``float64[E, C]``: weighted mean of rater scores per employee × competency, weights renormalised (NaN where nothing counts)."""
    n_employees, n_comp, _ = totals.shape
    weights = totals.weights
    scores = np.where(weights > 0, cell_scores, 0.0)
    competency = safe_divide(np.bincount(totals.cell_index, weights=weights * scores, minlength=n_employees * n_comp), totals.total)
    return competency.reshape(n_employees, n_comp)


def normalised_weights(totals: WeightTotals) -> np.ndarray:
    """Cell weights scaled to sum to 1 per employee × competency (0 where nothing counts)."""
    return safe_divide(totals.weights, totals.total[totals.cell_index], fill=0.0)


def group_shares(cells: RaterCells, totals: WeightTotals) -> np.ndarray:
    """``float64[E, C, G]``: each group's share of the rater weights per employee × competency (sums to 1 where scored)."""
    n_employees, n_comp, n_groups = shape = totals.shape
    key = totals.cell_index * n_groups
    key += cells.group
    by_group = np.bincount(key, weights=totals.weights, minlength=n_employees * n_comp * n_groups).reshape(shape)
    return safe_divide(by_group, totals.total.reshape(n_employees, n_comp, 1), fill=0.0)


def weighted_rollup(values: np.ndarray, weights: np.ndarray, membership: np.ndarray) -> np.ndarray:
    """Weighted mean of ``values[E, C]`` into ``[E, K]`` groups, renormalised over non-NaN values.

    :param membership: ``bool[C, K]``, which column belongs to which group.
    """
    present = ~np.isnan(values)
    weighted = np.where(present, values, 0.0) * weights
    numerator = weighted @ membership
    denominator = (present * weights) @ membership
    return safe_divide(numerator, denominator)


def rollup(competency: np.ndarray, layout: RubricLayout) -> tuple[np.ndarray, np.ndarray]:
    """Cluster scores ``[E, K]`` and the overall score ``[E]`` from competency scores."""
    n_clusters = len(layout.cluster_ids)
    membership = layout.competency_cluster[:, np.newaxis] == np.arange(n_clusters)[np.newaxis, :]
    clusters = weighted_rollup(competency, layout.competency_weight, membership.astype(np.float64))
    overall = weighted_rollup(clusters, layout.cluster_weight, np.ones((n_clusters, 1)))[:, 0]
    return clusters, overall


def safe_divide(numerator: np.ndarray, denominator: np.ndarray, fill: float = np.nan) -> np.ndarray:
    """``numerator / denominator`` with ``fill`` where the denominator is 0 (no warnings)."""
    numerator = np.asarray(numerator, dtype=np.float64)
    denominator = np.asarray(denominator, dtype=np.float64)
    out = np.full(np.broadcast(numerator, denominator).shape, fill, dtype=np.float64)
    np.divide(numerator, denominator, out=out, where=denominator != 0)
    return out


def round_half_up(values: np.ndarray | float, decimals: int) -> np.ndarray:
    """Round halves up (2.675 → 2.68, -0.375 → -0.37), not to even, so shown numbers match hand arithmetic.

    Halves go towards +∞ so that adding a constant to every score shifts the
    shown scores by exactly that constant.  The small epsilon undoes binary
    representation error (2.675 is stored as 2.67499999...).
    """
    factor = 10.0**decimals
    return np.floor(np.asarray(values, dtype=np.float64) * factor + 0.5 + 1e-9) / factor
