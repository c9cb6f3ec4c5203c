"""The ASN profile: predikat matrix, behaviour suggestion, JPM, nine-box, distribution curve, and the example."""

from __future__ import annotations

import csv
import json
import textwrap
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from appraisal.components import Classification, StepInput
from appraisal.frame import Employees
from appraisal.testing import make_host, score_rows
from appraisal_cli.cli import AppContext, cli
from appraisal_plugins.asn import BOX_NUMBER, NineBox, NineBoxOptions
from appraisal_plugins.asn_curve import Bounds, headcount, se_03_2023, smallest_changes

ABOVE, MEETS, BELOW = "DI_ATAS_EKSPEKTASI", "SESUAI_EKSPEKTASI", "DI_BAWAH_EKSPEKTASI"
ORDER = ("SANGAT_BAIK", "BAIK", "BUTUH_PERBAIKAN", "KURANG_MISCONDUCT", "SANGAT_KURANG")

RUBRIC = """\
id: mini-asn
name: Mini ASN
version: "1"
scale: {{min: 1, max: 5, whole_points: false}}
rater_groups:
  supervisor: {{min_raters: 1}}
  self: {{min_raters: 1, counts_in_overall: false}}
clusters:
  - id: berakhlak
    name: BerAKHLAK
    competencies:
      - {{id: akuntabel, name: Akuntabel}}
      - {{id: kompeten, name: Kompeten}}
  - id: manajerial
    name: Manajerial
    weight: 0
    competencies:
      - {{id: integritas, name: Integritas}}
      - {{id: kerja-sama, name: Kerja sama}}
positions:
  - id: staf
    name: Staf
    required: {{integritas: 4, kerja-sama: 4}}
scoring:
  classification:
    - {{name: perilaku-360, options: {{above: 3.5, meets: 2.5}}}}
    - name: predikat-kinerja
      options: {{undecided_perilaku: {undecided}}}
    - {jpm}
  category: predikat-kinerja
  flags: [keputusan-berbeda]
  leave_one_out: false
"""


def rubric(tmp_path: Path, undecided: str = "suggestion", jpm: str = "jpm") -> Path:
    path = tmp_path / "rubric.yaml"
    path.write_text(RUBRIC.format(undecided=undecided, jpm=jpm), encoding="utf-8")
    return path


def rows_for(employee: str, behaviour: float, integritas: float = 4.0, kerja_sama: float = 4.0):
    return [
        (employee, "S", "supervisor", "akuntabel", "", behaviour),
        (employee, "S", "supervisor", "kompeten", "", behaviour),
        (employee, "S", "supervisor", "integritas", "", integritas),
        (employee, "S", "supervisor", "kerja-sama", "", kerja_sama),
    ]


def roster(employees):
    return [(e, e, "Unit A", "staf", "S") for e in employees] + [("S", "Atasan", "Unit A", "staf", "")]


def run(tmp_path, rows, employees, decisions, **kwargs):
    tables = {"keputusan-atasan": decisions} if decisions else {}
    return score_rows(make_host(), rubric(tmp_path, **kwargs), rows, tmp_path, roster=roster(employees), tables=tables)


MATRIX = {  # PermenPANRB 6/2022 kuadran kinerja, asn-rules.md §1.3 [V]
    (ABOVE, BELOW): "KURANG_MISCONDUCT", (ABOVE, MEETS): "BAIK", (ABOVE, ABOVE): "SANGAT_BAIK",
    (MEETS, BELOW): "KURANG_MISCONDUCT", (MEETS, MEETS): "BAIK", (MEETS, ABOVE): "BAIK",
    (BELOW, BELOW): "SANGAT_KURANG", (BELOW, MEETS): "BUTUH_PERBAIKAN", (BELOW, ABOVE): "BUTUH_PERBAIKAN",
}


def test_predikat_matrix_every_cell(tmp_path):
    employees = [f"E{k}" for k in range(9)]
    rows = [row for e in employees for row in rows_for(e, 3.0)]
    decisions = [
        {"employee_id": e, "rating_hasil_kerja": hasil, "rating_perilaku_kerja": perilaku, "alasan": ""}
        for e, (hasil, perilaku) in zip(employees, MATRIX)
    ]
    run_view = run(tmp_path, rows, employees, decisions)
    records = {r["employee_id"]: r for r in run_view.employees()}
    for e, cell in zip(employees, MATRIX):
        assert records[e]["category"]["code"] == MATRIX[cell], cell
        assert records[e]["category"]["details"]["perilaku_source"] == "keputusan-atasan"


def test_decisions_accept_the_ways_people_write_them(tmp_path):
    decisions = [{"employee_id": "E0", "rating_hasil_kerja": "di atas ekspektasi", "rating_perilaku_kerja": "Sesuai", "alasan": ""}]
    record = run(tmp_path, rows_for("E0", 3.0), ["E0"], decisions).record(0)
    assert record["category"]["code"] == "BAIK"


@pytest.mark.parametrize(("score", "expected"), [(3.5, ABOVE), (3.49, MEETS), (2.5, MEETS), (2.49, BELOW), (4.0, ABOVE), (1.0, BELOW)])
def test_behaviour_suggestion_boundaries(tmp_path, score, expected):
    record = run(tmp_path, rows_for("E0", score), ["E0"], []).record(0)
    suggestion = record["classifications"]["perilaku-360"]
    assert suggestion["code"] == expected
    assert suggestion["details"]["per_value"] == {"akuntabel": expected, "kompeten": expected}


def test_undecided_behaviour_uses_the_suggestion_marked_provisional_or_nothing(tmp_path):
    decisions = [{"employee_id": "E0", "rating_hasil_kerja": ABOVE, "rating_perilaku_kerja": "", "alasan": ""}]
    # A blank required decision column is rejected, so a missing behaviour rating means no row: hasil kerja comes from here.
    record = run(tmp_path, rows_for("E0", 4.0), ["E0"], []).record(0)
    assert record["category"] is None  # no hasil kerja rating at all
    assert record["classifications"]["predikat-kinerja"] is None
    suggestion = record["classifications"]["perilaku-360"]  # the 360 suggestion is still shown, undecided
    assert suggestion["code"] == ABOVE and suggestion["details"]["decided"] is None
    decisions[0]["rating_perilaku_kerja"] = ABOVE
    provisional_rubric_dir = tmp_path / "p"
    provisional_rubric_dir.mkdir()
    record = run(provisional_rubric_dir, rows_for("E0", 4.0), ["E0"], decisions).record(0)
    assert record["category"]["details"]["provisional"] is False


def test_decision_that_differs_from_the_evidence_is_flagged_with_its_reason(tmp_path):
    decisions = [{"employee_id": "E0", "rating_hasil_kerja": MEETS, "rating_perilaku_kerja": BELOW, "alasan": "Sering terlambat"}]
    record = run(tmp_path, rows_for("E0", 4.0), ["E0"], decisions).record(0)
    (flag,) = [f for f in record["flags"] if f["rule"] == "keputusan-berbeda"]
    assert flag["audience"] == "employee"
    assert "(Di Bawah Ekspektasi) berbeda dari saran 360 (Di Atas Ekspektasi" in flag["message"]["id"]
    assert "Alasan atasan: Sering terlambat" in flag["message"]["id"]
    assert record["category"]["code"] == "KURANG_MISCONDUCT"  # the supervisor's decision stands


@pytest.mark.parametrize(
    ("integritas", "kerja_sama", "jpm", "mapping", "filling"),
    [
        (4, 3.2, 90.0, "OPTIMAL", "MS"),  # (4 + 3.2) / 8
        (4, 3.19, 89.88, "CUKUP_OPTIMAL", "MS"),
        (4, 2.4, 80.0, "CUKUP_OPTIMAL", "MS"),
        (4, 2.39, 79.88, "CUKUP_OPTIMAL", "MMS"),
        (4, 2.24, 78.0, "CUKUP_OPTIMAL", "MMS"),
        (4, 2.23, 77.88, "KURANG_OPTIMAL", "MMS"),
        (4, 1.44, 68.0, "KURANG_OPTIMAL", "MMS"),
        (4, 1.43, 67.88, "KURANG_OPTIMAL", "KMS"),
        (5, 3.2, 90.0, "OPTIMAL", "MS"),  # above the requirement counts as fully met, no more
    ],
)
def test_jpm_boundaries(tmp_path, integritas, kerja_sama, jpm, mapping, filling):
    record = run(tmp_path, rows_for("E0", 3.0, integritas, kerja_sama), ["E0"], []).record(0)
    result = record["classifications"]["jpm"]
    assert result["code"] == mapping
    assert result["details"]["jpm"] == pytest.approx(jpm)
    assert result["details"]["pengisian"] == filling


def test_jpm_without_cap_counts_surplus(tmp_path):
    record = run(tmp_path, rows_for("E0", 3.0, 5, 3.2), ["E0"], [], jpm="{name: jpm, options: {cap_at_required: false}}").record(0)
    assert record["classifications"]["jpm"]["details"]["jpm"] == pytest.approx(102.5)


def test_nine_box_numbering_for_all_nine_combinations():
    """Rows = performance, columns = potential (PermenPANRB 3/2020 jo 20/2025)."""
    cases = [
        ("SANGAT_BAIK", "KURANG_OPTIMAL", 4), ("SANGAT_BAIK", "CUKUP_OPTIMAL", 7), ("SANGAT_BAIK", "OPTIMAL", 9),
        ("BAIK", "KURANG_OPTIMAL", 2), ("BAIK", "CUKUP_OPTIMAL", 5), ("BAIK", "OPTIMAL", 8),
        ("BUTUH_PERBAIKAN", "KURANG_OPTIMAL", 1), ("KURANG_MISCONDUCT", "CUKUP_OPTIMAL", 3), ("SANGAT_KURANG", "OPTIMAL", 6),
    ]
    n = len(cases)
    employees = Employees(
        ids=np.array([f"E{k}" for k in range(n)], dtype=object), names=np.full(n, "", dtype=object),
        units=np.full(n, "", dtype=object), positions=np.full(n, "", dtype=object),
        supervisor=np.full(n, -1), profile=np.full(n, -1),
    )

    def classification(codes):
        return Classification(categories=np.array(codes, dtype=object), labels={}, reasons=[{}] * n)

    data = StepInput(
        rubric=None, employees=employees, frame=None,  # the nine-box reads only the earlier classifications
        classifications={
            "predikat-kinerja": classification([p for p, _, _ in cases]),
            "jpm": classification([j for _, j, _ in cases]),
        },
    )
    result = NineBox().classify(None, data, NineBoxOptions())
    assert [d["box"] for d in result.details] == [box for _, _, box in cases]
    assert [d["kelompok_rencana_suksesi"] for d in result.details] == [
        None, "INSTANSI", "INSTANSI_DAN_NASIONAL", None, None, "INSTANSI", None, None, None
    ]
    assert result.details[2]["rekomendasi"] == ["Dipromosikan dan dipertahankan", "Masuk Kelompok Rencana Suksesi Instansi/Nasional", "Penghargaan"]
    assert result.details[6]["rekomendasi"] == ["Diproses sesuai ketentuan peraturan perundangan"]
    assert sorted(BOX_NUMBER.values()) == list(range(1, 10))


# ---------------------------------------------------------------------------
# Distribution curve
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("percent", "n", "bound", "rounding", "expected"),
    [
        (70, 4, "max", "largest-remainder", (3, False)),  # 2.8 → remainder .8 beats .2 → 3
        (70, 5, "max", "largest-remainder", (4, True)),  # 3.5: a tie, the looser bound
        (60, 5, "min", "largest-remainder", (3, False)),  # exactly 3
        (60, 3, "min", "largest-remainder", (2, False)),  # 1.8 → 2
        (10, 5, "max", "largest-remainder", (1, True)),  # 0.5: tie → max 1
        (10, 5, "min", "largest-remainder", (0, True)),  # 0.5: tie → min 0
        (10, 4, "max", "largest-remainder", (0, False)),  # 0.4 → 0
        (70, 4, "max", "strict", (2, False)),
        (60, 3, "min", "strict", (2, False)),
        (10, 5, "min", "strict", (1, False)),
    ],
)
def test_headcount_rounding(percent, n, bound, rounding, expected):
    assert headcount(percent, n, bound, rounding) == expected


def counts(**by_code):
    return tuple(by_code.get(code, 0) for code in ("SB", "B", "BP", "K", "SK"))


RULES = se_03_2023()


@pytest.mark.parametrize(
    ("org", "unit", "broken"),
    [
        ("BAIK", counts(SB=1, B=3, BP=1), []),  # B max 70% of 5 = 3.5: a tie, so 4 allowed
        ("BAIK", counts(SB=1, B=4), ["there must be at least one BP or K"]),
        ("BAIK", counts(SB=1, B=8, K=1), ["B 8 of 10 exceeds the maximum 70% (= 7)"]),
        ("BAIK", counts(SB=3, B=2, BP=1), ["B (2) must be the most frequent predikat"]),
        ("ISTIMEWA", counts(SB=3, B=1), []),  # 70% of 4 = 2.8 → 3
        ("BUTUH_PERBAIKAN", counts(SB=1, B=2, BP=2), ["BP 2 of 5 is below the minimum 60% (= 3)"]),  # SB ≤ 10% of 5: tie → 1
        ("KURANG", counts(B=1, BP=1, K=3), []),
        ("KURANG", counts(SB=1, K=3), ["SB 1 of 4 exceeds the maximum 10% (= 0)"]),  # 0.4 → 0
        ("SANGAT_KURANG", counts(SB=1, SK=3), ["SB 1 of 4 exceeds the maximum 0% (= 0)", "there must be at least one K or BP"]),
    ],
)
def test_curve_rules_on_hand_made_units(org, unit, broken):
    bounds = Bounds(RULES[org], sum(unit), "largest-remainder")
    assert [v["en"] for v in bounds.violations(unit)] == broken


def test_curve_tie_in_rounding_takes_the_looser_bound_and_says_so():
    bounds = Bounds(RULES["BAIK"], 5, "largest-remainder")
    assert bounds.ties == ["max B 70% of 5"]
    assert bounds.violations(counts(B=4, BP=1)) == []  # 70% of 5 = 3.5: a tie; 4 is allowed
    strict = Bounds(RULES["BAIK"], 5, "strict")
    assert [v["en"] for v in strict.violations(counts(B=4, BP=1))] == ["B 4 of 5 exceeds the maximum 70% (= 3)"]


@pytest.mark.parametrize(
    ("org", "unit", "changes"),
    [
        ("BAIK", counts(SB=1, B=4), 1),  # one Baik → Butuh Perbaikan fixes "at least one BP or K"
        ("BAIK", counts(SB=2, B=8), 1),  # 80% Baik: one B → BP fixes both the maximum and "at least one BP"
        ("BUTUH_PERBAIKAN", counts(B=4, BP=1), 2),  # need 60% of 5 = 3 BP
        ("SANGAT_KURANG", counts(SB=1, SK=4), 1),  # the SB becomes K: SB 0, K ≥ 1, SK 4 ≥ 3
        ("BAIK", counts(SB=1, B=3, BP=1), 0),
    ],
)
def test_smallest_changes(org, unit, changes):
    bounds = Bounds(RULES[org], sum(unit), "largest-remainder")
    plan = smallest_changes(unit, bounds, 12)
    assert len(plan) == changes
    state = list(unit)
    for a, b in plan:
        state[a] -= 1
        state[b] += 1
    assert bounds.violations(tuple(state)) == []


# ---------------------------------------------------------------------------
# The example, end to end
# ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def asn_run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("asn") / "demo"
    runner = CliRunner()
    host = make_host()
    result = runner.invoke(cli, ["init", "--profile", "asn", str(folder)], obj=AppContext(host=host))
    assert result.exit_code == 0, result.output
    out = folder / "out"
    args = [
        "run", "--rubric", str(folder / "rubric.yaml"), "--ratings", str(folder / "ratings.csv"),
        "--roster", str(folder / "roster.csv"),
        "--input", f"keputusan-atasan={folder / 'keputusan-atasan.csv'}",
        "--input", f"predikat-unit={folder / 'predikat-unit.csv'}",
        "--out", str(out), "-q",
    ]
    result = runner.invoke(cli, args, obj=AppContext(host=host))
    assert result.exit_code == 0, result.output
    return folder, json.loads((out / "results.json").read_text(encoding="utf-8"))


def test_example_gives_every_employee_the_asn_results(asn_run):
    folder, results = asn_run
    employees = results["employees"]
    assert len(employees) == 60
    for record in employees:
        classifications = record["classifications"]
        assert record["category"]["code"] in ORDER  # predikat kinerja
        assert classifications["perilaku-360"]["code"] in (ABOVE, MEETS, BELOW)  # suggested
        assert classifications["perilaku-360"]["details"]["decided"] in (ABOVE, MEETS, BELOW)  # decided
        assert classifications["jpm"]["details"]["jpm"] > 0
        assert 1 <= classifications["nine-box"]["details"]["box"] <= 9


def test_example_exercises_every_rule(asn_run):
    folder, results = asn_run
    flags = results["flags"]
    units = {row["unit"] for row in csv.DictReader((folder / "predikat-unit.csv").read_text(encoding="utf-8").splitlines())}
    curve = [f for f in flags if f["rule"] == "kurva-distribusi"]
    assert {f["subject_id"] for f in curve if f["subject"] == "unit"} == units  # every unit has a curve check
    broken = [f for f in curve if f["subject"] == "unit" and f["severity"] == "review"]
    assert len(broken) == 1
    proposal = next(f for f in curve if f["subject"] == "employee")
    assert "SERI dengan" in proposal["message"]["id"] and "TIED with" in proposal["message"]["en"]
    differing = [f for f in flags if f["rule"] == "keputusan-berbeda" and f["severity"] == "review"]
    reasons = [f for f in differing if "tidak diberikan" not in f["message"]["id"]]
    assert reasons and len(differing) > len(reasons)  # one with a reason, at least one without
    assert any(f["rule"] == "anonymity" for f in flags)


def test_example_in_english(asn_run, tmp_path):
    folder, results = asn_run
    record = results["employees"][0]
    from appraisal.explain import explain

    text = explain(record, results["run"], "en")
    assert "results" in record["category"]["reason"]["en"] and "PermenPANRB 6/2022 matrix" in text
