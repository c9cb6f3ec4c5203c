"""Integrity detectors: straight-lining, central tendency, extreme leniency, collusion, favouritism.

Pure functions over rating arrays (integer codes and scores); the flag rules in
``appraisal_plugins.integrity`` choose which ratings to feed them and turn the
results into flags.  Everything is vectorised with ``np.unique``,
``np.bincount`` and sorting; the only Python loops run over permutations
or over what was flagged.  The statistics follow the scoring-science reference
(§2 rater-effects table, §5.6 integrity detection):

* **straight-lining** — IRV, the SD of one form's ratings (Meade & Craig 2012;
  Curran 2016).  A form with at least ``min_items`` ratings and IRV = 0 is
  flat; a rater whose forms are mostly flat is flagged.
* **central tendency** — the share of a rater's ratings at the scale midpoint,
  and the SD of all their ratings.
* **extreme leniency / severity** — the rater effect b̂ of the additive
  fixed-effects model (§3.2) with its SE: |b̂| > z·SE and |b̂| ≥ a minimum in
  scale points.
* **mutual high scoring (MHS)** — for every reciprocal pair (a rates b and b
  rates a), MHS = min(ē_ab, ē_ba) where ē_ab is the mean residual of a's
  ratings of b after the additive model; the null distribution of the largest
  MHS comes from permuting the directed-dyad mean residuals, so the chance of
  any false flag in a run is about 1 − ``quantile`` by construction.  Cliques
  are connected components of the flagged pairs.
* **rater × relationship interaction** (e.g. generous to one's own unit) —
  per rater, Welch's t between the mean residuals of the forms inside and
  outside a relationship.  The observations are forms (dyad means), not single
  ratings: ratings on one form share the rater's impression of the ratee and
  are not independent, so a rating-level t would overstate the evidence.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .grouping import compact, factorize
from .scoring import safe_divide

# ---------------------------------------------------------------------------
# Grouping helpers
# ---------------------------------------------------------------------------


def _pair_key(first: np.ndarray, second: np.ndarray) -> tuple[np.ndarray, int]:
    """One int64 key per (first, second) code pair, and the multiplier used."""
    base = int(max(int(second.max(initial=-1)) + 1, 1))
    return first.astype(np.int64) * base + second.astype(np.int64), base


def _group_mean_sd(codes: np.ndarray, values: np.ndarray, n_groups: int, ddof: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Count, mean and SD (two-pass, ``ddof``) of ``values`` per group code; NaN where undefined."""
    n = np.bincount(codes, minlength=n_groups).astype(np.float64)
    mean = safe_divide(np.bincount(codes, weights=values, minlength=n_groups), n)
    deviation = values - mean[codes]
    squares = np.bincount(codes, weights=deviation * deviation, minlength=n_groups)
    sd = np.sqrt(safe_divide(squares, n - ddof))
    sd[n - ddof <= 0] = np.nan
    return n, mean, sd


# ---------------------------------------------------------------------------
# Straight-lining
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Forms:
    """One row per form (rater, ratee): its observed ratings and their spread.

    ``irv`` is the intra-individual response variability, the SD (n, not n − 1)
    of the form's ratings; it is exactly 0 when every rating is the same.
    ``flat`` forms have at least ``min_items`` ratings and IRV = 0.
    """

    rater: np.ndarray  # int64[F]
    ratee: np.ndarray  # int64[F]
    n: np.ndarray  # int64[F] ratings on the form
    value: np.ndarray  # float64[F] the form's first rating (its only value when flat)
    irv: np.ndarray  # float64[F]
    flat: np.ndarray  # bool[F]
    of_rating: np.ndarray  # int64[N] form of each rating

    def __len__(self) -> int:
        return len(self.n)


def forms(rater: np.ndarray, ratee: np.ndarray, score: np.ndarray, min_items: int = 6) -> Forms:
    """Group observed ratings (no NaN in ``score``) into forms and measure each form's IRV."""
    key, base = _pair_key(rater, ratee)
    of_rating, first = factorize(key)  # a rating frame's forms are runs: only they are sorted
    keys = key[first]
    n_forms = len(keys)
    n, _, irv = _group_mean_sd(of_rating, score, n_forms, ddof=0)
    value = score[first]
    differs = np.bincount(of_rating, weights=score != value[of_rating], minlength=n_forms)
    same = differs == 0  # exact: no floating-point sum involved
    irv = np.where(same, 0.0, irv)
    return Forms(
        rater=keys // base,
        ratee=keys % base,
        n=n.astype(np.int64),
        value=value,
        irv=irv,
        flat=same & (n >= min_items),
        of_rating=of_rating,
    )


@dataclass(frozen=True)
class StraightLining:
    """Per rater with at least one form long enough to judge: how many of their forms are flat."""

    forms: Forms
    rater: np.ndarray  # int64[K]
    n_forms: np.ndarray  # int64[K] forms with ≥ min_items ratings
    n_flat: np.ndarray  # int64[K]
    share: np.ndarray  # float64[K]
    flagged: np.ndarray  # bool[K]


def straight_lining(
    rater: np.ndarray,
    ratee: np.ndarray,
    score: np.ndarray,
    *,
    min_items: int = 6,
    min_forms: int = 2,
    min_share: float = 0.5,
) -> StraightLining:
    """Flat forms (IRV = 0 on ≥ ``min_items`` ratings) and raters with ≥ ``min_share`` of their forms flat.

    Only forms with at least ``min_items`` ratings are judged, and a rater needs
    ``min_forms`` such forms before the share means anything.
    """
    found = forms(rater, ratee, score, min_items)
    judged = found.n >= min_items
    raters, code = compact(found.rater[judged])
    n_forms = np.bincount(code, minlength=len(raters))
    n_flat = np.bincount(code, weights=found.flat[judged], minlength=len(raters)).astype(np.int64)
    share = safe_divide(n_flat, n_forms, fill=0.0)
    flagged = (n_forms >= min_forms) & (share >= min_share - 1e-12)
    return StraightLining(found, raters, n_forms.astype(np.int64), n_flat, share, flagged)


# ---------------------------------------------------------------------------
# Central tendency
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class CentralTendency:
    """Per rater: number of ratings, mean, SD (n − 1), share at the midpoint, and the verdicts."""

    rater: np.ndarray  # int64[K]
    n: np.ndarray  # int64[K]
    mean: np.ndarray  # float64[K]
    sd: np.ndarray  # float64[K]
    midpoint_share: np.ndarray  # float64[K]
    by_share: np.ndarray  # bool[K] midpoint share ≥ its threshold
    by_sd: np.ndarray  # bool[K] SD below its threshold
    flagged: np.ndarray  # bool[K] judged (≥ min_ratings) and either verdict


def central_tendency(
    rater: np.ndarray,
    score: np.ndarray,
    *,
    midpoint: float,
    min_ratings: int = 20,
    max_midpoint_share: float = 0.8,
    min_sd: float = 0.3,
) -> CentralTendency:
    """Raters who overuse the middle of the scale or barely spread their ratings.

    A rating is "at the midpoint" when it lies within half a point of
    ``midpoint`` (on 1–5 that is the 3s; on an even scale such as 1–4 it is the
    two middle categories, since no category sits exactly in the middle).
    """
    raters, code = compact(rater)
    k = len(raters)
    n, mean, sd = _group_mean_sd(code, score, k, ddof=1)
    middle = np.abs(score - midpoint) <= 0.5 + 1e-9
    share = safe_divide(np.bincount(code, weights=middle, minlength=k), n, fill=0.0)
    judged = n >= min_ratings
    by_share = judged & (share >= max_midpoint_share - 1e-12)
    by_sd = judged & (np.nan_to_num(sd, nan=np.inf) < min_sd)
    return CentralTendency(raters, n.astype(np.int64), mean, sd, share, by_share, by_sd, by_share | by_sd)


def extreme_raters(effect: np.ndarray, se: np.ndarray, *, z: float = 2.0, min_points: float = 0.5) -> np.ndarray:
    """Extreme leniency or severity: |b̂| > z·SE and |b̂| ≥ ``min_points`` scale points."""
    size = np.abs(effect)
    return (size > z * se) & (size >= min_points - 1e-12)


# ---------------------------------------------------------------------------
# Dyads, mutual high scoring, cliques
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Dyads:
    """Directed dyads (rater → ratee): number of ratings and mean of ``value`` (e.g. residuals)."""

    rater: np.ndarray  # int64[D]
    ratee: np.ndarray  # int64[D]
    n: np.ndarray  # int64[D]
    mean: np.ndarray  # float64[D]
    of_rating: np.ndarray  # int64[N] dyad of each rating


def dyads(rater: np.ndarray, ratee: np.ndarray, value: np.ndarray) -> Dyads:
    """Mean ``value`` per directed (rater, ratee) dyad."""
    key, base = _pair_key(rater, ratee)
    of_rating, first = factorize(key)
    keys = key[first]
    n = np.bincount(of_rating, minlength=len(keys))
    mean = safe_divide(np.bincount(of_rating, weights=value, minlength=len(keys)), n)
    return Dyads(keys // base, keys % base, n.astype(np.int64), mean, of_rating)


@dataclass(frozen=True)
class MutualHighScoring:
    """Reciprocal pairs (a < b) with MHS = min(ē_ab, ē_ba) and the permutation test of the largest MHS.

    ``null_max`` holds the largest MHS of each permutation.  The p-value of a
    pair is (1 + #{permutations whose max ≥ its MHS}) / (1 + permutations),
    family-wise over all pairs of the run; a pair is flagged when p ≤ α =
    1 − ``quantile``, which is the same as MHS > ``threshold``, the ``quantile``
    point of ``null_max`` taken as an order statistic (the k-th largest, k =
    ⌊α·(permutations + 1)⌋; infinite when there are too few permutations).
    """

    a: np.ndarray  # int64[P]
    b: np.ndarray  # int64[P]
    ab: np.ndarray  # float64[P] ē_ab, a's mean residual rating of b
    ba: np.ndarray  # float64[P]
    mhs: np.ndarray  # float64[P]
    null_max: np.ndarray  # float64[permutations]
    threshold: float
    p_value: np.ndarray  # float64[P]
    flagged: np.ndarray  # bool[P]
    dyad_ab: np.ndarray  # int64[P] index of the a→b dyad in the input
    dyad_ba: np.ndarray  # int64[P]


def reciprocal_pairs(rater: np.ndarray, ratee: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Indices (ab, ba) of directed dyads whose reverse is also present, one entry per pair (rater < ratee).

    ``rater`` and ``ratee`` are codes in one space (e.g. employee codes), one
    entry per distinct directed dyad.
    """
    base = int(max(int(rater.max(initial=-1)), int(ratee.max(initial=-1))) + 1)
    key = rater.astype(np.int64) * base + ratee
    reverse = ratee.astype(np.int64) * base + rater
    order = np.argsort(key, kind="stable")
    position = np.searchsorted(key[order], reverse)
    position = np.minimum(position, max(len(key) - 1, 0))
    found = (key[order][position] == reverse) if len(key) else np.zeros(0, dtype=bool)
    forward = np.flatnonzero(found & (rater < ratee))
    return forward, order[position[forward]]


def mutual_high_scoring(
    rater: np.ndarray,
    ratee: np.ndarray,
    mean: np.ndarray,
    *,
    permutations: int = 500,
    quantile: float = 0.95,
    seed: int = 0,
) -> MutualHighScoring:
    """MHS of every reciprocal pair and the permutation null of the largest MHS.

    :param rater, ratee: directed dyads in one code space (one entry per dyad).
    :param mean: each dyad's mean residual.

    The null shuffles the 2P mean residuals of the reciprocal dyads among their
    2P slots (which breaks any link between ē_ab and ē_ba but keeps their
    distribution), ``permutations`` times from ``seed``; see
    :func:`permutation_max` for how each permutation's largest MHS is found.
    """
    ab, ba = reciprocal_pairs(rater, ratee)
    a, b = rater[ab], ratee[ab]
    e_ab, e_ba = mean[ab], mean[ba]
    mhs = np.minimum(e_ab, e_ba)
    if len(ab) == 0:
        nothing = np.zeros(0, dtype=bool)
        return MutualHighScoring(a, b, e_ab, e_ba, mhs, np.full(permutations, np.nan), float("nan"), np.zeros(0), nothing, ab, ba)
    null_max = permutation_max(np.concatenate([e_ab, e_ba]), permutations, seed)
    ordered = np.sort(null_max)
    exceed = permutations - np.searchsorted(ordered, mhs, side="left")
    p_value = (1.0 + exceed) / (1.0 + permutations)
    # Flag exactly when p ≤ α = 1 − quantile: at most `allowed` permutations may reach the MHS, so the
    # threshold is the (allowed + 1)-th largest null value, and MHS > threshold ⇔ p ≤ α.
    allowed = int(np.floor((1.0 - quantile) * (permutations + 1) + 1e-9)) - 1
    threshold = float(ordered[permutations - 1 - allowed]) if allowed >= 0 else float("inf")
    return MutualHighScoring(a, b, e_ab, e_ba, mhs, null_max, threshold, p_value, mhs > threshold, ab, ba)


def permutation_max(values: np.ndarray, permutations: int, seed: int = 0, *, head: int | None = None) -> np.ndarray:
    """Largest pair minimum, min(x[s], x[s + P]), after each of ``permutations`` random shuffles of ``values`` (2P).

    Exact, without shuffling all 2P values: rank the values from the top; in a
    shuffle the top-ranked values land on a uniformly random sequence of
    distinct slots, and the largest pair minimum is the value at the first rank
    whose slot completes a pair (slots s and s + P) with a higher-ranked one.
    About √P ranks suffice, so a permutation costs O(√P) instead of O(P); in the
    rare case that no pair completes among the ranks drawn, the rest of the
    shuffle is drawn too.

    :param head: ranks drawn first (default 8·√P + 16, where a miss has
        probability ≈ e⁻¹⁶); it changes the speed and the random stream, never
        the distribution.
    """
    values = np.asarray(values, dtype=np.float64)
    n = len(values)
    n_pairs = n // 2
    if n_pairs == 0:
        return np.full(permutations, np.nan)
    ranked = np.sort(values[: 2 * n_pairs])[::-1]
    n = 2 * n_pairs
    head = min(n, int(8 * np.sqrt(n_pairs)) + 16 if head is None else max(int(head), 1))
    rng = np.random.default_rng(seed)
    out = np.empty(permutations)
    for j in range(permutations):
        slots = rng.choice(n, size=head, replace=False)
        first = _first_completed(slots % n_pairs)
        if first < 0:  # no pair among the top ranks: draw the rest of this very shuffle
            rest = np.setdiff1d(np.arange(n), slots, assume_unique=True)
            slots = np.concatenate([slots, rng.permutation(rest)])
            first = _first_completed(slots % n_pairs)
        out[j] = ranked[first]
    return out


def _first_completed(pair: np.ndarray) -> int:
    """Smallest index whose pair id already occurred earlier in ``pair``; -1 if none."""
    order = np.argsort(pair, kind="stable")
    repeated = pair[order][1:] == pair[order][:-1]
    return int(order[1:][repeated].min()) if repeated.any() else -1


def cliques(a: np.ndarray, b: np.ndarray, min_size: int = 3) -> list[np.ndarray]:
    """Connected components with at least ``min_size`` members of the graph with edges (a, b).

    :returns: the members of each component (sorted codes), largest first,
        ties by smallest member.
    """
    if len(a) == 0:
        return []
    nodes, index = np.unique(np.concatenate([a, b]), return_inverse=True)
    index = index.reshape(-1)
    u, v = index[: len(a)], index[len(a) :]
    label = np.arange(len(nodes))
    while True:
        low = np.minimum(label[u], label[v])
        new = label.copy()
        np.minimum.at(new, u, low)
        np.minimum.at(new, v, low)
        new = new[new]
        if np.array_equal(new, label):
            break
        label = new
    groups, member_of, sizes = np.unique(label, return_inverse=True, return_counts=True)
    member_of = member_of.reshape(-1)
    order = np.argsort(member_of, kind="stable")
    bounds = np.r_[0, np.cumsum(np.bincount(member_of, minlength=len(groups)))]
    found = [nodes[order[bounds[g] : bounds[g + 1]]] for g in np.flatnonzero(sizes >= min_size)]
    return sorted(found, key=lambda members: (-len(members), int(members[0])))


# ---------------------------------------------------------------------------
# Rater × relationship interaction
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Interaction:
    """Per rater: forms inside vs outside the relationship, their mean residuals and Welch's t.

    ``difference`` = mean inside − mean outside (positive = generous inside);
    ``t`` = difference / sqrt(s²_in/n_in + s²_out/n_out) with sample variances;
    ``df`` by Welch–Satterthwaite.  NaN where a side has fewer than 2 forms
    (or ``min_forms``), or where neither side varies.
    """

    rater: np.ndarray  # int64[K]
    n_inside: np.ndarray  # int64[K]
    n_outside: np.ndarray  # int64[K]
    mean_inside: np.ndarray  # float64[K]
    mean_outside: np.ndarray  # float64[K]
    difference: np.ndarray  # float64[K]
    t: np.ndarray  # float64[K]
    df: np.ndarray  # float64[K]
    flagged: np.ndarray  # bool[K]


def rater_interaction(
    rater: np.ndarray,
    inside: np.ndarray,
    value: np.ndarray,
    *,
    min_forms: int = 2,
    min_t: float = 2.0,
    min_points: float = 0.5,
) -> Interaction:
    """Welch t per rater between ``value`` (one per form) inside and outside a relationship.

    Flagged when each side has ≥ ``min_forms`` forms, |t| > ``min_t`` and
    |difference| ≥ ``min_points``.  Where neither side varies at all t is
    undefined (NaN) and the rater is not flagged: there is no spread to judge
    the difference against.
    """
    raters, code = compact(rater)
    k = len(raters)
    side = code * 2 + inside.astype(np.int64)
    n, mean, sd = _group_mean_sd(side, value, 2 * k, ddof=1)
    n, mean, variance = n.reshape(k, 2), mean.reshape(k, 2), (sd * sd).reshape(k, 2)
    n_out, n_in = n[:, 0], n[:, 1]
    judged = (n_in >= max(min_forms, 2)) & (n_out >= max(min_forms, 2))
    difference = np.where(judged, mean[:, 1] - mean[:, 0], np.nan)
    part_in = safe_divide(variance[:, 1], n_in)
    part_out = safe_divide(variance[:, 0], n_out)
    se2 = part_in + part_out
    t = np.full(k, np.nan)
    defined = judged & (se2 > 0)
    t[defined] = difference[defined] / np.sqrt(se2[defined])
    denominator = safe_divide(part_in**2, n_in - 1, fill=0.0) + safe_divide(part_out**2, n_out - 1, fill=0.0)
    df = np.where(defined, safe_divide(se2**2, denominator), np.nan)
    flagged = defined & (np.abs(np.nan_to_num(t)) > min_t) & (np.abs(np.nan_to_num(difference)) >= min_points - 1e-12)
    return Interaction(
        raters, n_in.astype(np.int64), n_out.astype(np.int64), np.where(judged, mean[:, 1], np.nan),
        np.where(judged, mean[:, 0], np.nan), difference, t, df, flagged,
    )
