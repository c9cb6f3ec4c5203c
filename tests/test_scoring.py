"""Hand-computed scores for every built-in weighting scheme (the arithmetic is in the tests).

Data (rubric tests/fixtures/hand.yaml; peers need 2 raters, subordinates 3):

    employee E1           A (items a1, a2; weight 2)   B (weight 1)   C (weight 1)
    supervisor S          a1=4 a2=5  -> 4.5            3              4
    peer P1               a1=3 a2=3  -> 3.0            2              5
    peer P2               a1=4 a2=NA -> 4.0 (1 of 2)   4              NA  -> peers in C: 1 rater, hidden
    subordinates Q1, Q2   1 everywhere (2 < 3 raters: hidden everywhere)
    self E1               a1=5 a2=5  -> 5.0            5              5

Clusters: X = {A} (weight 2 = sum of its competency weights), Y = {B, C} (weight 2).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from appraisal.scoring import round_half_up
from appraisal.testing import score_rows

HAND = Path(__file__).parent / "fixtures" / "hand.yaml"

ROWS = [
    ("E1", "S", "supervisor", "a", "a1", 4),
    ("E1", "S", "supervisor", "a", "a2", 5),
    ("E1", "S", "supervisor", "b", "", 3),
    ("E1", "S", "supervisor", "c", "", 4),
    ("E1", "P1", "peer", "a", "a1", 3),
    ("E1", "P1", "peer", "a", "a2", 3),
    ("E1", "P1", "peer", "b", "", 2),
    ("E1", "P1", "peer", "c", "", 5),
    ("E1", "P2", "peer", "a", "a1", 4),
    ("E1", "P2", "peer", "a", "a2", "NA"),
    ("E1", "P2", "peer", "b", "", 4),
    ("E1", "P2", "peer", "c", "", "NA"),
    *[("E1", q, "subordinate", comp, item, 1) for q in ("Q1", "Q2") for comp, item in (("a", "a1"), ("a", "a2"), ("b", ""), ("c", ""))],
    ("E1", "E1", "self", "a", "a1", 5),
    ("E1", "E1", "self", "a", "a2", 5),
    ("E1", "E1", "self", "b", "", 5),
    ("E1", "E1", "self", "c", "", 5),
]


def competency(record, competency_id):
    return next(c for c in record["competencies"] if c["id"] == competency_id)


def group(record, competency_id, group_id):
    return next((g for g in competency(record, competency_id)["groups"] if g["group"] == group_id), None)


@pytest.fixture
def scored(host, tmp_path):
    def score(weighting):
        return score_rows(host, HAND, ROWS, tmp_path, weighting=weighting).record(0)

    return score


def test_group_weights_by_hand(scored):
    record = scored("group-weights")
    # A: supervisor 4.5 (w .5), peers (3.0 + 4.0)/2 = 3.5 (w .3); subordinates hidden.
    #    shares .5/.8 = .625 and .3/.8 = .375 -> .625*4.5 + .375*3.5 = 4.125
    assert competency(record, "a")["score"] == pytest.approx(4.125)
    assert group(record, "a", "supervisor")["share"] == pytest.approx(0.625)
    assert group(record, "a", "peer")["share"] == pytest.approx(0.375)
    assert group(record, "a", "peer")["mean"] == pytest.approx(3.5)
    # B: supervisor 3, peers (2 + 4)/2 = 3 -> 3.0
    assert competency(record, "b")["score"] == pytest.approx(3.0)
    # C: peers have one observed rating (< 2): hidden; supervisor alone, share 1 -> 4.0
    assert competency(record, "c")["score"] == pytest.approx(4.0)
    assert group(record, "c", "supervisor")["share"] == pytest.approx(1.0)
    # Clusters: X = 4.125; Y = (1*3 + 1*4)/2 = 3.5. Overall = (2*4.125 + 2*3.5)/4 = 3.8125
    assert record["clusters"] == [{"id": "x", "score": 4.125}, {"id": "y", "score": 3.5}]
    assert record["overall"] == pytest.approx(3.8125)
    assert record["overall_shown"] == pytest.approx(3.81)  # half-up at 2 decimals
    assert record["category"]["code"] == "high"  # 3.81 >= 3.8


def test_equal_groups_by_hand(scored):
    record = scored("equal-groups")
    # A: (4.5 + 3.5)/2 = 4.0; B: (3 + 3)/2 = 3.0; C: supervisor only = 4.0
    assert [competency(record, c)["score"] for c in "abc"] == pytest.approx([4.0, 3.0, 4.0])
    # X = 4.0; Y = 3.5; overall = (2*4 + 2*3.5)/4 = 3.75
    assert record["overall"] == pytest.approx(3.75)
    assert record["category"]["code"] == "low"


def test_equal_raters_by_hand(scored):
    record = scored("equal-raters")
    # A: (4.5 + 3.0 + 4.0)/3 = 3.8333; B: (3 + 2 + 4)/3 = 3.0; C: 4.0 (peer group hidden)
    assert [competency(record, c)["score"] for c in "abc"] == pytest.approx([11.5 / 3, 3.0, 4.0])
    assert group(record, "a", "peer")["share"] == pytest.approx(2 / 3)
    # overall = (2*3.8333 + 2*3.5)/4 = 3.6667
    assert record["overall"] == pytest.approx((2 * 11.5 / 3 + 2 * 3.5) / 4)


def test_self_is_shown_not_counted(scored):
    record = scored("group-weights")
    a = competency(record, "a")
    assert a["self"] == pytest.approx(5.0)
    assert a["self_minus_others"] == pytest.approx(5.0 - 4.125)
    self_group = group(record, "a", "self")
    assert self_group["shown"] and not self_group["counted"] and self_group["share"] == 0


def test_hidden_groups_carry_no_numbers(scored):
    record = scored("group-weights")
    assert group(record, "a", "subordinate") == {"group": "subordinate", "shown": False}
    assert group(record, "c", "peer") == {"group": "peer", "shown": False}


def test_not_observed_is_excluded_not_zero(scored):
    record = scored("group-weights")
    # P2's a2 was NA: P2's A score is 4.0 (a1 only), not (4 + 0)/2 or (4 + 3)/2.
    assert group(record, "a", "peer")["mean"] == pytest.approx((3.0 + 4.0) / 2)
    assert record["counts"] == {"ratings": len(ROWS), "not_observed": 2, "raters": 5}


def test_item_coverage_rule(host, tmp_path):
    """A rater who answered fewer than half of a competency's items does not count for it."""
    rows = [
        ("E1", "S", "supervisor", "a", "a1", 2),
        ("E1", "S", "supervisor", "a", "a2", 2),
        ("E1", "P1", "peer", "a", "a1", 4),
        ("E1", "P1", "peer", "a", "a2", 4),
        ("E1", "P2", "peer", "a", "a1", "NA"),
        ("E1", "P2", "peer", "a", "a2", "NA"),
        ("E1", "P3", "peer", "a", "a1", 5),
        ("E1", "P3", "peer", "a", "a2", 5),
    ]
    record = score_rows(host, HAND, rows, tmp_path).record(0)
    peers = group(record, "a", "peer")
    assert peers["n"] == 2 and peers["mean"] == pytest.approx(4.5)
    # .625*2 + .375*4.5 = 2.9375
    assert competency(record, "a")["score"] == pytest.approx(2.9375)


def test_trace_recomputes_overall(scored):
    """The trace alone is enough to recompute the overall score by hand."""
    record = scored("group-weights")
    trace = {step["step"]: step for step in record["trace"]}
    for comp in record["competencies"]:
        shares = trace["weighting"]["output"][comp["id"]]
        means = {g["group"]: g["mean"] for g in comp["groups"] if g.get("counted")}
        assert sum(shares[g] * means[g] for g in shares) == pytest.approx(comp["score"])
    clusters = {}
    for cluster_id, members in trace["cluster"]["inputs"].items():
        clusters[cluster_id] = sum(m["weight"] * m["score"] for m in members.values()) / sum(
            m["weight"] for m in members.values()
        )
    overall = trace["overall"]["inputs"]
    total = sum(c["weight"] * clusters[k] for k, c in overall.items()) / sum(c["weight"] for c in overall.values())
    assert total == pytest.approx(record["overall"])
    assert trace["overall"]["output"]["shown"] == pytest.approx(3.81)


@pytest.mark.parametrize(
    ("value", "decimals", "expected"),
    [(2.675, 2, 2.68), (3.8125, 2, 3.81), (3.815, 2, 3.82), (4.4999, 1, 4.5), (-1.25, 1, -1.2), (-0.375, 2, -0.37), (2.5, 0, 3.0)],
)
def test_round_half_up(value, decimals, expected):
    assert round_half_up(value, decimals) == pytest.approx(expected)


def test_round_half_up_keeps_nan():
    assert np.isnan(round_half_up(np.nan, 2))


def test_comments_only_from_shown_groups_and_without_names(host, tmp_path):
    from appraisal.testing import write_rows

    rows = [(*row, "") for row in ROWS]
    rows[0] = (*ROWS[0], "Teladan dalam disiplin")  # supervisor, A: shown
    rows[12] = (*ROWS[12], "Sering membantu, <script>alert(1)</script>")  # a subordinate: hidden group
    rows[11] = (*ROWS[11], "Jarang terlihat")  # P2 on C: peers hidden for C (one observed rating)
    header = ("ratee_id", "rater_id", "relationship", "competency", "item", "score", "comment")
    from appraisal.ingest import ingest
    from appraisal.pipeline import run_pipeline
    from appraisal.results import ComputedRun
    from appraisal.runner import load_checked_rubric

    loaded = load_checked_rubric(host, HAND)
    path = write_rows(tmp_path / "ratings.csv", rows, header)
    record = ComputedRun(run_pipeline(host, loaded, ingest(host, loaded.rubric, [path]))).record(0)
    assert record["comments"] == [{"group": "supervisor", "competency": "a", "text": "Teladan dalam disiplin"}]


def test_rater_cells_of_single_ratings_match_the_general_path(host):
    """When every rating is its own cell the cells are the frame's columns; the grouped path must agree."""
    from dataclasses import replace

    from appraisal.frame import RatingFrame
    from appraisal.runner import load_checked_rubric
    from appraisal.scoring import rater_cells

    layout = load_checked_rubric(host, HAND).rubric.layout
    rng = np.random.default_rng(7)
    n_employees, n_raters, n_comp = 30, 40, len(layout.competency_ids)
    keys = np.sort(rng.choice(n_employees * n_raters * n_comp, size=2000, replace=False))
    ratee, rest = np.divmod(keys, n_raters * n_comp)
    rater, competency = np.divmod(rest, n_comp)
    score = rng.integers(1, 6, len(keys)).astype(np.float64)
    score[rng.random(len(keys)) < 0.1] = np.nan
    n = len(keys)
    frame = RatingFrame(
        ratee=ratee, rater=rater, group=rng.integers(0, len(layout.group_ids), n), competency=competency,
        item=np.full(n, -1), score=score, source=np.zeros(n, dtype=np.int64), row=np.arange(2, n + 2),
        raters=np.array([f"R{r}" for r in range(n_raters)], dtype=object), rater_employee=np.full(n_raters, -1),
        sources=("ratings.csv",),
    )
    shuffle = rng.permutation(n)
    shuffled = replace(frame, **{name: getattr(frame, name)[shuffle] for name in ("ratee", "rater", "group", "competency", "item", "score", "source", "row")})

    direct = rater_cells(frame, layout, n_employees, 0.5)
    grouped = rater_cells(shuffled, layout, n_employees, 0.5)
    assert direct.ratee is frame.ratee  # shared, not copied
    for name in ("ratee", "rater", "group", "competency", "score", "items_observed", "eligible", "group_size"):
        np.testing.assert_array_equal(getattr(direct, name), getattr(grouped, name), err_msg=name)
    np.testing.assert_array_equal(direct.of_rating, np.arange(n))
    np.testing.assert_array_equal(grouped.of_rating, shuffle)  # shuffled row i is original row shuffle[i]
    assert direct.eligible.sum() == np.isfinite(score).sum()  # 1 of a's 2 items meets the 0.5 rule
