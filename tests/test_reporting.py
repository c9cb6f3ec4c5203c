"""The organisation summary's tables, on hand-made records."""

from appraisal.components import Flag
from appraisal.reporting import summarise

META = {
    "competencies": [{"id": "a"}, {"id": "b"}],
    "categories": {"TINGGI": {"id": "Tinggi", "en": "High"}, "RENDAH": {"id": "Rendah", "en": "Low"}},
    "classifications": [{"name": "nine-box", "primary": False, "labels": {}}],
}


def record(unit, category, scores, plan=(), status="ok", box=None, hours=None, self_other=None):
    return {
        "unit": unit,
        "status": status,
        "category": {"code": category} if category else None,
        "classifications": {"nine-box": {"code": f"kotak-{box}"}} if box else {},
        "competencies": [{"id": cid, "score_shown": s} for cid, s in zip("ab", scores)],
        "development_plan": list(plan),
        "development": {"learning_hours": hours or {}, "self_other": self_other},
    }


def action(programme, hours):
    return {"programme": programme, "name": {"id": programme}, "form": "coaching", "form_label": {"id": "Coaching"}, "hours": hours}


def test_units_categories_heatmap_and_small_cells():
    records = [
        record("X", "TINGGI", (4.0, 3.0), box=9),
        record("X", "RENDAH", (2.0, None), box=1, status="insufficient_evidence"),
        record("X", "TINGGI", (3.0, 2.0), box=9),
        record("Y", "TINGGI", (5.0, 5.0), box=8),
    ]
    summary = summarise(META, records, [], min_cell=3)
    assert summary.employees == 4 and summary.insufficient_evidence == 1
    assert summary.unit_names() == ["X", "Y"]
    assert summary.units["X"].categories == {"TINGGI": 2, "RENDAH": 1}
    # a: (4+2+3)/3 = 3; b has two scores in X (one hidden), below the cell minimum of 3; Y has one person.
    assert summary.units["X"].competency_means(3) == [3.0, None]
    assert summary.units["Y"].competency_means(3) == [None, None]
    assert summary.units["Y"].competency_means(1) == [5.0, 5.0]
    assert summary.nine_box() == {1: 1, 2: 0, 3: 0, 4: 0, 5: 0, 6: 0, 7: 0, 8: 1, 9: 2}


def test_training_needs_count_people_and_hours_once_per_person():
    plan_one = [
        {"competency": "a", "gap": 1.0, "actions": [action("coach", 8.0)]},
        {"competency": "b", "gap": 0.5, "actions": [action("coach", 8.0), action("kelas", 24.0)]},
    ]
    plan_two = [{"competency": "a", "gap": 0.5, "actions": [action("kelas", 24.0)]}, {"competency": "", "gap": 0.0, "actions": [action("el", 12.0)]}]
    records = [
        record("X", "TINGGI", (3, 3), plan_one, hours={"total": 40.0, "meets_minimum": True}, self_other={"category": "over-estimator"}),
        record("Y", "RENDAH", (2, 2), plan_two, hours={"total": 36.0, "meets_minimum": False}),
    ]
    summary = summarise(META, records, [])
    needs = summary.training_needs()
    assert [(n.competency, n.people, n.mean_gap) for n in needs] == [("a", 2, 0.75), ("b", 1, 0.5)]
    programmes = {p.programme: (p.people, p.hours) for p in summary.programme_needs()}
    assert programmes == {"coach": (1, 16.0), "kelas": (2, 48.0), "el": (1, 12.0)}
    assert [p.programme for p in summary.programme_needs()] == ["kelas", "coach", "el"]
    assert summary.learning_hours_total == 76.0 and summary.below_minimum_hours == 1
    assert summary.self_other == {"over-estimator": 1}
    assert summary.units["X"].people_with_gap == {"a": 1, "b": 1}


def test_flags_are_counted_for_the_hr_queue_hr_first():
    def flag(rule, audience, severity="info"):
        return Flag(rule=rule, severity=severity, subject="rater", subject_id="r", message={"id": "", "en": ""}, audience=audience)

    summary = summarise(META, [], [flag("leniency", "hr"), flag("leniency", "hr"), flag("anonymity", "employee"), flag("curve", "hr", "review")])
    assert [(f.rule, f.audience, f.severity, f.count) for f in summary.hr_queue()] == [
        ("curve", "hr", "review", 1),
        ("leniency", "hr", "info", 2),
        ("anonymity", "employee", "info", 1),
    ]
    assert summary.nine_box() == {1: 0, 2: 0, 3: 0, 4: 0, 5: 0, 6: 0, 7: 0, 8: 0, 9: 0}
