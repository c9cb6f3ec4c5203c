"""Rater-effect models against independent implementations, and the calibration steps end to end."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import statsmodels.formula.api as smf

from appraisal.effects import Design, connected_components, moment_components, reml_components, solve_effects
from appraisal.rubric import load_rubric
from appraisal.scoring import RaterCells, weight_totals
from appraisal.simulate import SimulationSettings, simulate
from appraisal.testing import make_host, score_rows
from appraisal.uncertainty import RaterSpread, competency_se, overall_se

from test_scoring import HAND, ROWS

CONTOH = load_rubric("contoh-360").rubric


def synthetic_design(seed: int, ratees: int = 40, raters: int = 50, per_ratee: int = 5):
    """Ratings from the crossed model itself, as a Design and as a DataFrame for statsmodels."""
    rng = np.random.default_rng(seed)
    theta, leniency = rng.normal(0, 0.6, ratees), rng.normal(0, 0.4, raters)
    competency_effect, group_effect = np.array([0.0, 0.3, -0.2]), np.array([0.0, 0.25])
    rows = []
    for u in range(ratees):
        for r in rng.choice(raters, per_ratee, replace=False):
            g = int(rng.random() < 0.3)
            for c in range(3):
                rows.append((u, r, c, g, 3 + theta[u] + leniency[r] + competency_effect[c] + group_effect[g] + rng.normal(0, 0.5)))
    frame = pd.DataFrame(rows, columns=["ratee", "rater", "comp", "grp", "y"])
    frame["rater"] = np.unique(frame.rater, return_inverse=True)[1]  # drop raters who rated nobody
    n_raters = int(frame.rater.max()) + 1
    design = Design(
        frame.y.to_numpy(), frame.ratee.to_numpy(), frame.rater.to_numpy(), ratees, n_raters,
        ((frame.comp.to_numpy(), 3), (frame.grp.to_numpy(), 2)),
    )
    return design, frame


def statsmodels_fit(frame: pd.DataFrame):
    frame = frame.assign(one=1)
    model = smf.mixedlm(
        "y ~ C(comp) + C(grp)", frame, groups="one", re_formula="0",
        vc_formula={"ratee": "0 + C(ratee)", "rater": "0 + C(rater)"},
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return model.fit(reml=True, method=["lbfgs"], gtol=1e-10)


def start_values(design: Design):
    rough = solve_effects(design, 1.0, 1.0, tol=1e-8)
    return moment_components(design, design.y - (rough.fitted(design) - rough.ratee[design.ratee] - rough.rater[design.rater]))


@pytest.mark.parametrize("seed", [3, 11])
def test_reml_matches_statsmodels(seed):
    design, frame = synthetic_design(seed)
    fit = statsmodels_fit(frame)
    components, beta, theta, rater = reml_components(design, start_values(design), tol=1e-12)
    assert components.converged
    # statsmodels vcomp is ordered by vc_formula keys: ratee, rater
    np.testing.assert_allclose([components.ratee, components.rater], fit.vcomp, rtol=2e-4)
    np.testing.assert_allclose(components.residual, fit.scale, rtol=2e-5)
    effects = fit.random_effects[1]
    theirs_theta = np.array([effects[f"ratee[C(ratee)[{u}]]"] for u in range(design.n_ratees)])
    theirs_rater = np.array([effects[f"rater[C(rater)[{r}]]"] for r in range(design.n_raters)])
    np.testing.assert_allclose(theta, theirs_theta, atol=2e-4)
    np.testing.assert_allclose(rater, theirs_rater, atol=2e-4)


def solver_groups(design: Design) -> tuple[np.ndarray, np.ndarray]:
    """Any grouping (work units in practice), some raters in none: the solver's speed changes, never its answer."""
    return np.arange(design.n_ratees) % 6, np.where(np.arange(design.n_raters) % 7 == 0, -1, np.arange(design.n_raters) % 4)


@pytest.mark.parametrize("grouped", [False, True])
def test_pcg_blup_equals_the_dense_solution(grouped):
    design, _ = synthetic_design(5)
    components, beta, theta, rater = reml_components(design, start_values(design), tol=1e-12)
    blup = solve_effects(
        design, components.residual / components.ratee, components.residual / components.rater, tol=1e-13,
        groups=solver_groups(design) if grouped else None,
    )
    np.testing.assert_allclose(blup.ratee, theta, atol=1e-9)
    np.testing.assert_allclose(blup.rater, rater, atol=1e-9)


def test_moments_are_close_to_reml():
    design, _ = synthetic_design(7, ratees=200, raters=220, per_ratee=6)
    moments = start_values(design)
    reml, *_ = reml_components(design, moments, tol=1e-10)
    for name in ("ratee", "rater", "residual"):
        assert getattr(moments, name) == pytest.approx(getattr(reml, name), rel=0.15), name


def test_solves_of_one_design_share_its_unit_correction_and_answer_as_fresh_ones():
    """crossed-re solves a design twice with other ridges: the second reuses the groups' aggregation."""
    design, _ = synthetic_design(11, ratees=60, raters=70)
    ratee_group, rater_group = solver_groups(design)

    def fresh(ridges, groups):
        copy = Design(design.y, design.ratee, design.rater, design.n_ratees, design.n_raters, design.fixed)
        return solve_effects(copy, *ridges, tol=1e-10, groups=groups)

    solve_effects(design, 1.0, 1.0, tol=1e-10, groups=(ratee_group, rater_group))
    built = design._normal_equations._coarse[1]
    again = solve_effects(design, 2.0, 3.0, tol=1e-10, groups=(ratee_group.copy(), rater_group.copy()))
    assert design._normal_equations._coarse[1] is built
    expected = fresh((2.0, 3.0), (ratee_group, rater_group))
    assert np.array_equal(again.ratee, expected.ratee) and np.array_equal(again.rater, expected.rater)
    assert again.iterations == expected.iterations

    other = (ratee_group % 2, rater_group)  # other groups: a new aggregation, and again the fresh answer
    regrouped = solve_effects(design, 2.0, 3.0, tol=1e-10, groups=other)
    assert design._normal_equations._coarse[1] is not built
    assert np.array_equal(regrouped.rater, fresh((2.0, 3.0), other).rater)


def test_solver_groups_must_cover_every_ratee_and_rater():
    design, _ = synthetic_design(5)
    ratee_group, rater_group = solver_groups(design)
    with pytest.raises(ValueError, match="groups must give a group for each"):
        solve_effects(design, 1.0, 1.0, groups=(ratee_group[:-1], rater_group))


@pytest.mark.parametrize("grouped", [False, True])
@pytest.mark.parametrize("ridge", [0.0, 2.5])
def test_additive_fixed_effects_match_least_squares(ridge, grouped):
    full, frame = synthetic_design(9)
    design = Design(full.y, full.ratee, full.rater, full.n_ratees, full.n_raters, full.fixed[:1])  # competency only
    components = connected_components(design.ratee, design.rater, design.n_ratees, design.n_raters)
    groups = solver_groups(design) if grouped else None
    fit = solve_effects(design, 0.0, ridge, tol=1e-13, max_iter=20_000, components=components[:2], groups=groups)
    # Independent oracle: lstsq on the dummy design, ridge as extra rows sqrt(ridge)·I on the rater columns.
    dummies = pd.get_dummies(frame[["comp", "ratee", "rater"]].astype(str), drop_first=False).to_numpy(float)
    columns = np.column_stack([np.ones(len(frame)), dummies])
    rater_columns = [i + 1 for i, name in enumerate(pd.get_dummies(frame[["comp", "ratee", "rater"]].astype(str)).columns) if name.startswith("rater_")]
    penalty = np.zeros((len(rater_columns), columns.shape[1]))
    penalty[np.arange(len(rater_columns)), rater_columns] = np.sqrt(ridge)
    stacked = np.vstack([columns, penalty])
    target = np.concatenate([frame.y.to_numpy(), np.zeros(len(rater_columns))])
    solution, *_ = np.linalg.lstsq(stacked, target, rcond=None)
    np.testing.assert_allclose(fit.fitted(design), columns @ solution, atol=1e-8)


def test_connected_components_find_isolated_teams():
    # Team A: ratees 0-2 rated by raters 0-1; team B: ratee 3 rated by rater 2; rater 3 rates nobody.
    ratee = np.array([0, 1, 2, 0, 3, 3])
    rater = np.array([0, 0, 1, 1, 2, 2])
    ratee_component, rater_component, n = connected_components(ratee, rater, 4, 4)
    assert n == 3
    assert ratee_component.tolist() == [0, 0, 0, 1]
    assert rater_component.tolist() == [0, 0, 1, 2]


def simulated(employees: int, seed: int, **settings):
    data = simulate(CONTOH, SimulationSettings(employees=employees, seed=seed, **settings))
    return data, data.ratings.to_pylist()


def truth_by_employee(data) -> dict[str, float]:
    truth = data.truth.to_pandas()
    weights = {c.id: c.weight for c in CONTOH.layout.competencies}
    truth["w"] = truth.competency.map(weights)
    return (truth.true_score * truth.w).groupby(truth.employee_id).sum().div(truth.w.groupby(truth.employee_id).sum()).to_dict()


def rmse(run, truth: dict[str, float], field: str) -> float:
    pairs = [(r[field], truth[r["employee_id"]]) for r in run.employees() if r[field] is not None]
    values, true = np.array(pairs).T
    return float(np.sqrt(np.mean((values - values.mean() - (true - true.mean())) ** 2)))


@pytest.fixture(scope="module")
def lenient_world(tmp_path_factory):
    data, rows = simulated(400, 21, leniency_sd=0.6)
    host = make_host()
    runs = {
        name: score_rows(host, "contoh-360", rows, tmp_path_factory.mktemp(name), weighting="equal-raters", calibration=steps)
        for name, steps in {"raw": [], "crossed-re": ["crossed-re"], "additive-bias": ["additive-bias"]}.items()
    }
    return data, runs


def test_calibration_recovers_true_levels_better_than_raw_means(lenient_world):
    data, runs = lenient_world
    truth = truth_by_employee(data)
    raw = rmse(runs["raw"], truth, "overall")
    for name in ("crossed-re", "additive-bias"):
        assert rmse(runs[name], truth, "overall") < 0.85 * raw, name


def test_estimated_leniency_tracks_the_planted_leniency(lenient_world):
    data, runs = lenient_world
    planted = dict(zip(data.raters.column("rater_id").to_pylist(), data.raters.column("leniency").to_pylist()))
    for name in ("crossed-re", "additive-bias"):
        effects = runs[name].outcome.rater_effects[name]
        frame = runs[name].outcome.inputs.frame
        estimated = {str(r): e for r, e in zip(frame.raters, effects.effect) if np.isfinite(e)}
        common = sorted(set(estimated) & set(planted))
        correlation = np.corrcoef([estimated[r] for r in common], [planted[r] for r in common])[0, 1]
        assert correlation > 0.9, (name, correlation)
        assert np.all(effects.se[np.isfinite(effects.effect)] > 0)


def test_calibration_summary_and_trace(lenient_world):
    _, runs = lenient_world
    step = next(s for s in runs["crossed-re"].meta["steps"] if s["step"] == "calibration")
    summary = step["summary"]
    assert summary["variance_components"]["method"] == "reml"
    assert summary["variance_components"]["converged"] is True
    assert summary["components"][0]["calibrated_within_component_only"] is False
    record = runs["crossed-re"].record(5)
    calibration = next(t for t in record["trace"] if t["step"] == "calibration")
    assert set(calibration["rater_leniency"]) <= {"supervisor", "peer", "subordinate"}
    assert all("crossed-re" in value and value["raters"] >= 1 for value in calibration["rater_leniency"].values())


# With competency a's two items, 12 people make 240 ratings against 144 possible (ratee, rater) pairs:
# the solver then keeps its pairs as a dense matrix, which lists absent pairs too.
@pytest.mark.parametrize("rated", [(("b", ""), ("c", "")), (("a", "a1"), ("a", "a2"), ("b", ""), ("c", ""))], ids=["sparse", "dense"])
def test_disconnected_teams_are_not_moved_against_each_other(tmp_path, rated):
    """Two units that share no rater: leniency and unit level cannot be told apart, so neither unit's mean moves."""
    rows = []
    rng = np.random.default_rng(4)
    for unit, bump in (("A", 1.0), ("B", 0.0)):
        people = [f"{unit}{i}" for i in range(6)]
        for ratee in people:
            for rater in people:
                if rater != ratee:
                    for competency, item in rated:
                        score = int(np.clip(np.rint(3 + bump + rng.normal(0, 0.7)), 1, 5))
                        rows.append((ratee, rater, "peer", competency, item, score))
    run = score_rows(make_host(), HAND, rows, tmp_path, weighting="equal-raters", calibration=["crossed-re"])
    records = {r["employee_id"]: r for r in run.employees()}
    for unit in "AB":
        raw = np.mean([records[f"{unit}{i}"]["overall_raw"] for i in range(6)])
        final = np.mean([records[f"{unit}{i}"]["overall"] for i in range(6)])
        assert final == pytest.approx(raw, abs=1e-5), unit  # records keep 6 decimals
    summary = next(s for s in run.meta["steps"] if s["step"] == "calibration")["summary"]
    assert [c["calibrated_within_component_only"] for c in summary["components"]] == [False, True]
    assert [c["bridging_raters"] for c in summary["components"]] == [0, 0]  # nobody rates in both units
    notes = [next(t for t in records[f"B{i}"]["trace"] if t["step"] == "calibration")["notes"] for i in range(6)]
    notes_a = [next(t for t in records[f"A{i}"]["trace"] if t["step"] == "calibration")["notes"] for i in range(6)]
    assert sum(bool(n) for n in notes + notes_a) == 6  # exactly one unit (the second component) is told


def test_shrinkage_pulls_thin_evidence_toward_the_organisation_mean(tmp_path):
    data, rows = simulated(120, 8, peers=2)
    host = make_host()
    (tmp_path / "raw").mkdir()
    raw = score_rows(host, "contoh-360", rows, tmp_path / "raw", calibration=[])
    shrunk = score_rows(host, "contoh-360", rows, tmp_path, calibration=["shrinkage"])
    before = np.array([r["overall"] for r in raw.employees()], dtype=float)
    after = np.array([r["overall"] for r in shrunk.employees()], dtype=float)
    scored = ~np.isnan(before)
    mean = before[scored].mean()
    # Every score moves toward the mean, never past it, and the spread shrinks.
    toward = np.abs(after[scored] - mean) <= np.abs(before[scored] - mean) + 1e-9
    assert toward.all()
    assert np.std(after[scored]) < np.std(before[scored])
    summary = next(s for s in shrunk.meta["steps"] if s["step"] == "calibration")["summary"]
    assert 0 < summary["smallest_weight_on_own_score"] <= summary["mean_weight_on_own_score"] < 1


def test_standard_errors_by_hand():
    """Two competencies, one employee, raters p and q; s² = 0.5, halo ρ = 0.5."""
    cells = RaterCells(
        ratee=np.array([0, 0, 0, 0]),
        rater=np.array([0, 1, 0, 1]),
        group=np.array([0, 0, 0, 0]),
        competency=np.array([0, 0, 1, 1]),
        score=np.array([3.0, 4.0, 2.0, 4.0]),
        items_observed=np.ones(4, dtype=np.int64),
        eligible=np.ones(4, dtype=bool),
        group_size=np.full(4, 2),
        of_rating=np.arange(4),
    )
    weights = np.full(4, 0.5)
    spread = RaterSpread(np.array([0.5]), 0.5, 0.5, np.array([2]))
    se = competency_se(cells, weights, spread, weight_totals(cells, weights, (1, 2, 1)))
    # SE² = 0.5² × 0.5 + 0.5² × 0.5 = 0.25
    np.testing.assert_allclose(se, [[0.5, 0.5]])
    rubric = load_rubric(HAND).rubric  # competencies a (cluster x) and b (cluster y), c unscored
    competency = np.array([[3.5, 3.0, np.nan]])
    cells3 = RaterCells(**{**cells.__dict__, "group_size": np.full(4, 2)})
    total = overall_se(cells3, weights, competency, rubric.layout, spread, weight_totals(cells3, weights, (1, 3, 1)))
    # Overall = ½ A + ½ B (clusters weighted 2 and 2); every cell coefficient A_i = ½ × ½ = ¼, s = √0.5.
    # independent part: 4 × (¼ √0.5)² = 0.125; shared per rater: 2 × (2 × ¼ √0.5)² = 0.25
    # SE² = ½ × 0.125 + ½ × 0.25 = 0.1875
    np.testing.assert_allclose(total, [np.sqrt(0.1875)])


def test_leave_one_rater_out_by_hand(tmp_path):
    """Hand data (tests/test_scoring.py): overall 3.8125 → 'high' (≥ 3.8).

    Without the supervisor: A = 3.5, B = 3, C has no counted group → overall (2·3.5 + 2·3)/4 = 3.25 → 'low'.
    Without P1 or P2 the peers fall below 2 raters and are hidden: A = 4.5, B = 3, C = 4 → 4.0 → still 'high'.
    """
    run = score_rows(make_host(), HAND, ROWS, tmp_path)
    assert run.outcome.fragile == {0: [list(run.outcome.inputs.frame.raters).index("S")]}
    flags = [f for f in run.flags() if f.rule == "leave-one-rater-out"]
    assert [(f.audience, "S" in f.message["en"]) for f in flags] == [("employee", False), ("hr", True)]
    record = run.record(0)
    assert [f["rule"] for f in record["flags"]].count("leave-one-rater-out") == 1  # only the one without names


def test_leave_one_rater_out_computes_only_what_the_classifier_reads(tmp_path, monkeypatch):
    """The bands classifier reads the final scores alone: rescoring without each rater computes no
    standard errors or group statistics beyond the run's own (one call each)."""
    import appraisal.pipeline as pipeline

    calls = {"overall_se": 0, "competency_se": 0, "group_stats": 0}
    for name in calls:
        original = getattr(pipeline, name)

        def counted(*args, _name=name, _original=original, **kwargs):
            calls[_name] += 1
            return _original(*args, **kwargs)

        monkeypatch.setattr(pipeline, name, counted)
    run = score_rows(make_host(), HAND, ROWS, tmp_path)
    assert run.outcome.fragile == {0: [list(run.outcome.inputs.frame.raters).index("S")]}  # the check did run
    assert calls == {"overall_se": 1, "competency_se": 1, "group_stats": 1}


def test_deferred_summary_computes_each_field_once_when_first_read():
    from dataclasses import fields, replace

    from appraisal.components import ScoreSummary
    from appraisal.pipeline import _DeferredSummary

    computed: list[str] = []

    def later(name, value):
        def compute(summary):
            computed.append(name)
            return value(summary)

        return compute

    names = [f.name for f in fields(ScoreSummary)]
    ready = {name: np.array([1.0]) for name in names if name not in ("overall_se", "reliability")}
    summary = _DeferredSummary(
        ready,
        {
            "overall_se": later("overall_se", lambda s: np.array([0.5])),
            "reliability": later("reliability", lambda s: 1 - s.overall_se),  # reads another deferred field
        },
    )
    assert computed == [] and summary.overall.tolist() == [1.0]
    assert summary.reliability.tolist() == [0.5] and summary.reliability.tolist() == [0.5]
    assert computed == ["reliability", "overall_se"]  # each once, the one read first asking for the other
    changed = summary.deferring({"overall_se": later("overall_se", lambda s: np.array([0.25]))})
    assert changed.overall_se.tolist() == [0.25] and changed.reliability.tolist() == [0.5]  # computed stays computed
    plain = summary.resolved()
    assert type(plain) is ScoreSummary and {n: getattr(plain, n).tolist() for n in names} == {n: getattr(summary, n).tolist() for n in names}
    assert replace(summary, overall=np.array([2.0])).overall_se.tolist() == [0.5]
    with pytest.raises(AttributeError):
        summary.not_a_field  # noqa: B018


def test_required_group_missing_is_insufficient_evidence(tmp_path):
    rubric = tmp_path / "rubric.yaml"
    rubric.write_text(HAND.read_text(encoding="utf-8").replace("scoring:\n", "scoring:\n  required_groups: [supervisor]\n"), encoding="utf-8")
    rows = [row for row in ROWS if row[2] != "supervisor"] + [("E2", "S", "supervisor", "b", "", 4)]
    run = score_rows(make_host(), rubric, rows, tmp_path)
    records = {r["employee_id"]: r for r in run.employees()}
    assert records["E1"]["status"] == "insufficient_evidence"
    assert any(f["rule"] == "evidence" for f in records["E1"]["flags"])
