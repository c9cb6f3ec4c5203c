"""How close do calibrated scores come to the truth?  Raw means vs each calibration, on simulated data.

    python benchmarks/calibration_accuracy.py [--sizes 200 1000 5000] [--seeds 3]

For each size and seed, the simulator writes an organisation with known
true competency levels and known rater leniency; the engine scores it with
no calibration and with each calibration step; the script prints, for the
overall score, the RMSE against the true level (after centring both, since
the scale's origin is arbitrary) and the correlation with it, plus how well
the estimated leniency tracks the planted one.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np

from appraisal.rubric import load_rubric
from appraisal.simulate import SimulationSettings, simulate
from appraisal.testing import make_host, score_rows

METHODS = {
    "raw": [],
    "crossed-re": ["crossed-re"],
    "additive-bias": ["additive-bias"],
    "shrinkage": ["shrinkage"],
    "crossed-re+shrinkage": ["crossed-re", "shrinkage"],
}


def true_overall(data, rubric) -> dict[str, float]:
    weights = {c.id: c.weight for c in rubric.layout.competencies}
    totals: dict[str, list[float]] = {}
    for employee, competency, value in zip(*(data.truth.column(n).to_pylist() for n in ("employee_id", "competency", "true_score"))):
        entry = totals.setdefault(employee, [0.0, 0.0])
        entry[0] += weights[competency] * value
        entry[1] += weights[competency]
    return {employee: total / weight for employee, (total, weight) in totals.items()}


def evaluate(size: int, seed: int, workdir: Path) -> list[dict[str, object]]:
    rubric = load_rubric("contoh-360").rubric
    data = simulate(rubric, SimulationSettings(employees=size, seed=seed))
    truth = true_overall(data, rubric)
    planted = dict(zip(data.raters.column("rater_id").to_pylist(), data.raters.column("leniency").to_pylist()))
    rows = data.ratings.to_pylist()
    host = make_host()
    results = []
    for name, steps in METHODS.items():
        folder = workdir / f"{size}-{seed}-{name}"
        folder.mkdir()
        started = time.perf_counter()
        run = score_rows(host, "contoh-360", rows, folder, weighting="equal-raters", calibration=steps)
        seconds = time.perf_counter() - started
        scored = [(r["overall"], truth[r["employee_id"]]) for r in run.employees() if r["overall"] is not None]
        estimate, true = np.array(scored).T
        error = (estimate - estimate.mean()) - (true - true.mean())
        leniency_r = None
        for step, effects in run.outcome.rater_effects.items():
            ids = [str(r) for r in run.outcome.inputs.frame.raters]
            mask = np.isfinite(effects.effect)
            leniency_r = float(np.corrcoef(effects.effect[mask], [planted[i] for i, m in zip(ids, mask) if m])[0, 1])
        results.append(
            {
                "size": size,
                "seed": seed,
                "method": name,
                "rmse": float(np.sqrt(np.mean(error**2))),
                "r": float(np.corrcoef(estimate, true)[0, 1]),
                "leniency_r": leniency_r,
                "seconds": seconds,
            }
        )
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[200, 1000, 5000])
    parser.add_argument("--seeds", type=int, default=3)
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        for size in args.sizes:
            for seed in range(args.seeds):
                rows += evaluate(size, seed, Path(folder))
    print(f"{'employees':>9} {'method':<22} {'RMSE':>7} {'r':>7} {'leniency r':>10} {'seconds':>8}   (mean over {args.seeds} seeds)")
    for size in args.sizes:
        for method in METHODS:
            chosen = [r for r in rows if r["size"] == size and r["method"] == method]
            leniency = [r["leniency_r"] for r in chosen if r["leniency_r"] is not None]
            print(
                f"{size:>9} {method:<22} {np.mean([r['rmse'] for r in chosen]):>7.4f} {np.mean([r['r'] for r in chosen]):>7.4f} "
                f"{(f'{np.mean(leniency):.4f}' if leniency else '-'):>10} {np.mean([r['seconds'] for r in chosen]):>8.2f}"
            )


if __name__ == "__main__":
    main()
