"""``appraisal init --profile asn``: a fictional small-city agency that exercises every ASN rule.

Five work units with their organisational predikat, 60 civil servants with
positions, supervisors and the supervisors' final ratings, and 360 ratings on
BerAKHLAK and the managerial competencies (simulated, with known rater
leniency).  Supervisors' decisions follow the employees' true levels and,
like real supervisors, respect their unit's distribution curve — except in
one unit, built to break it.  The generator scores the example with the
engine itself to place the cases the rules must catch:

* a supervisor decision that contradicts the 360 evidence (one with a reason,
  one without);
* a unit that breaks its curve, whose smallest proposed change meets two
  employees with exactly equal calibrated scores (a tie to report);
* rater groups below the anonymity minimum (they occur naturally).
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import pyarrow as pa

from appraisal import hookimpl
from appraisal.components import Example
from appraisal.examples import readme, refuse_overwrite, write_rubric
from appraisal.rubric import load_rubric
from appraisal.simulate import SimulationSettings, simulate, write_csv

from .asn import ABOVE, BELOW, MEETS, PREDIKAT_MATRIX, PREDIKAT_ORDER
from .asn_curve import Bounds, se_03_2023, smallest_changes

SETTINGS = SimulationSettings(employees=60, seed=38, unit_size_min=10, unit_size_max=14, always_observed=("supervisor",))
"""Supervisors rate every competency: the JPM needs all of them, so the example has no gaps there."""
ORG_PREDIKAT = ("BAIK", "ISTIMEWA", "BAIK", "BAIK", "BUTUH_PERBAIKAN")
CURVE_UNIT = 2
"""Index of the unit (organisational predikat Baik) left to break its curve."""
DECISION_FOR = {  # (hasil kerja, perilaku kerja) that gives each predikat, PermenPANRB 6/2022 matrix
    "SANGAT_BAIK": (ABOVE, ABOVE),
    "BAIK": (MEETS, MEETS),
    "BUTUH_PERBAIKAN": (BELOW, MEETS),
    "KURANG_MISCONDUCT": (MEETS, BELOW),
    "SANGAT_KURANG": (BELOW, BELOW),
}


class AsnExample(Example):
    name = "asn"
    summary = "a fictional civil-service agency: 60 ASN, 5 units, decisions, unit predikat (PermenPANRB 6/2022 rules)"

    def write(self, target: Path) -> list[Path]:
        names = (
            "rubric.yaml", "rubric.schema.json", "roster.csv", "ratings.csv",
            "keputusan-atasan.csv", "predikat-unit.csv", "README.md",
        )
        files = {name: target / name for name in names}
        refuse_overwrite(files)
        rubric = load_rubric("asn").rubric
        data = simulate(rubric, SETTINGS)
        roster = data.roster.to_pydict()
        ratings = data.ratings.to_pylist()
        units = list(dict.fromkeys(roster["unit"]))
        unit_predikat = {unit: ORG_PREDIKAT[k % len(ORG_PREDIKAT)] for k, unit in enumerate(units)}
        decisions = _decisions(rubric, data, roster)

        scores = _score(roster, ratings, decisions, unit_predikat)
        contradicting = _plant_contradictions(decisions, scores, roster, units)
        _fit_curves(roster, decisions, scores, units, unit_predikat, contradicting)
        _break_curve(roster, decisions, units)
        _plant_tie(roster, ratings, decisions, units, _score(roster, ratings, decisions, unit_predikat))

        target.mkdir(parents=True, exist_ok=True)
        write_rubric("asn", files)
        write_csv(data.roster, files["roster.csv"])
        write_csv(pa.Table.from_pylist(ratings), files["ratings.csv"])
        write_csv(pa.Table.from_pylist(list(decisions.values())), files["keputusan-atasan.csv"])
        write_csv(pa.table({"unit": list(unit_predikat), "predikat_organisasi": list(unit_predikat.values())}), files["predikat-unit.csv"])
        files["README.md"].write_text(readme("README-ASN.md"), encoding="utf-8")
        return list(files.values())


def _decisions(rubric, data, roster) -> dict[str, dict[str, str]]:
    """Supervisors' ratings: results from the true level plus noise; behaviour from the true BerAKHLAK level."""
    rng = np.random.default_rng(SETTINGS.seed + 1)
    ids = roster["employee_id"]
    truth = data.truth.to_pydict()
    berakhlak = {c.id for cluster in rubric.clusters if cluster.id == "berakhlak" for c in cluster.competencies}
    level: dict[str, list[float]] = {}
    for employee, competency, value in zip(truth["employee_id"], truth["competency"], truth["true_score"]):
        if competency in berakhlak:
            level.setdefault(employee, []).append(value)
    behaviour = np.array([np.mean(level[e]) for e in ids])
    work = behaviour + rng.normal(0, 0.35, len(ids))
    hasil = np.where(work >= np.quantile(work, 0.8), ABOVE, np.where(work <= np.quantile(work, 0.1), BELOW, MEETS))
    judged = behaviour + rng.normal(0, 0.1, len(ids))
    perilaku = np.where(judged >= 3.5, ABOVE, np.where(judged >= 2.5, MEETS, BELOW))
    return {
        employee: {"employee_id": employee, "rating_hasil_kerja": str(h), "rating_perilaku_kerja": str(p), "alasan": ""}
        for employee, h, p in zip(ids, hasil, perilaku)
    }


def _score(roster, ratings, decisions, unit_predikat) -> dict[str, dict[str, float | str]]:
    """Run the engine on the example as it stands: per employee the calibrated score, predikat and 360 suggestion."""
    from appraisal.ingest import ingest
    from appraisal.pipeline import run_pipeline
    from appraisal.plugins import get_plugin_host
    from appraisal.runner import load_checked_rubric

    host = get_plugin_host(load_entrypoints=False)
    with tempfile.TemporaryDirectory() as folder:
        base = Path(folder)
        paths = {"roster": base / "roster.csv", "ratings": base / "ratings.csv", "keputusan-atasan": base / "k.csv", "predikat-unit": base / "u.csv"}
        write_csv(pa.table(roster), paths["roster"])
        write_csv(pa.Table.from_pylist(ratings), paths["ratings"])
        write_csv(pa.Table.from_pylist(list(decisions.values())), paths["keputusan-atasan"])
        write_csv(pa.table({"unit": list(unit_predikat), "predikat_organisasi": list(unit_predikat.values())}), paths["predikat-unit"])
        loaded = load_checked_rubric(host, "asn")
        tables = {"keputusan-atasan": paths["keputusan-atasan"], "predikat-unit": paths["predikat-unit"]}
        outcome = run_pipeline(host, loaded, ingest(host, loaded.rubric, [paths["ratings"]], paths["roster"], tables))
    suggestion = outcome.classifications["perilaku-360"].categories
    predikat = outcome.classifications["predikat-kinerja"].categories
    return {
        str(employee): {"score": float(outcome.scores.overall[e]), "predikat": str(predikat[e]), "suggestion": str(suggestion[e])}
        for e, employee in enumerate(outcome.inputs.employees.ids)
    }


def _predikat(decision: dict[str, str]) -> str:
    return PREDIKAT_MATRIX[decision["rating_hasil_kerja"]][decision["rating_perilaku_kerja"]]


def _set_predikat(decision: dict[str, str], predikat: str) -> None:
    decision["rating_hasil_kerja"], decision["rating_perilaku_kerja"] = DECISION_FOR[predikat]


def _fit_curves(roster, decisions, scores, units, unit_predikat, locked) -> None:
    """Supervisors of every unit but one respect the curve: apply the smallest changes the curve rule proposes.

    ``locked`` employees (the planted contradictions) keep their decisions.
    """
    rules = se_03_2023()
    for k, unit in enumerate(units):
        if k == CURVE_UNIT:
            continue
        members = [e for e, u in zip(roster["employee_id"], roster["unit"]) if u == unit]
        current = {m: PREDIKAT_ORDER.index(_predikat(decisions[m])) for m in members}
        counts = tuple(sum(1 for v in current.values() if v == c) for c in range(len(PREDIKAT_ORDER)))
        plan = smallest_changes(counts, Bounds(rules[unit_predikat[unit]], len(members), "largest-remainder"), 40) or []
        for a, b in plan:
            candidates = sorted(
                (m for m, v in current.items() if v == a and m not in locked), key=lambda m: scores[m]["score"], reverse=b < a
            )
            chosen = candidates[0]
            current[chosen] = b
            _set_predikat(decisions[chosen], PREDIKAT_ORDER[b])


def _break_curve(roster, decisions, units) -> None:
    """In the curve unit every employee is Baik or Sangat Baik — none Butuh Perbaikan or Kurang, which a Baik unit needs."""
    for employee, unit in zip(roster["employee_id"], roster["unit"]):
        if unit == units[CURVE_UNIT]:
            decision = decisions[employee]
            keep_top = decision["rating_hasil_kerja"] == ABOVE and decision["rating_perilaku_kerja"] == ABOVE
            _set_predikat(decision, "SANGAT_BAIK" if keep_top else "BAIK")


def _plant_tie(roster, ratings, decisions, units, scores) -> None:
    """Give the two lowest-scoring Baik employees of the curve unit exactly the same ratings.

    The second one receives the first one's ratings from the same raters, so
    every calibration treats them alike: the curve proposal (one Baik to
    Butuh Perbaikan) then meets a tie it must report.
    """
    unit = units[CURVE_UNIT]
    heads = set(roster["supervisor_id"])
    members = [e for e, u in zip(roster["employee_id"], roster["unit"]) if u == unit and e not in heads]
    baik = sorted((m for m in members if scores[m]["predikat"] == "BAIK"), key=lambda m: scores[m]["score"])
    raters_of: dict[str, set[str]] = {}
    for row in ratings:
        raters_of.setdefault(row["ratee_id"], set()).add(row["rater_id"])
    first = baik[0]
    twin = next(m for m in baik[1:] if m not in raters_of[first] and first not in raters_of.get(m, set()))
    copied = [
        {**row, "ratee_id": twin, "rater_id": twin if row["rater_id"] == first else row["rater_id"]}
        for row in ratings
        if row["ratee_id"] == first
    ]
    ratings[:] = [row for row in ratings if row["ratee_id"] != twin] + copied
    decisions[twin] = {**decisions[first], "employee_id": twin}


def _plant_contradictions(decisions, scores, roster, units) -> set[str]:
    """Two supervisors rate behaviour against the 360 evidence: one gives a reason, one does not."""
    ids = roster["employee_id"]
    curve_unit = {e for e, u in zip(ids, roster["unit"]) if u == units[CURVE_UNIT]}
    agree = [e for e in ids if e not in curve_unit and scores[e]["suggestion"] == decisions[e]["rating_perilaku_kerja"]]
    strongest = max((e for e in agree if scores[e]["suggestion"] == ABOVE), key=lambda e: scores[e]["score"])
    decisions[strongest]["rating_perilaku_kerja"] = BELOW
    decisions[strongest]["alasan"] = "Dua kali tidak hadir rapat koordinasi tanpa keterangan; sudah dibina"
    weakest = min((e for e in agree if scores[e]["suggestion"] == MEETS), key=lambda e: scores[e]["score"])
    decisions[weakest]["rating_perilaku_kerja"] = ABOVE
    return {strongest, weakest}


@hookimpl
def register_examples(register):
    register(AsnExample())
