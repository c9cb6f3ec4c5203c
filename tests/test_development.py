"""Development plans by hand: gap priorities, learning-hour rules, self–other agreement."""

from __future__ import annotations

import numpy as np
import pytest

from appraisal.testing import make_host, score_rows
from appraisal_plugins.development import priorities

CATALOGUE = """\
id: test-catalogue
version: "1"
name: Test
programmes:
  - {id: p-a, name: A course, form: pelatihan-klasikal, competencies: [a], hours: 10}
  - {id: p-b, name: B course, form: coaching, competencies: [b], hours: 16}
  - {id: g1, name: General one, form: e-learning, competencies: ["*"], hours: 8, general: true}
  - {id: g2, name: General two, form: komunitas-belajar, competencies: ["*"], hours: 12, general: true}
"""

RUBRIC = """\
id: dev
name: Dev
version: "1"
scale: {{min: 1, max: 5, whole_points: false}}
rater_groups:
  supervisor: {{min_raters: 1}}
  self: {{min_raters: 1, counts_in_overall: false}}
clusters:
  - id: k
    name: K
    competencies:
      - {{id: a, name: A, weight: 2}}
      - {{id: b, name: B, weight: 1}}
positions:
  - {{id: staf, name: Staf, required: {{a: 4, b: 4}}}}
scoring:
  development: {{name: gap-training, options: {{catalogue: {catalogue}}}}}
  flags: []
  leave_one_out: false
"""


def test_priority_is_gap_times_weight_times_certainty():
    # gap 1, weight 2, SE 0.5: 2 × Φ(2) = 2 × 0.977250 = 1.954500
    # gap 0.5, weight 1, SE 0.5: Φ(1) × 0.5 = 0.841345 × 0.5 = 0.420672
    # no SE: the gap is taken as certain: 1 × 3 = 3
    result = priorities(np.array([1.0, 0.5, 1.0]), np.array([2.0, 1.0, 3.0]), np.array([0.5, 0.5, np.nan]))
    np.testing.assert_allclose(result, [1.954500, 0.420672, 3.0], atol=1e-6)


def plan_for(tmp_path, employees):
    """employees: (id, employment type, supervisor's a and b, self's a and b)."""
    catalogue = tmp_path / "catalogue.yaml"
    catalogue.write_text(CATALOGUE, encoding="utf-8")
    rubric = tmp_path / "rubric.yaml"
    rubric.write_text(RUBRIC.format(catalogue=catalogue), encoding="utf-8")
    rows, roster = [], []
    for employee, kind, (sa, sb), (own_a, own_b) in employees:
        rows += [(employee, "S", "supervisor", "a", "", sa), (employee, "S", "supervisor", "b", "", sb)]
        rows += [(employee, employee, "self", "a", "", own_a), (employee, employee, "self", "b", "", own_b)]
        roster.append({"employee_id": employee, "name": employee, "unit": "U", "position": "staf", "supervisor_id": "", "employment_type": kind})
    run = score_rows(make_host(), rubric, rows, tmp_path, roster=roster)
    return {r["employee_id"]: r for r in run.employees()}


def actions(record):
    return [a["programme"] for entry in record["development_plan"] for a in entry["actions"]]


def test_learning_hour_rules(tmp_path):
    records = plan_for(
        tmp_path,
        [
            ("PNS-TWO-GAPS", "PNS", (3, 3), (3, 3)),  # gaps a (prio 2×1) and b (1×1): 10 + 16 = 26 JP ≥ 20
            ("PNS-ONE-GAP", "PNS", (3, 4), (3, 4)),  # gap a only: 10 JP, + g1 (18) + g2 (30) to reach 20
            ("PPPK", "PPPK", (3, 3), (3, 3)),  # 10 + 16 = 26 > 24: b is not scheduled; 10 JP, no minimum
            ("NO-GAP", "PNS", (5, 5), (5, 5)),  # no gap: 8 + 12 = 20 JP of general development
        ],
    )
    assert actions(records["PNS-TWO-GAPS"]) == ["p-a", "p-b"]
    assert records["PNS-TWO-GAPS"]["development"]["learning_hours"]["total"] == 26
    assert actions(records["PNS-ONE-GAP"]) == ["p-a", "g1", "g2"]
    assert records["PNS-ONE-GAP"]["development"]["learning_hours"] == {
        "total": 30, "employment_type": "PNS", "minimum": 20, "maximum": None, "meets_minimum": True, "not_scheduled": [],
    }
    pppk = records["PPPK"]
    assert actions(pppk) == ["p-a"]
    assert pppk["development"]["learning_hours"]["not_scheduled"] == [{"competency": "b", "programme": "p-b", "hours": 16}]
    assert pppk["development"]["learning_hours"]["total"] == 10 and pppk["development"]["learning_hours"]["maximum"] == 24
    assert [e["competency"] for e in pppk["development_plan"]] == ["a", "b"]  # the gap stays in the plan, unscheduled
    assert actions(records["NO-GAP"]) == ["g1", "g2"]


def test_gap_priorities_order_the_plan(tmp_path):
    records = plan_for(tmp_path, [("E", "PNS", (3.5, 2.5), (3.5, 2.5))])
    plan = records["E"]["development_plan"]
    # a: gap 0.5 × weight 2 = 1.0; b: gap 1.5 × weight 1 = 1.5 (single rater: no SE, certain) → b first
    assert [(e["competency"], e["gap"], e["priority"]) for e in plan[:2]] == [("b", 1.5, 1.5), ("a", 0.5, 1.0)]


@pytest.mark.parametrize(
    ("supervisor", "own", "category"),
    [
        ((3, 3), (4.5, 4.5), "over-estimator"),  # self − others = +1.5 > 0.5
        ((4, 4), (2, 2), "under-estimator"),  # −2
        ((4.5, 4.5), (4.6, 4.6), "in-agreement-good"),  # +0.1, others above the run's median (3.75)
        ((3, 3), (3.2, 3.2), "in-agreement-poor"),  # +0.2, others below the median
    ],
)
def test_self_other_categories(tmp_path, supervisor, own, category):
    # The three other employees fix the run's median of others' scores at 3.75 (3.5, 3.75 and 4.0 with this one).
    others = [("X1", "PNS", (3.5, 3.5), (3.5, 3.5)), ("X2", "PNS", (4, 4), (4, 4)), ("X3", "PNS", (3.75, 3.75), (3.75, 3.75))]
    records = plan_for(tmp_path, [("E", "PNS", supervisor, own), *others])
    assert records["E"]["development"]["self_other"]["category"] == category


def test_blind_spots_and_hidden_strengths(tmp_path):
    records = plan_for(tmp_path, [("E", "PNS", (2, 5), (4, 3.5)), ("F", "PNS", (3, 3), (3, 3))])
    insights = records["E"]["development"]
    assert [(s["competency"], s["difference"]) for s in insights["blind_spots"]] == [("a", 2.0)]  # self 4 vs others 2
    assert [(s["competency"], s["difference"]) for s in insights["hidden_strengths"]] == [("b", -1.5)]  # 3.5 vs 5
    assert insights["strengths"] == ["b"]  # 5 ≥ required 4 + 0.5
