"""Reliability statistics against independent implementations.

Oracles: pingouin (ICC, Cronbach), krippendorff (alpha), statsmodels (one-way
ANOVA mean squares), pandas group-bys and plain-Python loops written here,
and hand-computed cases (scoring-science.md §4.2 test vectors).  The oracle
packages emit deprecation warnings under the installed pandas, which the
pytest configuration would turn into errors, so only their calls are wrapped.
"""

from __future__ import annotations

import json
import math
import warnings
from fractions import Fraction

import numpy as np
import pytest

from appraisal.reliability import (
    ad_index,
    coincidence_matrix,
    cronbach_alpha,
    gstudy_nested,
    icc_oneway,
    krippendorff_alpha,
    reliability_report,
    rwg,
    rwg_j,
    rwg_j_by_target,
)


def need(module: str):
    """An oracle package, or skip: they are test-only and may be missing outside the dev environment."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return pytest.importorskip(module)


ENTRY_KEYS = {
    "n_ratees",
    "n_raters_mean",
    "n0",
    "icc1",
    "icck",
    "var_ratee",
    "var_rater_error",
    "raters_for_0_70",
    "raters_for_0_80",
    "alpha_interval",
    "alpha_ordinal",
    "rwg_median",
    "rwg_share_at_least_0_70",
    "cronbach_alpha",
}


def quiet(call, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return call(*args, **kwargs)


def pingouin_icc(targets: np.ndarray, values: np.ndarray, k: int) -> tuple[float, float]:
    """ICC(1,1) and ICC(1,k) from pingouin, with raters labelled by their slot within the target."""
    pd, pg = need("pandas"), need("pingouin")
    data = pd.DataFrame({"target": targets, "slot": np.tile(np.arange(k), len(values) // k), "y": values})
    table = quiet(pg.intraclass_corr, data=data, targets="target", raters="slot", ratings="y").set_index("Type")
    return float(table.loc["ICC(1,1)", "ICC"]), float(table.loc["ICC(1,k)", "ICC"])


def anova_mean_squares(targets, values) -> tuple[float, float, float]:
    """MSB, MSW (statsmodels one-way ANOVA) and Searle's n0 from pandas counts."""
    pd, sm, smf = need("pandas"), need("statsmodels.api"), need("statsmodels.formula.api")
    data = pd.DataFrame({"target": np.asarray(targets).astype(str), "y": values})
    table = quiet(sm.stats.anova_lm, quiet(smf.ols("y ~ C(target)", data).fit))
    msb, msw = float(table.loc["C(target)", "mean_sq"]), float(table.loc["Residual", "mean_sq"])
    sizes = data.groupby("target").size().to_numpy(dtype=float)
    n, u = sizes.sum(), len(sizes)
    return msb, msw, (n - (sizes**2).sum() / n) / (u - 1)


def balanced(seed: int, targets: int = 25, k: int = 4) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    effect = rng.normal(0, 0.6, targets)
    target = np.repeat(np.arange(targets), k)
    return target, np.round(3 + effect[target] + rng.normal(0, 0.7, targets * k), 2)


# ---------------------------------------------------------------------------
# ICC and G-study
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("k", [2, 4])
def test_icc_matches_pingouin_on_balanced_data(seed, k):
    target, values = balanced(seed, k=k)
    icc1, icck = pingouin_icc(target, values, k)
    ours = icc_oneway(target, values)
    assert ours["icc1"] == pytest.approx(icc1, abs=1e-10)
    assert ours["icck"] == pytest.approx(icck, abs=1e-10)
    assert ours["n0"] == pytest.approx(k)
    assert (ours["n_targets"], ours["n_values"]) == (25, 25 * k)


def test_icc_unbalanced_hand_case():
    # A: 2, 4 (mean 3); B: 3, 5, 7 (mean 5); C: 6.  Grand mean 27/6 = 4.5.
    # SSB = 2(1.5²) + 3(0.5²) + 1.5² = 7.5 → MSB = 3.75;  SSW = 2 + 8 + 0 = 10 → MSW = 10/3;
    # n0 = (6 − 14/6)/2 = 11/6;  ICC(1) = (5/12)/(235/36) = 3/47;  ICC(1,k) = (5/12)/(15/4) = 1/9.
    ours = icc_oneway(["A", "A", "B", "B", "B", "C"], [2, 4, 3, 5, 7, 6])
    assert ours["msb"] == pytest.approx(3.75, abs=1e-12)
    assert ours["msw"] == pytest.approx(10 / 3, abs=1e-12)
    assert ours["n0"] == pytest.approx(float(Fraction(11, 6)), abs=1e-12)
    assert ours["icc1"] == pytest.approx(3 / 47, abs=1e-12)
    assert ours["icck"] == pytest.approx(1 / 9, abs=1e-12)
    # icck is Spearman–Brown of icc1 at k = n0.
    n0, icc1 = ours["n0"], ours["icc1"]
    assert ours["icck"] == pytest.approx(n0 * icc1 / (1 + (n0 - 1) * icc1), abs=1e-12)


@pytest.mark.parametrize("seed", [3, 4])
def test_icc_unbalanced_matches_statsmodels_anova(seed):
    rng = np.random.default_rng(seed)
    sizes = rng.integers(1, 7, 40)
    target = np.repeat(np.arange(40), sizes) * 7 + 100  # arbitrary, non-contiguous codes
    values = rng.normal(0, 1, 40)[np.repeat(np.arange(40), sizes)] + rng.normal(0, 1, sizes.sum())
    values[rng.random(values.size) < 0.05] = np.nan
    keep = ~np.isnan(values)
    msb, msw, n0 = anova_mean_squares(target[keep], values[keep])
    ours = icc_oneway(target, values)
    assert ours["n_values"] == keep.sum()
    assert (ours["msb"], ours["msw"], ours["n0"]) == pytest.approx((msb, msw, n0), abs=1e-10)
    assert ours["icc1"] == pytest.approx((msb - msw) / (msb + (n0 - 1) * msw), abs=1e-10)
    assert ours["icck"] == pytest.approx((msb - msw) / msb, abs=1e-10)


def test_icc_edge_cases_are_nan_without_warnings():
    one_target = icc_oneway([1, 1, 1], [2.0, 3.0, 4.0])
    assert math.isnan(one_target["icc1"]) and math.isnan(one_target["msb"]) and one_target["msw"] == 1.0
    singletons = icc_oneway([1, 2, 3], [2.0, 3.0, 5.0])  # one rater per ratee, e.g. supervisors
    assert math.isnan(singletons["icc1"]) and math.isnan(singletons["icck"]) and math.isnan(singletons["msw"])
    constant = icc_oneway([1, 1, 2, 2], [0.1, 0.1, 0.1, 0.1])  # 0/0
    assert math.isnan(constant["icc1"]) and math.isnan(constant["icck"])
    empty = icc_oneway([], [])
    assert empty["n_targets"] == 0 and math.isnan(empty["icc1"])
    perfect = icc_oneway([1, 1, 2, 2], [3.0, 3.0, 4.0, 4.0])  # raters agree exactly
    assert perfect["icc1"] == 1.0 and perfect["icck"] == 1.0
    dropped = icc_oneway([1, 1, 2, 2, 2], [2.0, 4.0, 3.0, np.nan, 5.0])
    assert dropped["n_values"] == 4
    assert dropped["icc1"] == pytest.approx(icc_oneway([1, 1, 2, 2], [2, 4, 3, 5])["icc1"])


@pytest.mark.parametrize("seed", [5, 6])
def test_gstudy_components_match_anova_and_pingouin(seed):
    k = 3
    target, values = balanced(seed, targets=30, k=k)
    msb, msw, _ = anova_mean_squares(target, values)
    _, icck = pingouin_icc(target, values, k)
    g = gstudy_nested(target, values)
    assert g["var_target"] == pytest.approx((msb - msw) / k, abs=1e-10)
    assert g["var_rater_error"] == pytest.approx(msw, abs=1e-10)
    # Eρ² at n' = k is ICC(1,k).
    projected = g["var_target"] / (g["var_target"] + g["var_rater_error"] / k)
    assert projected == pytest.approx(icck, abs=1e-10)
    assert g["e_rho2"] == pytest.approx(icck, abs=1e-10)


def test_dstudy_hand_case():
    # Means 4, 5, 6 with spread (−1, 0, +1): MSB = 3·2/2 = 3, MSW = 6/6 = 1, so
    # σ²_p = (3 − 1)/3 = 2/3, σ²_e = 1 and Eρ²(n) = 2n/(2n + 3):
    # .70 needs n ≥ 3.5 → 4;  .80 needs n ≥ 6 (exactly: Eρ²(6) = 12/15);  .90 needs n ≥ 13.5 → 14.
    target = np.repeat([0, 1, 2], 3)
    values = np.array([3, 4, 5, 4, 5, 6, 5, 6, 7], dtype=float)
    g = gstudy_nested(target, values, goals=(0.70, 0.80, 0.90))
    assert g["var_target"] == pytest.approx(2 / 3, abs=1e-12)
    assert g["var_rater_error"] == pytest.approx(1.0, abs=1e-12)
    assert g["raters_needed"] == {0.70: 4, 0.80: 6, 0.90: 14}
    for goal, needed in g["raters_needed"].items():  # brute force: first n reaching the goal
        reach = [n for n in range(1, 100) if Fraction(2 * n, 2 * n + 3) >= Fraction(goal).limit_denominator(100)]
        assert needed == reach[0]
    # No ratee variance (MSB < MSW): no number of raters helps.
    flat = gstudy_nested([0, 0, 1, 1], [1.0, 5.0, 2.0, 4.0])
    assert flat["var_target"] < 0
    assert flat["raters_needed"] == {0.70: None, 0.80: None}


# ---------------------------------------------------------------------------
# Krippendorff's alpha
# ---------------------------------------------------------------------------


def random_reliability_data(seed: int, continuous: bool) -> np.ndarray:
    rng = np.random.default_rng(seed)
    coders, units = int(rng.integers(2, 8)), int(rng.integers(5, 80))
    truth = rng.normal(3, 1, units)
    data = truth + rng.normal(0, 0.9, (coders, units))
    data = np.round(data, 1) if continuous else np.clip(np.rint(data), 1, 5)
    data[rng.random(data.shape) < 0.3] = np.nan
    data[:, 0] = np.nan  # a unit nobody rated
    data[1:, 1] = np.nan  # a unit with a single value (not pairable)
    return data


def long_form(data: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Units as arbitrary codes; coders are dropped (alpha does not need them)."""
    units = np.tile(np.arange(data.shape[1]) * 3 + 11, data.shape[0])
    return units, data.reshape(-1)


@pytest.mark.parametrize("seed", range(8))
@pytest.mark.parametrize("level", ["interval", "ordinal", "nominal"])
@pytest.mark.parametrize("continuous", [False, True])
def test_krippendorff_matches_package(seed, level, continuous):
    krippendorff = need("krippendorff")
    data = random_reliability_data(seed, continuous)
    expected = krippendorff.alpha(reliability_data=data, level_of_measurement=level)
    units, values = long_form(data)
    shuffle = np.random.default_rng(seed).permutation(values.size)
    assert krippendorff_alpha(units[shuffle], values[shuffle], level) == pytest.approx(expected, abs=1e-10)


def naive_coincidences(data: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Krippendorff's o_ck by the definition, with plain loops over units and coder pairs."""
    values = np.unique(data[~np.isnan(data)])
    index = {v: i for i, v in enumerate(values)}
    o = np.zeros((len(values), len(values)))
    for column in data.T:
        present = column[~np.isnan(column)]
        if len(present) < 2:
            continue
        for a in range(len(present)):
            for b in range(len(present)):
                if a != b:
                    o[index[present[a]], index[present[b]]] += 1 / (len(present) - 1)
    used = o.sum(axis=0) > 0
    return values[used], o[np.ix_(used, used)]


def alpha_from_coincidences(values: np.ndarray, o: np.ndarray, level: str) -> float:
    """§4.3 formulas applied to a coincidence matrix (independent of the module's identities)."""
    n_c = o.sum(axis=0)
    n = n_c.sum()
    c, k = np.meshgrid(np.arange(len(values)), np.arange(len(values)), indexing="ij")
    if level == "interval":
        delta = (values[c] - values[k]) ** 2
    elif level == "nominal":
        delta = (c != k).astype(float)
    else:
        cumulative = np.r_[0, np.cumsum(n_c)]
        low, high = np.minimum(c, k), np.maximum(c, k)
        delta = (cumulative[high + 1] - cumulative[low] - (n_c[c] + n_c[k]) / 2) ** 2
    d_o = (o * delta).sum() / n
    d_e = (np.outer(n_c, n_c) * delta).sum() / (n * (n - 1))
    return 1 - d_o / d_e


@pytest.mark.parametrize("seed", range(4))
def test_coincidence_matrix_matches_definition(seed):
    data = random_reliability_data(seed, continuous=seed % 2 == 1)
    values, o = coincidence_matrix(*long_form(data))
    expected_values, expected = naive_coincidences(data)
    np.testing.assert_allclose(values, expected_values)
    np.testing.assert_allclose(o, expected, atol=1e-12)
    units, flat = long_form(data)
    for level in ("interval", "ordinal", "nominal"):
        assert alpha_from_coincidences(values, o, level) == pytest.approx(
            krippendorff_alpha(units, flat, level), abs=1e-10
        )


def test_krippendorff_degenerate_cases_are_nan():
    assert math.isnan(krippendorff_alpha([1, 2, 3], [1.0, 2.0, 3.0]))  # nothing pairable
    assert math.isnan(krippendorff_alpha([1, 1, 2, 2], [3.0, 3.0, 3.0, 3.0], "ordinal"))  # no variation
    assert math.isnan(krippendorff_alpha([], [], "nominal"))
    assert krippendorff_alpha([1, 1, 2, 2], [1.0, 1.0, 2.0, 2.0], "nominal") == 1.0
    with pytest.raises(ValueError):
        krippendorff_alpha([1, 1], [1.0, 2.0], "ratio")


# ---------------------------------------------------------------------------
# r_wg, AD, Cronbach
# ---------------------------------------------------------------------------


def test_rwg_hand_vectors():
    assert rwg([4, 4, 5, 3], 5) == pytest.approx(0.6667, abs=5e-5)
    assert ad_index([4, 4, 5, 3]) == pytest.approx(0.5)
    items = np.array([[4, 4, 5, 3], [3, 4, 4, 4], [5, 5, 4, 4]], dtype=float)
    assert rwg_j(items.T, 5) == pytest.approx(0.9194, abs=5e-5)  # raters × items
    assert rwg([1, 5, 1, 5], 5) == 0.0  # more spread than random answering: truncated
    assert rwg_j(np.array([[1, 1], [5, 5], [1, 1], [5, 5]]), 5) == 0.0
    assert math.isnan(rwg([3], 5)) and math.isnan(rwg_j(np.array([[3.0, 4.0]]), 5))
    assert rwg([4, 4, np.nan, 4], 5) == 1.0


def test_rwg_j_by_target_matches_rwg_j_per_target():
    items = np.array([[4, 4, 5, 3], [3, 4, 4, 4], [5, 5, 4, 4]], dtype=float)  # items × raters
    other = np.array([[1, 5, 3], [2, 4, np.nan], [5, 1, 3]], dtype=float)
    target, item, values = [], [], []
    for code, matrix in (("b", items), ("a", other)):
        for i, row in enumerate(matrix):
            target += [code] * len(row)
            item += [i] * len(row)
            values += list(row)
    target += ["c"]  # a single rater: no agreement to measure
    item += [0]
    values += [4.0]
    targets, r = rwg_j_by_target(np.array(target), np.array(item), np.array(values), 5)
    assert list(targets) == ["a", "b", "c"]
    assert r[1] == pytest.approx(rwg_j(items.T, 5), abs=1e-12)
    assert r[0] == pytest.approx(rwg_j(other.T, 5), abs=1e-12)
    assert math.isnan(r[2])


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_rwg_j_by_target_matches_pandas(seed):
    pd = need("pandas")
    rng = np.random.default_rng(seed)
    rows = 600
    data = pd.DataFrame(
        {"target": rng.integers(0, 60, rows), "item": rng.integers(0, 4, rows), "y": rng.integers(1, 6, rows) * 1.0}
    )
    data = data.drop_duplicates(["target", "item", "y"])
    variances = data.groupby(["target", "item"]).y.agg(["var", "count"]).query("count >= 2")
    per_target = variances.groupby("target")["var"].agg(["mean", "count"])
    q = per_target["mean"] / 2.0
    j = per_target["count"]
    expected = np.where(q >= 1, 0.0, j * (1 - q) / (j * (1 - q) + q))
    targets, r = rwg_j_by_target(data.target.to_numpy(), data.item.to_numpy(), data.y.to_numpy(), 5)
    lookup = dict(zip(targets, r, strict=True))
    np.testing.assert_allclose([lookup[t] for t in per_target.index], expected, atol=1e-12)
    assert all(math.isnan(lookup[t]) for t in set(targets) - set(per_target.index))


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_cronbach_matches_pingouin_listwise(seed):
    pd, pg = need("pandas"), need("pingouin")
    rng = np.random.default_rng(seed)
    common = rng.normal(0, 1, (80, 1))
    wide = np.round(3 + common + rng.normal(0, 0.8, (80, 5)), 1)
    wide[rng.random(wide.shape) < 0.06] = np.nan
    expected, _ = quiet(pg.cronbach_alpha, data=pd.DataFrame(wide), nan_policy="listwise")
    assert cronbach_alpha(wide) == pytest.approx(expected, abs=1e-10)


def test_cronbach_degenerate_cases_are_nan():
    assert math.isnan(cronbach_alpha(np.ones((5, 1))))
    assert math.isnan(cronbach_alpha(np.array([[1.0, np.nan], [2.0, 3.0]])))
    assert math.isnan(cronbach_alpha(np.full((4, 3), 2.0)))


# ---------------------------------------------------------------------------
# The per-run report on simulated data
# ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def simulated(tmp_path_factory):
    from appraisal.rubric import load_rubric
    from appraisal.scoring import counting
    from appraisal.simulate import SimulationSettings, simulate
    from appraisal.testing import make_host, score_rows

    rubric = load_rubric("contoh-360").rubric
    rows = simulate(rubric, SimulationSettings(employees=150, seed=11)).ratings.to_pylist()
    run = score_rows(make_host(), "contoh-360", rows, tmp_path_factory.mktemp("reliability"))
    outcome = run.outcome
    layout = outcome.rubric.rubric.layout
    cells = outcome.cells
    mask = counting(cells, layout)
    report = reliability_report(outcome.inputs.frame, cells, mask, layout, 1, 5)
    return outcome, layout, cells, mask, report


def counting_cells(cells, mask, layout):
    """The counting non-self cells as a DataFrame, with the cluster of each competency."""
    pd = need("pandas")
    data = pd.DataFrame(
        {
            "ratee": cells.ratee,
            "rater": cells.rater,
            "group": np.asarray(layout.group_ids)[cells.group],
            "comp": cells.competency,
            "cluster": np.asarray(layout.cluster_ids)[layout.competency_cluster[cells.competency]],
            "score": cells.score,
        }
    )
    return data[mask & (cells.group != layout.self_group)]


def select(data, scope: str, part: str):
    if scope != "all_others":
        data = data[data.group == scope]
    return data if part == "overall" else data[data.cluster == part]


def test_report_structure_and_json(simulated):
    _, layout, _, _, report = simulated
    groups = [g for g in layout.group_ids if g != "self"]
    assert list(report) == [*groups, "all_others"]
    for scope in report.values():
        assert list(scope) == ["overall", *layout.cluster_ids]
        for entry in scope.values():
            assert set(entry) == ENTRY_KEYS
            for value in entry.values():
                assert value is None or type(value) in (int, float)
    json.dumps(report, allow_nan=False)
    # A lone supervisor per ratee gives no within-source agreement; nobody is in "other".
    assert report["supervisor"]["overall"]["icc1"] is None
    assert report["supervisor"]["overall"]["n_raters_mean"] == 1.0
    assert report["other"]["overall"]["n_ratees"] == 0
    assert report["other"]["overall"]["icc1"] is None
    # One-competency cluster: Cronbach is undefined.
    assert report["all_others"]["sosial-kultural"]["cronbach_alpha"] is None


def test_report_of_a_cluster_holding_every_competency_is_the_overall_entry(simulated):
    """A one-cluster rubric's cluster entry is taken from its overall entry; both must be what the
    general path computes as the overall of the same ratings grouped in several clusters."""
    from dataclasses import replace

    outcome, layout, cells, mask, report = simulated
    one_cluster = replace(
        layout, competency_cluster=np.zeros_like(layout.competency_cluster), cluster_ids=("semua",), cluster_weight=np.ones(1)
    )
    merged = reliability_report(outcome.inputs.frame, cells, mask, one_cluster, 1, 5)
    assert list(merged) == list(report)
    for scope, entries in merged.items():
        assert list(entries) == ["overall", "semua"]
        assert entries["semua"] == entries["overall"] == report[scope]["overall"]
        assert entries["semua"] is not entries["overall"]  # a reader changing one does not change the other


@pytest.mark.parametrize(
    "scope, part", [("all_others", "overall"), ("peer", "overall"), ("all_others", "manajerial"), ("peer", "teknis")]
)
def test_report_icc_and_gstudy_match_independent_computation(simulated, scope, part):
    _, layout, cells, mask, report = simulated
    data = select(counting_cells(cells, mask, layout), scope, part)
    rater_means = data.groupby(["ratee", "rater", "group"]).score.mean().reset_index()
    msb, msw, n0 = anova_mean_squares(rater_means.ratee, rater_means.score)
    entry = report[scope][part]
    assert entry["n_ratees"] == rater_means.ratee.nunique()
    assert entry["n_raters_mean"] == pytest.approx(len(rater_means) / rater_means.ratee.nunique())
    assert entry["n0"] == pytest.approx(n0, abs=1e-10)
    assert entry["icc1"] == pytest.approx((msb - msw) / (msb + (n0 - 1) * msw), abs=1e-10)
    assert entry["icck"] == pytest.approx((msb - msw) / msb, abs=1e-10)
    assert entry["icc1"] == pytest.approx(icc_oneway(rater_means.ratee, rater_means.score)["icc1"], abs=1e-12)
    var_ratee = (msb - msw) / n0
    assert entry["var_ratee"] == pytest.approx(var_ratee, abs=1e-10)
    assert entry["var_rater_error"] == pytest.approx(msw, abs=1e-10)
    for goal, key in ((0.7, "raters_for_0_70"), (0.8, "raters_for_0_80")):
        needed = entry[key]
        assert var_ratee / (var_ratee + msw / needed) >= goal
        assert needed == 1 or var_ratee / (var_ratee + msw / (needed - 1)) < goal


def as_reliability_data(units, values) -> np.ndarray:
    """Slots × units matrix for the krippendorff package (slot = order within the unit)."""
    pd = need("pandas")
    frame = pd.DataFrame({"unit": units.to_numpy(), "value": values.to_numpy()})
    frame["slot"] = frame.groupby("unit").cumcount()
    return frame.pivot(index="slot", columns="unit", values="value").to_numpy(dtype=float)


@pytest.mark.parametrize("scope, part", [("all_others", "overall"), ("peer", "manajerial"), ("subordinate", "teknis")])
def test_report_alphas_match_krippendorff_package(simulated, scope, part):
    pd, krippendorff = need("pandas"), need("krippendorff")
    outcome, layout, cells, mask, report = simulated
    data = select(counting_cells(cells, mask, layout), scope, part)
    interval = krippendorff.alpha(
        reliability_data=as_reliability_data(data.ratee * 100 + data.comp, data.score), level_of_measurement="interval"
    )
    assert report[scope][part]["alpha_interval"] == pytest.approx(interval, abs=1e-10)

    frame = outcome.inputs.frame
    ratings = pd.DataFrame(
        {
            "cell": cells.of_rating,
            "ratee": frame.ratee,
            "question": np.where(frame.item >= 0, frame.item, 1000 + frame.competency),
            "score": frame.score,
        }
    )
    ratings = ratings[ratings.cell.isin(data.index) & ratings.score.notna()]
    ordinal = krippendorff.alpha(
        reliability_data=as_reliability_data(ratings.ratee * 10_000 + ratings.question, ratings.score),
        level_of_measurement="ordinal",
    )
    assert report[scope][part]["alpha_ordinal"] == pytest.approx(ordinal, abs=1e-10)


@pytest.mark.parametrize(
    "scope, part", [("all_others", "overall"), ("peer", "manajerial"), ("peer", "sosial-kultural")]
)
def test_report_rwg_and_cronbach_match_pandas_and_pingouin(simulated, scope, part):
    pg = need("pingouin")
    _, layout, cells, mask, report = simulated
    data = select(counting_cells(cells, mask, layout), scope, part)
    stats = data.groupby(["ratee", "comp"]).score.agg(["var", "count"]).query("count >= 2")
    per_ratee = stats.groupby("ratee")["var"].agg(["mean", "count"])
    q, j = per_ratee["mean"] / 2.0, per_ratee["count"]
    r = np.clip(np.where(q >= 1, 0.0, j * (1 - q) / (j * (1 - q) + q)), 0, 1)
    assert report[scope][part]["rwg_median"] == pytest.approx(float(np.median(r)), abs=1e-12)
    assert report[scope][part]["rwg_share_at_least_0_70"] == pytest.approx(float(np.mean(r >= 0.7)), abs=1e-12)

    forms = data.pivot_table(index=["ratee", "rater", "group"], columns="comp", values="score")
    if forms.shape[1] < 2:
        assert report[scope][part]["cronbach_alpha"] is None
    else:
        expected, _ = quiet(pg.cronbach_alpha, data=forms, nan_policy="listwise")
        assert report[scope][part]["cronbach_alpha"] == pytest.approx(expected, abs=1e-10)


def test_report_uses_only_counting_non_self_cells(simulated):
    outcome, layout, cells, mask, report = simulated
    frame = outcome.inputs.frame
    self_code, peer_code = layout.group_ids.index("self"), layout.group_ids.index("peer")
    # Self cells never enter, even when the caller marks them as counting.
    with_self = reliability_report(frame, cells, mask | (cells.group == self_code), layout, 1, 5)
    assert with_self == report
    # A group that does not count (e.g. hidden below its minimum) leaves every statistic.
    no_peers = reliability_report(frame, cells, mask & (cells.group != peer_code), layout, 1, 5)
    assert no_peers["peer"]["overall"]["n_ratees"] == 0
    assert all(v is None for k, v in no_peers["peer"]["overall"].items() if k != "n_ratees")
    assert no_peers["supervisor"] == report["supervisor"]
    assert no_peers["all_others"]["overall"]["n_raters_mean"] < report["all_others"]["overall"]["n_raters_mean"]
    assert no_peers["all_others"] != report["all_others"]


def test_report_without_a_group_matches_pandas(simulated):
    outcome, layout, cells, mask, _ = simulated
    peer_code = layout.group_ids.index("peer")
    keep = mask & (cells.group != peer_code)
    no_peers = reliability_report(outcome.inputs.frame, cells, keep, layout, 1, 5)
    rater_means = counting_cells(cells, keep, layout).groupby(["ratee", "rater", "group"]).score.mean().reset_index()
    assert set(rater_means.group) == {"supervisor", "subordinate"}
    assert no_peers["all_others"]["overall"]["icc1"] == pytest.approx(
        icc_oneway(rater_means.ratee, rater_means.score)["icc1"], abs=1e-12
    )


def test_report_sparse_answer_counts_give_the_same_report(simulated, monkeypatch):
    import appraisal.reliability as reliability

    outcome, layout, cells, mask, report = simulated
    monkeypatch.setattr(reliability, "_DENSE_PER_RATING", 0)
    monkeypatch.setattr(reliability, "_DENSE_MINIMUM", 0)
    sparse = reliability_report(outcome.inputs.frame, cells, mask, layout, 1, 5)
    for scope, parts in report.items():
        for part, entry in parts.items():
            for key, value in entry.items():
                assert sparse[scope][part][key] == pytest.approx(value, abs=1e-12), (scope, part, key)


def test_report_on_hidden_peer_group_from_the_pipeline(tmp_path):
    from appraisal.rubric import load_rubric
    from appraisal.scoring import counting
    from appraisal.simulate import SimulationSettings, simulate
    from appraisal.testing import make_host, score_rows

    rubric = load_rubric("contoh-360").rubric
    rows = simulate(rubric, SimulationSettings(employees=40, seed=2, peers=2)).ratings.to_pylist()
    outcome = score_rows(make_host(), "contoh-360", rows, tmp_path).outcome
    layout = outcome.rubric.rubric.layout
    mask = counting(outcome.cells, layout)
    report = reliability_report(outcome.inputs.frame, outcome.cells, mask, layout, 1, 5)
    # Two peers are below the peer minimum of 3: the group is hidden everywhere.
    assert report["peer"]["overall"]["n_ratees"] == 0
    peer = layout.group_ids.index("peer")
    assert not mask[outcome.cells.group == peer].any()


def test_the_run_report_sample_is_bounded_and_does_not_depend_on_order():
    from appraisal.pipeline import reliability_sample

    ids = np.array([f"19{i:016d}" for i in range(30_000)], dtype=object)
    chosen = reliability_sample(ids, 1_000)
    assert 1_000 <= chosen.sum() <= 1_001  # CRC-32 ties at the cut could add one
    shuffled = np.random.default_rng(0).permutation(len(ids))
    assert set(ids[shuffled][reliability_sample(ids[shuffled], 1_000)]) == set(ids[chosen])
    assert reliability_sample(ids[:999], 1_000).all()
