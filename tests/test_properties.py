"""Properties that must hold for any data (hypothesis drives the simulator's seed and shape)."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from appraisal.rubric import load_rubric
from appraisal.simulate import SimulationSettings, simulate
from appraisal.testing import make_host, score_rows

HAND = Path(__file__).parent / "fixtures" / "hand.yaml"
PROPERTY_SETTINGS = settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
WEIGHTINGS = st.sampled_from(["group-weights", "equal-groups", "equal-raters"])


def simulated_rows(rubric_path: Path, seed: int, employees: int, peers: int) -> list[dict[str, str]]:
    rubric = load_rubric(rubric_path).rubric
    data = simulate(rubric, SimulationSettings(employees=employees, seed=seed, peers=peers, unit_size_min=3, unit_size_max=6))
    return data.ratings.to_pylist()


def numbers_and_text(value, path=""):
    """Flatten a record into (path, leaf) pairs so records can be compared with a float tolerance."""
    if isinstance(value, dict):
        for key in sorted(value):
            yield from numbers_and_text(value[key], f"{path}.{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from numbers_and_text(item, f"{path}[{index}]")
    else:
        yield path, value


def assert_records_close(left: dict, right: dict, shift: float = 0.0, shifted=lambda path: False) -> None:
    a, b = list(numbers_and_text(left)), list(numbers_and_text(right))
    assert [p for p, _ in a] == [p for p, _ in b]
    for (path, x), (_, y) in zip(a, b):
        if isinstance(x, float) and isinstance(y, float) and not isinstance(x, bool):
            expected = x + shift if shifted(path) else x
            assert math.isclose(y, expected, abs_tol=2e-6), (path, x, y)  # results keep 6 decimals
        else:
            assert x == y, (path, x, y)


@PROPERTY_SETTINGS
@given(seed=st.integers(0, 10_000), order=st.integers(0, 10_000), weighting=WEIGHTINGS)
def test_row_order_does_not_change_results(tmp_path_factory, seed, order, weighting):
    rows = simulated_rows(HAND, seed, employees=14, peers=3)
    shuffled = [rows[i] for i in np.random.default_rng(order).permutation(len(rows))]
    host = make_host()
    first = score_rows(host, HAND, rows, tmp_path_factory.mktemp("a"), weighting=weighting)
    second = score_rows(host, HAND, shuffled, tmp_path_factory.mktemp("b"), weighting=weighting)
    for left, right in zip(first.employees(), second.employees(), strict=True):
        assert_records_close(left, right)


LINEAR_FIELDS = {"score", "score_raw", "score_shown", "self", "others", "mean", "mean_calibrated", "overall", "overall_raw", "overall_shown"}


def _is_linear(path: str) -> bool:
    """Weighted means of scores move with the scores; shares, gaps and counts do not."""
    leaf = path.rsplit(".", 1)[-1]
    return leaf in LINEAR_FIELDS or leaf.split("[")[0] in ("interval", "overall_interval")


@PROPERTY_SETTINGS
@given(seed=st.integers(0, 10_000), shift=st.integers(-3, 4), weighting=WEIGHTINGS)
def test_adding_a_constant_shifts_linear_results(tmp_path_factory, seed, shift, weighting):
    rows = simulated_rows(HAND, seed, employees=12, peers=3)
    moved = [{**row, "score": str(int(row["score"]) + shift) if row["score"] not in ("", "NA") else row["score"]} for row in rows]
    text = HAND.read_text(encoding="utf-8").replace("rater_groups:", f"scale: {{min: {1 + shift}, max: {5 + shift}}}\nrater_groups:", 1)
    shifted_rubric = tmp_path_factory.mktemp("rubric") / "shifted.yaml"
    shifted_rubric.write_text(text.replace("min: 1, label", f"min: {min(1, 1 + shift)}, label"), encoding="utf-8")
    host = make_host()
    base = score_rows(host, HAND, rows, tmp_path_factory.mktemp("a"), weighting=weighting)
    other = score_rows(host, shifted_rubric, moved, tmp_path_factory.mktemp("b"), weighting=weighting)
    for left, right in zip(base.employees(), other.employees(), strict=True):
        for record in (left, right):
            record.pop("category")  # the bands are not shifted, so categories (and their robustness) may differ
            record.pop("classifications")
            record["flags"] = [f for f in record["flags"] if f["rule"] != "leave-one-rater-out"]
            record.pop("trace")  # the trace's own arithmetic is checked in test_scoring
        assert_records_close(left, right, shift=shift, shifted=_is_linear)


CALIBRATIONS = st.sampled_from([[], ["crossed-re"], ["additive-bias"], ["shrinkage"], ["crossed-re", "shrinkage"]])


def perturb_hidden(
    tmp_path_factory, seed: int, peers: int, noise: int, weighting: str, calibration: list[str] | None = None
) -> tuple[int, list, list]:
    """Score simulated data, then again with every hidden group's observed scores replaced at random.

    :returns: (number of ratings changed, records before, records after).
    """
    rows = simulated_rows(HAND, seed, employees=16, peers=peers)
    host = make_host()
    base = list(score_rows(host, HAND, rows, tmp_path_factory.mktemp("a"), weighting=weighting, calibration=calibration).employees())
    hidden = {
        (record["employee_id"], competency["id"], group["group"])
        for record in base
        for competency in record["competencies"]
        for group in competency["groups"]
        if not group["shown"]
    }
    rng = np.random.default_rng(noise)
    changed, perturbed = 0, []
    for row in rows:
        if (row["ratee_id"], row["competency"], row["relationship"]) in hidden and row["score"] not in ("", "NA"):
            row = {**row, "score": str(int(rng.integers(1, 6)))}
            changed += 1
        perturbed.append(row)
    other = list(score_rows(host, HAND, perturbed, tmp_path_factory.mktemp("b"), weighting=weighting, calibration=calibration).employees())
    return changed, base, other


@PROPERTY_SETTINGS
@given(
    seed=st.integers(0, 10_000), peers=st.integers(1, 3), noise=st.integers(0, 10_000), weighting=WEIGHTINGS, calibration=CALIBRATIONS
)
def test_hidden_groups_never_leak(tmp_path_factory, seed, peers, noise, weighting, calibration):
    """Replacing the scores of every hidden group leaves every published number unchanged, calibrated or not."""
    _, base, other = perturb_hidden(tmp_path_factory, seed, peers, noise, weighting, calibration)
    assert base == other


def test_leak_check_really_perturbs(tmp_path_factory):
    """Guard for the property above: with one peer per employee, peers are hidden and their scores do change."""
    changed, base, other = perturb_hidden(tmp_path_factory, seed=1, peers=1, noise=2, weighting="group-weights")
    assert changed > 20
    assert base == other
