"""How far the 360 scores can be trusted: reliability and agreement statistics.

What each statistic tells HR, in one line:

* **ICC(1)** — the share of the differences between ratings that is about the
  ratee rather than about who happened to rate (the reliability of one rater).
* **ICC(1,k)** — the reliability of a ratee's *average* over k raters: how
  much the average would stay the same with a fresh set of k raters.
* **G-study / D-study** — ratee variance vs. rater-plus-error variance, and how
  many raters a ratee needs for a reliability of .70 (development) or .80
  (administrative decisions).
* **Krippendorff's alpha** — whether raters of the same person agree beyond
  chance on the same competency (or item); 1 = perfect, 0 = chance, ≥ .80
  reliable, ≥ .667 tentative.
* **r_wg / r_wg(J)** — within-ratee agreement relative to random answering on
  the scale; below .70 the ratee's average hides real disagreement and should
  be read with caution.
* **AD index** — the average distance of raters from their mean, in scale
  points; above A/6 the raters disagree.
* **Cronbach's alpha** — whether a rater's answers to the competencies of a
  cluster hang together as one scale (internal consistency of the form).

Every function is pure numpy over arrays (``np.bincount``, ``np.unique``); none
loops over ratings or ratees, none raises or warns on degenerate data: a
statistic that cannot be computed (too few ratees, no replication, no
variance) is NaN, and :func:`reliability_report` turns NaN into ``None``.

Formula sources: Shrout & Fleiss 1979 and McGraw & Wong 1996 (ICC); Searle,
Casella & McCulloch 1992 (n0); Brennan 2001 (G-theory); Krippendorff 2004/2011
(alpha); James, Demaree & Wolf 1984, LeBreton & Senter 2008 (r_wg); Burke,
Finkelstein & Dusig 1999 (AD); Cronbach 1951.  The project's summary is
``scoring-science.md`` §3.6, §3.7 and §4.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .frame import RatingFrame
from .grouping import compact
from .rubric import RubricLayout
from .scoring import RaterCells

__all__ = [
    "ad_index",
    "coincidence_matrix",
    "cronbach_alpha",
    "gstudy_nested",
    "icc_oneway",
    "krippendorff_alpha",
    "reliability_report",
    "rwg",
    "rwg_j",
    "rwg_j_by_target",
]

ALL_OTHERS = "all_others"
OVERALL = "overall"
REPORT_GOALS = (0.70, 0.80)
RWG_CUTOFF = 0.70

# Sums of squares below this share of the raw sum of squares are float noise
# (e.g. the deviations of identical values from their computed mean): they are
# snapped to exactly 0 so "no variance" is recognised and gives NaN, not junk.
_NOISE = 1e-24

# The report counts item ratings in a dense ratees × slots × values array when
# it has at most this many cells per rating (or this many cells in all).
_DENSE_PER_RATING = 4
_DENSE_MINIMUM = 1 << 16


# ---------------------------------------------------------------------------
# Small helpers
# ---------------------------------------------------------------------------


def _floats(values: Any) -> np.ndarray:
    return np.asarray(values, dtype=np.float64).reshape(-1)


def _dense_codes(keys: Any) -> tuple[np.ndarray, int]:
    """Codes ``0..L-1`` of ``keys`` in sorted key order, and ``L`` (the number of distinct keys)."""
    values, codes = compact(keys)
    return codes, len(values)


def _value_codes(values: np.ndarray) -> tuple[np.ndarray, int]:
    """Integer codes that ascend with ``values`` (gaps allowed), and the number of codes.

    Whole-number scores are coded by subtraction; anything else through ``np.unique``.
    """
    if values.size == 0:
        return np.zeros(0, dtype=np.int64), 0
    low, high = float(values.min()), float(values.max())
    if high - low < (1 << 16) and np.all(values == np.rint(values)):
        return (values - low).astype(np.int64), int(high - low) + 1
    return _dense_codes(values)


def _count_keys(keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The distinct non-negative integer keys, ascending, and how often each occurs."""
    keys = np.asarray(keys, dtype=np.int64).reshape(-1)
    if keys.size == 0:
        return keys, np.zeros(0, dtype=np.int64)
    low, high = int(keys.min()), int(keys.max())
    span = high - low + 1
    if span <= max(4 * keys.size, 1 << 16):
        counts = np.bincount(keys - low, minlength=span)
        present = np.flatnonzero(counts)
        return present + low, counts[present]
    return np.unique(keys, return_counts=True)


def _sums(codes: np.ndarray, weights: np.ndarray | None, length: int) -> np.ndarray:
    """``np.bincount`` as float64 (it returns int64 for empty input)."""
    return np.bincount(codes, weights=weights, minlength=length).astype(np.float64, copy=False)


def _ratio(numerator: float, denominator: float) -> float:
    """``numerator / denominator``, NaN when either is NaN or the denominator is 0."""
    if not (math.isfinite(numerator) and math.isfinite(denominator)) or denominator == 0:
        return math.nan
    return numerator / denominator


def _snap(sum_of_squares: float, raw_scale: float) -> float:
    return 0.0 if sum_of_squares <= _NOISE * raw_scale else sum_of_squares


def _sigma2_uniform(scale_points: int) -> float:
    """Variance of the uniform null distribution on A scale points: (A² − 1)/12."""
    points = int(scale_points)
    if points < 2 or points != scale_points:
        raise ValueError(f"scale_points must be a whole number >= 2, got {scale_points!r}")
    return (points * points - 1) / 12.0


# ---------------------------------------------------------------------------
# One-way ANOVA: ICC(1), ICC(1,k) and the r:p G-study
# ---------------------------------------------------------------------------


def _oneway(target: Any, values: Any) -> dict[str, float | int]:
    """Mean squares of the one-way random-effects ANOVA (raters nested in targets)."""
    y = _floats(values)
    t = np.asarray(target).reshape(-1)
    if t.shape != y.shape:
        raise ValueError(f"target and values differ in length ({t.size} vs {y.size})")
    keep = ~np.isnan(y)
    t, y = t[keep], y[keep]
    codes, n_targets = _dense_codes(t)
    n_values = int(y.size)
    nan = math.nan
    result: dict[str, float | int] = {"n_targets": n_targets, "n_values": n_values, "n0": nan, "msb": nan, "msw": nan}
    if n_targets == 0:
        return result
    n = np.bincount(codes, minlength=n_targets).astype(np.float64)
    means = _sums(codes, y, n_targets) / n
    grand = float(np.dot(n, means) / n_values)
    raw = float(np.dot(y, y))
    ssb = _snap(float(np.dot(n, (means - grand) ** 2)), raw)
    ssw = _snap(float(np.sum((y - means[codes]) ** 2)), raw)
    if n_targets >= 2:
        result["msb"] = ssb / (n_targets - 1)
        result["n0"] = (n_values - float(np.dot(n, n)) / n_values) / (n_targets - 1)
    if n_values > n_targets:
        result["msw"] = ssw / (n_values - n_targets)
    return result


def icc_oneway(target: Any, values: Any) -> dict[str, float | int]:
    """One-way random ICC(1) and ICC(1,k) for raters nested in targets (ratees).

    Shrout & Fleiss 1979 (ICC(1,1), ICC(1,k)); Bliese 2000 (ICC(1), ICC(2));
    unbalanced groups through Searle's n0 (Searle, Casella & McCulloch 1992;
    scoring-science.md §3.6 and §4.1)::

        MSB = Σ_u n_u (ȳ_u − ȳ)² / (U − 1)        MSW = Σ (y − ȳ_u)² / (N − U)
        n0  = (N − Σ n_u² / N) / (U − 1)
        ICC(1)   = (MSB − MSW) / (MSB + (n0 − 1) MSW)
        ICC(1,k) = (MSB − MSW) / MSB

    ``icck`` is the reliability of a target's mean at **k = n0**: with k = n0,
    Spearman–Brown applied to ICC(1) gives exactly (MSB − MSW)/MSB, the
    standard ICC(1,k)/ICC(2) of the ANOVA, and n0 is the group size that the
    expected between mean square carries (E[MSB] = σ²_w + n0·σ²_θ).  For
    balanced data n0 = k; for unbalanced data n0 is a little below the mean
    number of raters.  The reliability at another k is k·ICC(1)/(1 + (k−1)·ICC(1)).

    NaN values are dropped.  Targets with one value count in MSB (and N, U,
    n0) but add nothing to the within sum of squares, as in the standard
    ANOVA.  Edge cases give NaN, never an error or warning: fewer than two
    targets (no MSB); no within-target replication, N = U (no MSW); no
    variance at all (0/0).  ICC(1) may be negative when raters of the same
    target agree less than raters of different targets; it is not truncated.

    :returns: ``icc1``, ``icck``, ``n_targets``, ``n_values``, ``n0``, ``msb``, ``msw``.
    """
    stats = _oneway(target, values)
    msb, msw, n0 = float(stats["msb"]), float(stats["msw"]), float(stats["n0"])
    return {
        "icc1": _ratio(msb - msw, msb + (n0 - 1.0) * msw),
        "icck": _ratio(msb - msw, msb),
        **stats,
    }


def _raters_needed(var_target: float, var_error: float, goal: float) -> int | None:
    """Smallest whole n' with σ²_p / (σ²_p + σ²_e/n') ≥ goal (None when σ²_p ≤ 0 or unknown)."""
    if not (0.0 < goal < 1.0):
        raise ValueError(f"a reliability goal must lie strictly between 0 and 1, got {goal!r}")
    if not (math.isfinite(var_target) and math.isfinite(var_error)) or var_target <= 0:
        return None
    if var_error <= 0:
        return 1
    exact = goal / (1.0 - goal) * var_error / var_target
    if not math.isfinite(exact):
        return None
    # The tolerance keeps an exact whole solution (e.g. 4.000000000000001) at 4.
    return max(1, math.ceil(exact - 1e-9 * max(1.0, exact)))


def gstudy_nested(target: Any, values: Any, goals: Sequence[float] = (0.70, 0.80)) -> dict[str, Any]:
    """G-study for raters nested in ratees (r:p), with a D-study for the number of raters.

    Brennan 2001 (ch. 3, 7) for the r:p design; scoring-science.md §3.7.  With
    the one-way mean squares of :func:`icc_oneway` and n0 for the raters per
    target (n_r when balanced)::

        σ²_p       = (MS_p − MS_{r:p}) / n0          (var_target; may be negative)
        σ²_{r:p,e} = MS_{r:p}                        (var_rater_error)
        Eρ²(n')    = σ²_p / (σ²_p + σ²_{r:p,e} / n')  (= ICC(1, n'); Φ is the same in r:p)
        n'(goal)   = ceil( goal/(1−goal) · σ²_{r:p,e}/σ²_p )

    ``var_target`` is the unbounded ANOVA estimate: a negative value means no
    detectable ratee variance (read it as 0), and the D-study then answers
    ``None`` — no number of raters reaches the goal.  Rater leniency and
    rater × ratee interaction are confounded with error in this design.

    :returns: ``var_target``, ``var_rater_error``, ``e_rho2`` (at n' = n0),
        ``raters_needed`` ({goal: int or None}), ``n_targets``, ``n_values``, ``n0``.
    """
    stats = _oneway(target, values)
    msb, msw, n0 = float(stats["msb"]), float(stats["msw"]), float(stats["n0"])
    var_target = _ratio(msb - msw, n0)
    var_error = msw
    return {
        "var_target": var_target,
        "var_rater_error": var_error,
        "e_rho2": _ratio(msb - msw, msb),
        "raters_needed": {float(goal): _raters_needed(var_target, var_error, float(goal)) for goal in goals},
        **stats,
    }


# ---------------------------------------------------------------------------
# Krippendorff's alpha
# ---------------------------------------------------------------------------

_LEVELS = ("interval", "ordinal", "nominal")


def _units_and_values(unit: Any, value: Any) -> tuple[np.ndarray, np.ndarray, int]:
    """Drop NaN values; dense unit codes, the values, and the number of units."""
    v = _floats(value)
    u = np.asarray(unit).reshape(-1)
    if u.shape != v.shape:
        raise ValueError(f"unit and value differ in length ({u.size} vs {v.size})")
    keep = ~np.isnan(v)
    codes, n_units = _dense_codes(u[keep])
    return codes, v[keep], n_units


def _unit_stats(
    codes: np.ndarray, n_units: int, v: np.ndarray, count: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per unit code: number of values m, their mean and within sum of squares (two-pass).

    ``count`` weights each value (a (unit, value) entry standing for several ratings).
    """
    weight = None if count is None else count.astype(np.float64)
    m = _sums(codes, weight, n_units)
    means = _sums(codes, v if weight is None else weight * v, n_units)
    np.divide(means, m, out=means, where=m > 0)
    deviation = (v - means[codes]) ** 2
    ss = _sums(codes, deviation if weight is None else weight * deviation, n_units)
    return m, means, ss


def _alpha_interval_units(m: np.ndarray, means: np.ndarray, ss: np.ndarray) -> float:
    """Interval alpha from per-unit m_u, means and within sums of squares (units with m_u < 2 ignored).

    Σ_ck o_ck (c−k)² = Σ_u 2·m_u·SS_u/(m_u − 1);  Σ_ck n_c n_k (c−k)² = 2·n·SS_total,
    with SS_total = Σ_u SS_u + Σ_u m_u (ȳ_u − ȳ)² over the pairable units.
    """
    has = m >= 2
    m, means, ss = m[has], means[has], ss[has]
    n = float(m.sum())
    if n < 2:
        return math.nan
    observed = 2.0 * float(np.sum(m * ss / (m - 1.0)))
    grand = float(np.dot(m, means)) / n
    total = float(ss.sum()) + float(np.dot(m, (means - grand) ** 2))
    total = _snap(total, float(np.dot(m, means * means)) + float(ss.sum()))
    expected = 2.0 * n * total
    return 1.0 - (n - 1.0) * observed / expected if expected > 0 else math.nan


def _alpha_counted(
    unit: np.ndarray, code: np.ndarray, count: np.ndarray, n_units: int, n_codes: int, level: str
) -> float:
    """Ordinal or nominal alpha from (unit, value code, count) entries; codes ascend with the value.

    Each (unit, code) pair appears at most once.  Codes may have gaps (values
    that never occur), which change nothing.
    """
    m = _sums(unit, count, n_units)
    pairable = m[unit] >= 2
    unit, code, count = unit[pairable], code[pairable], count[pairable].astype(np.float64)
    n_c = _sums(code, count, n_codes)
    n = float(n_c.sum())
    if n < 2:
        return math.nan
    if level == "ordinal":
        # δ_ordinal(c, k) = F_k − F_c with the mid-ranks F_c = Σ_{g<c} n_g + n_c/2;
        # dividing by n leaves alpha unchanged and keeps the numbers small.
        midrank = (np.cumsum(n_c) - n_c / 2.0) / n
        return _alpha_interval_units(*_unit_stats(unit, n_units, midrank[code], count))
    has = m >= 2
    same = _sums(unit, count * count, n_units)
    observed = float(np.sum((m[has] ** 2 - same[has]) / (m[has] - 1.0)))
    expected = n * n - float(np.dot(n_c, n_c))
    return 1.0 - (n - 1.0) * observed / expected if expected > 0 else math.nan


def _alpha_ordinal_matrix(counts: np.ndarray) -> float:
    """Ordinal alpha from a dense units × value-codes count matrix (same formulas as :func:`_alpha_counted`)."""
    m = counts.sum(axis=1)
    n_c = (m >= 2).astype(np.float64) @ counts
    n = float(n_c.sum())
    if n < 2:
        return math.nan
    midrank = (np.cumsum(n_c) - n_c / 2.0) / n
    s1 = counts @ midrank
    means = np.zeros_like(s1)
    np.divide(s1, m, out=means, where=m > 0)
    # F is in [0, 1], so Σ n F² − (Σ n F)²/m loses nothing that matters; clip float dust.
    ss = np.maximum(counts @ (midrank * midrank) - s1 * means, 0.0)
    return _alpha_interval_units(m, means, ss)


def coincidence_matrix(unit: Any, value: Any) -> tuple[np.ndarray, np.ndarray]:
    """Krippendorff's coincidence matrix over the distinct pairable values.

    Krippendorff 2011, "Computing Krippendorff's alpha-reliability", §B::

        o_ck = Σ_u (number of ordered c–k value pairs from different coders in u) / (m_u − 1)

    Built without loops: the (unit, value) counts come from ``np.unique``; all
    pairs of distinct values within a unit are enumerated with ``np.repeat``
    (Σ_u k_u² pairs, k_u = distinct values in unit u) and summed by
    ``np.bincount``.  Units with fewer than two values do not count.  For
    explanation and checking; :func:`krippendorff_alpha` never builds it.

    :returns: ``(values, o)``: the sorted distinct values (V,) and o (V, V);
        the margins ``o.sum(0)`` are the pairable counts n_c.
    """
    codes, v, n_units = _units_and_values(unit, value)
    pairable = np.bincount(codes, minlength=n_units)[codes] >= 2
    codes, v = codes[pairable], v[pairable]
    distinct = np.unique(v)
    n_distinct = len(distinct)
    if v.size == 0:
        return distinct, np.zeros((0, 0))
    vcode = np.searchsorted(distinct, v)
    key, count = np.unique(codes * n_distinct + vcode, return_counts=True)
    entry_unit, entry_value = key // n_distinct, key % n_distinct
    m = np.bincount(entry_unit, weights=count, minlength=n_units)
    per_unit = np.bincount(entry_unit, minlength=n_units)  # k_u
    start = np.cumsum(per_unit) - per_unit
    # Entry e pairs with every entry of its unit (itself included).
    reps = per_unit[entry_unit]
    left = np.repeat(np.arange(len(key)), reps)
    offset = np.arange(len(left)) - np.repeat(np.cumsum(reps) - reps, reps)
    right = start[entry_unit[left]] + offset
    weight = count[left] * count[right] / (m[entry_unit[left]] - 1.0)
    o = np.bincount(entry_value[left] * n_distinct + entry_value[right], weights=weight, minlength=n_distinct**2)
    o = o.reshape(n_distinct, n_distinct)
    # A value does not pair with itself: remove n_uc/(m_u − 1) from the diagonal.
    self_pairs = np.bincount(entry_value, weights=count / (m[entry_unit] - 1.0), minlength=n_distinct)
    o[np.diag_indices(n_distinct)] -= self_pairs
    return distinct, o


def krippendorff_alpha(unit: Any, value: Any, level: str = "interval") -> float:
    """Krippendorff's alpha for values grouped in units (e.g. unit = ratee × competency).

    Krippendorff 2004 (*Content Analysis*, ch. 11) and 2011 ("Computing
    Krippendorff's alpha-reliability"); scoring-science.md §4.3.  With the
    coincidence matrix o (:func:`coincidence_matrix`), n_c = Σ_k o_ck, n = Σ n_c::

        α = 1 − D_o / D_e = 1 − (n − 1) · Σ_ck o_ck δ²_ck / Σ_ck n_c n_k δ²_ck
        δ²_interval = (c − k)²;  δ²_nominal = 1[c ≠ k]
        δ²_ordinal  = (Σ_{g=c..k} n_g − (n_c + n_k)/2)²

    The double sums are evaluated through exact identities, in O(N) with
    bincounts, so values may be continuous (cell means) and millions of
    units are cheap: Σ o_ck (c−k)² = Σ_u 2·m_u·SS_u/(m_u − 1) and
    Σ n_c n_k (c−k)² = 2·n·SS, with SS_u the sum of squares within unit u and
    SS over all pairable values; the ordinal δ equals (F_k − F_c)² for the
    mid-ranks F_c = Σ_{g<c} n_g + n_c/2, so ordinal α is interval α on
    mid-ranks; nominal uses Σ o_ck 1[c≠k] = Σ_u (m_u² − Σ_c n_uc²)/(m_u − 1)
    and Σ n_c n_k 1[c≠k] = n² − Σ n_c².  Equals the ``krippendorff`` package
    to float precision.

    :param unit: integer codes (or any sortable keys) of the unit of each value.
    :param value: numeric values; NaN = missing (ignored).  Which coder gave a
        value does not enter alpha, so nested raters need no coder ids.
    :param level: ``"interval"``, ``"ordinal"`` or ``"nominal"``.
    :returns: alpha, or NaN when no unit has two values or the pairable
        values do not vary (where the ``krippendorff`` package raises).
    """
    if level not in _LEVELS:
        raise ValueError(f"level must be one of {', '.join(_LEVELS)}, got {level!r}")
    codes, v, n_units = _units_and_values(unit, value)
    if level == "interval":
        return _alpha_interval_units(*_unit_stats(codes, n_units, v))
    vcode, n_codes = _value_codes(v)
    entries, count = _count_keys(codes * n_codes + vcode)
    return _alpha_counted(entries // n_codes, entries % n_codes, count, n_units, n_codes, level)


# ---------------------------------------------------------------------------
# Within-group agreement: r_wg, r_wg(J), AD
# ---------------------------------------------------------------------------


def _rwg_j_formula(mean_variance: np.ndarray, n_items: np.ndarray, sigma2: float) -> np.ndarray:
    """r_wg(J) from the mean item variance, truncated to [0, 1]: 0 once s̄² ≥ σ²_EU (LeBreton & Senter 2008)."""
    q = np.asarray(mean_variance, dtype=np.float64) / sigma2
    j = np.asarray(n_items, dtype=np.float64)
    agree = j * (1.0 - q)
    denominator = agree + q
    out = np.zeros(np.broadcast(q, j).shape)
    ok = (q < 1.0) & (denominator > 0)
    np.divide(agree, denominator, out=out, where=ok)
    out[np.isnan(q) | (j < 1)] = np.nan
    return np.clip(out, 0.0, 1.0)


def rwg(values: Any, scale_points: int) -> float:
    """r_wg for one item (James, Demaree & Wolf 1984; scoring-science.md §4.2).

    ``r_wg = 1 − s²/σ²_EU`` with s² the sample variance (n − 1, as R
    ``multilevel::rwg``) of the non-missing values and σ²_EU = (A² − 1)/12
    the uniform null on A scale points; truncated to [0, 1] (0 when the raters
    disagree more than random answering would).  NaN for fewer than 2 values.
    Example: [4, 4, 5, 3] on a 5-point scale gives .6667.
    """
    sigma2 = _sigma2_uniform(scale_points)
    x = _floats(values)
    x = x[~np.isnan(x)]
    if x.size < 2:
        return math.nan
    variance = float(np.sum((x - x.mean()) ** 2)) / (x.size - 1)
    return float(np.clip(1.0 - variance / sigma2, 0.0, 1.0))


def rwg_j(matrix: Any, scale_points: int) -> float:
    """r_wg(J) for J parallel items (James, Demaree & Wolf 1984; scoring-science.md §4.2).

    ``matrix`` is raters × items (rows = raters, columns = items, as in R
    ``multilevel::rwg.j``); NaN = missing.  s̄² is the mean over items of the
    item variances (n − 1 over that item's raters; items with fewer than two
    ratings are left out and J counts the items used)::

        r_wg(J) = J(1 − s̄²/σ²_EU) / [J(1 − s̄²/σ²_EU) + s̄²/σ²_EU],   σ²_EU = (A² − 1)/12

    truncated to [0, 1]: 0 when s̄² ≥ σ²_EU.  NaN when no item has 2 ratings.
    Example: items [4,4,5,3], [3,4,4,4], [5,5,4,4] (as columns) give .9194.
    """
    sigma2 = _sigma2_uniform(scale_points)
    x = np.asarray(matrix, dtype=np.float64)
    if x.ndim != 2:
        raise ValueError(f"matrix must be 2-D (raters × items), got shape {x.shape}")
    seen = ~np.isnan(x)
    n = seen.sum(axis=0)
    filled = np.where(seen, x, 0.0)
    means = filled.sum(axis=0) / np.maximum(n, 1)
    ss = np.where(seen, (filled - means) ** 2, 0.0).sum(axis=0)
    usable = n >= 2
    if not usable.any():
        return math.nan
    mean_variance = float(np.mean(ss[usable] / (n[usable] - 1)))
    return float(_rwg_j_formula(np.array(mean_variance), np.array(usable.sum()), sigma2))


def ad_index(values: Any) -> float:
    """Average deviation index AD_M = Σ|x_j − x̄|/n (Burke, Finkelstein & Dusig 1999; scoring-science.md §4.2).

    In scale points; a common cut-off for "raters agree" is AD ≤ A/6.  NaN
    values are ignored; NaN for fewer than 2 values.  Example: [4, 4, 5, 3] gives .5.
    """
    x = _floats(values)
    x = x[~np.isnan(x)]
    if x.size < 2:
        return math.nan
    return float(np.mean(np.abs(x - x.mean())))


def _rwg_from_cells(
    cell_target: np.ndarray, n: np.ndarray, ss: np.ndarray, n_targets: int, sigma2: float
) -> np.ndarray:
    """r_wg(J) per target from per-(target, item) counts and sums of squares (items with n < 2 left out)."""
    usable = n >= 2
    target = cell_target[usable]
    j = _sums(target, None, n_targets)
    mean_variance = _sums(target, ss[usable] / (n[usable] - 1.0), n_targets)
    np.divide(mean_variance, j, out=mean_variance, where=j > 0)
    mean_variance[j == 0] = np.nan
    return _rwg_j_formula(mean_variance, j, sigma2)


def rwg_j_by_target(target: Any, item: Any, values: Any, scale_points: int) -> tuple[np.ndarray, np.ndarray]:
    """One r_wg(J) per target from long data (one value per rater, target and item).

    Same formula as :func:`rwg_j`, for all targets at once with bincounts:
    per (target, item) the sample variance (n − 1) of its values; s̄² of a
    target is the mean over its items with at least two values, and J is the
    number of those items; r_wg(J) is truncated to [0, 1].  Targets without
    any item rated by two raters (fewer than 2 raters) get NaN.  NaN values
    are ignored.

    :returns: ``(targets, r)`` — the sorted distinct targets and their r_wg(J).
    """
    sigma2 = _sigma2_uniform(scale_points)
    y = _floats(values)
    t = np.asarray(target).reshape(-1)
    i = np.asarray(item).reshape(-1)
    if not (t.shape == i.shape == y.shape):
        raise ValueError("target, item and values differ in length")
    keep = ~np.isnan(y)
    t, i, y = t[keep], i[keep], y[keep]
    tcode, n_targets = _dense_codes(t)
    targets = np.empty(n_targets, dtype=t.dtype)
    targets[tcode] = t
    icode, n_items = _dense_codes(i)
    cell, n_cells = _dense_codes(tcode * max(n_items, 1) + icode)
    n, _, ss = _unit_stats(cell, n_cells, y)
    cell_target = np.zeros(n_cells, dtype=np.int64)
    cell_target[cell] = tcode
    return targets, _rwg_from_cells(cell_target, n, ss, n_targets, sigma2)


# ---------------------------------------------------------------------------
# Internal consistency
# ---------------------------------------------------------------------------


def cronbach_alpha(wide: Any) -> float:
    """Cronbach's alpha of the columns of ``wide`` (rows = forms, columns = items), listwise.

    Cronbach 1951; scoring-science.md §4.4::

        α = k/(k − 1) · (1 − Σ_i s²_i / s²_X)      (sample variances, X = row total)

    Rows with any NaN are dropped first (as ``pingouin.cronbach_alpha(...,
    nan_policy='listwise')``).  NaN with fewer than 2 columns or 2 complete
    rows, or when the row totals do not vary.
    """
    x = np.asarray(wide, dtype=np.float64)
    if x.ndim != 2:
        raise ValueError(f"wide must be 2-D (forms × items), got shape {x.shape}")
    x = x[~np.isnan(x).any(axis=1)]
    n, k = x.shape
    if k < 2 or n < 2:
        return math.nan
    raw = float(np.sum(x * x))
    item_ss = np.sum((x - x.mean(axis=0)) ** 2, axis=0)
    totals = x.sum(axis=1)
    total_ss = _snap(float(np.sum((totals - totals.mean()) ** 2)), raw * k)
    return k / (k - 1.0) * (1.0 - _ratio(float(item_ss.sum()), total_ss))


# ---------------------------------------------------------------------------
# The per-run report
# ---------------------------------------------------------------------------


def _plain(value: Any) -> float | int | None:
    """A JSON-safe Python number: NaN/inf → None, numpy scalars → float/int."""
    if value is None:
        return None
    if isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_)):
        return int(value)
    value = float(value)
    return value if math.isfinite(value) else None


def reliability_report(
    frame: RatingFrame,
    cells: RaterCells,
    counting: np.ndarray,
    layout: RubricLayout,
    scale_min: int,
    scale_max: int,
) -> dict[str, dict[str, dict[str, float | int | None]]]:
    """Reliability of the scores of one run, per rater group and for all non-self raters pooled.

    ``report[scope][part]`` with scope = each rater group id except self (in
    rubric order), then ``"all_others"`` (all non-self groups pooled), and
    part = ``"overall"`` then each cluster id.  Only cells where ``counting``
    is true enter (they are the ones that count: eligible, in a counting group
    that meets its minimum, so hidden anonymity groups never enter); self
    ratings never do.  A scope without counting cells has ``n_ratees`` 0 and
    ``None`` elsewhere; a statistic that needs two raters per ratee (e.g. for
    a lone supervisor) is ``None``.

    The unit of analysis is a rater's score for a ratee: the plain mean of
    that rater's counting competency cell scores for the ratee (``overall``)
    or over the cluster's competencies (cluster).  A rater who rates the same
    ratee in two groups counts as two raters in ``all_others``.  Each entry:

    * ``n_ratees``, ``n_raters_mean`` (rater scores per ratee), ``n0`` (the
      effective raters per ratee of :func:`icc_oneway`);
    * ``icc1``, ``icck`` (reliability of a ratee's mean at k = n0):
      :func:`icc_oneway` on (ratee, rater score);
    * ``var_ratee``, ``var_rater_error``, ``raters_for_0_70``,
      ``raters_for_0_80``: :func:`gstudy_nested` on the same data;
    * ``alpha_interval``: :func:`krippendorff_alpha` with units = (ratee,
      competency) and the counting cell scores;
    * ``alpha_ordinal``: ordinal alpha on the item-level ratings of the
      counting cells, units = (ratee, item) — or (ratee, competency) for a
      competency rated as a whole — so that only different raters' answers to
      the same question are paired;
    * ``rwg_median``, ``rwg_share_at_least_0_70``: r_wg(J) per ratee over the
      part's competencies from the rater cell scores (as
      :func:`rwg_j_by_target`, A = scale_max − scale_min + 1), median and
      share ≥ .70 among ratees where it is defined;
    * ``cronbach_alpha``: :func:`cronbach_alpha` with forms = (rater, ratee)
      rows and the part's competencies as columns, listwise (None for a
      one-competency cluster).

    Cost: a few bincounts over the cells and the item ratings per rater
    group; the parts are cheap slices of per-unit sums.  Values are plain
    Python ``int``/``float``/``None`` (JSON-serialisable).
    """
    counting = np.asarray(counting, dtype=bool).reshape(-1)
    if counting.shape != (len(cells),):
        raise ValueError(f"counting has {counting.size} entries for {len(cells)} cells")
    sigma2 = _sigma2_uniform(int(scale_max) - int(scale_min) + 1)
    n_comp = len(layout.competency_ids)
    n_groups = len(layout.group_ids)
    n_item_keys = len(layout.item_keys)
    n_slots = n_item_keys + n_comp  # answer slots per ratee: items, then competencies rated as a whole

    use = counting & (cells.group != layout.self_group) & ~np.isnan(cells.score)
    index = np.flatnonzero(use)
    # Ratees renumbered densely (in their own order) over those with a counting cell: on a large run
    # the report rests on a sample of them, and the per-ratee arrays below need not span everyone.
    ratee = cells.ratee[index]
    entered = np.zeros(int(cells.ratee.max(initial=-1)) + 1, dtype=bool)
    entered[ratee] = True
    ratee_code = np.cumsum(entered) - 1
    n_ratees = int(entered.sum())
    ratee, rater = ratee_code[ratee], cells.rater[index]
    group, comp, score = cells.group[index], cells.competency[index], cells.score[index]
    unit = ratee * n_comp + comp

    # Forms (one per ratee, rater and group), numbered group by group so each
    # group's forms are one slice of ``wide`` (forms × competencies).  Cells
    # come sorted by (ratee, rater, competency) from rater_cells, so forms
    # are runs of equal keys; any other order falls back to np.unique.
    n_raters = max(len(frame.raters), int(rater.max(initial=-1)) + 1, 1)
    form_key = (ratee * n_raters + rater) * n_groups + group
    if np.all(form_key[1:] >= form_key[:-1]):
        form = np.cumsum(np.r_[True, form_key[1:] != form_key[:-1]][: form_key.size]) - 1
        n_forms = int(form[-1]) + 1 if form.size else 0
    else:
        form, n_forms = _dense_codes(form_key)
    form_group = np.zeros(n_forms, dtype=np.int64)
    form_group[form] = group
    renumber = np.empty(n_forms, dtype=np.int64)
    renumber[np.argsort(form_group, kind="stable")] = np.arange(n_forms)
    form = renumber[form]
    form_group = np.sort(form_group, kind="stable")
    form_ratee = np.zeros(n_forms, dtype=np.int64)
    form_ratee[form] = ratee
    form_bounds = np.r_[0, np.cumsum(np.bincount(form_group, minlength=n_groups))]
    wide = np.full((n_forms, n_comp), np.nan)
    wide[form, comp] = score

    # Item-level ratings of the counting cells, keyed by (ratee, slot, value code).
    rating_index = np.flatnonzero(use[cells.of_rating] & frame.observed)
    r_group = cells.group[cells.of_rating[rating_index]]
    r_item = frame.item[rating_index]
    slot = np.where(r_item >= 0, r_item, n_item_keys + frame.competency[rating_index])
    r_code, n_codes = _value_codes(frame.score[rating_index])
    r_key = (ratee_code[frame.ratee[rating_index]] * n_slots + slot) * max(n_codes, 1) + r_code
    slot_cluster = layout.competency_cluster[
        np.r_[np.array([c for c, _ in layout.item_keys], dtype=np.int64), np.arange(n_comp)]
    ]
    unit_cluster = np.tile(layout.competency_cluster, n_ratees)
    unit_ratee = np.repeat(np.arange(n_ratees), n_comp)

    others = [g for g in range(n_groups) if g != layout.self_group]
    scopes: list[tuple[str, int | None]] = [(layout.group_ids[g], g) for g in others]
    scopes.append((ALL_OTHERS, None))
    parts: list[tuple[str, int | None]] = [(OVERALL, None), *((cid, k) for k, cid in enumerate(layout.cluster_ids))]
    shared = _Shared(n_ratees, sigma2)

    report: dict[str, dict[str, dict[str, float | int | None]]] = {}
    for scope_name, g in scopes:  # a handful of rater groups
        if g is None:
            cell_unit, cell_score, keys = unit, score, r_key
            rows = slice(0, n_forms)
        else:
            in_group = group == g
            cell_unit, cell_score, keys = unit[in_group], score[in_group], r_key[r_group == g]
            rows = slice(int(form_bounds[g]), int(form_bounds[g + 1]))
        unit_stats = _unit_stats(cell_unit, n_ratees * n_comp, cell_score)
        answers = _Answers.of(keys, n_ratees, n_slots, n_codes, slot_cluster)
        report[scope_name] = {}
        for part_name, k in parts:  # overall and a handful of clusters
            columns = np.arange(n_comp) if k is None else np.flatnonzero(layout.competency_cluster == k)
            if k is not None and len(columns) == n_comp:  # a cluster of every competency: the same data as overall
                report[scope_name][part_name] = dict(report[scope_name][OVERALL])
                continue
            units = slice(None) if k is None else unit_cluster == k
            report[scope_name][part_name] = _entry(
                wide[rows][:, columns],
                form_ratee[rows],
                tuple(stat[units] for stat in unit_stats),
                unit_ratee[units],
                answers.ordinal_alpha(k, slot_cluster),
                shared,
            )
    return report


@dataclass(frozen=True)
class _Answers:
    """The item ratings of one scope, counted per (ratee, answer slot, value code).

    Dense (ratees × slots × codes) when that is not much larger than the
    ratings, as for a 1–5 scale; otherwise sparse (unit, code, count) entries.
    """

    dense: np.ndarray | None  # float64[E, S, V]
    entries: tuple[np.ndarray, np.ndarray, np.ndarray]  # (unit, code, count) when sparse
    n_units: int
    n_codes: int

    @classmethod
    def of(cls, keys: np.ndarray, n_ratees: int, n_slots: int, n_codes: int, slot_cluster: np.ndarray) -> _Answers:
        n_codes = max(n_codes, 1)
        n_units = n_ratees * n_slots
        empty = np.zeros(0, dtype=np.int64)
        if n_units * n_codes <= max(_DENSE_PER_RATING * keys.size, _DENSE_MINIMUM):
            dense = _sums(keys, None, n_units * n_codes).reshape(n_ratees, n_slots, n_codes)
            return cls(dense, (empty, empty, empty), n_units, n_codes)
        entries, counts = _count_keys(keys)
        return cls(None, (entries // n_codes, entries % n_codes, counts), n_units, n_codes)

    def ordinal_alpha(self, cluster: int | None, slot_cluster: np.ndarray) -> float:
        """Ordinal alpha over all answer slots, or those of one cluster."""
        if self.dense is not None:
            part = self.dense if cluster is None else self.dense[:, slot_cluster == cluster, :]
            return _alpha_ordinal_matrix(part.reshape(-1, self.n_codes))
        unit, code, count = self.entries
        if cluster is not None:
            keep = slot_cluster[unit % len(slot_cluster)] == cluster
            unit, code, count = unit[keep], code[keep], count[keep]
        return _alpha_counted(unit, code, count, self.n_units, self.n_codes, "ordinal")


@dataclass(frozen=True)
class _Shared:
    """Sizes and constants every report entry needs."""

    n_ratees: int
    sigma2: float  # σ²_EU of the scale


def _entry(
    forms: np.ndarray,
    form_ratee: np.ndarray,
    unit_stats: tuple[np.ndarray, ...],
    unit_ratee: np.ndarray,
    ordinal: float,
    shared: _Shared,
) -> dict[str, float | int | None]:
    """One report entry (see :func:`reliability_report`).

    :param forms: rater cell scores, forms × the part's competencies (NaN = no counting cell).
    :param unit_stats: (m, mean, SS) of the cell scores per (ratee, competency) of the part.
    :param ordinal: the part's ordinal alpha on item ratings (computed by :class:`_Answers`).
    """
    seen = ~np.isnan(forms)
    n_seen = seen.sum(axis=1)
    present = n_seen > 0
    rater_score = np.where(seen, forms, 0.0).sum(axis=1)[present] / n_seen[present]
    stats = _oneway(form_ratee[present], rater_score)
    msb, msw, n0 = float(stats["msb"]), float(stats["msw"]), float(stats["n0"])
    var_ratee = _ratio(msb - msw, n0)
    n_targets = int(stats["n_targets"])
    m, means, ss = unit_stats
    agreement = _rwg_from_cells(unit_ratee, m, ss, shared.n_ratees, shared.sigma2)
    defined = agreement[~np.isnan(agreement)]
    return {
        "n_ratees": n_targets,
        "n_raters_mean": _plain(stats["n_values"] / n_targets) if n_targets else None,
        "n0": _plain(n0),
        "icc1": _plain(_ratio(msb - msw, msb + (n0 - 1.0) * msw)),
        "icck": _plain(_ratio(msb - msw, msb)),
        "var_ratee": _plain(var_ratee),
        "var_rater_error": _plain(msw),
        "raters_for_0_70": _raters_needed(var_ratee, msw, REPORT_GOALS[0]),
        "raters_for_0_80": _raters_needed(var_ratee, msw, REPORT_GOALS[1]),
        "alpha_interval": _plain(_alpha_interval_units(m, means, ss)),
        "alpha_ordinal": _plain(ordinal),
        "rwg_median": _plain(np.median(defined)) if defined.size else None,
        "rwg_share_at_least_0_70": _plain(np.mean(defined >= RWG_CUTOFF)) if defined.size else None,
        "cronbach_alpha": _plain(cronbach_alpha(forms)),
    }
