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
from collections.abc import Iterator
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np

from . import __version__
from .components import Flag, PlanEntry, RunView
from .pipeline import Outcome

JSON_DECIMALS = 6


def number(value: Any) -> float | None:
    """A JSON-safe number: NaN becomes null, floats keep 6 decimals."""
    value = float(value)
    return None if math.isnan(value) else round(value, JSON_DECIMALS) + 0.0  # + 0.0 turns -0.0 into 0.0


def plan_entry(entry: PlanEntry) -> dict[str, Any]:
    record = asdict(entry)
    for key in ("required", "achieved", "gap", "priority"):
        record[key] = number(record[key])
    return record


def flag_to_dict(flag: Flag) -> dict[str, Any]:
    record = asdict(flag)
    record["rows"] = list(flag.rows)
    return record


def flag_from_dict(record: dict[str, Any]) -> Flag:
    return Flag(**{**record, "rows": tuple(record.get("rows", ()))})


class ComputedRun(RunView):
    """A run just computed, viewed through the writer interface."""

    def __init__(self, outcome: Outcome, extra_meta: dict[str, Any] | None = None) -> None:
        self.outcome = outcome
        self._meta = {**build_meta(outcome), **(extra_meta or {})}
        frame = outcome.inputs.frame
        n_employees = len(outcome.inputs.employees)
        self._ratings = np.bincount(frame.ratee, minlength=n_employees)
        self._not_observed = np.bincount(frame.ratee, weights=np.isnan(frame.score), minlength=n_employees)
        layout = outcome.rubric.rubric.layout
        others = frame.group != layout.self_group
        pairs = np.unique(frame.ratee[others] * max(len(frame.raters), 1) + frame.rater[others])
        self._raters = np.bincount(pairs // max(len(frame.raters), 1), minlength=n_employees)
        self._flags_by_employee: dict[str, list[Flag]] = {}
        for flag in outcome.flags:
            if flag.subject == "employee" and flag.audience == "employee":
                self._flags_by_employee.setdefault(flag.subject_id, []).append(flag)

    @property
    def meta(self) -> dict[str, Any]:
        return self._meta

    def flags(self) -> Iterator[Flag]:
        return iter(self.outcome.flags)

    def employees(self) -> Iterator[dict[str, Any]]:
        for e in range(len(self.outcome.inputs.employees)):
            yield self.record(e)

    def record(self, e: int) -> dict[str, Any]:
        """The full result of employee code ``e``."""
        outcome = self.outcome
        rubric = outcome.rubric.rubric
        layout = rubric.layout
        people = outcome.inputs.employees
        scores = outcome.scores
        stats = scores.group_stats
        employee_id = str(people.ids[e])

        competencies = []
        for c, competency_id in enumerate(layout.competency_ids):
            groups = []
            for g, group_id in enumerate(layout.group_ids):
                n = int(stats.n[e, c, g])
                if n == 0:
                    continue
                if not stats.visible[e, c, g]:
                    groups.append({"group": group_id, "shown": False})
                    continue
                share = float(outcome.group_share[e, c, g])
                groups.append(
                    {
                        "group": group_id,
                        "shown": True,
                        "n": n,
                        "mean": number(stats.mean[e, c, g]),
                        "counted": share > 0,
                        "share": number(share),
                        "mean_calibrated": number(outcome.calibrated_group_mean[e, c, g]) if share > 0 else None,
                    }
                )
            raw, final, own = scores.competency_raw[e, c], scores.competency[e, c], scores.self_score[e, c]
            competencies.append(
                {
                    "id": competency_id,
                    "cluster": layout.cluster_ids[layout.competency_cluster[c]],
                    "weight": float(layout.competency_weight[c]),
                    "score_raw": number(raw),
                    "score": number(final),
                    "score_shown": number(scores.shown_competency[e, c]),
                    "self": number(own),
                    "self_minus_others": number(own - raw),
                    "groups": groups,
                }
            )

        classification = outcome.classification
        category = None
        if classification is not None and classification.categories[e]:
            code = str(classification.categories[e])
            category = {"code": code, "label": dict(classification.labels[code]), "reason": dict(classification.reasons[e])}

        missing = np.isnan(scores.competency[e])
        status = "no_data" if missing.all() else ("incomplete" if missing.any() else "ok")
        profile = int(people.profile[e])
        return {
            "employee_id": employee_id,
            "name": str(people.names[e]),
            "unit": str(people.units[e]),
            "position": str(people.positions[e]),
            "profile": rubric.positions[profile].id if profile >= 0 else None,
            "roster": {name: str(values[e]) for name, values in people.extra.items()},
            "status": status,
            "overall_raw": number(scores.overall_raw[e]),
            "overall": number(scores.overall[e]),
            "overall_shown": number(scores.shown_overall[e]),
            "category": category,
            "counts": {
                "ratings": int(self._ratings[e]),
                "not_observed": int(self._not_observed[e]),
                "raters": int(self._raters[e]),
            },
            "clusters": [
                {"id": cluster_id, "score": number(scores.cluster[e, k])}
                for k, cluster_id in enumerate(layout.cluster_ids)
            ],
            "competencies": competencies,
            "development_plan": [plan_entry(entry) for entry in outcome.plans[e]],
            "flags": [flag_to_dict(flag) for flag in self._flags_by_employee.get(employee_id, [])],
            "trace": self.trace(e, competencies, category),
        }

    def trace(self, e: int, competencies: list[dict[str, Any]], category: dict[str, Any] | None) -> list[dict[str, Any]]:
        """The ordered steps with their inputs and outputs, enough to recompute the overall by hand."""
        outcome = self.outcome
        rubric = outcome.rubric.rubric
        layout = rubric.layout
        scores = outcome.scores
        steps = {record.step: record for record in outcome.steps}
        calibration = [record.component for record in outcome.steps if record.step == "calibration"]
        trace: list[dict[str, Any]] = [
            {
                "step": "ratings",
                "output": {
                    "ratings": int(self._ratings[e]),
                    "not_observed": int(self._not_observed[e]),
                    "raters": int(self._raters[e]),
                },
            },
            {
                "step": "weighting",
                "component": steps["weighting"].component,
                "output": {
                    c["id"]: {g["group"]: g["share"] for g in c["groups"] if g.get("counted")} for c in competencies
                },
            },
            {
                "step": "calibration",
                "components": calibration,
                "output": {
                    c["id"]: number(scores.competency[e, k] - scores.competency_raw[e, k])
                    for k, c in enumerate(competencies)
                },
            },
            {
                "step": "competency",
                "formula": "sum(share x group mean)",
                "output": {c["id"]: {"raw": c["score_raw"], "final": c["score"]} for c in competencies},
            },
        ]
        cluster_inputs = {}
        for k, cluster_id in enumerate(layout.cluster_ids):
            members = np.flatnonzero(layout.competency_cluster == k)
            cluster_inputs[cluster_id] = {
                layout.competency_ids[c]: {
                    "weight": float(layout.competency_weight[c]),
                    "score": number(scores.competency[e, c]),
                }
                for c in members
                if not math.isnan(scores.competency[e, c])
            }
        trace.append(
            {
                "step": "cluster",
                "formula": "sum(weight x score) / sum(weight), over competencies with a score",
                "inputs": cluster_inputs,
                "output": {cluster_id: number(scores.cluster[e, k]) for k, cluster_id in enumerate(layout.cluster_ids)},
            }
        )
        trace.append(
            {
                "step": "overall",
                "formula": "sum(weight x cluster score) / sum(weight), over clusters with a score",
                "inputs": {
                    cluster_id: {"weight": float(layout.cluster_weight[k]), "score": number(scores.cluster[e, k])}
                    for k, cluster_id in enumerate(layout.cluster_ids)
                    if not math.isnan(scores.cluster[e, k])
                },
                "output": {
                    "raw": number(scores.overall_raw[e]),
                    "final": number(scores.overall[e]),
                    "shown": number(scores.shown_overall[e]),
                    "decimals": rubric.scoring.decimals,
                },
            }
        )
        if "classification" in steps:
            trace.append(
                {
                    "step": "classification",
                    "component": steps["classification"].component,
                    "output": category["code"] if category else None,
                    "reason": category["reason"] if category else None,
                }
            )
        return trace


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
        "steps": [record.as_dict() for record in outcome.steps],
        "employees": len(outcome.inputs.employees),
    }


class StoredRun(RunView):
    """A finished run read back from its ``results.json``."""

    def __init__(self, run_dir: Path) -> None:
        with (run_dir / "results.json").open(encoding="utf-8") as handle:
            data = json.load(handle)
        self._meta = data["run"]
        self._employees = data["employees"]
        self._flags = [flag_from_dict(record) for record in data.get("flags", [])]

    @property
    def meta(self) -> dict[str, Any]:
        return self._meta

    def employees(self) -> Iterator[dict[str, Any]]:
        return iter(self._employees)

    def flags(self) -> Iterator[Flag]:
        return iter(self._flags)

    def employee(self, employee_id: str) -> dict[str, Any] | None:
        return next((record for record in self._employees if record["employee_id"] == employee_id), None)
