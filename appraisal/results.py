"""Results as people and writers see them: one record per employee, with its trace.

:class:`ComputedRun` turns the arrays of a pipeline :class:`~appraisal.pipeline.Outcome`
into records lazily (a million employees never sit in memory as dicts at
once); :class:`StoredRun` reads them back from ``results.json`` so that
``explain`` and ``report`` work on a finished run.

Anonymity: a group below its minimum appears only as ``{"group": id,
"shown": false}`` — no mean, no count — and nothing shown was computed from
its ratings.
"""

from __future__ import annotations

import json
import math
from bisect import bisect_left
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import Future
from dataclasses import fields
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import pyarrow as pa

from . import __version__
from .components import Flag, PlanEntry, RunView
from .grouping import distinct, factorize
from .output import DigestedOutput
from .pipeline import Outcome
from .rubric import RubricLayout
from .scoring import round_half_up, safe_divide
from .uncertainty import z_value
from .workers import ForkedWorkers, can_fork

JSON_DECIMALS = 6
FLAG_FIELDS = tuple(f.name for f in fields(Flag))
# The line layout of results.json (written by write_results_json, streamed back by StoredRun).
_RUN_PREFIX = '{"run": '
_EMPLOYEES_OPEN = '"employees": [\n'
_FLAGS_OPEN = '"flags": [\n'
_RATERS_PREFIX = '"raters": '

PARALLEL_MIN_EMPLOYEES = 2_000
"""Runs with fewer employees are encoded in-process: forking workers would cost more than it saves."""
RECORDS_PER_TASK = 500
"""Employee records a worker encodes per task (about 5 MB of JSON): amortises the hand-back, keeps memory flat."""
_PENDING_PER_WORKER = 2


def number(value: Any) -> float | None:
    """A JSON-safe number: NaN becomes null, floats keep 6 decimals."""
    value = float(value)
    return None if math.isnan(value) else round(value, JSON_DECIMALS) + 0.0  # + 0.0 turns -0.0 into 0.0


def plan_entry(entry: PlanEntry) -> dict[str, Any]:
    # Written out rather than dataclasses.asdict, whose recursive deep copy dominated large runs.
    return {
        "competency": entry.competency,
        "required": number(entry.required),
        "achieved": number(entry.achieved),
        "gap": number(entry.gap),
        "priority": number(entry.priority),
        "actions": [dict(action) for action in entry.actions],
    }


def flag_to_dict(flag: Flag) -> dict[str, Any]:
    return {name: getattr(flag, name) for name in FLAG_FIELDS} | {"message": dict(flag.message), "rows": list(flag.rows)}


def flag_from_dict(record: dict[str, Any]) -> Flag:
    return Flag(**{**record, "rows": tuple(record.get("rows", ()))})


def _rounded(values: np.ndarray) -> np.ndarray:
    """JSON precision for a whole array at once (-0.0 becomes 0.0; NaN stays NaN)."""
    return np.round(np.asarray(values, dtype=np.float64), JSON_DECIMALS) + 0.0


def _nulls(values: list[float]) -> list[float | None]:
    return [None if v != v else v for v in values]  # v != v only for NaN


class ComputedRun(RunView):
    """A run just computed, viewed through the writer interface.

    Numbers are rounded once, as arrays; each record then only picks rows
    out of Python lists, so a record costs microseconds, not numpy calls.
    """

    def __init__(self, outcome: Outcome, extra_meta: dict[str, Any] | None = None) -> None:
        self.outcome = outcome
        self._meta = {**build_meta(outcome), **(extra_meta or {})}

    # The per-employee arrays of the records are made when the first record asks for them: a run
    # that writes only CSV files never does (0.13 s at 100,000 employees).

    @cached_property
    def _counts(self) -> np.ndarray:
        """``int64[E, 3]``: each employee's ratings, ratings 'not observed', and raters other than self."""
        frame = self.outcome.inputs.frame
        n_employees = len(self.outcome.inputs.employees)
        others = frame.group != self._layout.self_group
        n_raters = max(len(frame.raters), 1)
        pairs = distinct(frame.ratee[others] * n_raters + frame.rater[others])
        return np.stack(
            [
                np.bincount(frame.ratee, minlength=n_employees),
                np.bincount(frame.ratee, weights=np.isnan(frame.score), minlength=n_employees).astype(np.int64),
                np.bincount(pairs // n_raters, minlength=n_employees),
            ],
            axis=1,
        )

    @cached_property
    def _competency(self) -> tuple[np.ndarray, list[bool]]:
        """The numbers of each employee's competency entries, rounded, as ``float64[E, 9, C]`` (score_raw,
        score, score_shown, se, interval low and high, self, self − others, and the trace's calibration
        shift score − score_raw), and whether an employee's hold a NaN: a record then takes its nine rows
        with one ``tolist`` and looks for NaN only there."""
        scores = self.outcome.scores
        z = z_value(self.outcome.rubric.rubric.scoring.interval)
        numbers = np.stack(
            [
                _rounded(scores.competency_raw),
                _rounded(scores.competency),
                _rounded(scores.shown_competency),
                _rounded(scores.competency_se),
                _rounded(scores.competency - z * scores.competency_se),
                _rounded(scores.competency + z * scores.competency_se),
                _rounded(scores.self_score),
                _rounded(scores.self_score - scores.competency_raw),
            ],
            axis=1,
        )
        # The shift of the rounded scores, as the trace states it (their difference, rounded again).
        shift = _rounded(numbers[:, 1] - numbers[:, 0])
        numbers = np.concatenate([numbers, shift[:, np.newaxis]], axis=1)
        return numbers, np.isnan(numbers).any(axis=(1, 2)).tolist()

    @cached_property
    def _groups(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The numbers of each group entry of a competency: raters ``int64[E, C, G]``, shown ``bool[E, C, G]``,
        and mean, share and calibrated mean, rounded, as ``float64[E, 3, C, G]`` (one ``tolist`` a record)."""
        stats = self.outcome.scores.group_stats
        means = np.stack(
            [_rounded(stats.mean), _rounded(self.outcome.group_share), _rounded(self.outcome.calibrated_group_mean)], axis=1
        )
        return stats.n, stats.visible, means

    @cached_property
    def _employee(self) -> dict[str, np.ndarray]:
        """The employee-level numbers, rounded: ``float64[E]`` each, ``[E, K]`` for the clusters."""
        scores = self.outcome.scores
        z = z_value(self.outcome.rubric.rubric.scoring.interval)
        return {
            "overall_raw": _rounded(scores.overall_raw),
            "overall": _rounded(scores.overall),
            "overall_shown": _rounded(scores.shown_overall),
            "overall_se": _rounded(scores.overall_se),
            "low": _rounded(scores.overall - z * scores.overall_se),
            "high": _rounded(scores.overall + z * scores.overall_se),
            "reliability": _rounded(scores.reliability),
            "cluster": _rounded(scores.cluster),
        }

    @property
    def meta(self) -> dict[str, Any]:
        return self._meta

    def flags(self) -> Iterator[Flag]:
        return iter(self.outcome.flags)

    def employees(self) -> Iterator[dict[str, Any]]:
        for e in range(len(self.outcome.inputs.employees)):
            yield self.record(e)

    def encoded_body(self, workers: int) -> Iterator[bytes]:
        """results.json after its meta: the employee lines in order, in batches of records joined by
        ``,\\n`` (and the ``,\\n`` between batches), then the flags and the raters.

        Building the records is Python work (0.09-0.12 ms per employee at
        100,000, encoding included), so with ``workers`` > 1 forked processes
        build and encode batches of them side by side: a fork inherits this run's arrays without copying or
        pickling them, and only the encoded bytes come back.  At most
        ``2 × workers`` batches are in flight.  The flags and raters (1.1 s at
        100,000 employees) are a worker's first task, not the main process's
        work after the last batch.  Where processes cannot be forked, or the
        run is small, everything is encoded here, record by record.
        """
        n = len(self.outcome.inputs.employees)
        if workers <= 1 or n < PARALLEL_MIN_EMPLOYEES or not can_fork():
            yield from _serial_body(self)
            return
        # Computed once here, before the fork, so that no worker computes them again.
        self._counts, self._competency, self._groups, self._employee  # noqa: B018
        self._shown_comments, self._flags_by_employee  # noqa: B018
        if self.outcome.rater_effects:
            self._leniency_by_group  # noqa: B018
        with ForkedWorkers(self, workers) as pool:
            rest = pool.submit(_encoded_flags_and_raters)
            yield from _separated(self._batches(pool, workers, n))
            yield rest.result()

    @staticmethod
    def _batches(pool: ForkedWorkers, workers: int, n: int) -> Iterator[bytes]:
        pending: deque[Future[bytes]] = deque()
        for start in range(0, n, RECORDS_PER_TASK):
            pending.append(pool.submit(_encode_records, start, min(start + RECORDS_PER_TASK, n)))
            if len(pending) >= _PENDING_PER_WORKER * workers:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()

    def raters(self) -> list[dict[str, Any]]:
        return self._rater_records

    def rater_summary(self) -> dict[str, Any]:
        return self._rater_columns[0]

    @cached_property
    def _rater_columns(self) -> tuple[dict[str, Any], tuple[list[tuple[str, ...]], np.ndarray]]:
        """The rater summary, and each rater's relationships as (distinct group sets, set of each rater)."""
        # Built once, as arrays: raters.csv is written straight from them, and the JSON records come from them.
        outcome = self.outcome
        frame = outcome.inputs.frame
        layout = outcome.rubric.rubric.layout
        n_raters = len(frame.raters)
        others = (frame.group != layout.self_group) & ~np.isnan(frame.score)
        rater, score = frame.rater[others], frame.score[others]
        n = np.bincount(rater, minlength=n_raters)
        mean = safe_divide(np.bincount(rater, weights=score, minlength=n_raters), n)
        squares = np.bincount(rater, weights=score * score, minlength=n_raters)
        sd = np.sqrt(np.maximum(safe_divide(squares - n * mean**2, n - 1), 0.0))
        # Distinct (ratee, rater) pairs first: the frame is sorted by ratee then rater, so they are runs,
        # and the per-rater counts below then look at pairs, not ratings.
        _, first = factorize(frame.ratee[others] * np.int64(max(n_raters, 1)) + rater)
        pair_rater, pair_ratee, pair_group = rater[first], frame.ratee[others][first], frame.group[others][first]
        ratees = np.bincount(pair_rater, minlength=n_raters)
        units = pa.array(outcome.inputs.employees.units.tolist(), type=pa.string()).dictionary_encode()
        unit_codes = units.indices.to_numpy(zero_copy_only=False).astype(np.int64)
        n_units = max(len(units.dictionary), 1)
        unit_pairs = distinct(pair_rater * np.int64(n_units) + unit_codes[pair_ratee])
        units_rated = np.bincount(unit_pairs // n_units, minlength=n_raters)
        # Each rater's relationships as a bit set over the groups: a run has only a few distinct sets.
        group_bits = np.zeros(n_raters, dtype=np.int64)
        np.bitwise_or.at(group_bits, pair_rater, np.int64(1) << pair_group)
        sets, set_of_rater = np.unique(group_bits, return_inverse=True)
        spelled = [tuple(g for k, g in enumerate(layout.group_ids) if int(bits) >> k & 1) for bits in sets]
        run_mean = float(score.mean()) if len(score) else np.nan
        summary = {
            "rater_id": frame.raters,
            "employee": frame.rater_employee >= 0,
            "ratings": n,
            "ratees": ratees,
            "relationships": np.array([" ".join(groups) for groups in spelled], dtype=object)[set_of_rater.reshape(-1)],
            "mean": _rounded(mean),
            "sd": _rounded(sd),
            "centring_offset": _rounded(mean - run_mean),
            "units_rated": units_rated,
            "leniency": {name: _rounded(e.effect) for name, e in outcome.rater_effects.items()},
            "leniency_se": {name: _rounded(e.se) for name, e in outcome.rater_effects.items() if e.se is not None},
        }
        return summary, (spelled, set_of_rater.reshape(-1))

    @cached_property
    def _rater_records(self) -> list[dict[str, Any]]:
        table, (spelled, set_of_rater) = self._rater_columns

        def column(values: np.ndarray) -> list[float | None]:
            return _nulls(values.tolist())

        effects = {name: column(values) for name, values in table["leniency"].items()}
        effect_se = {name: column(values) for name, values in table["leniency_se"].items()}
        columns = zip(
            table["rater_id"].tolist(),
            table["employee"].tolist(),
            table["ratings"].tolist(),
            table["ratees"].tolist(),
            set_of_rater.tolist(),
            column(table["mean"]),
            column(table["sd"]),
            column(table["centring_offset"]),
            table["units_rated"].tolist(),
        )
        return [
            {
                "rater_id": str(rater_id),
                "employee": employee,
                "ratings": ratings,
                "ratees": rated,
                "relationships": list(spelled[groups]),
                "mean": mean_r,
                "sd": sd_r,
                "centring_offset": offset,
                "units_rated": units,
                "leniency": {name: values[r] for name, values in effects.items()},
                "leniency_se": {name: values[r] for name, values in effect_se.items()},
            }
            for r, (rater_id, employee, ratings, rated, groups, mean_r, sd_r, offset, units) in enumerate(columns)
        ]

    def summary(self) -> dict[str, Any]:
        outcome = self.outcome
        people = outcome.inputs.employees
        scores = outcome.scores
        decimals = outcome.rubric.rubric.scoring.decimals
        classification = outcome.classification
        n = len(people)
        return {
            "employee_id": people.ids,
            "name": people.names,
            "unit": people.units,
            "overall_raw": round_half_up(scores.overall_raw, decimals),
            "overall": scores.shown_overall,
            "category": classification.categories if classification else np.full(n, "", dtype=object),
            "competencies": scores.shown_competency,
            "classifications": {
                name: c.categories for name, c in outcome.classifications.items() if name != outcome.primary
            },
        }

    def record(self, e: int) -> dict[str, Any]:
        """The full result of employee code ``e``."""
        # Built for 100,000 employees and more, so the loops walk zipped rows instead of indexing.
        outcome = self.outcome
        people = outcome.inputs.employees
        employee_id = str(people.ids[e])
        numbers, with_nan = self._competency
        group_n, group_visible, group_means = self._groups
        rows = numbers[e].tolist()
        if with_nan[e]:
            rows = [_nulls(row) for row in rows]
        *entry_rows, calibration_shift = rows  # the eight numbers of each competency entry, then the trace's shifts
        group_ids = self._layout.group_ids
        competencies = []
        counted_shares: dict[str, dict[str, float]] = {}
        for (competency_id, cluster_id, weight), n_c, visible_c, mean_c, share_c, calibrated_c, raw, score, shown, se, low, high, own, gap in zip(
            self._competency_constants,
            group_n[e].tolist(),
            group_visible[e].tolist(),
            *group_means[e].tolist(),  # mean, share, calibrated mean; NaN: orjson writes null
            *entry_rows,
        ):
            groups = []
            counted_shares[competency_id] = shares = {}
            for group_id, n, visible, mean, share, calibrated in zip(group_ids, n_c, visible_c, mean_c, share_c, calibrated_c):
                if n == 0:
                    continue
                if not visible:
                    groups.append({"group": group_id, "shown": False})
                    continue
                counted = share > 0
                if counted:
                    shares[group_id] = share
                groups.append(
                    {
                        "group": group_id,
                        "shown": True,
                        "n": n,
                        "mean": mean,
                        "counted": counted,
                        "share": share,
                        "mean_calibrated": calibrated if counted else None,
                    }
                )
            competencies.append(
                {
                    "id": competency_id,
                    "cluster": cluster_id,
                    "weight": weight,
                    "score_raw": raw,
                    "score": score,
                    "score_shown": shown,
                    "se": se,
                    "interval": None if se is None else [low, high],
                    "self": own,
                    "self_minus_others": gap,
                    "groups": groups,
                }
            )

        classifications = {name: _category(result, e) for name, result in outcome.classifications.items()}
        category = classifications.get(outcome.primary) if outcome.primary else None

        scored = [value is not None for value in entry_rows[1]]  # the final scores
        if not any(scored):
            status = "no_data"
        elif not outcome.scores.sufficient[e]:
            status = "insufficient_evidence"
        else:
            status = "ok" if all(scored) else "incomplete"
        profile = int(people.profile[e])
        ratings, not_observed, raters = self._counts[e].tolist()
        overall_raw, overall, overall_shown, se, low, high, reliability = _nulls([values[e] for values in self._overall])
        clusters = _nulls(self._employee["cluster"][e].tolist())
        record = {
            "employee_id": employee_id,
            "name": str(people.names[e]),
            "unit": str(people.units[e]),
            "position": str(people.positions[e]),
            "profile": self._profile_ids[profile] if profile >= 0 else None,
            "roster": {name: str(values[e]) for name, values in people.extra.items()},
            "status": status,
            "overall_raw": overall_raw,
            "overall": overall,
            "overall_shown": overall_shown,
            "overall_se": se,
            "overall_interval": None if se is None else [low, high],
            "reliability": reliability,
            "category": category,
            "classifications": classifications,
            "counts": {"ratings": ratings, "not_observed": not_observed, "raters": raters},
            "clusters": [{"id": cluster_id, "score": score} for cluster_id, score in zip(self._layout.cluster_ids, clusters)],
            "competencies": competencies,
            "development_plan": [plan_entry(entry) for entry in outcome.plans[e].entries],
            "development": dict(outcome.plans[e].insights),
            "development_hr": dict(outcome.plans[e].hr_only),
            "comments": self._comments(e),
            "flags": [flag_to_dict(flag) for flag in self._flags_by_employee.get(employee_id, [])],
        }
        record["trace"] = self.trace(record, e, counted_shares, calibration_shift)
        return record

    @cached_property
    def _layout(self) -> RubricLayout:
        return self.outcome.rubric.rubric.layout

    @cached_property
    def _competency_constants(self) -> list[tuple[str, str, float]]:
        """Each competency's id, cluster and weight, as every record lists them."""
        layout = self._layout
        return [
            (competency_id, layout.cluster_ids[cluster], float(weight))
            for competency_id, cluster, weight in zip(layout.competency_ids, layout.competency_cluster, layout.competency_weight)
        ]

    @cached_property
    def _profile_ids(self) -> list[str]:
        return [position.id for position in self.outcome.rubric.rubric.positions]

    @cached_property
    def _step_components(self) -> tuple[str, tuple[str, ...]]:
        """The weighting scheme and the calibration steps, in run order, as the traces name them."""
        steps = self.outcome.steps
        weighting = {step.step: step for step in steps}["weighting"].component
        return weighting, tuple(step.component for step in steps if step.step == "calibration")

    @cached_property
    def _overall(self) -> list[list[float]]:
        """The employee-level numbers of the records, as Python floats (NaN where missing), in record order."""
        keys = ("overall_raw", "overall", "overall_shown", "overall_se", "low", "high", "reliability")
        return [self._employee[key].tolist() for key in keys]

    @cached_property
    def _flags_by_employee(self) -> dict[str, list[Flag]]:
        found: dict[str, list[Flag]] = {}
        for flag in self.outcome.flags:
            if flag.subject == "employee" and flag.audience == "employee":
                found.setdefault(flag.subject_id, []).append(flag)
        return found

    @cached_property
    def _shown_comments(self) -> tuple[list[int], list[str], list[str], list[str]] | None:
        """The comments from rater groups shown for their competency, by employee: where each employee's
        comments start (``starts[e]:starts[e + 1]``), and each comment's group id, competency id and text.

        Python lists prepared once, before the workers fork: each worker then
        builds only its own employees' comments, by slicing.
        """
        frame = self.outcome.inputs.frame
        if frame.comments is None:
            return None
        stats = self.outcome.scores.group_stats
        rating = frame.comments.rating
        shown = np.flatnonzero(stats.visible[frame.ratee[rating], frame.competency[rating], frame.group[rating]])
        ratee = frame.ratee[rating[shown]]
        order = np.argsort(ratee, kind="stable")  # stable: an employee's comments keep their order in the file
        starts = np.searchsorted(ratee[order], np.arange(len(self.outcome.inputs.employees) + 1))
        rating, layout = rating[shown[order]], self._layout
        return (
            starts.tolist(),
            [layout.group_ids[g] for g in frame.group[rating].tolist()],
            [layout.competency_ids[c] for c in frame.competency[rating].tolist()],
            frame.comments.text[shown[order]].tolist(),
        )

    def _comments(self, e: int) -> list[dict[str, str]]:
        """Employee ``e``'s comments from rater groups shown for that competency, without rater ids.

        A group below its anonymity minimum contributes no comment at all; the
        comments are sorted by group, competency and text so their order
        cannot point at a rater either.
        """
        if self._shown_comments is None:
            return []
        starts, groups, competencies, texts = self._shown_comments
        mine = slice(starts[e], starts[e + 1])
        found = [{"group": g, "competency": c, "text": t} for g, c, t in zip(groups[mine], competencies[mine], texts[mine])]
        return sorted(found, key=lambda c: (c["group"], c["competency"], c["text"]))

    @cached_property
    def _leniency_by_group(self) -> tuple[list[int], list[int], dict[str, list[float]]]:
        """Per (employee, group) that counts, in ascending ``employee × groups + group`` order: that key,
        the number of counted raters and, per calibration step, their mean leniency (rounded).

        Only groups that count (and so meet their anonymity minimum) appear;
        raters are never named here (the HR file raters.csv names them).
        Python lists prepared once, before the workers fork.
        """
        outcome = self.outcome
        cells, weights = outcome.cells, outcome.weights
        counted = weights > 0
        n_groups = len(self._layout.group_ids)
        n_raters = len(outcome.inputs.frame.raters)
        forms = distinct((cells.ratee[counted] * n_groups + cells.group[counted]) * np.int64(n_raters) + cells.rater[counted])
        employee_group, rater = forms // n_raters, forms % n_raters
        code, first = factorize(employee_group)
        n = np.bincount(code)
        means = {
            name: [round(value, JSON_DECIMALS) for value in (np.bincount(code, weights=np.nan_to_num(effects.effect[rater])) / n).tolist()]
            for name, effects in outcome.rater_effects.items()
        }
        return employee_group[first].tolist(), n.tolist(), means

    def _rater_leniency(self, e: int) -> dict[str, dict[str, float]]:
        """Group id → the number of the group's counted raters and their mean leniency per calibration step."""
        if not self.outcome.rater_effects:
            return {}
        keys, n, means = self._leniency_by_group
        group_ids = self._layout.group_ids
        lo = bisect_left(keys, e * len(group_ids))
        hi = bisect_left(keys, (e + 1) * len(group_ids), lo)
        found = {group_ids[keys[k] % len(group_ids)]: {"raters": n[k]} for k in range(lo, hi)}
        for name, mean in means.items():
            for entry, value in zip(found.values(), mean[lo:hi]):
                entry[name] = value
        return found

    def trace(
        self, record: dict[str, Any], e: int, counted_shares: dict[str, dict[str, float]], calibration_shift: list[float | None]
    ) -> list[dict[str, Any]]:
        """The ordered steps with their inputs and outputs, enough to recompute the overall by hand.

        :param counted_shares: competency id → {group id: share} of the groups that count.
        :param calibration_shift: each competency's score − score_raw, rounded (None where unscored).
        """
        outcome = self.outcome
        rubric = outcome.rubric.rubric
        layout = rubric.layout
        competencies = record["competencies"]
        weighting, calibration = self._step_components
        trace: list[dict[str, Any]] = [
            {"step": "ratings", "output": dict(record["counts"])},
            {"step": "weighting", "component": weighting, "output": counted_shares},
            {
                "step": "calibration",
                "components": list(calibration),
                "notes": outcome.calibration_notes.get(e, []),
                "rater_leniency": self._rater_leniency(e),
                "output": dict(zip(layout.competency_ids, calibration_shift)),
            },
            {
                "step": "competency",
                "formula": "sum(share x group mean)",
                "output": {c["id"]: {"raw": c["score_raw"], "final": c["score"]} for c in competencies},
            },
        ]
        cluster_inputs: dict[str, dict[str, Any]] = {cluster_id: {} for cluster_id in layout.cluster_ids}
        for c in competencies:
            if c["score"] is not None:
                cluster_inputs[c["cluster"]][c["id"]] = {"weight": c["weight"], "score": c["score"]}
        clusters = {cluster["id"]: cluster["score"] for cluster in record["clusters"]}
        trace.append(
            {
                "step": "cluster",
                "formula": "sum(weight x score) / sum(weight), over competencies with a score",
                "inputs": cluster_inputs,
                "output": clusters,
            }
        )
        trace.append(
            {
                "step": "overall",
                "formula": "sum(weight x cluster score) / sum(weight), over clusters with a score",
                "inputs": {
                    cluster_id: {"weight": float(layout.cluster_weight[k]), "score": clusters[cluster_id]}
                    for k, cluster_id in enumerate(layout.cluster_ids)
                    if clusters[cluster_id] is not None
                },
                "output": {
                    "raw": record["overall_raw"],
                    "final": record["overall"],
                    "shown": record["overall_shown"],
                    "decimals": rubric.scoring.decimals,
                },
            }
        )
        trace.append(
            {
                "step": "uncertainty",
                "output": {
                    "se": record["overall_se"],
                    "interval": record["overall_interval"],
                    "level": rubric.scoring.interval,
                    "reliability": record["reliability"],
                    "min_reliability": rubric.scoring.min_reliability,
                    "sufficient": bool(outcome.scores.sufficient[e]),
                },
            }
        )
        if record["classifications"]:
            trace.append(
                {
                    "step": "classification",
                    "primary": outcome.primary,
                    "output": {
                        name: {"code": c["code"], "reason": c["reason"]} if c else None
                        for name, c in record["classifications"].items()
                    },
                }
            )
        return trace


def _encode_records(run: ComputedRun, start: int, stop: int) -> bytes:
    """In a worker: employees ``start`` to ``stop`` of the inherited run, as results.json lines."""
    return b",\n".join(_dumps(run.record(e)) for e in range(start, stop))


def _category(classification, e: int) -> dict[str, Any] | None:
    code = str(classification.categories[e])
    if not code:
        return None
    category = {"code": code, "label": dict(classification.labels[code]), "reason": dict(classification.reasons[e])}
    if classification.details is not None:
        category["details"] = dict(classification.details[e])
    return category


def build_meta(outcome: Outcome) -> dict[str, Any]:
    """The run-level part of results.json: what was scored, how, and with what."""
    loaded = outcome.rubric
    rubric = loaded.rubric
    layout = rubric.layout
    classification = outcome.classification
    return {
        "engine": {"name": "appraisal", "version": __version__},
        "rubric": {
            "id": rubric.id,
            "name": rubric.name.model_dump(),
            "version": rubric.version,
            "source": loaded.source,
            "sha256": loaded.sha256,
        },
        "language": rubric.language,
        "scale": {"min": rubric.scale.min, "max": rubric.scale.max, "decimals": rubric.scoring.decimals},
        "rater_groups": [
            {
                "id": group_id,
                "label": group.label.model_dump(),
                "weight": group.weight,
                "min_raters": group.min_raters,
                "counts_in_overall": group.counts_in_overall,
            }
            for group_id, group in rubric.rater_groups.items()
        ],
        "clusters": [
            {"id": cluster.id, "name": cluster.name.model_dump(), "weight": float(layout.cluster_weight[k])}
            for k, cluster in enumerate(rubric.clusters)
        ],
        "competencies": [
            {
                "id": competency.id,
                "name": competency.name.model_dump(),
                "cluster": layout.cluster_ids[layout.competency_cluster[c]],
                "weight": competency.weight,
            }
            for c, competency in enumerate(layout.competencies)
        ],
        "categories": {code: dict(label) for code, label in classification.labels.items()} if classification else {},
        "classifications": [
            {"name": name, "title": dict(c.title or {}), "primary": name == outcome.primary, "labels": {code: dict(label) for code, label in c.labels.items()}}
            for name, c in outcome.classifications.items()
        ],
        "steps": [record.as_dict() for record in outcome.steps],
        "reliability": outcome.reliability,
        "employees": len(outcome.inputs.employees),
    }


def write_results_json(run: RunView, path: Path, workers: int = 1) -> None:
    """``results.json``: the meta, then each employee record and each flag on a line of its own, then the raters.

    orjson writes NaN as null, the way the records state a missing number.
    A run just computed builds its employee records in ``workers`` processes
    (the file is the same byte for byte); one read back is streamed through.
    """
    body = run.encoded_body(workers) if isinstance(run, ComputedRun) else _serial_body(run)
    with DigestedOutput(path) as handle:
        handle.write(_RUN_PREFIX.encode() + _dumps(run.meta) + f",\n{_EMPLOYEES_OPEN}".encode())
        for part in body:
            handle.write(part)


def _serial_body(run: RunView) -> Iterator[bytes]:
    """results.json after its meta, encoded in this process (see :meth:`ComputedRun.encoded_body`)."""
    yield from _separated(_dumps(record) for record in run.employees())
    yield _encoded_flags_and_raters(run)


def _separated(lines: Iterable[bytes]) -> Iterator[bytes]:
    # The separators are written apart: joined, each batch of records (5 MB) would be copied once more.
    for index, part in enumerate(lines):
        if index:
            yield b",\n"
        yield part


def _encoded_flags_and_raters(run: RunView) -> bytes:
    """results.json after the employee records: the flags, one a line, then the raters."""
    flags = b",\n".join(_dumps(flag_to_dict(flag)) for flag in run.flags())
    return f"\n],\n{_FLAGS_OPEN}".encode() + flags + f"\n],\n{_RATERS_PREFIX}".encode() + _dumps(run.raters()) + b"}\n"


def _dumps(value: Any) -> bytes:
    # orjson: 0.05 ms per employee record against 0.285 ms for json.dumps. Its options for numpy values and
    # non-string keys (which plugins' details may carry) cost 0.035 ms a record when not needed, and the
    # output is the same either way, so they are used only for a value that needs them.
    try:
        return orjson.dumps(value)
    except orjson.JSONEncodeError:
        return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS | orjson.OPT_SERIALIZE_NUMPY)


class StoredRun(RunView):
    """A finished run read back from its ``results.json`` (optionally only some employees).

    The JSON writer puts each employee record and each flag on a line of its
    own, so records are streamed from the file one at a time: writing reports
    for a province costs the memory of one record, not of the whole run.  A
    ``results.json`` laid out otherwise (e.g. re-indented by hand) is read whole.
    """

    def __init__(self, run_dir: Path, only: Iterable[str] | None = None) -> None:
        self._path = run_dir / "results.json"
        self._only = None if only is None else set(only)
        with self._path.open(encoding="utf-8") as handle:
            first = handle.readline()
            second = handle.readline()
        if first.startswith(_RUN_PREFIX) and first.endswith(",\n") and second == _EMPLOYEES_OPEN:
            self._whole: dict[str, Any] | None = None
            self._meta = orjson.loads(first[len(_RUN_PREFIX) : -2])
        else:
            with self._path.open(encoding="utf-8") as handle:
                self._whole = json.load(handle)
            self._meta = self._whole["run"]

    @property
    def meta(self) -> dict[str, Any]:
        return self._meta

    def _section(self, opening: str) -> Iterator[dict[str, Any]]:
        """The records of the section whose line is ``opening``, one per line."""
        with self._path.open(encoding="utf-8") as handle:
            for line in handle:
                if line == opening:
                    break
            for line in handle:
                if line.startswith("]"):
                    return
                if line.strip():  # an empty section is a blank line
                    yield orjson.loads(line.rstrip(",\n"))

    def _records(self, key: str, opening: str) -> Iterator[dict[str, Any]]:
        return iter(self._whole.get(key, [])) if self._whole is not None else self._section(opening)

    def employees(self) -> Iterator[dict[str, Any]]:
        records = self._records("employees", _EMPLOYEES_OPEN)
        return records if self._only is None else (r for r in records if r["employee_id"] in self._only)

    def flags(self) -> Iterator[Flag]:
        return (flag_from_dict(record) for record in self._records("flags", _FLAGS_OPEN))

    def raters(self) -> list[dict[str, Any]]:
        if self._whole is not None:
            return self._whole.get("raters", [])
        with self._path.open(encoding="utf-8") as handle:
            for line in handle:
                if line.startswith(_RATERS_PREFIX):
                    return orjson.loads(line[len(_RATERS_PREFIX) : line.rindex("}")])
        return []

    def summary(self) -> dict[str, Any]:
        records = list(self.employees())
        category = [(r["category"] or {}).get("code", "") for r in records]
        return {
            "employee_id": [r["employee_id"] for r in records],
            "name": [r["name"] for r in records],
            "unit": [r["unit"] for r in records],
            "overall_raw": [
                np.nan if r["overall_raw"] is None else float(round_half_up(r["overall_raw"], self._meta["scale"]["decimals"]))
                for r in records
            ],
            "overall": [np.nan if r["overall_shown"] is None else r["overall_shown"] for r in records],
            "category": category,
            "classifications": {
                entry["name"]: [((r.get("classifications") or {}).get(entry["name"]) or {}).get("code", "") for r in records]
                for entry in self._meta.get("classifications", [])
                if not entry["primary"]
            },
            "competencies": np.array(
                [[np.nan if c["score_shown"] is None else c["score_shown"] for c in r["competencies"]] for r in records],
                dtype=np.float64,
            ).reshape(len(records), len(self._meta["competencies"])),
        }

    def employee(self, employee_id: str) -> dict[str, Any] | None:
        return next((record for record in self.employees() if record["employee_id"] == employee_id), None)
