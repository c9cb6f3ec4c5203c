"""Built-in calibration steps: correcting for how generous each rater is.

* ``crossed-re`` (default for administrative decisions) — a crossed
  random-effects model: ratee + rater random effects, competency and rater
  group fixed effects; variance components by EM-REML (or by pair moments for
  large runs); each rating is adjusted by its rater's estimated leniency
  (the BLUP, shrunk toward zero for raters with few ratings) and by its
  group's systematic effect.
* ``additive-bias`` — the transparent alternative: rater leniency as fixed
  effects (least squares with a small ridge); each rating minus its rater's leniency.
* ``shrinkage`` — empirical-Bayes (Kelley) shrinkage of each competency score
  toward the organisation or position-class mean, by its reliability.
* ``none`` — no adjustment.

Leniency is only identifiable among raters who rate overlapping people: the
steps work per connected component of the rater–ratee graph and never move
one component relative to another (they say so in the summary and in the
affected employees' traces).  Per-rater z-scoring is deliberately absent: it
removes real differences between teams (raters.csv shows it as a diagnostic).
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from pydantic import Field

from appraisal import hookimpl
from appraisal.components import Calibration, Calibrator, ComponentOptions
from appraisal.effects import Design, additive_fit, connected_components, moment_components, reml_components, solve_effects
from appraisal.frame import work_units
from appraisal.grouping import compact, distinct
from appraisal.scoring import cell_means, combine, safe_divide, weight_totals
from appraisal.uncertainty import competency_se, rater_spread


class NoCalibration(Calibrator):
    name = "none"
    summary = "no adjustment: final scores equal raw scores"

    def calibrate(self, scores, data, options):
        return Calibration(scores=scores.copy(), summary={"adjusted": False})


class _Fitted:
    """The pieces both leniency models share: compressed codes, design, components."""

    def __init__(self, scores: np.ndarray, data, with_groups: bool) -> None:
        frame = data.frame
        layout = data.rubric.layout
        self.use = ~np.isnan(scores)
        self.raters, rater_code = compact(frame.rater[self.use])
        self.ratees, ratee_code = compact(frame.ratee[self.use])
        fixed: tuple[tuple[np.ndarray, int], ...] = ((frame.competency[self.use], len(layout.competency_ids)),)
        if with_groups:
            fixed += ((frame.group[self.use], len(layout.group_ids)),)
        self.design = Design(
            scores[self.use], ratee_code.reshape(-1), rater_code.reshape(-1), len(self.ratees), len(self.raters), fixed
        )
        self.edges = self.design.pairs.occurring()  # the (ratee, rater) graph: a dozen times fewer than the ratings
        self.ratee_component, self.rater_component, self.n_components = connected_components(
            *self.edges, self.design.n_ratees, self.design.n_raters
        )
        employee_unit, rater_unit = work_units(data.employees, frame)
        self.units = (employee_unit[self.ratees], rater_unit[self.raters])  # the solver's groups

    def per_rater(self, values: np.ndarray, n_raters: int) -> np.ndarray:
        """Values for the used raters, spread over all rater codes (NaN for raters without counted ratings)."""
        out = np.full(n_raters, np.nan)
        out[self.raters] = values
        return out

    def components_summary(self, data) -> tuple[list[dict[str, object]], dict[int, dict[str, str]]]:
        """Per component: size, units, bridging raters; and a note for employees outside the largest one."""
        units = data.employees.units
        ratee_unit = np.asarray(units[self.ratees], dtype=object)
        design = self.design
        summary = []
        notes: dict[int, dict[str, str]] = {}
        unit_codes = np.unique(ratee_unit, return_inverse=True)[1].reshape(-1)
        n_units = int(unit_codes.max(initial=0)) + 1
        ratee, rater = self.edges
        rater_units = distinct(rater * n_units + unit_codes[ratee])
        units_per_rater = np.bincount(rater_units // n_units, minlength=design.n_raters)
        for k in range(self.n_components):
            members = self.ratee_component == k
            if not members.any():
                continue
            component_units = sorted({u for u in ratee_unit[members].tolist() if u})
            entry = {
                "component": k,
                "employees": int(members.sum()),
                "raters": int((self.rater_component == k).sum()),
                "units": component_units[:20],
                "bridging_raters": int(((self.rater_component == k) & (units_per_rater >= 2)).sum()),
                "calibrated_within_component_only": k > 0,
            }
            summary.append(entry)
            if k > 0:
                note = {
                    "id": f"Penilai Anda tidak terhubung dengan penilai unit lain (kelompok {k}, {entry['employees']} pegawai): "
                    "kemurahan penilai hanya dikoreksi di dalam kelompok ini, bukan dibandingkan dengan unit lain.",
                    "en": f"Your raters are not connected to other units' raters (group {k}, {entry['employees']} employees): "
                    "leniency is corrected only within this group, not compared with other units.",
                }
                for employee in self.ratees[members].tolist():
                    notes[employee] = note
        if len(summary) > 20:
            summary = summary[:20] + [{"more_components": len(summary) - 20}]
        return summary, notes


class CrossedOptions(ComponentOptions):
    variance: Literal["auto", "reml", "moments"] = Field(
        "auto", description="auto: exact EM-REML up to reml_max_raters raters, pair moments beyond"
    )
    reml_max_raters: int = Field(2000, ge=10, description="Largest number of raters for exact EM-REML under 'auto'")
    source_effects: bool = Field(True, description="Model each rater group's systematic effect (e.g. lenient subordinates)")
    remove_source_effects: bool = Field(True, description="Remove the group effects from the adjusted ratings too")
    tolerance: float = Field(1e-8, gt=0, lt=1e-2)


class CrossedRandomEffects(Calibrator):
    name = "crossed-re"
    summary = "crossed random-effects model (ratee + rater), EM-REML; ratings adjusted by each rater's BLUP leniency"
    Options = CrossedOptions

    def calibrate(self, scores, data, options):
        fitted = _Fitted(scores, data, options.source_effects)
        design = fitted.design
        components = (fitted.ratee_component, fitted.rater_component)
        rough = solve_effects(design, 1.0, 1.0, tol=1e-6, components=components, groups=fitted.units)
        fixed_part = rough.fitted(design) - rough.ratee[design.ratee] - rough.rater[design.rater]
        start = moment_components(design, design.y - fixed_part)
        use_reml = options.variance == "reml" or (options.variance == "auto" and design.n_raters <= options.reml_max_raters)
        rater_pev = None
        variance = start
        if use_reml:
            variance = reml_components(design, start, tol=options.tolerance)[0]
            rater_pev = variance.rater_pev
        fit = solve_effects(
            design,
            variance.residual / variance.ratee,
            variance.residual / variance.rater,
            tol=options.tolerance,
            components=components,
            groups=fitted.units,
        )
        if rater_pev is None:
            counts = np.bincount(design.rater, minlength=design.n_raters)
            rater_pev = 1.0 / (counts / variance.residual + 1.0 / variance.rater)
        adjustment = fit.rater[design.rater]
        group_effects: dict[str, float] = {}
        if options.source_effects:
            effect = fit.fixed[1]
            group_effects = {
                g: round(float(effect[k]), 6) for k, g in enumerate(data.rubric.layout.group_ids) if np.any(design.fixed[1][0] == k)
            }
            if options.remove_source_effects:
                adjustment = adjustment + effect[design.fixed[1][0]]
        adjusted = scores.copy()
        adjusted[fitted.use] = design.y - adjustment
        component_summary, notes = fitted.components_summary(data)
        n_raters = len(data.frame.raters)
        return Calibration(
            scores=adjusted,
            summary={
                "model": "rating = competency + rater group + ratee level + rater leniency + noise",
                "variance_components": variance.as_dict() | {"start": start.as_dict()},
                "group_effects": group_effects,
                "source_effects_removed": options.source_effects and options.remove_source_effects,
                "ratings": len(design),
                "employees": design.n_ratees,
                "raters": design.n_raters,
                "solver": {"iterations": fit.iterations, "converged": fit.converged},
                "components": component_summary,
            },
            rater_effects=fitted.per_rater(fit.rater, n_raters),
            rater_se=fitted.per_rater(np.sqrt(rater_pev), n_raters),
            notes=notes,
        )


class AdditiveOptions(ComponentOptions):
    ridge: float = Field(1.0, ge=0, description="Ridge on rater effects, in ratings: a rater's leniency is Σresidual/(n + ridge)")
    tolerance: float = Field(1e-8, gt=0, lt=1e-2)


class AdditiveBias(Calibrator):
    name = "additive-bias"
    summary = "rater leniency as fixed effects (least squares, small ridge); each rating minus its rater's leniency"
    Options = AdditiveOptions

    def calibrate(self, scores, data, options):
        use = ~np.isnan(scores)
        frame = data.frame
        n_competencies = len(data.rubric.layout.competency_ids)
        fit = additive_fit(
            scores[use], frame.ratee[use], frame.rater[use], ((frame.competency[use], n_competencies),),
            ridge=options.ridge, tol=options.tolerance, groups=work_units(data.employees, frame),
        )
        leniency = np.full(len(frame.raters), np.nan)
        se = np.full(len(frame.raters), np.nan)
        leniency[fit.rater], se[fit.rater] = fit.effect, fit.se
        adjusted = scores.copy()
        adjusted[use] = scores[use] - leniency[frame.rater[use]]
        fitted = _Fitted(scores, data, with_groups=False)
        component_summary, notes = fitted.components_summary(data)
        return Calibration(
            scores=adjusted,
            summary={
                "model": "rating = competency + ratee level + rater leniency + noise (fixed effects)",
                "ridge": options.ridge,
                "residual_variance": round(fit.noise, 6),
                "ratings": int(use.sum()),
                "employees": len(distinct(frame.ratee[use])),
                "raters": len(fit.rater),
                "solver": {"converged": fit.converged},
                "components": component_summary,
            },
            rater_effects=leniency,
            rater_se=se,
            notes=notes,
        )


class ShrinkageOptions(ComponentOptions):
    target: Literal["organisation", "position"] = Field(
        "organisation", description="Shrink toward the organisation mean or the position-class (profile) mean; never the team"
    )
    min_group: int = Field(5, ge=2, description="A position class smaller than this shrinks toward the organisation mean")


class Shrinkage(Calibrator):
    name = "shrinkage"
    summary = "empirical-Bayes (Kelley) shrinkage of each competency score by its reliability, toward the organisation mean"
    Options = ShrinkageOptions

    def calibrate(self, scores, data, options):
        cells, weights = data.cells, data.weights
        layout = data.rubric.layout
        n_employees, n_comp = len(data.employees), len(layout.competency_ids)
        shape = (n_employees, n_comp, len(layout.group_ids))
        cell_scores = cell_means(cells.of_rating, scores, len(cells))
        totals = weight_totals(cells, weights, shape)
        current = combine(cell_scores, totals)
        counted = weights > 0
        spread = rater_spread(cells, cell_scores, totals)
        se = competency_se(cells, weights, spread, totals)
        scored = ~np.isnan(current)
        target = _column_means(current, scored)[np.newaxis, :].repeat(n_employees, axis=0)
        if options.target == "position":
            profile = data.employees.profile
            for p in np.unique(profile[profile >= 0]):
                members = profile == p
                if members.sum() >= options.min_group:
                    target[members] = _column_means(current[members], scored[members])
        deviations = np.where(scored, current - target, 0.0)
        count = scored.sum(axis=0)
        observed_variance = safe_divide((deviations**2).sum(axis=0), np.maximum(count - 1, 0))
        error_variance = safe_divide(np.where(scored, se**2, 0.0).sum(axis=0), count)
        true_variance = np.maximum(np.nan_to_num(observed_variance - error_variance), 0.0)
        weight = np.where(scored, safe_divide(true_variance[np.newaxis, :], true_variance + np.nan_to_num(se) ** 2, fill=0.0), 1.0)
        shift = np.where(scored, -(1 - weight) * (current - target), 0.0)
        per_rating = shift.reshape(-1)[totals.cell_index][cells.of_rating]
        counted_rating = counted[cells.of_rating] & ~np.isnan(scores)
        adjusted = np.where(counted_rating, scores + per_rating, scores)
        return Calibration(
            scores=adjusted,
            summary={
                "target": options.target,
                "true_variance": {c: round(float(v), 6) for c, v in zip(layout.competency_ids, true_variance)},
                "mean_weight_on_own_score": round(float(weight[scored].mean()), 6) if scored.any() else None,
                "smallest_weight_on_own_score": round(float(weight[scored].min()), 6) if scored.any() else None,
            },
        )


def _column_means(values: np.ndarray, present: np.ndarray) -> np.ndarray:
    return safe_divide(np.where(present, values, 0.0).sum(axis=0), present.sum(axis=0))


@hookimpl
def register_calibrators(register):
    register(NoCalibration())
    register(CrossedRandomEffects())
    register(AdditiveBias())
    register(Shrinkage())
