"""Many-facet Rasch model (appraisal.rasch): closed forms, recovery, misfit, an independent
loop-based re-implementation of the §3.5 fit formulas, extreme scores and facet summaries.

Simulated data are generated here from the model itself (rating scale
``log(P_k/P_{k-1}) = B_n - D_i - C_j - F_k``) with fixed seeds.
"""

from __future__ import annotations

import dataclasses
import math
import warnings

import numpy as np
import pytest

from appraisal import rasch
from appraisal.rasch import (
    _moments,
    _probs,
    _rating_moments,
    _Scale,
    _support,
    category_moments,
    category_probabilities,
    fit_mfrm,
)

TRUE_F = np.array([0.0, -2.0, -0.7, 0.7, 2.0])  # 5 categories, 0..4


def simulate(seed, n_persons=200, n_raters=40, n_items=6, raters_per_person=8, rater_sd=0.5):
    """Every person rated on all items by ``raters_per_person`` distinct random raters."""
    rng = np.random.default_rng(seed)
    b = rng.normal(0.0, 1.0, n_persons)
    c = rng.normal(0.0, rater_sd, n_raters)
    d = rng.normal(0.0, 0.3, n_items)
    c -= c.mean()
    d -= d.mean()
    form_rater = np.concatenate([rng.choice(n_raters, raters_per_person, replace=False) for _ in range(n_persons)])
    form_person = np.repeat(np.arange(n_persons), raters_per_person)
    person = np.repeat(form_person, n_items)
    rater = np.repeat(form_rater, n_items)
    item = np.tile(np.arange(n_items), form_person.size)
    x = draw(rng, b[person] - d[item] - c[rater], TRUE_F)
    return dict(person=person, rater=rater, item=item, x=x, b=b, c=c, d=d, rng=rng)


def draw(rng, eta, thresholds):
    """One category per linear predictor, by inverse CDF of the model probabilities."""
    cdf = np.cumsum(category_probabilities(eta, thresholds), axis=1)
    return (rng.random(eta.size)[:, None] > cdf).sum(axis=1)


@pytest.fixture(scope="module")
def sim():
    return simulate(0)


@pytest.fixture(scope="module")
def sim_fit(sim):
    return fit_mfrm(sim["person"], sim["rater"], sim["item"], sim["x"], 5)


# --------------------------------------------------------------------------
# (1) probabilities, moments and Newton steps against closed forms
# --------------------------------------------------------------------------


def test_two_categories_reduce_to_dichotomous_rasch():
    eta = np.linspace(-6.0, 6.0, 25)
    f1 = 0.4
    p = 1.0 / (1.0 + np.exp(-(eta - f1)))
    prob = category_probabilities(eta, [0.0, f1])
    np.testing.assert_allclose(prob[:, 1], p, rtol=1e-12)
    np.testing.assert_allclose(prob.sum(axis=1), 1.0, rtol=1e-12)
    e, w, c = category_moments(eta, [0.0, f1])
    np.testing.assert_allclose(e, p, rtol=1e-12)  # expected score
    np.testing.assert_allclose(w, p * (1 - p), rtol=1e-10)  # information
    np.testing.assert_allclose(c, p * (1 - p) * ((1 - p) ** 3 + p**3), rtol=1e-10)  # 4th central moment


def test_three_categories_by_hand_and_adjacent_log_odds():
    # eta = 0.5, F = (0, -1, 1): log numerators k*eta - sum_{h<=k} F_h = 0, 1.5, 1.0
    prob = category_probabilities(np.array([0.5]), [0.0, -1.0, 1.0])[0]
    num = np.array([1.0, math.exp(1.5), math.exp(1.0)])
    np.testing.assert_allclose(prob, num / num.sum(), rtol=1e-12)
    e, w, _ = category_moments(np.array([0.5]), [0.0, -1.0, 1.0])
    expected = (num[1] + 2 * num[2]) / num.sum()
    assert e[0] == pytest.approx(expected, rel=1e-12)
    assert w[0] == pytest.approx((num[1] + 4 * num[2]) / num.sum() - expected**2, rel=1e-10)
    # the model's defining property on a grid: log(P_k / P_{k-1}) = eta - F_k
    eta = np.linspace(-3.0, 3.0, 13)
    prob = category_probabilities(eta, TRUE_F)
    np.testing.assert_allclose(np.log(prob[:, 1:] / prob[:, :-1]), eta[:, None] - TRUE_F[1:], atol=1e-12)


def test_probabilities_stay_finite_far_out_and_unused_categories_have_none():
    prob = category_probabilities(np.array([-1e4, 1e4]), TRUE_F)
    np.testing.assert_allclose(prob, [[1, 0, 0, 0, 0], [0, 0, 0, 0, 1]], atol=1e-300)
    prob = category_probabilities(np.linspace(-2, 2, 5), [0.0, -1.0, np.nan, 0.5, 0.5])
    assert np.all(prob[:, 2] == 0.0)
    # a step over the unused category 2 covers two score points: log(P_3/P_1) = 2*eta - F_3
    np.testing.assert_allclose(np.log(prob[:, 3] / prob[:, 1]), 2 * np.linspace(-2, 2, 5) - 0.5, atol=1e-12)


@pytest.mark.parametrize("thresholds", [TRUE_F, [0.0, -1.5, 1.5], [np.nan, 0.0, -1.0, np.nan, 1.0], [0.0, np.nan, 0.3]])
def test_fast_kernel_matches_the_probabilities(thresholds):
    """The estimation loop's one-exp Horner kernel equals the explicit probabilities, gaps and clipping included."""
    thresholds = np.asarray(thresholds, dtype=float)
    eta = np.concatenate([np.linspace(-8, 8, 41), [-900.0, 900.0]])
    used = ~np.isnan(thresholds)
    scale = _Scale(np.flatnonzero(used).astype(float), np.cumsum(np.where(used, thresholds, 0.0))[used])
    e, w = scale.expected_variance(eta)
    e_ref, w_ref, _ = category_moments(eta, thresholds)
    np.testing.assert_allclose(e, e_ref, atol=1e-12)
    np.testing.assert_allclose(w, w_ref, atol=1e-12)
    at_least, info = scale.at_least(eta)
    cum = category_probabilities(eta, thresholds)[:, ::-1].cumsum(axis=1)[:, ::-1]
    steps = np.flatnonzero(used)[1:]
    np.testing.assert_allclose(at_least, cum[:, steps].sum(axis=0), rtol=1e-12)
    np.testing.assert_allclose(info, (cum[:, steps] * (1 - cum[:, steps])).sum(axis=0), rtol=1e-10)


def test_jmle_two_item_closed_form():
    """Dichotomous, one rater, two items; 30 persons answer (1, 0), 10 answer (0, 1).

    Every person scores 1 of 2, so B = 0 and item 1's equation 40*sigma(-D_1) = 30
    gives D = -+log 3: JMLE's D_2 - D_1 = 2 log(30/10), twice the conditional
    (CML) log(30/10), the textbook JMLE bias at two items.  At B = 0, p = 3/4:
    SE(B) = 1/sqrt(2 * 3/16), SE(D) = 1/sqrt(40 * 3/16); each rating's residual
    is +-1/4 (pattern (1, 0)) or +-3/4 (pattern (0, 1)) against W = 3/16, so
    person infit = outfit = 1/3 and 3, and the rater's infit is exactly 1.
    """
    person = np.repeat(np.arange(40), 2)
    item = np.tile([0, 1], 40)
    rater = np.zeros(80, dtype=np.int64)
    x = np.where(np.arange(40)[:, None] < 30, [1, 0], [0, 1]).ravel()
    fit = fit_mfrm(person, rater, item, x, 2, tol=1e-12)
    assert fit.converged
    np.testing.assert_allclose(fit.item_difficulty, [-math.log(3), math.log(3)], atol=1e-9)
    np.testing.assert_allclose(fit.person_measure, 0.0, atol=1e-9)
    np.testing.assert_allclose(fit.thresholds, [0.0, 0.0], atol=1e-12)
    np.testing.assert_allclose(fit.person_se, 1 / math.sqrt(2 * 3 / 16), rtol=1e-9)
    np.testing.assert_allclose(fit.item_se, 1 / math.sqrt(40 * 3 / 16), rtol=1e-9)
    np.testing.assert_allclose(fit.person_infit[[0, 35]], [1 / 3, 3.0], rtol=1e-9)
    np.testing.assert_allclose(fit.person_outfit[[0, 35]], [1 / 3, 3.0], rtol=1e-9)
    assert fit.rater_infit[0] == pytest.approx(1.0, rel=1e-9)
    np.testing.assert_allclose(fit.fair_average(2)[:1], [0.5], rtol=1e-9)  # sigma(0 - 0 - 0 - F_1 = 0)


# --------------------------------------------------------------------------
# (2) recovery of the generating parameters
# --------------------------------------------------------------------------


def test_recovers_simulated_parameters(sim, sim_fit):
    fit = sim_fit
    assert fit.converged and fit.iterations < 30
    assert np.corrcoef(fit.rater_severity, sim["c"])[0, 1] > 0.95  # .997 at this seed
    assert np.corrcoef(fit.person_measure, sim["b"])[0, 1] > 0.95  # .981
    assert np.abs(fit.item_difficulty - sim["d"]).max() < 0.2  # .06
    # Thresholds within 0.2 logits (.056 at this seed; at most .16 over seeds 0-9).
    # Budget: threshold SE here is .03-.04 from ~1,900 ratings per step, but it is
    # the model SE with the persons treated as known, so it understates the real
    # error; and JMLE spreads the thresholds outwards by roughly 1/(L-1) of their
    # size with L = 48 ratings per person (~.04 at F = 2).  3 x .05 + .04 ~ .2.
    assert np.abs(fit.thresholds - TRUE_F).max() < 0.2
    assert np.all(np.diff(fit.thresholds[1:]) > 0)
    assert np.all(np.isfinite(fit.threshold_se[1:])) and np.isnan(fit.threshold_se[0])
    fair = fit.fair_average(5)
    assert np.all((fair > 0) & (fair < 4))
    assert np.all(np.diff(fair[np.argsort(fit.person_measure)]) > 0)  # monotone in the measure
    assert np.corrcoef(fair, sim["b"])[0, 1] > 0.95


def test_positive_severity_means_lower_ratings():
    data = simulate(1, n_persons=80, n_raters=10, raters_per_person=6)
    x = data["x"].copy()
    harsh = data["rater"] == 3
    x[harsh] = np.maximum(x[harsh] - 1, 0)  # rater 3 gives one category less, everyone
    base = fit_mfrm(data["person"], data["rater"], data["item"], data["x"], 5)
    shifted = fit_mfrm(data["person"], data["rater"], data["item"], x, 5)
    assert shifted.rater_severity[3] - base.rater_severity[3] > 0.5


def test_sparse_chained_design_converges():
    """Every ratee and rater in about two 5-item forms: long, thin chains that element-wise sweeps cross slowly.

    Facets-style sweeps (one Newton step per element) need ~345 here; Newton on all parameters at once ~10.
    """
    rng = np.random.default_rng(4)
    n = 600
    form_person, form_rater = rng.integers(0, n, 2 * n), rng.integers(0, n, 2 * n)
    person, rater = np.repeat(form_person, 5), np.repeat(form_rater, 5)
    item = rng.integers(0, 10, person.size)
    b, c = rng.normal(0, 1, n), rng.normal(0, 0.5, n)
    x = draw(rng, b[person] - c[rater], TRUE_F)
    fit = fit_mfrm(person, rater, item, x, 5, max_iterations=30)
    assert fit.converged
    assert np.isfinite(fit.person_measure[fit.person_count > 0]).all()



@pytest.mark.parametrize("design", ["simulated", "sparse-chain"])
def test_estimates_solve_the_likelihood_equations(sim, design):
    """At the maximum every raw score equals its expected score: per ratee, rater, item and category step.

    Checked with category_moments/category_probabilities, not the solver's own arithmetic.
    """
    if design == "simulated":
        person, rater, item, x = sim["person"], sim["rater"], sim["item"], sim["x"]
    else:
        rng = np.random.default_rng(4)
        n = 600
        person, rater = np.repeat(rng.integers(0, n, 2 * n), 5), np.repeat(rng.integers(0, n, 2 * n), 5)
        item = rng.integers(0, 10, person.size)
        x = draw(rng, rng.normal(0, 1, n)[person] - rng.normal(0, 0.5, n)[rater], TRUE_F)
    fit = fit_mfrm(person, rater, item, x, 5, tol=1e-8)
    assert fit.converged
    keep = fit.person_estimated[person] & fit.rater_estimated[rater] & fit.item_estimated[item]
    eta = fit.person_measure[person] - fit.item_difficulty[item] - fit.rater_severity[rater]
    expected, variance, _ = category_moments(eta[keep], fit.thresholds)
    for code, estimated in ((person, fit.person_estimated), (rater, fit.rater_estimated), (item, fit.item_estimated)):
        size = estimated.size
        gap = np.bincount(code[keep], x[keep] - expected, size)[estimated]
        scale = np.sqrt(np.bincount(code[keep], variance, size)[estimated])
        assert np.abs(gap / scale).max() < 1e-6  # in SEs of the element's raw score
    at_least = np.cumsum(category_probabilities(eta[keep], fit.thresholds)[:, ::-1], axis=1)[:, ::-1][:, 1:]
    observed = np.array([(x[keep] >= k).sum() for k in range(1, 5)])
    np.testing.assert_allclose(at_least.sum(axis=0), observed, atol=1e-5)


@pytest.mark.parametrize("tol", [1e-2, 1e-4])
def test_tolerance_bounds_the_distance_to_the_maximum(tol):
    """A fit stopped at ``tol`` has every measure within ``tol`` logits of a fit to 1e-11.

    The stop may come before a step smaller than ``tol`` (when the steps shrink fast enough), never so early
    that the measures are further than ``tol`` from the maximum.
    """
    data = simulate(6, n_persons=400, n_raters=60)
    args = (data["person"], data["rater"], data["item"], data["x"], 5)
    loose, tight = fit_mfrm(*args, tol=tol), fit_mfrm(*args, tol=1e-11)
    assert loose.converged and tight.converged
    assert loose.iterations < tight.iterations
    for measure in ("person_measure", "rater_severity", "item_difficulty", "thresholds"):
        assert np.nanmax(np.abs(getattr(loose, measure) - getattr(tight, measure))) < tol


def test_solver_groups_change_the_speed_not_the_fit(sim):
    """Any grouping of persons and raters (work units in practice) gives the same maximum; a short one is refused."""
    args = (sim["person"], sim["rater"], sim["item"], sim["x"], 5)
    plain = fit_mfrm(*args, tol=1e-9)
    n_persons, n_raters = sim["b"].size, sim["c"].size
    groups = (np.arange(n_persons) % 25, np.where(np.arange(n_raters) % 9 == 0, -1, np.arange(n_raters) % 5))
    grouped = fit_mfrm(*args, tol=1e-9, groups=groups)
    assert grouped.converged
    for name in ("person_measure", "rater_severity", "item_difficulty", "thresholds", "rater_infit", "rater_outfit"):
        np.testing.assert_allclose(getattr(grouped, name), getattr(plain, name), atol=1e-7)
    ungrouped = fit_mfrm(*args, tol=1e-9, groups=(np.full(n_persons, -1), np.full(n_raters, -1)))
    np.testing.assert_allclose(ungrouped.rater_severity, plain.rater_severity, atol=1e-7)
    with pytest.raises(ValueError, match="groups must give a group for each"):
        fit_mfrm(*args, groups=(groups[0][:-1], groups[1]))


# --------------------------------------------------------------------------
# (3) an erratic rater and a straight-lining rater
# --------------------------------------------------------------------------


def test_erratic_rater_misfits_and_straight_liner_overfits(sim):
    rng = np.random.default_rng(11)
    spread = np.argsort(sim["b"])[::5]  # 40 persons across the whole range
    person = np.repeat(spread, 6)
    item = np.tile(np.arange(6), spread.size)
    erratic, flat = 40, 41
    fit = fit_mfrm(
        np.concatenate([sim["person"], person, person]),
        np.concatenate([sim["rater"], np.full(person.size, erratic), np.full(person.size, flat)]),
        np.concatenate([sim["item"], item, item]),
        np.concatenate([sim["x"], rng.integers(0, 5, person.size), np.full(person.size, 2)]),
        5,
    )
    assert np.argmax(fit.rater_infit) == erratic and np.argmax(fit.rater_outfit) == erratic
    assert fit.rater_infit[erratic] > 1.5 and fit.rater_outfit[erratic] > 1.5  # 3.56 and 3.59
    assert fit.rater_infit_zstd[erratic] > 2 and fit.rater_outfit_zstd[erratic] > 2
    assert fit.rater_infit[flat] < 0.7  # .40
    assert fit.rater_infit_zstd[flat] < -2
    ordinary = fit.rater_infit[:40]
    assert np.all((ordinary > 0.7) & (ordinary < 1.3))


# --------------------------------------------------------------------------
# (4) an independent loop-based implementation of the §3.5 formulas
# --------------------------------------------------------------------------


def _loop_moments(eta, thresholds):
    """P_k = exp(sum_{h=0..k}(eta - F_h)) / sum_m exp(sum_{h=0..m}(eta - F_h)); returns E, W, C."""
    logs = [sum(eta - thresholds[h] for h in range(k + 1)) for k in range(len(thresholds))]
    top = max(logs)
    num = [math.exp(v - top) for v in logs]
    probs = [v / sum(num) for v in num]
    e = sum(k * pk for k, pk in enumerate(probs))
    w = sum((k - e) ** 2 * pk for k, pk in enumerate(probs))
    c = sum((k - e) ** 4 * pk for k, pk in enumerate(probs))
    return e, w, c, probs


def _loop_zstd(mnsq, q):
    return (mnsq ** (1 / 3) - 1) * (3 / q) + q / 3


def _loop_statistics(fit, person, rater, item, x):
    """Per element: SE, infit, outfit and their ZSTD, residual score; one observation at a time."""
    thresholds = [float(v) for v in fit.thresholds]
    rows = []
    for n, j, i, k in zip(person.tolist(), rater.tolist(), item.tolist(), x.tolist()):
        eta = fit.person_measure[n] - fit.item_difficulty[i] - fit.rater_severity[j]
        e, w, c, probs = _loop_moments(eta, thresholds)
        rows.append((n, j, i, k, e, w, c, probs))
    out = {}
    for facet, column in (("person", 0), ("rater", 1), ("item", 2)):
        stats = {}
        for element in sorted({row[column] for row in rows}):
            mine = [row for row in rows if row[column] == element]
            count = len(mine)
            sum_w = sum(row[5] for row in mine)
            outfit = sum((row[3] - row[4]) ** 2 / row[5] for row in mine) / count
            infit = sum((row[3] - row[4]) ** 2 for row in mine) / sum_w
            q_out = math.sqrt(sum(row[6] / row[5] ** 2 for row in mine) / count**2 - 1 / count)
            q_in = math.sqrt(sum(row[6] - row[5] ** 2 for row in mine) / sum_w**2)
            stats[element] = dict(
                se=1 / math.sqrt(sum_w),
                infit=infit,
                infit_zstd=_loop_zstd(infit, q_in),
                outfit=outfit,
                outfit_zstd=_loop_zstd(outfit, q_out),
                residual=sum(row[3] - row[4] for row in mine),
            )
        out[facet] = stats
    step_residual = [
        sum(sum(row[7][k:]) - (row[3] >= k) for row in rows) for k in range(1, len(thresholds))
    ]  # E[#x >= k] - O[#x >= k]
    return out, step_residual


def test_fit_statistics_match_a_loop_implementation():
    data = simulate(5, n_persons=25, n_raters=6, n_items=3, raters_per_person=3)
    person, rater, item, x = data["person"], data["rater"], data["item"], data["x"]
    fit = fit_mfrm(person, rater, item, x, 5, tol=1e-11)
    assert fit.converged
    for facet in ("person", "rater", "item"):
        assert not np.any(getattr(fit, f"{facet}_extreme")), "the comparison needs data without extreme scores"
    assert np.all(fit.category_count > 0)
    loop, step_residual = _loop_statistics(fit, person, rater, item, x)
    for facet in ("person", "rater", "item"):
        elements = sorted(loop[facet])
        for stat in ("se", "infit", "infit_zstd", "outfit", "outfit_zstd"):
            expected = [loop[facet][e][stat] for e in elements]
            np.testing.assert_allclose(getattr(fit, f"{facet}_{stat}")[elements], expected, rtol=1e-9, atol=1e-12)
        # the estimates solve the JMLE equations: observed = expected raw score per element
        np.testing.assert_allclose([loop[facet][e]["residual"] for e in elements], 0.0, atol=1e-7)
    np.testing.assert_allclose(step_residual, 0.0, atol=1e-7)
    # fair average: sum k P_k(B_n - 0 - 0; F)
    fair = [_loop_moments(b, [float(v) for v in fit.thresholds])[0] for b in fit.person_measure]
    np.testing.assert_allclose(fit.fair_average(5), fair, rtol=1e-12)
    np.testing.assert_allclose(fit.fair_average(), fair, rtol=1e-12)
    # centring: items and raters average 0, thresholds sum to 0
    assert abs(fit.item_difficulty.mean()) < 1e-12 and abs(fit.rater_severity.mean()) < 1e-12
    assert abs(fit.thresholds[1:].sum()) < 1e-12


def test_rating_moments_by_block_are_one_pass_bit_for_bit(sim, sim_fit, monkeypatch):
    idx = (sim["person"], sim["rater"], sim["item"])
    scores, psi = _support(sim_fit.thresholds)
    person_b, rater_c, item_d = sim_fit.person_measure, sim_fit.rater_severity, sim_fit.item_difficulty
    whole = _moments(_probs(person_b[idx[0]] - item_d[idx[2]] - rater_c[idx[1]], scores, psi), scores, fourth=True)
    monkeypatch.setattr(rasch, "_CURVATURE_BLOCK", 1000)  # ten blocks of 9,600 ratings, the last one short
    by_block = _rating_moments(person_b, rater_c, item_d, idx, scores, psi)
    assert len(by_block) == 3
    for one_pass, blocked in zip(whole, by_block):
        assert np.array_equal(one_pass, blocked)


def test_row_order_does_not_matter_and_inputs_are_left_alone(sim):
    # The frame hands the ratings sorted by ratee and the fit then reads them uncopied; any other order is sorted first.
    columns = (sim["person"], sim["rater"], sim["item"], sim["x"])
    before = [c.copy() for c in columns]
    in_order = fit_mfrm(*columns, 5, tol=1e-10)
    shuffled = np.random.default_rng(3).permutation(columns[0].size)
    other_order = fit_mfrm(*(c[shuffled] for c in columns), 5, tol=1e-10)
    for name in ("person_measure", "rater_severity", "item_difficulty", "thresholds", "rater_infit", "rater_outfit"):
        np.testing.assert_allclose(getattr(other_order, name), getattr(in_order, name), rtol=1e-8, atol=1e-9)
    for column, copy in zip(columns, before):
        assert np.array_equal(column, copy)


# --------------------------------------------------------------------------
# (5) extreme scores and awkward data stay finite
# --------------------------------------------------------------------------


def _with_extremes():
    """Person 0 all highest, person 1 all lowest; rater 12 all highest, rater 13 all lowest (to others)."""
    data = simulate(2, n_persons=60, n_raters=12, n_items=4, raters_per_person=4)
    person, rater, item, x = data["person"], data["rater"], data["item"], data["x"].copy()
    x[person == 0] = 4
    x[person == 1] = 0
    rated = np.arange(2, 22)
    extra_person = np.tile(np.repeat(rated, 4), 2)
    extra_rater = np.repeat([12, 13], rated.size * 4)
    extra_item = np.tile(np.arange(4), 2 * rated.size)
    extra_x = np.repeat([4, 0], rated.size * 4)
    return (
        np.concatenate([person, extra_person]),
        np.concatenate([rater, extra_rater]),
        np.concatenate([item, extra_item]),
        np.concatenate([x, extra_x]),
    )


def test_extreme_persons_and_raters_get_finite_adjusted_measures():
    person, rater, item, x = _with_extremes()
    fit = fit_mfrm(person, rater, item, x, 5)
    assert fit.converged
    for arr in (fit.person_measure, fit.person_se, fit.rater_severity, fit.rater_se, fit.item_difficulty, fit.thresholds):
        assert np.all(np.isfinite(arr))
    assert list(fit.person_extreme[:2]) == [1, -1] and not np.any(fit.person_extreme[2:])
    assert list(fit.rater_extreme[12:]) == [1, -1] and not np.any(fit.rater_extreme[:12])
    assert np.argmax(fit.person_measure) == 0 and np.argmin(fit.person_measure) == 1
    assert np.argmin(fit.rater_severity) == 12 and np.argmax(fit.rater_severity) == 13  # lenient, severe
    assert fit.n_estimation < fit.n_observations
    # placed where the expected raw score is the raw score moved 0.3 points inwards
    # (all partners of these four are non-extreme, so every rating counts)
    thresholds = [float(v) for v in fit.thresholds]
    for n, sign in ((0, -1), (1, 1)):
        mine = np.flatnonzero(person == n)
        expected = sum(
            _loop_moments(fit.person_measure[n] - fit.item_difficulty[item[t]] - fit.rater_severity[rater[t]], thresholds)[0]
            for t in mine
        )
        assert expected == pytest.approx(x[mine].sum() + sign * 0.3, abs=1e-5)
    for j, sign in ((12, -1), (13, 1)):
        mine = np.flatnonzero(rater == j)
        expected = sum(
            _loop_moments(fit.person_measure[person[t]] - fit.item_difficulty[item[t]] - fit.rater_severity[j], thresholds)[0]
            for t in mine
        )
        assert expected == pytest.approx(x[mine].sum() + sign * 0.3, abs=1e-5)
    # an all-same row at the end of the scale has nothing to misfit
    assert np.isnan(fit.person_infit[:2]).all() and np.isnan(fit.rater_outfit_zstd[12:]).all()
    assert np.isfinite(fit.person_infit[2:]).all() and np.isfinite(fit.rater_infit[:12]).all()
    # the extreme elements did not inform the others: same as fitting without their ratings
    keep = (person > 1) & (rater < 12)
    core = fit_mfrm(person[keep], rater[keep], item[keep], x[keep], 5)
    np.testing.assert_allclose(fit.rater_severity[:12], core.rater_severity, atol=1e-5)
    np.testing.assert_allclose(fit.thresholds, core.thresholds, atol=1e-5)


def test_ratee_and_rater_linked_only_by_lowest_ratings_are_placed_not_estimated():
    """Rater 12 rates ratee 60 (nobody else does) in the middle of the scale and ratee 0 all lowest.

    Neither is extreme, yet moving both up together raises the likelihood
    without end (rater 12 ever more severe towards ratee 0): no finite MLE,
    and plain JMLE creeps on for ever.  They must be set aside and placed.
    """
    data = simulate(3, n_persons=60, n_raters=12, n_items=4, raters_per_person=4)
    person = np.concatenate([data["person"], [0, 0, 0, 0, 60, 60, 60, 60]])
    rater = np.concatenate([data["rater"], [12] * 8])
    item = np.concatenate([data["item"], [0, 1, 2, 3] * 2])
    x = np.concatenate([data["x"], [0, 0, 0, 0, 1, 2, 3, 2]])
    fit = fit_mfrm(person, rater, item, x, 5)
    assert fit.converged and fit.iterations < 30
    assert not fit.rater_estimated[12] and not fit.person_estimated[60]
    assert fit.rater_extreme[12] == 0 and fit.person_extreme[60] == 0
    assert fit.rater_estimated[:12].all() and fit.person_estimated[:60].all()
    assert np.isfinite(fit.rater_severity).all() and np.isfinite(fit.person_measure).all()
    assert np.argmax(fit.rater_severity) == 12
    # the others are exactly what the data without these eight ratings give
    alone = fit_mfrm(data["person"], data["rater"], data["item"], data["x"], 5)
    np.testing.assert_allclose(fit.rater_severity[:12], alone.rater_severity, atol=1e-5)
    np.testing.assert_allclose(fit.person_measure[:60], alone.person_measure, atol=1e-5)
    # rater 12 is placed from its all-lowest ratings of ratee 0 (0 + 0.3 points), ratee 60 from rater 12
    thresholds = [float(v) for v in fit.thresholds]
    def expected_from_rater_12(n):
        eta = fit.person_measure[n] - fit.item_difficulty[:4] - fit.rater_severity[12]
        return sum(_loop_moments(v, thresholds)[0] for v in eta)

    assert expected_from_rater_12(0) == pytest.approx(0.3, abs=1e-5)
    assert expected_from_rater_12(60) == pytest.approx(8.0, abs=1e-5)


def test_unused_and_skipped_categories_and_tiny_data_stay_finite(sim):
    person, rater, item, x = sim["person"], sim["rater"], sim["item"], sim["x"]
    nobody_lowest = fit_mfrm(person, rater, item, np.maximum(x, 1), 5)
    assert nobody_lowest.converged and np.isnan(nobody_lowest.thresholds[0])
    assert np.all(np.isfinite(nobody_lowest.person_measure)) and np.all(np.isfinite(nobody_lowest.thresholds[1:]))
    assert np.all(nobody_lowest.fair_average(5) >= 1.0)
    nobody_middle = fit_mfrm(person, rater, item, np.where(x == 2, 3, x), 5)
    assert nobody_middle.converged and np.isnan(nobody_middle.thresholds[2])
    assert np.all(np.isfinite(nobody_middle.person_measure))
    # two ratees, one rating each: everything is extreme, nothing can be estimated, measures are still finite
    tiny = fit_mfrm([0, 1], [0, 0], [0, 0], [3, 4], 5)
    assert np.all(np.isfinite(tiny.person_measure)) and tiny.person_measure[1] > tiny.person_measure[0]
    assert tiny.n_estimation == 0
    # E = 3 + sigma(B) = 3.3 for the all-lowest ratee (with the scale reduced to the used 3..4)
    assert tiny.person_measure[0] == pytest.approx(math.log(0.3 / 0.7), abs=1e-6)


def test_not_observed_rows_are_ignored_and_inputs_are_checked(sim, sim_fit):
    score = sim["x"].astype(float)
    score[::7] = np.nan
    category = sim["x"].copy()
    category[3::11] = -1
    for missing, mask in ((score, ~np.isnan(score)), (category, category >= 0)):
        with_missing = fit_mfrm(sim["person"], sim["rater"], sim["item"], missing, 5)
        without = fit_mfrm(sim["person"][mask], sim["rater"][mask], sim["item"][mask], sim["x"][mask], 5)
        np.testing.assert_array_equal(with_missing.person_measure, without.person_measure)
    sized = fit_mfrm(sim["person"], sim["rater"], sim["item"], sim["x"], 5, n_persons=203, n_raters=41)
    assert sized.person_measure.shape == (203,) and np.isnan(sized.person_measure[200:]).all()
    assert sized.rater_count[40] == 0 and np.isnan(sized.rater_infit[40])
    np.testing.assert_allclose(sized.person_measure[:200], sim_fit.person_measure, atol=1e-9)
    with pytest.raises(ValueError, match="below n_categories"):
        fit_mfrm(sim["person"], sim["rater"], sim["item"], sim["x"], 4)
    with pytest.raises(ValueError, match="same category"):
        fit_mfrm([0, 1], [0, 0], [0, 0], [2, 2], 5)
    with pytest.raises(ValueError, match="no observed"):
        fit_mfrm([0, 1], [0, 0], [0, 0], [-1, -1], 5)
    with pytest.raises(ValueError, match="length"):
        fit_mfrm([0, 1], [0], [0, 0], [1, 2], 5)
    with pytest.raises(ValueError, match="whole numbers"):
        fit_mfrm([0, 1], [0, 0], [0, 0], [1.5, 2.0], 5)
    with pytest.raises(ValueError, match="fitted with 5"):
        sim_fit.fair_average(7)


# --------------------------------------------------------------------------
# (6) facet summary (Facets Table 7)
# --------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["person", "rater", "item"])
def test_facet_summary_identities(sim_fit, kind):
    s = sim_fit.facet_summary(kind)
    measure, se = {
        "person": (sim_fit.person_measure, sim_fit.person_se),
        "rater": (sim_fit.rater_severity, sim_fit.rater_se),
        "item": (sim_fit.item_difficulty, sim_fit.item_se),
    }[kind]
    g = s.separation
    assert s.n == measure.size and s.df == measure.size - 1
    assert s.reliability == pytest.approx(g**2 / (1 + g**2), rel=1e-12)
    assert s.strata == pytest.approx((4 * g + 1) / 3, rel=1e-12)
    assert s.rmse == pytest.approx(math.sqrt(np.mean(se**2)), rel=1e-12)
    assert s.sd == pytest.approx(np.std(measure), rel=1e-12)
    assert s.true_sd**2 == pytest.approx(s.sd**2 - s.rmse**2, rel=1e-9)
    assert s.reliability == pytest.approx(s.true_sd**2 / s.sd**2, rel=1e-9)
    w = [1 / v**2 for v in se]
    mean_w = sum(wi * m for wi, m in zip(w, measure)) / sum(w)
    assert s.chi_square == pytest.approx(sum(wi * (m - mean_w) ** 2 for wi, m in zip(w, measure)), rel=1e-9)
    assert sim_fit.facet_summary(kind, sample=True).sd == pytest.approx(np.std(measure, ddof=1), rel=1e-12)


def test_facet_summary_values_and_clamp(sim_fit):
    raters = sim_fit.facet_summary("rater")
    assert raters.reliability > 0.9 and raters.separation > 3  # raters truly differ (SD .5, SE ~.08)
    assert raters.chi_square > 5 * raters.df
    noisy = dataclasses.replace(sim_fit, rater_se=sim_fit.rater_se * 100)  # error swamps the spread
    clamped = noisy.facet_summary("rater")
    assert clamped.true_sd == 0 and clamped.separation == 0 and clamped.reliability == 0
    assert clamped.strata == pytest.approx(1 / 3)
    with pytest.raises(ValueError, match="kind"):
        sim_fit.facet_summary("ratee")


def test_facet_summary_leaves_extremes_out_unless_asked():
    person, rater, item, x = _with_extremes()
    fit = fit_mfrm(person, rater, item, x, 5)
    assert fit.facet_summary("person").n == 58
    assert fit.facet_summary("person", include_extreme=True).n == 60
    assert fit.facet_summary("rater").n == 12


# --------------------------------------------------------------------------
# optional: raschpy (PAIR/CPAT/RCL estimation, not JMLE), tolerances of Appendix A.3
# --------------------------------------------------------------------------


def test_agrees_with_raschpy(sim, sim_fit):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        raschpy = pytest.importorskip("raschpy")
        import pandas as pd

        wide = pd.DataFrame({"rater": sim["rater"], "person": sim["person"], "item": sim["item"], "x": sim["x"]})
        wide = wide.pivot_table(index=["rater", "person"], columns="item", values="x")
        model = raschpy.MFRM(wide, max_score=4)
        model.calibrate(model="global")
        model.fit_statistics(model="global", se=False, test_stats=False)
    raters = np.arange(40)
    severity = pd.Series(model.raters_global).reindex(raters).to_numpy()
    severity = severity - severity.mean()
    assert np.corrcoef(severity, sim_fit.rater_severity)[0, 1] > 0.99  # .9997
    assert np.abs(severity - sim_fit.rater_severity).max() < 0.15  # .073
    for theirs, ours in (("rater_outfit_ms_global", sim_fit.rater_outfit), ("rater_infit_ms_global", sim_fit.rater_infit)):
        values = pd.Series(getattr(model, theirs)).reindex(raters).to_numpy()
        assert np.abs(values - ours).max() < 0.05  # .033 / .028
