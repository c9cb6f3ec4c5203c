"""How sure is a score?  Standard errors, intervals and reliability per employee.

A competency score is a weighted mean of rater scores, S = Σ w_i x_i.  Had
other raters of the same kind rated the employee, S would differ: its
standard error is

    SE(S)² = Σ_i w_i² s²_g(i)

where s²_g is the spread of rater scores around the consensus in rater group
g (pooled within employee × competency over the whole run).  The overall
score is a weighted sum over competencies, Σ_i A_i x_i, whose terms are not
independent: one rater's deviations in different competencies go together
(halo).  With ρ the average correlation of a rater's deviations across
competencies,

    SE(overall)² = (1 − ρ) Σ_i A_i² s²_g(i) + ρ Σ_raters (Σ_{i∈rater} A_i s_g(i))²

Reliability is the share of an employee's score variance that is true
difference between employees: σ²_T / (σ²_T + SE²), with σ²_T the variance of
overall scores across employees minus the mean error variance.  Everything is
vectorised over rater cells.
"""

from __future__ import annotations

from dataclasses import dataclass
from statistics import NormalDist

import numpy as np

from .rubric import RubricLayout
from .scoring import RaterCells, WeightTotals, safe_divide

MIN_DEGREES_OF_FREEDOM = 30
"""A group's own spread is used once it rests on at least this many degrees of freedom; else the pooled one."""


@dataclass(frozen=True)
class RaterSpread:
    """Spread of rater scores around the consensus, per group, and the halo correlation."""

    group_variance: np.ndarray  # float64[G]
    pooled_variance: float
    halo: float
    degrees_of_freedom: np.ndarray  # int64[G]

    def as_dict(self, group_ids: tuple[str, ...]) -> dict[str, object]:
        return {
            "group_variance": {g: _plain(v) for g, v in zip(group_ids, self.group_variance)},
            "pooled_variance": _plain(self.pooled_variance),
            "halo_correlation": _plain(self.halo),
        }


def _plain(value: float) -> float | None:
    return None if not np.isfinite(value) else round(float(value), 6)


def rater_spread(cells: RaterCells, cell_scores: np.ndarray, totals: WeightTotals) -> RaterSpread:
    """Estimate s²_g and the halo correlation ρ from the counting rater cells (weight > 0 in ``totals``)."""
    # Arrays here have one entry per rater cell (8M at 100k employees): results are computed in place
    # and dropped as soon as they are used, because every fresh page costs more than the arithmetic.
    n_employees, n_comp, n_groups = totals.shape
    counts = totals.weights > 0
    x = np.where(counts, cell_scores, 0.0)
    ec = totals.cell_index  # read, never written here
    # Within employee × competency × group: deviations from the group mean.
    ecg = ec * n_groups
    ecg += cells.group
    size = n_employees * n_comp * n_groups
    n_g = np.bincount(ecg, weights=counts, minlength=size)
    mean_g = safe_divide(np.bincount(ecg, weights=x, minlength=size), n_g, fill=0.0)
    squares_g = mean_g[ecg]
    del ecg, mean_g
    np.subtract(x, squares_g, out=squares_g)
    np.square(squares_g, out=squares_g)
    squares_g[~counts] = 0.0
    ss_g = np.bincount(cells.group, weights=squares_g, minlength=n_groups)
    del squares_g
    # n_g holds whole numbers, so their sum is exact in any order.
    df_g = np.maximum(n_g - 1, 0.0).reshape(-1, n_groups).sum(axis=0)
    # Within employee × competency, all counting groups together.
    n_c = np.bincount(ec, weights=counts, minlength=n_employees * n_comp)
    mean_c = safe_divide(np.bincount(ec, weights=x, minlength=n_employees * n_comp), n_c, fill=0.0)
    deviation = mean_c[ec]
    np.subtract(x, deviation, out=deviation)
    del x
    kept = n_c[ec] >= 2
    del ec
    kept &= counts
    deviation[~kept] = 0.0
    del kept
    squared = np.square(deviation)
    df_pooled = float(np.where(n_c > 0, n_c - 1, 0.0).sum())
    pooled = float(squared.sum() / df_pooled) if df_pooled > 0 else np.nan
    group_variance = np.where(df_g >= MIN_DEGREES_OF_FREEDOM, safe_divide(ss_g, df_g), pooled)
    # Halo: average correlation of one rater's deviations across competencies for one ratee.
    form_code, _ = cells.forms
    m = np.bincount(form_code, weights=deviation != 0)
    total = np.bincount(form_code, weights=deviation)
    squares = np.bincount(form_code, weights=squared)
    numerator = float((np.where(m >= 2, total**2 - squares, 0.0)).sum())
    denominator = float((np.where(m >= 2, (m - 1) * squares, 0.0)).sum())
    halo = float(np.clip(numerator / denominator, 0.0, 1.0)) if denominator > 0 else 0.0
    return RaterSpread(group_variance, pooled, halo, df_g.astype(np.int64))


def competency_se(cells: RaterCells, normalised: np.ndarray, spread: RaterSpread, totals: WeightTotals) -> np.ndarray:
    """``float64[E, C]``: standard error of each competency score (NaN where unscored).

    :param normalised: the weights of ``totals``, normalised to sum to 1 per employee × competency.
    """
    n_employees, n_comp, _ = totals.shape
    variance = np.bincount(
        totals.cell_index, weights=normalised**2 * spread.group_variance[cells.group], minlength=n_employees * n_comp
    )
    scored = totals.total > 0
    return np.where(scored, np.sqrt(variance), np.nan).reshape(n_employees, n_comp)


def overall_coefficients(competency: np.ndarray, layout: RubricLayout) -> np.ndarray:
    """``float64[E, C]``: the weight of each competency score in the overall score (0 where unscored)."""
    present = ~np.isnan(competency)
    n_clusters = len(layout.cluster_ids)
    membership = (layout.competency_cluster[:, None] == np.arange(n_clusters)[None, :]).astype(np.float64)
    within = present * layout.competency_weight
    cluster_total = within @ membership  # [E, K]
    share_in_cluster = safe_divide(within, cluster_total[:, layout.competency_cluster], fill=0.0)
    cluster_present = cluster_total > 0
    cluster_weight = cluster_present * layout.cluster_weight
    cluster_share = safe_divide(cluster_weight, cluster_weight.sum(axis=1, keepdims=True), fill=0.0)
    return share_in_cluster * cluster_share[:, layout.competency_cluster]


def overall_se(
    cells: RaterCells, normalised: np.ndarray, competency: np.ndarray, layout: RubricLayout, spread: RaterSpread, totals: WeightTotals
) -> np.ndarray:
    """``float64[E]``: standard error of the overall score, allowing for halo across competencies.

    :param normalised: the weights of ``totals``, normalised to sum to 1 per employee × competency.
    """
    n_employees = competency.shape[0]
    spread_term = overall_coefficients(competency, layout).reshape(-1)[totals.cell_index]  # A_i s_g(i), built in place
    spread_term *= normalised
    spread_term *= np.sqrt(spread.group_variance)[cells.group]
    form_code, first = cells.forms
    per_form = np.bincount(form_code, weights=spread_term)
    np.square(spread_term, out=spread_term)
    independent = np.bincount(cells.ratee, weights=spread_term, minlength=n_employees)
    form_ratee = cells.ratee[first]
    shared = np.bincount(form_ratee, weights=per_form**2, minlength=n_employees)
    variance = (1 - spread.halo) * independent + spread.halo * shared
    return np.where(np.isnan(competency).all(axis=1), np.nan, np.sqrt(variance))


@dataclass(frozen=True)
class Reliability:
    """Per employee: reliability of the overall score, and the true-score variance it rests on."""

    per_employee: np.ndarray  # float64[E]
    true_variance: float


def reliability(overall: np.ndarray, se: np.ndarray) -> Reliability:
    """σ²_T / (σ²_T + SE²), σ²_T = variance of overall scores − mean error variance (floored at 0)."""
    scored = ~np.isnan(overall) & ~np.isnan(se)
    if scored.sum() < 2:
        return Reliability(np.full(overall.shape, np.nan), np.nan)
    true_variance = max(float(np.var(overall[scored], ddof=1) - np.mean(se[scored] ** 2)), 0.0)
    return Reliability(reliability_given(true_variance, se), true_variance)


def reliability_given(true_variance: float, se: np.ndarray) -> np.ndarray:
    """Per score: σ²_T / (σ²_T + SE²); NaN where there is no SE or no true-variance estimate."""
    if not np.isfinite(true_variance):
        return np.full(se.shape, np.nan)
    return np.where(np.isnan(se), np.nan, safe_divide(true_variance, true_variance + se**2, fill=0.0))


def z_value(level: float) -> float:
    """The two-sided normal quantile for an interval covering ``level`` (0.90 → 1.645)."""
    return NormalDist().inv_cdf(0.5 + level / 2)
