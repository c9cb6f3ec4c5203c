"""Many-facet Rasch model (rating scale) fitted by JMLE: the rater audit of §3.5.

The model (Linacre 1989/1994) says that the log-odds of a rating in category
``k`` rather than ``k - 1`` is::

    log(P_k / P_{k-1}) = B_n - D_i - C_j - F_k

``B_n`` is the ratee's (person's) measure, ``D_i`` the item's difficulty,
``C_j`` the rater's severity (positive = severe, gives lower ratings than the
others to the same people) and ``F_k`` the threshold of step ``k`` of the
shared rating scale.  Everything is in logits.  Items and raters are centred
on 0 and the thresholds sum to 0, so a person measure of 0 is the level at
which an average rater on an average item is equally likely to give the
lowest and the highest category.

Estimation is joint maximum likelihood (JMLE, as in Facets), by Newton's
method on all parameters at once: each Newton step is solved by
Jacobi-preconditioned conjugate gradients (``np.bincount`` gathers and sums
over the ratings and the rater-ratee pairs; no matrix is formed), and clipped
to +/-1 logit per element.  The only Python loops are over Newton and CG
steps, graph-search rounds and the few categories.

Extreme scores
    A person, rater or item whose ratings are *all* in the lowest (or all in
    the highest) category has an infinite maximum-likelihood measure.  Like
    Facets and Winsteps (``Xtreme=0.3``, ``EXTRSCORE=0.3``), such elements are
    first set aside (repeatedly, because removing one can make another
    extreme); the others are estimated from the remaining ratings; then each
    extreme element is placed where its expected raw score equals its observed
    raw score moved 0.3 score points towards the centre, with the
    non-extreme measures held fixed.  Their measures are finite and flagged in
    ``*_extreme`` (-1 = all lowest, +1 = all highest); their fit statistics
    are NaN, since a row of identical answers at the end of the scale has
    nothing to misfit.  Ratees and raters that are cut off from the rest of
    the rating network by ratings at one end of the scale have no finite
    estimate either (plain JMLE never converges on them); they are set aside
    and placed the same way (``*_estimated`` is False).

Unused categories
    Categories that no (non-extreme) rating used have no threshold: the scale
    is fitted over the categories actually used, keeping their original score
    values (Facets' and Winsteps' "keep" treatment), and ``thresholds`` is NaN
    at an unused category.  The step into the next used category then covers
    the jump of two or more score points.

Elements with no observed rating have NaN measures, SEs and fit.

How to read the fit statistics (Wright & Linacre 1994, RMT 8:3 p.370):

- mean-square (MnSq) 0.5-1.5: productive for measurement;
  1.5-2.0: unproductive but not degrading; above 2.0: the ratings are noisy
  enough to degrade measurement (an erratic rater);
  below about 0.5-0.7: too predictable (halo, central tendency,
  straight-lining).
- ZSTD above 2 (or below -2): the misfit is more than chance would produce at
  this number of ratings; report MnSq and ZSTD together.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .grouping import Pairs, factorize, is_ascending
from .solvers import TwoLevel, conjugate_gradients, group_codes

__all__ = [
    "EXTREME_ADJUSTMENT",
    "FacetSummary",
    "MfrmFit",
    "category_moments",
    "category_probabilities",
    "fit_mfrm",
]

#: Score points by which an extreme raw score is moved towards the centre (Facets ``Xtreme=0.3``).
EXTREME_ADJUSTMENT = 0.3

_MAX_STEP = 1.0  # logits, per element and Newton step
_FORCING = (1e-3, 0.1)  # bounds of the CG residual relative to the gradient
_CURVATURE_BLOCK = 1 << 16  # ratings per block of the Newton step's per-rating work
_CG_STEPS = 500  # conjugate-gradient steps per Newton step, at most
_FACETS = ("person", "rater", "item")
_SIGNS = (1.0, -1.0, -1.0)  # of each facet in eta = B - C - D


# ---------------------------------------------------------------------------
# Category probabilities and moments
# ---------------------------------------------------------------------------


def _support(thresholds: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Used category scores and their cumulative thresholds Psi_k = sum_{h<=k} F_h (NaN = unused)."""
    used = ~np.isnan(thresholds)
    scores = np.flatnonzero(used).astype(float)
    psi = np.cumsum(np.where(used, thresholds, 0.0))[used]
    return scores, psi


def _probs(eta: np.ndarray, scores: np.ndarray, psi: np.ndarray) -> np.ndarray:
    """P[n, j] of the j-th used category; P_k proportional to exp(k * eta - Psi_k)."""
    logit = eta[..., None] * scores - psi
    logit -= logit.max(axis=-1, keepdims=True)
    np.exp(logit, out=logit)
    logit /= logit.sum(axis=-1, keepdims=True)
    return logit


def _moments(prob: np.ndarray, scores: np.ndarray, fourth: bool = False):
    """Expected score E, variance W (and 4th central moment C) of each row of ``prob``."""
    expected = prob @ scores
    dev2 = (scores - expected[..., None]) ** 2
    variance = np.einsum("...k,...k->...", dev2, prob)
    if not fourth:
        return expected, variance
    return expected, variance, np.einsum("...k,...k->...", dev2 * dev2, prob)


def category_probabilities(eta, thresholds) -> np.ndarray:
    """Rating-scale category probabilities for linear predictors ``eta = B - D - C``.

    ``thresholds`` is ``F`` on the 0-based category scale: ``F[0]`` is the
    reference (conventionally 0) and ``F[k]`` the step into category ``k``;
    a NaN marks a category that is not part of the scale (probability 0).
    Returns an array of shape ``eta.shape + (len(thresholds),)`` whose rows
    sum to 1::

        P_k = exp(sum_{h<=k} (eta - F_h)) / sum_m exp(sum_{h<=m} (eta - F_h))
    """
    eta = np.asarray(eta, dtype=float)
    thresholds = np.asarray(thresholds, dtype=float)
    scores, psi = _support(thresholds)
    out = np.zeros(eta.shape + (len(thresholds),))
    out[..., scores.astype(np.int64)] = _probs(eta, scores, psi)
    return out


def category_moments(eta, thresholds) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per observation: expected category ``E``, model variance ``W`` and 4th central moment ``C``.

    ``E = sum k P_k`` is the rating the model expects; ``W = sum (k - E)^2 P_k``
    is the statistical information the rating carries about each facet (the
    Newton denominator; ``1/sqrt(sum W)`` is an element's SE); ``C`` enters
    the variance of the fit mean-squares.  For two categories these are the
    dichotomous Rasch ``p``, ``p(1 - p)`` and ``p(1 - p)(1 - 3p(1 - p))``.
    """
    eta = np.asarray(eta, dtype=float)
    thresholds = np.asarray(thresholds, dtype=float)
    scores, psi = _support(thresholds)
    return _moments(_probs(eta, scores, psi), scores, fourth=True)


class _Scale:
    """The fitted scale in the form the hot loop wants: a polynomial in t = exp(eta).

    The numerator of category ``s_0 + j`` is ``exp(j * eta - Psi_j) = a_j t^j``
    (``a_j = 0`` at an unused category), so one ``exp`` per rating and a few
    in-place multiply-adds (Horner) give E and W; eta is clipped where every
    probability is already 0 or 1 to double precision, so nothing overflows.
    """

    def __init__(self, scores: np.ndarray, psi: np.ndarray):
        self.low = scores[0]
        self.span = int(scores[-1] - scores[0])
        self.coef = np.zeros(self.span + 1)
        self.coef[(scores - self.low).astype(np.int64)] = np.exp(-(psi - psi[0]))
        self.mid = 0.5 * (scores[0] + scores[-1])
        self.centred = np.arange(self.span + 1) + self.low - self.mid
        self.limit = max((650.0 - float(np.max(np.abs(psi - psi[0])))) / self.span, 1.0)
        self.used = self.coef > 0

    def _t(self, eta: np.ndarray) -> np.ndarray:
        t = np.clip(eta, -self.limit, self.limit)
        return np.exp(t, out=t)

    def expected_variance(self, eta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """E and W per rating (scores centred on the scale's middle for accuracy)."""
        t = self._t(eta)
        a, u = self.coef, self.centred
        top = self.span
        s0 = np.full_like(t, a[top])
        s1 = np.full_like(t, a[top] * u[top])
        s2 = np.full_like(t, a[top] * u[top] ** 2)
        for j in range(top - 1, -1, -1):
            s0 *= t
            s1 *= t
            s2 *= t
            if a[j]:
                s0 += a[j]
                if u[j]:
                    s1 += a[j] * u[j]
                    s2 += a[j] * u[j] ** 2
        s1 /= s0
        s2 /= s0
        w = np.multiply(s1, s1)
        np.subtract(s2, w, out=w)
        np.maximum(w, 0.0, out=w)
        s1 += self.mid
        return s1, w

    def _total(self, t: np.ndarray) -> np.ndarray:
        a = self.coef
        total = np.full_like(t, a[self.span])
        for j in range(self.span - 1, -1, -1):
            total *= t
            if a[j]:
                total += a[j]
        return total

    def probabilities(self, eta: np.ndarray) -> list[np.ndarray]:
        """P of each used category per rating, lowest first."""
        t = self._t(eta)
        scaled = 1.0 / self._total(t)
        out = [self.coef[0] * scaled]
        for j in range(1, self.span + 1):
            scaled *= t
            if self.coef[j]:
                out.append(self.coef[j] * scaled)
        return out

    def at_least(self, eta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Over all ratings: sum P(x >= s_j) and sum P(x >= s_j)(1 - P(x >= s_j)) for used s_j above the lowest."""
        t = self._t(eta)
        a = self.coef
        total = self._total(t)
        below = np.full_like(t, a[0])  # sum of the numerators below s_0 + j, over the total
        below /= total
        power = np.ones_like(t)
        scratch = np.empty_like(t)
        expected, information = [], []
        for j in range(1, self.span + 1):
            power *= t
            if not a[j]:
                continue
            np.subtract(1.0, below, out=scratch)  # P(x >= s_0 + j)
            expected.append(scratch.sum())
            information.append(np.dot(scratch, below))
            np.multiply(power, a[j], out=scratch)
            scratch /= total
            below += scratch
        return np.array(expected), np.array(information)


# ---------------------------------------------------------------------------
# Results
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class FacetSummary:
    """One facet's summary, as in Facets Table 7 (model, population SD unless ``sample=True``).

    For persons, high separation and reliability are good: the appraisal tells
    people apart.  For raters they are bad: raters differ in severity, so who
    rated you matters.
    """

    kind: str  # "person", "rater" or "item"
    n: int  # elements summarised (observed and, unless include_extreme, not extreme)
    mean: float  # mean measure
    sd: float  # observed SD of the measures
    rmse: float  # root mean square SE: the typical measurement error
    true_sd: float  # SD left after removing measurement error: sqrt(sd^2 - rmse^2), 0 if negative
    separation: float  # G = true_sd / rmse: spread of the measures in units of their error
    reliability: float  # true variance / observed variance = G^2/(1+G^2): like Cronbach's alpha
    strata: float  # (4G + 1)/3: statistically distinct levels among the elements
    chi_square: float  # fixed (all same) chi-square: sum w (m - weighted mean)^2, w = 1/SE^2
    df: int  # n - 1


@dataclass(frozen=True)
class MfrmFit:
    """Estimates of the rating-scale many-facet Rasch model.

    Measures are logits.  Arrays are indexed by the element codes given to
    :func:`fit_mfrm`; an element with no observed rating has NaN measure, SE
    and fit and count 0.

    - ``person_measure``: the ratee's level, corrected for who rated them on
      which items; ``*_se``: its standard error (1/sqrt of the information).
    - ``rater_severity``: how much lower (positive) or higher (negative) than
      an average rater this rater rates the same people; centred on 0.
    - ``item_difficulty``: how hard an item is to get high ratings on; centred on 0.
    - ``thresholds``: ``F_k``, where categories ``k - 1`` and ``k`` are equally
      likely; ``F[0]`` is the reference 0, NaN at an unused category.
    - ``*_infit``: information-weighted mean-square, sensitive to unexpected
      ratings where the rater "should" be informative; ``*_outfit``: plain
      mean-square of standardised residuals, sensitive to a few wild ratings.
      Expected value 1.  0.5-1.5 productive; > 2 degrades measurement;
      < ~0.7 too predictable (halo, straight-lining, central tendency).
    - ``*_zstd``: the mean-square as a unit-normal deviate (Wilson-Hilferty);
      above 2 the misfit is unlikely to be chance.
    - ``*_extreme``: -1 all ratings in the lowest category, +1 all in the
      highest; the measure then comes from the 0.3-point adjustment.
    - ``*_estimated``: True when the measure was estimated jointly with the
      others; False when it was placed afterwards against them (an extreme
      score, or a ratee/rater whose only links to the rest are ratings at
      one end of the scale, see :func:`fit_mfrm`): such a measure is a
      finite stand-in for "beyond the measurable range", not an estimate.
    - ``iterations`` and ``converged``: Newton steps used and whether the
      measures ended within ``tol`` of the maximum (see :func:`fit_mfrm`).
    """

    n_categories: int
    person_measure: np.ndarray
    person_se: np.ndarray
    person_count: np.ndarray
    person_extreme: np.ndarray
    person_estimated: np.ndarray
    person_infit: np.ndarray
    person_infit_zstd: np.ndarray
    person_outfit: np.ndarray
    person_outfit_zstd: np.ndarray
    rater_severity: np.ndarray
    rater_se: np.ndarray
    rater_count: np.ndarray
    rater_extreme: np.ndarray
    rater_estimated: np.ndarray
    rater_infit: np.ndarray
    rater_infit_zstd: np.ndarray
    rater_outfit: np.ndarray
    rater_outfit_zstd: np.ndarray
    item_difficulty: np.ndarray
    item_se: np.ndarray
    item_count: np.ndarray
    item_extreme: np.ndarray
    item_estimated: np.ndarray
    item_infit: np.ndarray
    item_infit_zstd: np.ndarray
    item_outfit: np.ndarray
    item_outfit_zstd: np.ndarray
    thresholds: np.ndarray  # float64[K]
    threshold_se: np.ndarray  # float64[K], NaN at reference/unused; measures taken as known, so a lower bound
    category_count: np.ndarray  # int64[K] observed ratings per category
    n_observations: int  # observed ratings
    n_estimation: int  # ratings that informed the non-extreme measures and thresholds
    iterations: int
    converged: bool

    def _facet(self, kind: str) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        if kind == "person":
            return self.person_measure, self.person_se, self.person_count, self.person_extreme
        if kind == "rater":
            return self.rater_severity, self.rater_se, self.rater_count, self.rater_extreme
        if kind == "item":
            return self.item_difficulty, self.item_se, self.item_count, self.item_extreme
        raise ValueError(f"kind must be one of {_FACETS}, not {kind!r}")

    def facet_summary(self, kind: str, *, include_extreme: bool = False, sample: bool = False) -> FacetSummary:
        """Facets Table 7 summary of ``kind`` ("person", "rater" or "item").

        RMSE = sqrt(mean SE^2); true SD = sqrt(SD^2 - RMSE^2);
        separation G = true SD / RMSE; reliability = G^2/(1+G^2);
        strata = (4G + 1)/3; fixed chi-square = sum w (m - mean_w)^2 with
        w = 1/SE^2 on n - 1 df (are all elements the same?).  Extreme elements
        are left out unless ``include_extreme``; ``sample`` uses the n - 1 SD.
        """
        measure, se, count, extreme = self._facet(kind)
        keep = count > 0
        if not include_extreme:
            keep &= extreme == 0
        m, s = measure[keep], se[keep]
        n = int(m.size)
        if n == 0:
            nan = float("nan")
            return FacetSummary(kind, 0, nan, nan, nan, nan, nan, nan, nan, nan, 0)
        mean = float(m.mean())
        var = float(((m - mean) ** 2).sum() / (n - 1 if sample and n > 1 else n))
        mse = float((s * s).mean())
        true_var = max(var - mse, 0.0)
        sep = float(np.sqrt(true_var / mse))
        w = 1.0 / (s * s)
        chi2 = float((w * (m - (w * m).sum() / w.sum()) ** 2).sum())
        return FacetSummary(
            kind=kind,
            n=n,
            mean=mean,
            sd=float(np.sqrt(var)),
            rmse=float(np.sqrt(mse)),
            true_sd=float(np.sqrt(true_var)),
            separation=sep,
            reliability=sep * sep / (1.0 + sep * sep),
            strata=(4.0 * sep + 1.0) / 3.0,
            chi_square=chi2,
            df=n - 1,
        )

    def fair_average(self, n_categories: int | None = None) -> np.ndarray:
        """Facets' "Fair-M average" per person, on the 0-based category scale.

        The rating the person would be expected to get from an average rater
        on an average item (severity and difficulty at their centre, 0):
        ``sum_k k * P_k(B_n - 0 - 0; F)``.  Add 1 to read it on a 1..5 scale.
        ``n_categories``, if given, must be the one the model was fitted with.
        NaN for persons with no observed rating.
        """
        if n_categories is not None and int(n_categories) != self.n_categories:
            raise ValueError(f"the model was fitted with {self.n_categories} categories, not {n_categories}")
        scores, psi = _support(self.thresholds)
        out = np.full(self.person_measure.shape, np.nan)
        seen = self.person_count > 0
        expected, _ = _moments(_probs(self.person_measure[seen], scores, psi), scores)
        out[seen] = expected
        return out


# ---------------------------------------------------------------------------
# Estimation
# ---------------------------------------------------------------------------


def _codes(values, name: str, n: int) -> np.ndarray:
    arr = np.asarray(values)
    if arr.shape != (n,):
        raise ValueError(f"{name} must be a 1-d array of length {n}, got shape {arr.shape}")
    if arr.dtype.kind not in "iu":
        raise TypeError(f"{name} must hold integer codes, got dtype {arr.dtype}")
    return arr.astype(np.int64, copy=False)


def _categories(values, n_categories: int) -> np.ndarray:
    arr = np.asarray(values)
    if arr.ndim != 1:
        raise ValueError(f"category must be a 1-d array, got shape {arr.shape}")
    if arr.dtype.kind == "f":
        observed = np.isfinite(arr) & (arr >= 0)
        if np.any(arr[observed] != np.floor(arr[observed])):
            raise ValueError("category must hold whole numbers (0-based categories)")
        out = np.full(arr.shape, -1, dtype=np.int64)
        out[observed] = arr[observed].astype(np.int64)
    elif arr.dtype.kind in "iu":
        out = arr.astype(np.int64, copy=False)
    else:
        raise TypeError(f"category must be numeric, got dtype {arr.dtype}")
    if np.any(out >= n_categories):
        raise ValueError(f"category values must be below n_categories={n_categories} (0-based)")
    return out


def _size(code: np.ndarray, given: int | None, name: str) -> int:
    found = int(code.max()) + 1 if code.size else 0
    if given is None:
        return found
    if given < found:
        raise ValueError(f"{name}={given} but codes go up to {found - 1}")
    return int(given)


def _clipped_step(numerator: np.ndarray, information: np.ndarray) -> np.ndarray:
    step = np.zeros_like(numerator)
    np.divide(numerator, information, out=step, where=information > 0)
    return np.clip(step, -_MAX_STEP, _MAX_STEP, out=step)


def _mask_or_everything(mask: np.ndarray) -> np.ndarray | None:
    """``mask``, or None when it keeps every row (see :func:`_rows`)."""
    return None if mask.all() else mask


def _rows(values: np.ndarray, keep: np.ndarray | None, order: np.ndarray | None = None) -> np.ndarray:
    """``values[keep][order]``, where ``keep`` None keeps every row and ``order`` None keeps their order.

    With neither, ``values`` itself, uncopied: the fit only reads these
    arrays, and each copy of a column of 6.9M ratings (100,000 employees) is
    55 MB of fresh memory in the forked worker that runs the misfit rule.
    """
    kept = values if keep is None else values[keep]
    return kept if order is None else kept[order]


def _peel(x, idx, sizes, n_categories):
    """Set aside what has no finite estimate until nothing is left to set aside.

    Returns the mask of ratings that inform the estimates and the categories
    they use.  Two things are set aside, repeatedly, since removing one can
    expose another: elements with an extreme score, and ratees and raters
    outside the strongly connected core of their rating network (see
    :func:`_strong_core`).
    """
    active = np.ones(x.size, dtype=bool)
    while True:
        kept = _mask_or_everything(active)
        xa = _rows(x, kept)
        used = np.bincount(xa, minlength=n_categories) > 0
        if used.sum() < 2:
            return np.zeros(x.size, dtype=bool), used
        lo, hi = np.flatnonzero(used)[[0, -1]]
        drop = np.zeros(x.size, dtype=bool)
        for code, size in zip(idx, sizes):
            ca = _rows(code, kept)
            count = np.bincount(ca, minlength=size)
            at_lo = np.bincount(ca[xa == lo], minlength=size)
            at_hi = np.bincount(ca[xa == hi], minlength=size)
            extreme = (count > 0) & ((at_lo == count) | (at_hi == count))
            drop |= extreme[code]
        if not np.any(drop & active):
            person_ok, rater_ok = _strong_core(_rows(idx[0], kept), _rows(idx[1], kept), xa, lo, hi, sizes[0], sizes[1])
            drop = ~(person_ok[idx[0]] & rater_ok[idx[1]])
            if not np.any(drop & active):
                return active, used
        active &= ~drop


def _components(a: np.ndarray, b: np.ndarray, n: int) -> np.ndarray:
    """Connected-component label (smallest node id) of each of ``n`` nodes, edges a-b: hook and compress."""
    label = np.arange(n)
    while True:
        la, lb = label[a], label[b]
        differ = la != lb
        if not differ.any():
            return label
        np.minimum.at(label, np.maximum(la, lb)[differ], np.minimum(la, lb)[differ])
        while True:
            jumped = label[label]
            if np.array_equal(jumped, label):
                break
            label = jumped


def _reach(seeds: np.ndarray, src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """Nodes reachable from ``seeds`` (a mask) along the directed edges src -> dst."""
    reach = seeds.copy()
    while True:
        grown = reach.copy()
        grown[dst[reach[src]]] = True
        if np.array_equal(grown, reach):
            return reach
        reach = grown


def _strong_core(person, rater, x, lo, hi, n_persons, n_raters):
    """Ratees and raters in the strongly connected core of each rater-ratee network.

    Moving a set S of ratees and raters up together (items held) raises the
    likelihood without end when every rating between S and the rest is at
    the end of the scale that the move favours: a ratee in S rated below the
    top by a rater outside S, or a rater in S who rated someone outside S
    above the bottom, would pull it back.  So draw an edge ratee -> rater for
    a rating below the top and rater -> ratee for one above the bottom; a
    finite maximum likelihood needs each connected network to be strongly
    connected (Fischer 1981's condition, generalised).  The core kept is the
    strongly connected part containing the network's busiest member; the
    rest is placed afterwards like an extreme score.
    """
    n = n_persons + n_raters
    which, first = factorize(person * n_raters + rater)
    below = np.bincount(which, x < hi, first.size) > 0
    above = np.bincount(which, x > lo, first.size) > 0
    u = person[first]
    v = rater[first] + n_persons
    src = np.concatenate([u[below], v[above]])
    dst = np.concatenate([v[below], u[above]])
    degree = np.concatenate([np.bincount(person, minlength=n_persons), np.bincount(rater, minlength=n_raters)])
    present = degree > 0
    label = _components(u, v, n)
    busiest = np.full(n, -1)
    np.maximum.at(busiest, label[present], degree[present])
    candidate = present & (degree == busiest[label])
    pick = np.full(n, n)
    np.minimum.at(pick, label[candidate], np.flatnonzero(candidate))
    seeds = np.zeros(n, dtype=bool)
    seeds[pick[pick < n]] = True
    core = _reach(seeds, src, dst) & _reach(seeds, dst, src)
    return core[:n_persons], core[n_persons:]


def _centre_steps(steps: np.ndarray, gaps: np.ndarray) -> float:
    """Make the thresholds sum to 0 in place; returns the logit shift to take from the persons.

    Shifting every step by ``m * gap`` (gap = score points it covers) and the
    persons by ``-m`` leaves every probability unchanged.
    """
    shift = float(steps.sum() / gaps.sum())
    steps -= shift * gaps
    return shift


def fit_mfrm(
    person,
    rater,
    item,
    category,
    n_categories: int,
    *,
    max_iterations: int = 100,
    tol: float = 1e-6,
    n_persons: int | None = None,
    n_raters: int | None = None,
    n_items: int | None = None,
    groups: tuple[np.ndarray, np.ndarray] | None = None,
) -> MfrmFit:
    """Fit ``log(P_k/P_{k-1}) = B_n - D_i - C_j - F_k`` by JMLE (§3.5).

    ``person``, ``rater`` and ``item`` are integer codes (0-based) of each
    rating; ``category`` is its 0-based category (map a 1..5 scale to 0..4),
    and a negative category or NaN means "not observed" and the row is
    ignored.  ``n_persons``/``n_raters``/``n_items`` size the result arrays
    (default: largest code + 1).

    Each Newton step moves every parameter at once (see :func:`_jmle`),
    clipped to +/-1 logit per element; items and raters are then centred on
    0 and the thresholds made to sum to 0, with the persons shifted so the
    fitted probabilities do not change.  It stops when the measures are
    within ``tol`` logits of the maximum: when a step moved no parameter by
    ``tol`` or more, or when the steps shrink fast enough that all further
    steps together stay below ``tol`` (see :func:`_jmle`); or after
    ``max_iterations`` steps (then ``converged`` is False).

    Elements with no finite maximum-likelihood measure are set aside first:
    extreme elements (all ratings in the lowest or all in the highest used
    category), and ratees and raters whose only links to the rest of the
    rating network are ratings at one end of the scale (e.g. a rater whose
    only other ratee got nothing but the lowest category from them); see
    :func:`_strong_core`.  Afterwards each is placed, the estimated measures
    held fixed, at the measure whose expected raw score equals its raw score,
    moved 0.3 score points towards the centre when extreme (Facets
    ``Xtreme=0.3``).  So measures are always finite; ``*_estimated`` tells
    the two kinds apart.  Ratings in a category that only set-aside elements
    used count as the nearest fitted category for that placement.

    ``groups`` (optional) gives each person and each rater (by code) the
    group they work in, e.g. codes of their work units, ``-1`` for none.
    It changes nothing in the result, only the speed: the Newton steps'
    solves then correct whole groups at once (see
    :class:`~appraisal.solvers.TwoLevel`); at 100,000 simulated employees
    the costliest solve took 13 CG steps instead of 391.

    Raises ``ValueError`` when there is no observed rating, or all observed
    ratings are in one category (nothing to calibrate), or ``groups`` does
    not cover every person and rater code.
    """
    n_categories = int(n_categories)
    if n_categories < 2:
        raise ValueError("n_categories must be at least 2")
    cat = _categories(category, n_categories)
    n_rows = cat.size
    codes_all = [_codes(a, name, n_rows) for a, name in zip((person, rater, item), _FACETS)]
    obs = _mask_or_everything(cat >= 0)
    idx = tuple(_rows(c, obs) for c in codes_all)
    for code, name in zip(idx, _FACETS):
        if code.size and code.min() < 0:
            raise ValueError(f"{name} codes of observed ratings must be >= 0")
    sizes = tuple(
        _size(c[c >= 0], given, f"n_{name}s") for c, given, name in zip(codes_all, (n_persons, n_raters, n_items), _FACETS)
    )
    x = _rows(cat, obs)
    if x.size == 0:
        raise ValueError("no observed ratings")
    category_count = np.bincount(x, minlength=n_categories)
    if np.count_nonzero(category_count) < 2:
        raise ValueError("every observed rating is in the same category: there is nothing to calibrate")

    counts = [np.bincount(c, minlength=s) for c, s in zip(idx, sizes)]
    active, used = _peel(x, idx, sizes, n_categories)
    in_core = _mask_or_everything(active)
    has_core = bool(active.any())
    if not has_core:
        used = category_count > 0
    scores = np.flatnonzero(used).astype(float)
    gaps = np.diff(scores)
    aggregate = None if groups is None else _aggregates(groups, sizes, gaps.size)
    lo, hi = scores[0], scores[-1]

    # parameters: measures with the facet's sign folded in, eta = B - D - C
    person_b = np.zeros(sizes[0])
    rater_c = np.zeros(sizes[1])
    item_d = np.zeros(sizes[2])
    steps = np.zeros(gaps.size)  # F at the used categories above the lowest
    core = [np.bincount(_rows(c, in_core), minlength=s) > 0 for c, s in zip(idx, sizes)]

    iterations = 0
    converged = True
    if has_core:
        # Persons in runs: cache-friendly gathers and sums. A ratings frame comes sorted by ratee already.
        core_persons = _rows(idx[0], in_core)
        order = None if is_ascending(core_persons) else np.argsort(core_persons, kind="stable")
        obs_core = tuple(_rows(c, in_core, order) for c in idx)
        xc = _rows(x, in_core, order).astype(float)
        n_at = np.bincount(_rows(x, in_core), minlength=n_categories)[used].astype(float)
        steps = np.log(n_at[:-1] / n_at[1:])  # adjacent-category log-odds: the usual start
        _centre_steps(steps, gaps)
        start = np.concatenate([person_b, rater_c, item_d, steps])
        solved, iterations, converged = _jmle(start, obs_core, xc, n_at, sizes, core, scores, gaps, max_iterations, tol, aggregate)
        person_b, rater_c, item_d, steps = np.split(solved, np.cumsum(sizes))

    psi = np.concatenate([[0.0], np.cumsum(steps)])
    params = [person_b, rater_c, item_d]
    peripheral = [(n > 0) & ~c for n, c in zip(counts, core)]
    for f in range(3):
        params[f][~core[f]] = 0.0
    if any(m.any() for m in peripheral):
        converged &= _place_peripheral(x, idx, sizes, params, core, peripheral, scores, psi, max_iterations, tol)
        if not has_core:  # nothing anchored the origin: centre items and raters as in the main loop
            for f in (1, 2):
                shift = params[f][counts[f] > 0].mean()
                params[f][counts[f] > 0] -= shift
                person_b[counts[0] > 0] -= shift

    thresholds = np.full(n_categories, np.nan)
    thresholds[used] = np.concatenate([[0.0], steps])
    threshold_se = np.full(n_categories, np.nan)
    if has_core:
        p, r, i = obs_core
        _, information = _Scale(scores, psi).at_least(person_b[p] - item_d[i] - rater_c[r])
        threshold_se[np.flatnonzero(used)[1:]] = _ratio(np.ones_like(information), np.sqrt(information))

    # standard errors and fit over every observed rating at the final measures
    e, w, c4 = _rating_moments(person_b, rater_c, item_d, idx, scores, psi)
    w = np.maximum(w, 1e-150)  # a rating the model is certain of (only far out of range): no overflow in C/W^2
    resid = x - e
    xclip = np.clip(x, lo, hi)
    fields = {}
    for f, (name, measure_name) in enumerate(zip(_FACETS, ("person_measure", "rater_severity", "item_difficulty"))):
        code, size, n = idx[f], sizes[f], counts[f]
        seen = n > 0
        info = np.bincount(code, w, size)
        se = np.full(size, np.nan)
        se[seen] = 1.0 / np.sqrt(info[seen])
        flag = np.zeros(size, dtype=np.int8)
        flag[seen & (np.bincount(code[xclip == lo], minlength=size) == n)] = -1
        flag[seen & (np.bincount(code[xclip == hi], minlength=size) == n)] = 1
        fields[measure_name] = np.where(seen, params[f], np.nan)
        fields[f"{name}_se"] = se
        fields[f"{name}_count"] = n
        fields[f"{name}_extreme"] = flag
        fields[f"{name}_estimated"] = core[f]
        fitted = seen & (flag == 0)
        stats = _fit_statistics(code, size, n, resid, w, c4)
        for stat, values in zip(("infit", "infit_zstd", "outfit", "outfit_zstd"), stats):
            fields[f"{name}_{stat}"] = np.where(fitted, values, np.nan)

    return MfrmFit(
        n_categories=n_categories,
        thresholds=thresholds,
        threshold_se=threshold_se,
        category_count=category_count,
        n_observations=int(x.size),
        n_estimation=int(active.sum()),
        iterations=iterations,
        converged=bool(converged),
        **fields,
    )


def _rating_moments(person_b, rater_c, item_d, idx, scores, psi) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """E, W and C (see :func:`_moments`) of every rating in ``idx``, a block of ratings at a time.

    Each value is what one pass over all ratings gives, bit for bit (nothing
    is summed across ratings), but the per-category temporaries stay in the
    CPU's cache instead of taking some 0.8 GB of fresh memory at 100,000
    employees, where the misfit rule runs in a forked worker that pays a page
    fault for every new page.
    """
    person, rater, item = idx
    moments = tuple(np.empty(person.size) for _ in range(3))
    for start in range(0, person.size, _CURVATURE_BLOCK):
        block = slice(start, start + _CURVATURE_BLOCK)
        eta = person_b[person[block]] - item_d[item[block]] - rater_c[rater[block]]
        for whole, part in zip(moments, _moments(_probs(eta, scores, psi), scores, fourth=True)):
            whole[block] = part
    return moments


def _aggregates(groups: tuple[np.ndarray, np.ndarray], sizes: tuple[int, ...], n_steps: int) -> np.ndarray:
    """Each parameter's aggregate for the two-level solver: persons and raters by their group.

    Items and category steps stay out (-1): they are few, each tied to a
    large share of the ratings, and Jacobi handles them; as coarse unknowns
    they would add a (group, item) entry for every group to the coarse
    system and make each of its steps five times dearer.
    """
    person_group, rater_group = (np.asarray(g).reshape(-1) for g in groups)
    if person_group.size < sizes[0] or rater_group.size < sizes[1]:
        raise ValueError(f"groups must give a group for each of the {sizes[0]} persons and {sizes[1]} raters")
    return np.concatenate([group_codes(person_group[: sizes[0]], rater_group[: sizes[1]]), np.full(sizes[2] + n_steps, -1)])


def _jmle(start, obs, xc, n_at, sizes, core, scores, gaps, max_iterations, tol, aggregate=None):
    """Newton's method on every parameter at once from ``start`` = [B, C, D, F steps].

    Returns (solution, Newton steps, converged).  The log-likelihood is
    concave in (B, C, D, F): the rating scale model is an exponential family
    whose sufficient statistics are the score ``x`` (for eta) and the
    indicators ``[x >= s_j]`` (for -F_j), so its negative Hessian is their
    covariance, summed through the design.  Each Newton step solves
    ``H d = g`` by Jacobi-preconditioned conjugate gradients (with a
    two-level correction over ``aggregate``, the groups of persons and
    raters, when given) without forming H: the element block is ``J' W J``
    (J the ratings' design, W each rating's variance), summed once per Newton step over the (ratee, rater),
    (ratee, item) and (rater, item) pairs, so a CG step passes over pairs,
    not ratings; the element-threshold block has only ``elements x steps``
    entries.  CG stops at a residual that tightens as the
    gradient shrinks (Eisenstat & Walker 1996), so early steps are cheap.

    Coordinate-wise JMLE (one Newton step per element and sweep, as Facets
    does) crawls along long, thinly linked chains of raters and ratees; CG
    carries a correction along the whole chain in one solve.  On 10,000
    simulated employees the old sweeps took 202 passes (24 s) and still
    stopped 0.03 logits from the maximum; Newton reaches 1e-4 in 10 steps
    (2.4 s), and 100,000 employees in 11.  Steps
    are clipped to +/-1 logit per element, as the sweeps were, and followed
    by the same centring.

    Converged when a step moved no parameter by ``tol`` or more, or when the
    steps shrink so fast that the rest of the way is shorter than ``tol``:
    Newton's steps shrink at least geometrically near the maximum, so with
    ``d`` the largest move of this step and ``p`` of the last one (``d < p``),
    the steps still to come add up to at most ``d·ρ/(1-ρ) = d²/(p-d)`` with
    ``ρ = d/p``.  That saves the last step, whose only news is that nothing
    moves, and the most expensive one: near the maximum the solves are held
    to the tightest residual.  On 100,000 simulated employees it stops after
    9 steps instead of 10 (the 10th took 500 Jacobi CG steps, 8 s), with rater
    severities within 6e-4 logits and mean-squares within 1.3e-4 of the
    10-step fit.
    """
    p, r, i = obs
    n_elements = sum(sizes)
    observed_at_least = np.cumsum(n_at[::-1])[::-1][1:]  # O[#x >= s_j], j >= 1
    # J'WJ only couples elements that share ratings: a ratee and a rater (a dozen items per pair), an item
    # and either.  Summed over those pairs once per Newton step, a CG step costs passes over the pairs, not
    # over every rating.
    links = [(f, g, Pairs(obs[f], obs[g], sizes[f], sizes[g])) for f, g in ((0, 1), (0, 2), (1, 2))]
    person_item = links[1][2]
    two_level = None
    if aggregate is not None and (aggregate >= 0).any():
        # Only persons and raters have aggregates, so the coarse system needs only their entries of the
        # information: the diagonal and the (person, rater) links both ways, listed in that order below.
        persons_and_raters = np.arange(sizes[0] + sizes[1])
        person, rater = links[0][2].first, sizes[0] + links[0][2].second
        rows = np.concatenate([persons_and_raters, person, rater])
        cols = np.concatenate([persons_and_raters, rater, person])
        two_level = TwoLevel(aggregate, rows, cols)
    theta = start
    previous = 0.0  # no step yet
    for iteration in range(1, max_iterations + 1):
        person_b, rater_c, item_d, steps = np.split(theta, np.cumsum(sizes))
        psi = np.concatenate([[0.0], np.cumsum(steps)])
        eta = person_b[p] - item_d[i] - rater_c[r]
        gradient, weight, coupling, step_information, expected_at_least = _curvature(eta, xc, r, sizes, _Scale(scores, psi), person_item)
        gradient = np.concatenate([gradient, expected_at_least - observed_at_least])
        link_weight = [pairs.sums(weight) for _, _, pairs in links]
        element_diagonal = np.concatenate(
            [
                np.bincount(links[0][2].first, link_weight[0], sizes[0]),
                np.bincount(links[0][2].second, link_weight[0], sizes[1]),
                np.bincount(links[1][2].second, link_weight[1], sizes[2]),
            ]
        )
        diagonal = np.concatenate([element_diagonal, np.diag(step_information)])

        def apply(v: np.ndarray) -> np.ndarray:
            elements, thresholds = v[:n_elements], v[n_elements:]
            out = np.empty_like(v)
            out[:n_elements] = element_diagonal * elements
            parts = np.split(elements, np.cumsum(sizes[:2]))
            sums = np.split(out[:n_elements], np.cumsum(sizes[:2]))  # views into out
            for (f, g, pairs), w in zip(links, link_weight):
                to_first, to_second = pairs.cross(w, parts[f], parts[g])
                sums[f] += _SIGNS[f] * _SIGNS[g] * to_first
                sums[g] += _SIGNS[f] * _SIGNS[g] * to_second
            out[:n_elements] += coupling @ thresholds
            out[n_elements:] = coupling.T @ elements + step_information @ thresholds
            return out

        if two_level is not None:
            person_rater = _SIGNS[0] * _SIGNS[1] * link_weight[0]
            two_level.set_matrix(np.concatenate([element_diagonal[: sizes[0] + sizes[1]], person_rater, person_rater]))
        norm = float(np.sqrt(gradient @ gradient))
        forcing = min(_FORCING[1], max(_FORCING[0], np.sqrt(norm / np.sqrt(diagonal.sum()))))
        solved = conjugate_gradients(apply, gradient, diagonal, forcing * norm, _CG_STEPS, two_level)
        step = np.clip(solved[0], -_MAX_STEP, _MAX_STEP)
        moved = theta + step
        person_b, rater_c, item_d, steps = np.split(moved, np.cumsum(sizes))  # views
        shift = item_d[core[2]].mean()  # centre items and raters; persons follow, eta unchanged
        item_d[core[2]] -= shift
        person_b -= shift
        shift = rater_c[core[1]].mean()
        rater_c[core[1]] -= shift
        person_b -= shift
        person_b -= _centre_steps(steps, gaps)
        largest = float(np.max(np.abs(moved - theta)))
        theta = moved
        if largest < tol or (largest < previous and largest * largest < tol * (previous - largest)):
            return theta, iteration, True
        previous = largest
    return theta, max_iterations, False


def _curvature(eta, xc, rater, sizes, scale, person_item):
    """What one Newton step needs, from every rating's category probabilities at ``eta``.

    Returns the elements' gradient [B, C, D], each rating's variance W, the
    element-threshold block of the information (elements x steps), the
    thresholds' own block Cov([x >= s_j], [x >= s_k]) and sum P(x >= s_j).
    Sums by person and by item go through the (person, item) pairs.
    """
    n_p, n_r, n_i = sizes

    def by_element(values: np.ndarray) -> np.ndarray:  # J' values: sums by person, -rater, -item
        grid = person_item.sums(values)
        return np.concatenate(
            [np.bincount(person_item.first, grid, n_p), -np.bincount(rater, values, n_r), -np.bincount(person_item.second, grid, n_i)]
        )

    u = scale.centred[scale.used]  # scores centred on the scale's middle, for accuracy
    steps = len(u) - 1
    weight = np.empty_like(eta)
    residual = np.empty_like(eta)  # x - E
    tail_residual = np.empty((steps, len(eta)))  # sum_{k >= j} u_k P_k - E P(x >= s_j): Cov(x, [x >= s_j]) terms
    totals = np.zeros(steps)  # sum P(x >= s_j)
    products = np.zeros((steps, steps))  # sum P(x >= s_j) P(x >= s_k)
    # Block by block, so that the dozen temporaries per category stay in the CPU cache.
    for start in range(0, len(eta), _CURVATURE_BLOCK):
        block = slice(start, start + _CURVATURE_BLOCK)
        prob = scale.probabilities(eta[block])  # per used category, low to high
        at_least = np.zeros_like(prob[0])  # P(x >= s_j)
        moment = np.zeros_like(prob[0])  # sum_{k >= j} u_k P_k
        tails = np.empty((steps, len(prob[0])))
        moments = np.empty_like(tails)
        for k in range(steps, 0, -1):
            at_least += prob[k]
            moment += u[k] * prob[k]
            tails[k - 1], moments[k - 1] = at_least, moment
        expected = moment + u[0] * prob[0]  # E - mid
        variance = u[0] * u[0] * prob[0]
        for k in range(1, steps + 1):
            variance += u[k] * u[k] * prob[k]
        variance -= expected * expected
        np.maximum(variance, 0.0, out=variance)
        weight[block] = variance
        residual[block] = xc[block] - scale.mid - expected
        moments -= expected * tails
        tail_residual[:, block] = moments
        totals += tails.sum(axis=1)
        products += tails @ tails.T
    gradient = by_element(residual)
    coupling = np.column_stack([-by_element(values) for values in tail_residual])  # Cov(x, [x >= s_j])
    order = np.arange(steps)
    step_information = totals[np.maximum.outer(order, order)] - products
    return gradient, weight, coupling, step_information, totals


def _place_peripheral(x, idx, sizes, params, core, peripheral, scores, psi, max_iterations, tol) -> bool:
    """Measures of the elements set aside, with the estimated ones held fixed.

    Each is solved from its ratings with estimated partners (all its ratings
    if it has none), aiming at its raw score moved 0.3 points inwards when
    extreme.  Those with estimated partners are solved first, together; the
    rest after, facet by facet, using what has been placed so far.
    """
    lo, hi = scores[0], scores[-1]
    scale = _Scale(scores, psi)
    xclip = np.clip(x, lo, hi).astype(float)
    obs_core = [c[code] for c, code in zip(core, idx)]
    plans = []
    for f in range(3):
        code, size = idx[f], sizes[f]
        mine = peripheral[f][code]
        partners_core = obs_core[(f + 1) % 3] & obs_core[(f + 2) % 3]
        anchored = np.bincount(code[mine & partners_core], minlength=size) > 0
        use = mine & (partners_core | ~anchored[code])
        n = np.bincount(code[use], minlength=size).astype(float)
        raw = np.bincount(code[use], xclip[use], size)
        target = np.clip(raw, n * lo + EXTREME_ADJUSTMENT, n * hi - EXTREME_ADJUSTMENT)
        plans.append((use, target, anchored))
    converged = True
    # stage 1: elements with estimated partners (independent of each other); stage 2: the rest, facet by facet
    stages = [[(f, plans[f][2] & peripheral[f]) for f in range(3)]]
    stages += [[(f, ~plans[f][2] & peripheral[f])] for f in (0, 2, 1)]
    for stage in stages:
        stage = [(f, who) for f, who in stage if who.any()]
        if not stage:
            continue
        rows = [(f, who, plans[f][0] & who[idx[f]]) for f, who in stage]
        for _ in range(max_iterations):
            largest = 0.0
            moves = []
            for f, who, use in rows:
                code = idx[f][use]
                eta = params[0][idx[0][use]] - params[2][idx[2][use]] - params[1][idx[1][use]]
                e, w = scale.expected_variance(eta)
                step = _clipped_step(plans[f][1] - np.bincount(code, e, sizes[f]), np.bincount(code, w, sizes[f]))
                step[~who] = 0.0
                moves.append((f, step))
                largest = max(largest, float(np.max(np.abs(step))))
            for f, step in moves:
                params[f] += _SIGNS[f] * step
            if largest < tol:
                break
        else:
            converged = False
    return converged


def _fit_statistics(code, size, count, resid, w, c4):
    """Infit and outfit mean-squares and their Wilson-Hilferty ZSTD per element (Wright & Masters 1982)."""
    n = count.astype(float)
    sum_w = np.bincount(code, w, size)
    outfit = _ratio(np.bincount(code, resid * resid / w, size), n)
    infit = _ratio(np.bincount(code, resid * resid, size), sum_w)
    q2_out = _ratio(np.bincount(code, c4 / (w * w), size), n * n) - _ratio(np.ones(size), n)
    q2_in = _ratio(np.bincount(code, c4 - w * w, size), sum_w * sum_w)
    return infit, _zstd(infit, q2_in), outfit, _zstd(outfit, q2_out)


def _ratio(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    out = np.full(a.shape, np.nan)
    np.divide(a, b, out=out, where=b > 0)
    return out


def _zstd(mnsq: np.ndarray, q2: np.ndarray) -> np.ndarray:
    """ZSTD = (MnSq^(1/3) - 1)(3/q) + q/3; 0 where the mean-square has no variance (q = 0)."""
    out = np.where(np.isnan(mnsq) | np.isnan(q2), np.nan, 0.0)
    ok = np.isfinite(mnsq) & np.isfinite(q2) & (q2 > 0)
    q = np.sqrt(q2[ok])
    out[ok] = (np.cbrt(mnsq[ok]) - 1.0) * (3.0 / q) + q / 3.0
    return out
