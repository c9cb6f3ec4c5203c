"""The appraisal pipeline: named steps, each supplied by a plugin component.

    rubric + validated ratings
      → weighting → calibration (0..n steps) → aggregation
      → classification → development plan → flags → results

The rubric names every component (the command line may override weighting
and calibration); plugins only supply them.  After each plugin step the
engine checks the output against the contract and names the plugin when it
is broken.  Anonymity is enforced here, in core, not by plugins.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .components import (
    Calibration,
    Classification,
    ComponentOptions,
    Flag,
    PlanEntry,
    ScoreSummary,
    StepInput,
)
from .errors import AppraisalError, PluginError
from .ingest import Inputs
from .plugins import PluginHost, Registered
from .rubric import ComponentRef, LoadedRubric, Rubric
from .scoring import (
    GroupStats,
    RaterCells,
    cell_means,
    combine,
    counting,
    group_stats,
    rater_cells,
    rollup,
    round_half_up,
)

Progress = Callable[[str], None]

STEPS = ("weighting", "calibration", "aggregation", "classification", "development", "flags")
"""Pipeline steps in the order they run (progress reporting uses the names)."""


@dataclass(frozen=True)
class Overrides:
    """Command-line choices that replace the rubric's."""

    weighting: str | None = None
    calibration: Sequence[str] | None = None


@dataclass(frozen=True)
class StepRecord:
    """One executed step, for the trace and the manifest."""

    step: str
    component: str | None
    plugin: str | None
    options: dict[str, Any] = field(default_factory=dict)
    summary: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass(frozen=True)
class Outcome:
    """Everything a run computed, as arrays indexed by employee and competency codes."""

    rubric: LoadedRubric
    inputs: Inputs
    cells: RaterCells
    scores: ScoreSummary
    group_share: np.ndarray  # float64[E, C, G]: each group's share of the competency score
    calibrated_group_mean: np.ndarray  # float64[E, C, G]: group means of calibrated ratings
    classification: Classification | None
    plans: list[list[PlanEntry]]
    flags: list[Flag]
    steps: list[StepRecord]
    rater_effects: dict[str, np.ndarray]  # calibration step name -> float64[R]


@dataclass(frozen=True)
class _Resolved:
    step: str
    registered: Registered
    options: ComponentOptions

    @property
    def component(self) -> Any:
        return self.registered.component

    def record(self, summary: dict[str, Any] | None = None) -> StepRecord:
        return StepRecord(
            self.step,
            self.component.name,
            self.registered.plugin,
            self.options.model_dump(mode="json"),
            dict(summary or {}),
        )

    def broken(self, what: str) -> PluginError:
        return PluginError(
            f"{self.component.kind} {self.component.name!r} from plugin {self.registered.plugin!r} {what}"
        )


def _resolve(host: PluginHost, kind: str, step: str, ref: ComponentRef, rubric: Rubric) -> _Resolved:
    problems = list(host.check_component_ref(kind, (step,), ref, rubric))
    if problems:
        raise AppraisalError("\n".join(f"{'.'.join(map(str, loc))}: {message.text('en')}" for loc, message in problems))
    registered = host.component(kind, ref.name)
    return _Resolved(step, registered, host.options(registered.component, ref.options))


def plan_components(host: PluginHost, rubric: Rubric, overrides: Overrides = Overrides()) -> dict[str, Any]:
    """Resolve every component the run will use (fails before any work is done)."""
    scoring = rubric.scoring
    weighting = ComponentRef(name=overrides.weighting) if overrides.weighting else scoring.weighting
    if overrides.calibration is not None:
        calibration = [ComponentRef(name=name) for name in overrides.calibration]
    else:
        calibration = scoring.calibration
    return {
        "weighting": _resolve(host, "weighting scheme", "weighting", weighting, rubric),
        "calibration": [_resolve(host, "calibration step", "calibration", ref, rubric) for ref in calibration],
        "classification": scoring.classification
        and _resolve(host, "classifier", "classification", scoring.classification, rubric),
        "development": scoring.development
        and _resolve(host, "development recommender", "development", scoring.development, rubric),
        "flags": [_resolve(host, "flag rule", "flags", ref, rubric) for ref in scoring.flags],
    }


def run_pipeline(
    host: PluginHost,
    loaded: LoadedRubric,
    inputs: Inputs,
    overrides: Overrides = Overrides(),
    progress: Progress = lambda step: None,
) -> Outcome:
    """Score every employee.

    :raises PluginError: when a component breaks its contract.
    :raises AppraisalError: when a named component is missing or misconfigured.
    """
    rubric = loaded.rubric
    layout = rubric.layout
    plan = plan_components(host, rubric, overrides)
    data = StepInput(rubric=rubric, employees=inputs.employees, frame=inputs.frame)
    frame = inputs.frame
    n_employees = len(inputs.employees)
    shape = (n_employees, len(layout.competency_ids), len(layout.group_ids))
    steps: list[StepRecord] = []

    progress("weighting")
    cells = rater_cells(frame, layout, n_employees, rubric.scoring.min_item_coverage)
    raw_stats = group_stats(cells, cells.score, layout, n_employees)
    weighting: _Resolved = plan["weighting"]
    scheme_weights = _call(weighting, lambda: weighting.component.weights(cells, data, weighting.options))
    scheme_weights = np.asarray(scheme_weights, dtype=np.float64)
    if scheme_weights.shape != (len(cells),):
        raise weighting.broken(f"returned {scheme_weights.shape} weights for {len(cells)} rater cells")
    if not np.isfinite(scheme_weights).all() or (scheme_weights < 0).any():
        raise weighting.broken("returned negative or non-finite weights")
    weights = np.where(counting(cells, layout), scheme_weights, 0.0)
    steps.append(weighting.record({"rater_cells": len(cells), "counted_cells": int((weights > 0).sum())}))

    progress("calibration")
    # Calibration sees only ratings that count: self-ratings and hidden groups
    # never shape anyone's calibrated score, so they cannot leak through it.
    rating_counts = (weights > 0)[cells.of_rating]
    scores = np.where(rating_counts, frame.score, np.nan)
    rater_effects: dict[str, np.ndarray] = {}
    for step in plan["calibration"]:
        result: Calibration = _call(step, lambda s=step, x=scores: s.component.calibrate(x.copy(), data, s.options))
        adjusted = np.asarray(result.scores, dtype=np.float64)
        if adjusted.shape != scores.shape:
            raise step.broken(f"returned {adjusted.shape} scores for {scores.shape[0]} ratings")
        if not np.array_equal(np.isnan(adjusted), np.isnan(scores)) or np.isinf(adjusted).any():
            raise step.broken("changed which ratings are 'not observed' or returned infinite scores")
        if result.rater_effects is not None:
            rater_effects[step.component.name] = np.asarray(result.rater_effects, dtype=np.float64)
        scores = adjusted
        steps.append(step.record(dict(result.summary)))

    progress("aggregation")
    scores = np.where(rating_counts, scores, frame.score)
    raw = combine(cells, cells.score, weights, shape)
    calibrated_cells = cell_means(cells.of_rating, scores, len(cells))
    calibrated_stats = group_stats(cells, calibrated_cells, layout, n_employees)
    final = combine(cells, calibrated_cells, weights, shape)
    clusters, overall = rollup(final.competency, layout)
    _, overall_raw = rollup(raw.competency, layout)
    decimals = rubric.scoring.decimals
    summary = ScoreSummary(
        competency_raw=raw.competency,
        competency=final.competency,
        self_score=_self_scores(raw_stats, layout.self_group),
        cluster=clusters,
        overall_raw=overall_raw,
        overall=overall,
        shown_overall=round_half_up(overall, decimals),
        shown_competency=round_half_up(final.competency, decimals),
        group_stats=raw_stats,
    )
    steps.append(
        StepRecord(
            "aggregation",
            None,
            None,
            {"min_item_coverage": rubric.scoring.min_item_coverage, "decimals": decimals},
            {"employees_scored": int((~np.isnan(overall)).sum()), "employees": n_employees},
        )
    )

    progress("classification")
    classification = None
    if plan["classification"]:
        classifier: _Resolved = plan["classification"]
        classification = _call(classifier, lambda: classifier.component.classify(summary, data, classifier.options))
        categories = np.asarray(classification.categories, dtype=object)
        if categories.shape != (n_employees,) or len(classification.reasons) != n_employees:
            raise classifier.broken(f"did not return one category and one reason per employee ({n_employees})")
        unknown = set(categories.tolist()) - set(classification.labels) - {""}
        if unknown:
            raise classifier.broken(f"returned categories without labels: {', '.join(sorted(unknown))}")
        counts = {code: int((categories == code).sum()) for code in classification.labels}
        steps.append(classifier.record({"categories": counts}))

    progress("development")
    plans: list[list[PlanEntry]] = [[] for _ in range(n_employees)]
    if plan["development"]:
        recommender: _Resolved = plan["development"]
        plans = _call(recommender, lambda: recommender.component.recommend(summary, data, recommender.options))
        if len(plans) != n_employees:
            raise recommender.broken(f"returned {len(plans)} plans for {n_employees} employees")
        steps.append(recommender.record({"employees_with_plan": sum(1 for p in plans if p)}))

    progress("flags")
    flags: list[Flag] = []
    for rule in plan["flags"]:
        raised = _call(rule, lambda r=rule: r.component.flags(summary, data, r.options))
        if not all(isinstance(flag, Flag) for flag in raised):
            raise rule.broken("returned something that is not an appraisal.components.Flag")
        flags += raised
        steps.append(rule.record({"flags": len(raised)}))

    return Outcome(
        rubric=loaded,
        inputs=inputs,
        cells=cells,
        scores=summary,
        group_share=raw.group_share,
        calibrated_group_mean=calibrated_stats.mean,
        classification=classification,
        plans=plans,
        flags=flags,
        steps=steps,
        rater_effects=rater_effects,
    )


def _self_scores(stats: GroupStats, self_group: int) -> np.ndarray:
    if self_group < 0:
        return np.full(stats.mean.shape[:2], np.nan)
    return np.where(stats.visible[:, :, self_group], stats.mean[:, :, self_group], np.nan)


def _call(step: _Resolved, call: Callable[[], Any]) -> Any:
    """Run a plugin component; any exception becomes a PluginError naming the plugin."""
    try:
        return call()
    except (PluginError, AppraisalError):
        raise
    except Exception as exc:
        raise step.broken(f"failed: {type(exc).__name__}: {exc}") from exc

