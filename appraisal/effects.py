"""Rater-effect models: who rates generously, estimated from how they rate everyone.

Ratings are modelled as

    y = fixed effects (competency, rater group) + ratee level θ_u + rater leniency b_r + noise

The design is never built as a matrix of ratings × levels: every product is a
gather (``values[codes]``) or a scatter (``np.bincount``) over the rating
arrays or over the pairs of levels that share ratings (rater–ratee,
ratee–competency), so one pass costs at most O(ratings) and memory stays
linear.

* :func:`solve_effects` — penalised least squares by preconditioned conjugate
  gradients.  With ridge 0 on θ and a small ridge on b it is the additive
  fixed-effects ("additive bias") fit; with ridges σ²_e/σ²_θ and σ²_e/σ²_b it
  is the BLUP of the crossed random-effects model (Henderson's equations).
* :func:`moment_components` — variance components from pair differences
  (unbiased ANOVA-type moments, O(ratings)), for any size.
* :func:`reml_components` — exact EM-REML (Henderson), absorbing the ratee
  block so the dense work is (fixed + raters)², for organisations up to a few
  thousand raters.
* :func:`connected_components` — the rater–ratee graph's components: leniency
  and ratee level are only identifiable inside one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

from .grouping import Pairs, compact, distinct, factorize
from .solvers import TwoLevel, conjugate_gradients, group_codes


@dataclass(frozen=True)
class Design:
    """Ratings and the factors that explain them.

    :param fixed: fixed-effect factors as ``(codes, n_levels)``, e.g. competency
        and rater group; an intercept is implied.
    """

    y: np.ndarray  # float64[N]
    ratee: np.ndarray  # int64[N]
    rater: np.ndarray  # int64[N]
    n_ratees: int
    n_raters: int
    fixed: tuple[tuple[np.ndarray, int], ...] = ()

    def __len__(self) -> int:
        return len(self.y)

    @cached_property
    def pairs(self) -> Pairs:
        """The (ratee, rater) pairs, for the normal equations and :func:`moment_components`; the rating
        graph's edges are ``pairs.occurring()`` (a dense :class:`Pairs` lists every possible pair)."""
        return Pairs(self.ratee, self.rater, self.n_ratees, self.n_raters)

    @cached_property
    def _normal_equations(self) -> _NormalEquations:
        """The pairs and counts behind :func:`solve_effects`, which depend on the design alone (computed once)."""
        return _NormalEquations(self)


@dataclass(frozen=True)
class Effects:
    """A fit: fixed effects, ratee and rater effects, on the scale of the ratings."""

    intercept: float
    fixed: tuple[np.ndarray, ...]  # one array of level effects per fixed factor
    ratee: np.ndarray  # float64[U]
    rater: np.ndarray  # float64[R]
    iterations: int
    converged: bool

    def fitted(self, design: Design) -> np.ndarray:
        value = self.intercept + self.ratee[design.ratee] + self.rater[design.rater]
        for (codes, _), effect in zip(design.fixed, self.fixed):
            value = value + effect[codes]
        return value


class _NormalEquations:
    """What :func:`solve_effects` needs of a design whatever the ridges: built once per design.

    The intercept and the fixed factors (a few levels each) act through their joint level, so the normal
    equations couple three kinds of unknowns: joint levels, ratees and raters.  Their cross-products are
    rating counts per (ratee, rater), (ratee, joint level) and (rater, joint level) pair, counted once; a
    CG step then passes over those pairs (a dozen competencies per rater-ratee pair) instead of the ratings.
    ``crossed-re`` solves the same design twice (a rough start, then the fit): the pairs are counted once.
    """

    def __init__(self, design: Design) -> None:
        # Unknowns per factor, in the solution's order: intercept, fixed factors, ratee, rater.
        self.sizes = [1, *(levels for _, levels in design.fixed), design.n_ratees, design.n_raters]
        self.offsets = np.cumsum([0, *self.sizes])
        self.shape = tuple(levels for _, levels in design.fixed)
        self.joint = (
            np.ravel_multi_index(tuple(codes for codes, _ in design.fixed), self.shape)
            if self.shape
            else np.zeros(len(design), dtype=np.int64)
        )
        self.n_joint = int(np.prod(self.shape, dtype=np.int64))
        self.small = int(self.offsets[-3])  # unknowns of the intercept and fixed factors
        self.ratee, self.rater = design.ratee, design.rater
        self.n_ratees, self.n_raters = design.n_ratees, design.n_raters
        self.links = (
            design.pairs,
            Pairs(design.ratee, self.joint, design.n_ratees, self.n_joint),
            Pairs(design.rater, self.joint, design.n_raters, self.n_joint),
        )
        ones = np.ones(len(design))
        self.shared = [pairs.sums(ones) for pairs in self.links]  # ratings per pair
        self.joint_counts = np.bincount(self.joint, minlength=self.n_joint).astype(float)
        self.counts = self.scatter(ones)
        for shared_by_solves in (*self.shared, self.joint_counts, self.counts):  # every solve of the design reads them
            shared_by_solves.setflags(write=False)
        self._coarse: tuple[tuple[np.ndarray, np.ndarray], TwoLevel | None] | None = None  # (groups, their correction)

    def unit_moves(self, groups: tuple[np.ndarray, np.ndarray], diagonal: np.ndarray) -> TwoLevel | None:
        """The two-level correction over ``groups`` for a matrix with this ``diagonal``.

        Its aggregation is built once per design and groups (0.4-0.6 s at 100,000 employees):
        ``crossed-re`` solves twice with the same groups and other ridges.
        """
        groups = tuple(np.asarray(g, dtype=np.int64).reshape(-1) for g in groups)
        if self._coarse is None or not all(map(np.array_equal, groups, self._coarse[0])):
            self._coarse = (groups, _unit_moves(groups, self.links[0], self.small))
        coarse = self._coarse[1]
        if coarse is not None:
            ratings_per_pair = self.shared[0]
            coarse.set_matrix(np.concatenate([diagonal[self.small :], ratings_per_pair, ratings_per_pair]))
        return coarse

    def joint_values(self, x: np.ndarray) -> np.ndarray:
        shape, offsets = self.shape, self.offsets
        grid = np.full(shape, x[0])
        for k, levels in enumerate(shape):
            grid += x[offsets[k + 1] : offsets[k + 2]].reshape([levels if j == k else 1 for j in range(len(shape))])
        return grid.reshape(-1)

    def fixed_sums(self, joint_sums: np.ndarray) -> np.ndarray:
        shape, offsets = self.shape, self.offsets
        grid = joint_sums.reshape(shape)
        out = np.empty(self.small)
        out[0] = grid.sum()
        for k in range(len(shape)):
            out[offsets[k + 1] : offsets[k + 2]] = grid.sum(axis=tuple(j for j in range(len(shape)) if j != k))
        return out

    def scatter(self, v: np.ndarray) -> np.ndarray:
        return np.concatenate(
            [
                self.fixed_sums(np.bincount(self.joint, weights=v, minlength=self.n_joint)),
                np.bincount(self.ratee, weights=v, minlength=self.n_ratees),
                np.bincount(self.rater, weights=v, minlength=self.n_raters),
            ]
        )


def solve_effects(
    design: Design,
    ridge_ratee: float,
    ridge_rater: float,
    *,
    tol: float = 1e-10,
    max_iter: int = 2000,
    components: tuple[np.ndarray, np.ndarray] | None = None,
    groups: tuple[np.ndarray, np.ndarray] | None = None,
) -> Effects:
    """Minimise Σ(y − fit)² + ridge_ratee·Σθ² + ridge_rater·Σb² by Jacobi-preconditioned CG.

    Fixed effects are unpenalised.  The normal equations are only
    semi-definite (dummies of several factors overlap); CG from zero still
    converges to a least-squares solution, which is then put in a canonical
    form without changing the fitted values: fixed factors after the first and
    ratee effects (when unpenalised) centred on zero, and rater effects centred
    (rating-weighted) within each connected component, so that leniency is
    always relative to the raters one is actually compared with.

    :param components: ``(component of each ratee, component of each rater)``
        from :func:`connected_components`; needed for unpenalised rater effects
        (ridge 0), recommended always.
    :param groups: ``(group of each ratee, group of each rater)``, e.g. their
        work units, ``-1`` for none: only speed changes (CG then corrects
        whole groups at once, see :class:`~appraisal.solvers.TwoLevel`).
    """
    equations = design._normal_equations
    sizes, offsets, small = equations.sizes, equations.offsets, equations.small
    links, shared, counts = equations.links, equations.shared, equations.counts
    ridge = np.zeros(int(offsets[-1]))
    ridge[offsets[-3] : offsets[-2]] = ridge_ratee
    ridge[offsets[-2] : offsets[-1]] = ridge_rater

    def apply(x: np.ndarray) -> np.ndarray:
        levels, ratee, rater = equations.joint_values(x), x[small : offsets[-2]], x[offsets[-2] :]
        ratee_rater = links[0].cross(shared[0], ratee, rater)
        ratee_joint = links[1].cross(shared[1], ratee, levels)
        rater_joint = links[2].cross(shared[2], rater, levels)
        out = counts * x + ridge * x
        out[:small] = equations.fixed_sums(equations.joint_counts * levels + ratee_joint[1] + rater_joint[1])
        out[small : offsets[-2]] += ratee_rater[0] + ratee_joint[0]
        out[offsets[-2] :] += ratee_rater[1] + rater_joint[0]
        return out

    rhs = equations.scatter(design.y)
    target = tol * max(np.sqrt(rhs @ rhs), 1e-300)
    coarse = None if groups is None else equations.unit_moves(groups, counts + ridge)
    x, iterations, converged = conjugate_gradients(apply, rhs, counts + ridge, target, max_iter, coarse)

    parts = [x[offsets[k] : offsets[k + 1]].copy() for k in range(len(sizes))]
    intercept = float(parts[0][0])
    fixed = parts[1:-2]
    ratee, rater = parts[-2], parts[-1]
    rater_counts = counts[offsets[-2] : offsets[-1]]
    ratee_counts = counts[offsets[-3] : offsets[-2]]
    # Canonical form (fitted values unchanged).
    for k, (codes, levels) in enumerate(design.fixed):
        if k == 0:
            continue
        level_counts = np.bincount(codes, minlength=levels)
        shift = _weighted_mean(fixed[k], level_counts)
        fixed[k] = np.where(level_counts > 0, fixed[k] - shift, 0.0)
        fixed[0] = fixed[0] + shift
    if components is not None:
        ratee_component, rater_component = components
        n_components = int(max(ratee_component.max(initial=-1), rater_component.max(initial=-1))) + 1
        weight = np.bincount(rater_component, weights=rater_counts, minlength=n_components)
        total = np.bincount(rater_component, weights=rater_counts * rater, minlength=n_components)
        shift = np.where(weight > 0, total / np.where(weight > 0, weight, 1.0), 0.0)
        rater = np.where(rater_counts > 0, rater - shift[rater_component], 0.0)
        ratee = np.where(ratee_counts > 0, ratee + shift[ratee_component], 0.0)
    if ridge_ratee == 0:
        shift = _weighted_mean(ratee, ratee_counts)
        ratee = np.where(ratee_counts > 0, ratee - shift, 0.0)
        if fixed:
            fixed[0] = fixed[0] + shift
        else:
            intercept += shift
    if fixed:
        level_counts = np.bincount(design.fixed[0][0], minlength=design.fixed[0][1])
        shift = _weighted_mean(fixed[0], level_counts)
        fixed[0] = np.where(level_counts > 0, fixed[0] - shift, 0.0)
        intercept += shift
    return Effects(intercept, tuple(fixed), ratee, rater, iterations, converged)


def _unit_moves(groups: tuple[np.ndarray, np.ndarray], ratee_rater: Pairs, small: int) -> TwoLevel | None:
    """The two-level correction over groups, without its matrix: a group's ratees up and its raters down
    leaves its own ratings' fit as it was.  Entries: the ratees' and raters' diagonal, then each
    (ratee, rater) pair both ways."""
    ratee_group, rater_group = groups
    n_ratees, n_raters = ratee_rater.shape
    if ratee_group.size != n_ratees or rater_group.size != n_raters:
        raise ValueError(f"groups must give a group for each of the {n_ratees} ratees and {n_raters} raters")
    code = group_codes(ratee_group, rater_group)
    if not (code >= 0).any():
        return None
    aggregate = np.concatenate([np.full(small, -1), code])  # the intercept and fixed levels are left to Jacobi
    sign = np.concatenate([np.ones(small + n_ratees), -np.ones(n_raters)])
    unknowns = np.arange(small, small + n_ratees + n_raters)
    ratees, raters = small + ratee_rater.first, small + n_ratees + ratee_rater.second
    return TwoLevel(aggregate, np.concatenate([unknowns, ratees, raters]), np.concatenate([unknowns, raters, ratees]), sign)


def _weighted_mean(values: np.ndarray, weights: np.ndarray) -> float:
    total = weights.sum()
    return float((values * weights).sum() / total) if total > 0 else 0.0


# ---------------------------------------------------------------------------
# Variance components
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class VarianceComponents:
    """σ²_θ (ratee), σ²_b (rater), σ²_e (residual), and how they were estimated."""

    ratee: float
    rater: float
    residual: float
    method: str
    iterations: int = 0
    converged: bool = True
    rater_pev: np.ndarray | None = field(default=None, compare=False)  # exact prediction-error variance of b̂ (REML only)

    def as_dict(self) -> dict[str, float | str | int | bool]:
        return {
            "ratee": self.ratee,
            "rater": self.rater,
            "residual": self.residual,
            "method": self.method,
            "iterations": self.iterations,
            "converged": self.converged,
        }


def _pair_sum(codes: np.ndarray, values: np.ndarray, levels: int) -> tuple[float, float]:
    """Σ over groups of Σ_pairs (y_i − y_j)², and the number of pairs (unordered, within groups)."""
    n = np.bincount(codes, minlength=levels).astype(np.float64)
    total = np.bincount(codes, weights=values, minlength=levels)
    squares = np.bincount(codes, weights=values * values, minlength=levels)
    return float((n * squares - total * total).sum()), float((n * (n - 1) / 2).sum())


def moment_components(design: Design, residual: np.ndarray) -> VarianceComponents:
    """Variance components from pair differences of ``residual`` (fixed effects already removed).

    Pairs of ratings of the same ratee by the same rater differ by noise
    only (E = 2σ²_e); same ratee, different raters by rater effect and noise
    (2σ²_b + 2σ²_e); same rater, different ratees by ratee level and noise
    (2σ²_θ + 2σ²_e).  Each sum over pairs is computed per group in O(N).
    """
    pairs = design.pairs
    # A dense Pairs codes every possible pair: summing over the distinct ones keeps the order of the sums.
    cell_codes = factorize(pairs.of)[0] if pairs.dense else pairs.of
    s_cell, p_cell = _pair_sum(cell_codes, residual, int(cell_codes.max(initial=-1)) + 1)
    s_ratee, p_ratee = _pair_sum(design.ratee, residual, design.n_ratees)
    s_rater, p_rater = _pair_sum(design.rater, residual, design.n_raters)
    noise = s_cell / (2 * p_cell) if p_cell > 0 else np.nan
    rater = (s_ratee - s_cell) / (2 * (p_ratee - p_cell)) - noise if p_ratee > p_cell else np.nan
    ratee = (s_rater - s_cell) / (2 * (p_rater - p_cell)) - noise if p_rater > p_cell else np.nan
    floor = 1e-6 * max(noise, 1e-12) if np.isfinite(noise) else 1e-12
    return VarianceComponents(
        ratee=float(max(ratee, floor)) if np.isfinite(ratee) else floor,
        rater=float(max(rater, floor)) if np.isfinite(rater) else floor,
        residual=float(noise) if np.isfinite(noise) else 1.0,
        method="moments",
    )


def _fixed_matrix(design: Design) -> np.ndarray:
    """Dense full-rank fixed-effect design: intercept + reference-coded dummies of each factor."""
    columns = [np.ones(len(design))]
    for codes, levels in design.fixed:
        present = distinct(codes)
        for level in present[1:]:
            columns.append((codes == level).astype(np.float64))
    return np.column_stack(columns)


def reml_components(
    design: Design, start: VarianceComponents, *, tol: float = 1e-8, max_iter: int = 5000
) -> tuple[VarianceComponents, np.ndarray, np.ndarray, np.ndarray]:
    """Exact EM-REML for y = Xβ + Z_θθ + Z_b b + e (Henderson's mixed-model equations).

    The ratee block of the equations is diagonal, so it is absorbed (a Schur
    complement) and only a dense (fixed + raters)² system is inverted per
    iteration.  EM updates (Searle, Casella & McCulloch 1992, ch. 6):

        σ²_θ ← (θ̂'θ̂ + σ²_e tr C_θθ) / U,   σ²_b ← (b̂'b̂ + σ²_e tr C_bb) / R,
        σ²_e ← (y'y − β̂'X'y − θ̂'Z_θ'y − b̂'Z_b'y) / (N − rank X)

    :returns: the components (with the exact PEV of each b̂), β̂, θ̂ and b̂.
    """
    X = _fixed_matrix(design)
    p = X.shape[1]
    n_ratees, n_raters = design.n_ratees, design.n_raters
    y = design.y
    # W = [X | Z_b]; the blocks needed are built once (they do not depend on the components).
    WtW = np.zeros((p + n_raters, p + n_raters))
    WtW[:p, :p] = X.T @ X
    XtZb = np.zeros((p, n_raters))
    for j in range(p):
        XtZb[j] = np.bincount(design.rater, weights=X[:, j], minlength=n_raters)
    WtW[:p, p:] = XtZb
    WtW[p:, :p] = XtZb.T
    WtW[p:, p:] = _crossprod_counts(design.rater, design.rater, n_raters, n_raters)
    Wty = np.concatenate([X.T @ y, np.bincount(design.rater, weights=y, minlength=n_raters)])
    # W'Z_θ: (p + R) × U
    WtZt = np.zeros((p + n_raters, n_ratees))
    for j in range(p):
        WtZt[j] = np.bincount(design.ratee, weights=X[:, j], minlength=n_ratees)
    WtZt[p:] = _crossprod_counts(design.rater, design.ratee, n_raters, n_ratees)
    ratee_counts = np.bincount(design.ratee, minlength=n_ratees).astype(np.float64)
    Zty = np.bincount(design.ratee, weights=y, minlength=n_ratees)
    yty = float(y @ y)
    rank_x = np.linalg.matrix_rank(X)
    n = len(y)

    def solve(var_t: float, var_b: float, var_e: float) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """The mixed-model equations at given components: (S⁻¹, [β̂; b̂], θ̂, d)."""
        d = ratee_counts + var_e / var_t
        S = WtW - (WtZt / d) @ WtZt.T
        S[p:, p:] += var_e / var_b * np.eye(n_raters)
        S_inv = np.linalg.inv(S)
        w = S_inv @ (Wty - WtZt @ (Zty / d))
        return S_inv, w, (Zty - WtZt.T @ w) / d, d

    var_t, var_b, var_e = start.ratee, start.rater, start.residual
    converged = False
    iterations = 0
    for iterations in range(1, max_iter + 1):
        S_inv, w, theta, d = solve(var_t, var_b, var_e)
        beta, b = w[:p], w[p:]
        # tr C_θθ = Σ 1/d + tr(S⁻¹ W'Z D⁻² Z'W);  tr C_bb = tr(S⁻¹)_bb
        scaled = WtZt / d
        trace_t = float((1 / d).sum() + np.einsum("ij,ji->", S_inv, scaled @ scaled.T))
        trace_b = float(np.trace(S_inv[p:, p:]))
        new_e = (yty - beta @ (X.T @ y) - theta @ Zty - b @ Wty[p:]) / (n - rank_x)
        new_t = (theta @ theta + var_e * trace_t) / n_ratees
        new_b = (b @ b + var_e * trace_b) / n_raters
        change = max(abs(new_t - var_t) / max(var_t, 1e-12), abs(new_b - var_b) / max(var_b, 1e-12), abs(new_e - var_e) / var_e)
        var_t, var_b, var_e = max(new_t, 1e-12), max(new_b, 1e-12), max(new_e, 1e-12)
        if change < tol:
            converged = True
            break
    S_inv, w, theta, _ = solve(var_t, var_b, var_e)
    pev = var_e * np.diag(S_inv)[p:]
    components = VarianceComponents(var_t, var_b, var_e, "reml", iterations, converged, pev)
    return components, w[:p], theta, w[p:]


def _crossprod_counts(a: np.ndarray, b: np.ndarray, levels_a: int, levels_b: int) -> np.ndarray:
    """Dense matrix of how many ratings each (a, b) level pair shares."""
    flat = np.bincount(a * levels_b + b, minlength=levels_a * levels_b)
    return flat.reshape(levels_a, levels_b).astype(np.float64)


# ---------------------------------------------------------------------------
# Connectivity
# ---------------------------------------------------------------------------


def connected_components(ratee: np.ndarray, rater: np.ndarray, n_ratees: int, n_raters: int) -> tuple[np.ndarray, np.ndarray, int]:
    """Connected components of the bipartite rater–ratee graph.

    Min-label propagation with pointer jumping, vectorised over the distinct
    edges; converges in a few dozen rounds even for national data.

    :returns: (component of each ratee, component of each rater, number of
        components); isolated nodes (no ratings) get their own component.
        Components are numbered by size, largest first.
    """
    edges = distinct(ratee * max(n_raters, 1) + rater)
    u = edges // max(n_raters, 1)
    r = n_ratees + edges % max(n_raters, 1)
    label = np.arange(n_ratees + n_raters)
    while True:
        low = np.minimum(label[u], label[r])
        new = label.copy()
        np.minimum.at(new, u, low)
        np.minimum.at(new, r, low)
        # pointer jumping: follow labels to their own label until stable
        while True:
            jumped = new[new]
            if np.array_equal(jumped, new):
                break
            new = jumped
        if np.array_equal(new, label):
            break
        label = new
    _, ranked, sizes = np.unique(label, return_inverse=True, return_counts=True)
    order = np.argsort(-sizes, kind="stable")
    rank_of = np.empty_like(order)
    rank_of[order] = np.arange(len(order))
    component = rank_of[ranked.reshape(-1)]
    return component[:n_ratees], component[n_ratees:], len(sizes)


# ---------------------------------------------------------------------------
# The additive fixed-effects model, as additive-bias and the integrity rules use it
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class AdditiveFit:
    """The additive fixed-effects model (reference §3.2) fitted as ``additive-bias`` fits it.

    rating = intercept + fixed factors + ratee level θ_u + rater effect b_r + residual,
    least squares with ridge λ on b (b̂_r = Σ residual / (n_r + λ) at the optimum),
    rater effects centred within each connected component of the rater–ratee
    graph.  SE(b̂_r) = sqrt(σ̂²_e / (n_r + λ)), σ̂²_e = RSS / (N − parameters).
    """

    rater: np.ndarray  # int64[K] rater codes that have ratings
    effect: np.ndarray  # float64[K] b̂ (positive = generous)
    se: np.ndarray  # float64[K]
    n: np.ndarray  # int64[K] ratings per rater
    residual: np.ndarray  # float64[N], aligned with the input ratings
    noise: float  # σ̂²_e
    converged: bool


def additive_fit(
    y: np.ndarray,
    ratee: np.ndarray,
    rater: np.ndarray,
    fixed: tuple[tuple[np.ndarray, int], ...] = (),
    *,
    ridge: float = 1.0,
    tol: float = 1e-8,
    groups: tuple[np.ndarray, np.ndarray] | None = None,
) -> AdditiveFit:
    """Fit the additive model to observed ratings ``y`` (no NaN).

    ``groups`` (optional): the group, e.g. work unit, of each ratee code and
    each rater code, for the solver (see :func:`solve_effects`).
    """
    raters, rater_code = compact(rater)
    ratees, ratee_code = compact(ratee)
    design = Design(y, ratee_code, rater_code, len(ratees), len(raters), fixed)
    if len(design) == 0:
        empty = np.zeros(0)
        return AdditiveFit(raters, empty, empty, np.zeros(0, dtype=np.int64), empty, float("nan"), True)
    ratee_component, rater_component, _ = connected_components(*design.pairs.occurring(), len(ratees), len(raters))
    by_code = None if groups is None else (np.asarray(groups[0])[ratees], np.asarray(groups[1])[raters])
    fit = solve_effects(design, 0.0, ridge, tol=tol, components=(ratee_component, rater_component), groups=by_code)
    residual = y - fit.fitted(design)
    n_parameters = 1 + sum(levels for _, levels in fixed) + len(ratees) + len(raters)
    noise = float(residual @ residual / max(len(design) - n_parameters, 1))
    counts = np.bincount(rater_code, minlength=len(raters))
    se = np.sqrt(noise / (counts + ridge))  # every listed rater has ratings, so n_r ≥ 1
    return AdditiveFit(raters, fit.rater, se, counts.astype(np.int64), residual, noise, fit.converged)
