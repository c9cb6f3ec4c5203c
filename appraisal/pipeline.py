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

import os
import zlib
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import BrokenExecutor, Future, ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass, field, fields, replace
from functools import cache
from typing import Any

import numpy as np

from .components import (
    Calibration,
    Classification,
    ComponentOptions,
    DevelopmentPlan,
    Flag,
    ScoreSummary,
    StepInput,
)
from .errors import AppraisalError, PluginError
from .ingest import Inputs
from .plugins import PluginHost, Registered
from .rubric import ComponentRef, LoadedRubric, Rubric
from .reliability import reliability_report
from .robustness import fragile_flags, leave_one_rater_out
from .scoring import (
    GroupStats,
    RaterCells,
    WeightTotals,
    cell_means,
    combine,
    counting,
    group_shares,
    group_stats,
    normalised_weights,
    rater_cells,
    rollup,
    round_half_up,
    weight_totals,
)
from .uncertainty import (
    RaterSpread,
    competency_se,
    overall_se,
    rater_spread,
    reliability,
    reliability_given,
)
from .workers import ForkedWorkers, can_fork

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
class RaterEffects:
    """A calibration step's estimate of each rater's leniency (positive = generous), with its SE."""

    effect: np.ndarray  # float64[R]
    se: np.ndarray | None  # float64[R]


@dataclass(frozen=True)
class Outcome:
    """Everything a run computed, as arrays indexed by employee and competency codes."""

    rubric: LoadedRubric
    inputs: Inputs
    cells: RaterCells
    weights: np.ndarray  # float64[M]: each cell's share of its competency score
    scores: ScoreSummary
    group_share: np.ndarray  # float64[E, C, G]: each group's share of the competency score
    calibrated_group_mean: np.ndarray  # float64[E, C, G]: group means of calibrated ratings
    classifications: dict[str, Classification]  # by classifier name, in the order they ran
    primary: str | None  # the classifier whose result is "the category"
    plans: list[DevelopmentPlan]
    flags: list[Flag]
    steps: list[StepRecord]
    rater_effects: dict[str, RaterEffects]  # by calibration step name
    calibration_notes: dict[int, list[dict[str, str]]]  # employee code -> notes from calibration steps
    fragile: dict[int, list[int]]  # employee code -> raters whose removal alone changes the category
    reliability: dict[str, Any]  # per rater group and cluster: ICC, G/D-study, Krippendorff, r_wg, Cronbach

    @property
    def classification(self) -> Classification | None:
        """The primary classification (the employee's category)."""
        return self.classifications.get(self.primary) if self.primary else None


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
        "classification": [_resolve(host, "classifier", "classification", ref, rubric) for ref in scoring.classification],
        "development": scoring.development
        and _resolve(host, "development recommender", "development", scoring.development, rubric),
        "flags": [_resolve(host, "flag rule", "flags", ref, rubric) for _, ref in scoring.flag_rules()],
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
    with ExitStack() as background:  # worker processes started along the way end with the run
        return _score(host, loaded, inputs, overrides, progress, background)


def _score(
    host: PluginHost, loaded: LoadedRubric, inputs: Inputs, overrides: Overrides, progress: Progress, background: ExitStack
) -> Outcome:
    rubric = loaded.rubric
    scoring = rubric.scoring
    layout = rubric.layout
    plan = plan_components(host, rubric, overrides)
    data = StepInput(rubric=rubric, employees=inputs.employees, frame=inputs.frame, tables=inputs.tables)
    frame = inputs.frame
    n_employees = len(inputs.employees)
    shape = (n_employees, len(layout.competency_ids), len(layout.group_ids))
    steps: list[StepRecord] = []

    progress("weighting")
    cells = rater_cells(frame, layout, n_employees, scoring.min_item_coverage)
    raw_stats = group_stats(cells, cells.score, layout, n_employees)
    weighting: _Resolved = plan["weighting"]
    weights = _weigh(weighting, cells, data)
    steps.append(weighting.record({"rater_cells": len(cells), "counted_cells": int((weights > 0).sum())}))

    progress("calibration")
    totals = weight_totals(cells, weights, shape)
    normalised = normalised_weights(totals)
    normalised.setflags(write=False)  # plugins read it and the aggregation below reuses it: nobody writes it
    data = replace(data, cells=cells, weights=normalised)
    # Rules that read only the ratings and their weights start now, beside the calibration.
    checks = background.enter_context(_FlagChecks(plan["flags"], data, os.cpu_count() or 1))
    # Calibration sees only ratings that count: self-ratings and hidden groups
    # never shape anyone's calibrated score, so they cannot leak through it.
    if plan["calibration"]:
        rating_counts = (weights > 0)[cells.of_rating]
        scores = np.where(rating_counts, frame.score, np.nan)
    else:
        rating_counts, scores = None, frame.score
    rater_effects: dict[str, RaterEffects] = {}
    notes: dict[int, list[dict[str, str]]] = {}
    for step in plan["calibration"]:
        result: Calibration = _call(step, lambda s=step, x=scores: s.component.calibrate(x.copy(), data, s.options))
        adjusted = np.asarray(result.scores, dtype=np.float64)
        if adjusted.shape != scores.shape:
            raise step.broken(f"returned {adjusted.shape} scores for {scores.shape[0]} ratings")
        if not np.array_equal(np.isnan(adjusted), np.isnan(scores)) or np.isinf(adjusted).any():
            raise step.broken("changed which ratings are 'not observed' or returned infinite scores")
        if result.rater_effects is not None:
            effects = np.asarray(result.rater_effects, dtype=np.float64)
            se = None if result.rater_se is None else np.asarray(result.rater_se, dtype=np.float64)
            if effects.shape != (len(frame.raters),) or (se is not None and se.shape != effects.shape):
                raise step.broken(f"returned rater effects that are not one per rater ({len(frame.raters)})")
            rater_effects[step.component.name] = RaterEffects(effects, se)
        for employee, note in result.notes.items():
            notes.setdefault(int(employee), []).append(dict(note))
        scores = adjusted
        steps.append(step.record(dict(result.summary)))

    progress("aggregation")
    in_sample = reliability_sample(data.employees.ids)
    counting_in_sample = (weights > 0) & in_sample[cells.ratee]
    # The reliability report reads only the frame and the cells, and numpy releases the GIL for most
    # of its work: it runs on the second core beside the aggregation, collected before anything forks.
    with ThreadPoolExecutor(max_workers=1) as beside:
        pending_report = beside.submit(reliability_report, frame, cells, counting_in_sample, layout, rubric.scale.min, rubric.scale.max)
        if plan["calibration"]:
            calibrated_cells = cell_means(cells.of_rating, np.where(rating_counts, scores, frame.score), len(cells))
        else:  # nothing calibrated: the cells' own means (8M-entry arrays are not recomputed for nothing)
            calibrated_cells = cells.score
        del scores, rating_counts
        spread = rater_spread(cells, calibrated_cells, totals)
        aggregated = _aggregate(rubric, cells, calibrated_cells, totals, spread, raw_stats, normalised)
        reliability_info = reliability(aggregated.overall, aggregated.overall_se)
        summary = _with_evidence(aggregated, cells, weights, rubric, reliability_info.true_variance).resolved()
        del aggregated
        group_share = group_shares(cells, totals)
        del totals  # 8M cell indices, not needed again
        # Nothing calibrated: the calibrated statistics are the raw ones.
        calibrated_stats = raw_stats if calibrated_cells is cells.score else group_stats(cells, calibrated_cells, layout, n_employees)
        reliability_report_ = pending_report.result()
    steps.append(
        StepRecord(
            "aggregation",
            None,
            None,
            {
                "min_item_coverage": scoring.min_item_coverage,
                "decimals": scoring.decimals,
                "interval": scoring.interval,
                "min_reliability": scoring.min_reliability,
                "required_groups": list(scoring.required_groups),
            },
            {
                "employees": n_employees,
                "employees_scored": int((~np.isnan(summary.overall)).sum()),
                "employees_with_sufficient_evidence": int(summary.sufficient.sum()),
                "true_score_variance": _plain(reliability_info.true_variance),
                "rater_spread": spread.as_dict(layout.group_ids),
                "reliability_report_sample": {"employees": int(in_sample.sum()), "of": n_employees, "rule": SAMPLE_RULE},
            },
        )
    )

    progress("classification")
    primary = scoring.category or (scoring.classification[0].name if scoring.classification else None)
    classifications = _classify_all(plan["classification"], summary, data, n_employees) if plan["classification"] else {}
    unclassified, data = data, replace(data, classifications=classifications)

    fragile: dict[int, list[int]] = {}
    if plan["classification"]:
        robustness: dict[str, Any] = {}
        if scoring.leave_one_out:

            def rescore(subset: RaterCells, subset_data: StepInput, origin: np.ndarray) -> np.ndarray:
                subset_weights = _weigh(weighting, subset, subset_data)
                n_pseudo = len(subset_data.employees)
                subset_totals = weight_totals(subset, subset_weights, (n_pseudo, *shape[1:]))
                # Deferred: a classifier that reads only the scores never pays for their standard errors.
                pseudo = _aggregate(rubric, subset, calibrated_cells[origin], subset_totals, spread)
                pseudo_summary = _with_evidence(pseudo, subset, subset_weights, rubric, reliability_info.true_variance)
                return _classify_all(plan["classification"], pseudo_summary, subset_data, n_pseudo)[primary].categories

            fragile = leave_one_rater_out(cells, weights, unclassified, classifications[primary].categories, rescore)
            robustness = {"leave_one_rater_out": {"employees_checked": int((~np.isnan(summary.overall)).sum()), "fragile": len(fragile)}}
        for classifier in plan["classification"]:
            result = classifications[classifier.component.name]
            counts = {code: int((result.categories == code).sum()) for code in result.labels}
            extra = robustness if classifier.component.name == primary else {}
            steps.append(classifier.record({"categories": counts, "primary": classifier.component.name == primary, **extra}))

    progress("development")
    plans: list[DevelopmentPlan] = [DevelopmentPlan()] * n_employees  # one shared, never-modified empty plan
    if plan["development"]:
        recommender: _Resolved = plan["development"]
        plans = _call(recommender, lambda: recommender.component.recommend(summary, data, recommender.options))
        if len(plans) != n_employees or not all(isinstance(p, DevelopmentPlan) for p in plans):
            raise recommender.broken(f"did not return one DevelopmentPlan per employee ({n_employees})")
        steps.append(recommender.record({"employees_with_plan": sum(1 for p in plans if p.entries)}))

    progress("flags")
    flags: list[Flag] = fragile_flags(fragile, data, classifications.get(primary)) if fragile else []
    for rule, raised in zip(plan["flags"], checks.results(summary, data)):
        if not all(isinstance(flag, Flag) for flag in raised):
            raise rule.broken("returned something that is not an appraisal.components.Flag")
        flags += raised
        steps.append(rule.record({"flags": len(raised)}))

    return Outcome(
        rubric=loaded,
        inputs=inputs,
        cells=cells,
        weights=data.weights,
        scores=summary,
        group_share=group_share,
        calibrated_group_mean=calibrated_stats.mean,
        classifications=classifications,
        primary=primary,
        plans=plans,
        flags=flags,
        steps=steps,
        rater_effects=rater_effects,
        calibration_notes=notes,
        fragile=fragile,
        reliability=reliability_report_,
    )


PARALLEL_FLAGS_MIN_EMPLOYEES = 2_000
"""Smaller runs check their flag rules in this process: forking workers would cost more than it saves."""


class _FlagChecks:
    """The run's flag rules, each checked as early as its input allows.

    Rules that read only the ratings and their weights (``reads_scores`` is
    False: the integrity checks) start once the weights are known: on a large
    run in forked worker processes, side by side with each other and with the
    calibration, aggregation, leave-one-rater-out and development plans in
    this process (the Rasch misfit fit alone takes 16-18 s at 100,000
    employees).  Rules that read the scores or classifications are checked
    here, when :meth:`results` asks, once those exist.  Flags come back in rule
    order, so the run's output does not depend on which finished first, and
    each rule sees the same input whether checked here or in a worker.
    """

    def __init__(self, rules: Sequence[_Resolved], data: StepInput, workers: int) -> None:
        self._rules = list(rules)
        self._ratings_only = (self._rules, None, data)
        early = [index for index, rule in enumerate(self._rules) if not rule.component.reads_scores]
        parallel = workers > 1 and bool(early) and len(data.employees) >= PARALLEL_FLAGS_MIN_EMPLOYEES and can_fork()
        self._early = early
        self._workers = ForkedWorkers(self._ratings_only, min(workers, len(early))) if parallel else None
        self._pending: dict[int, Future[list[Flag]]] = {}

    def __enter__(self) -> _FlagChecks:
        if self._workers is not None:
            self._workers.__enter__()
            self._pending = {index: self._workers.submit(_raise_flags, index) for index in self._early}
        return self

    def results(self, summary: ScoreSummary, data: StepInput) -> Iterator[list[Flag]]:
        """Each rule's flags, in rule order; ``summary`` and ``data`` are what the score-reading rules see."""
        for index, rule in enumerate(self._rules):
            if rule.component.reads_scores:
                yield _raise_flags((self._rules, summary, data), index)
            elif index not in self._pending:
                yield _raise_flags(self._ratings_only, index)
            else:
                try:
                    yield self._pending[index].result()
                except BrokenExecutor:
                    raise rule.broken("stopped: the worker process checking it died (out of memory?)") from None

    def __exit__(self, *raised: Any) -> None:
        if self._workers is not None:
            self._workers.__exit__(*raised)


def _raise_flags(inputs: tuple[list[_Resolved], ScoreSummary | None, StepInput], index: int) -> list[Flag]:
    rules, summary, data = inputs
    rule = rules[index]
    return _call(rule, lambda: rule.component.flags(summary, data, rule.options))


RELIABILITY_SAMPLE = 20_000
SAMPLE_RULE = "employees with the smallest CRC-32 of employee_id"


def reliability_sample(ids: np.ndarray, size: int = RELIABILITY_SAMPLE) -> np.ndarray:
    """``bool[E]``: the employees the run's reliability report is estimated on.

    Everyone up to ``size`` employees; beyond that a fixed pseudo-random
    sample of about ``size``, chosen by a hash of the id so that it does not
    depend on row or roster order.  ICC, alpha and D-study numbers from 20,000
    employees are precise to the second decimal, and the report then costs
    the same for a province as for a city.
    """
    if len(ids) <= size:
        return np.ones(len(ids), dtype=bool)
    hashes = np.fromiter((zlib.crc32(str(i).encode("utf-8")) for i in ids), dtype=np.uint32, count=len(ids))
    return hashes <= np.partition(hashes, size - 1)[size - 1]


def _aggregate(
    rubric: Rubric,
    cells: RaterCells,
    calibrated_cells: np.ndarray,
    totals: WeightTotals,
    spread: RaterSpread,
    raw_stats: GroupStats | None = None,
    normalised: np.ndarray | None = None,
) -> _DeferredSummary:
    """Competency, cluster and overall scores, raw and final, with their standard errors.

    The final scores are computed now; the raw ones, the group statistics and the standard errors
    when first read (:class:`_DeferredSummary`); reliability and sufficiency come with
    :func:`_with_evidence`.  ``raw_stats`` and ``normalised`` (the weights summing to 1 per
    employee × competency) are computed here unless the caller already has them.
    """
    layout = rubric.layout
    n_employees = totals.shape[0]

    @cache
    def raw() -> np.ndarray:
        return combine(cells.score, totals)

    @cache
    def weights() -> np.ndarray:
        return normalised_weights(totals) if normalised is None else normalised

    final = raw() if calibrated_cells is cells.score else combine(calibrated_cells, totals)
    clusters, overall = rollup(final, layout)
    decimals = rubric.scoring.decimals
    scores = {
        "competency": final,
        "cluster": clusters,
        "overall": overall,
        "shown_overall": round_half_up(overall, decimals),
        "shown_competency": round_half_up(final, decimals),
    }
    later: dict[str, Callable[[ScoreSummary], Any]] = {
        "competency_raw": lambda _: raw(),
        "overall_raw": lambda summary: rollup(summary.competency_raw, layout)[1],
        "group_stats": lambda _: group_stats(cells, cells.score, layout, n_employees) if raw_stats is None else raw_stats,
        "self_score": lambda summary: _self_scores(summary.group_stats, layout.self_group),
        "competency_se": lambda _: competency_se(cells, weights(), spread, totals),
        "overall_se": lambda _: overall_se(cells, weights(), final, layout, spread, totals),
    }
    return _DeferredSummary(scores, later)


def _with_evidence(
    summary: _DeferredSummary, cells: RaterCells, weights: np.ndarray, rubric: Rubric, true_variance: float
) -> _DeferredSummary:
    """Reliability and whether the evidence suffices (reliability and required groups), each computed when first read."""
    layout = rubric.layout

    def sufficient(scores: ScoreSummary) -> np.ndarray:
        enough = np.nan_to_num(scores.reliability, nan=0.0) >= rubric.scoring.min_reliability - 1e-12
        n_employees, n_groups = len(scores.overall), len(layout.group_ids)
        counted = weights > 0
        present = np.bincount(cells.ratee[counted] * n_groups + cells.group[counted], minlength=n_employees * n_groups)
        present = present.reshape(n_employees, n_groups) > 0
        for group_id in rubric.scoring.required_groups:
            enough &= present[:, layout.group_ids.index(group_id)]
        return enough & ~np.isnan(scores.overall)

    return summary.deferring(
        {"reliability": lambda scores: reliability_given(true_variance, scores.overall_se), "sufficient": sufficient}
    )


class _DeferredSummary(ScoreSummary):
    """A :class:`ScoreSummary` some of whose fields are computed when first read, each once.

    The leave-one-rater-out check scores a pseudo-employee per (employee, removed rater) only to
    classify it, and a classifier that reads the final scores alone (the built-in bands) never needs
    the raw scores, their standard errors, reliability or group statistics: at 100,000 employees
    those were about 2.2 of the check's 3.3 s of rescoring.  A field a classifier does read is
    computed on first use, the same way as for the run.  The run's own summary is
    :meth:`resolved` into a plain one.
    """

    def __init__(
        self, ready: dict[str, Any] | None = None, later: dict[str, Callable[[ScoreSummary], Any]] | None = None, **given: Any
    ) -> None:
        """``given``: every field, as :func:`dataclasses.replace` passes them (having read each)."""
        # Set past the frozen dataclass's guard: these are the fields' first (and only) values.
        for name, value in {**(ready or {}), **given}.items():
            object.__setattr__(self, name, value)
        object.__setattr__(self, "_later", dict(later or {}))

    def __getattr__(self, name: str) -> Any:  # called only for a field not set yet
        later = self.__dict__.get("_later", {})
        if name not in later:
            raise AttributeError(name)
        value = later.pop(name)(self)
        object.__setattr__(self, name, value)
        return value

    def deferring(self, later: dict[str, Callable[[ScoreSummary], Any]]) -> _DeferredSummary:
        """This summary with ``later`` computing (or replacing) those fields.

        Fields already read keep their values, even one computed from a field ``later`` replaces:
        :func:`_with_evidence` replaces reliability and sufficiency, which nothing else is computed from.
        """
        ready = {f.name: self.__dict__[f.name] for f in fields(ScoreSummary) if f.name in self.__dict__ and f.name not in later}
        return _DeferredSummary(ready, {**self.__dict__["_later"], **later})

    def resolved(self) -> ScoreSummary:
        """Every field computed, as a plain :class:`ScoreSummary` (which keeps none of the inputs alive)."""
        return ScoreSummary(**{f.name: getattr(self, f.name) for f in fields(ScoreSummary)})


def _weigh(weighting: _Resolved, cells: RaterCells, data: StepInput) -> np.ndarray:
    """The scheme's weights, checked, with everything that must not count set to zero."""
    scheme_weights = _call(weighting, lambda: weighting.component.weights(cells, data, weighting.options))
    scheme_weights = np.asarray(scheme_weights, dtype=np.float64)
    if scheme_weights.shape != (len(cells),):
        raise weighting.broken(f"returned {scheme_weights.shape} weights for {len(cells)} rater cells")
    if not np.isfinite(scheme_weights).all() or (scheme_weights < 0).any():
        raise weighting.broken("returned negative or non-finite weights")
    return np.where(counting(cells, data.rubric.layout), scheme_weights, 0.0)


def _classify_all(
    classifiers: list[_Resolved], summary: ScoreSummary, data: StepInput, n_employees: int
) -> dict[str, Classification]:
    """Run the classifiers in order; each sees the results of the ones before it."""
    results: dict[str, Classification] = {}
    for classifier in classifiers:
        results[classifier.component.name] = _classify(
            classifier, summary, replace(data, classifications=dict(results)), n_employees
        )
    return results


def _classify(classifier: _Resolved, summary: ScoreSummary, data: StepInput, n_employees: int) -> Classification:
    classification = _call(classifier, lambda: classifier.component.classify(summary, data, classifier.options))
    categories = np.asarray(classification.categories, dtype=object)
    details = classification.details
    if (
        categories.shape != (n_employees,)
        or len(classification.reasons) != n_employees
        or (details is not None and len(details) != n_employees)
    ):
        raise classifier.broken(f"did not return one category, reason (and details) per employee ({n_employees})")
    unknown = set(categories.tolist()) - set(classification.labels) - {""}
    if unknown:
        raise classifier.broken(f"returned categories without labels: {', '.join(sorted(unknown))}")
    component = classifier.component
    title = dict(component.title) or {"id": component.name, "en": component.name}
    return replace(classification, categories=categories, title=title)


def _plain(value: float) -> float | None:
    return None if not np.isfinite(value) else round(float(value), 6)


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
