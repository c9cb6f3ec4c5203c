"""Built-in development recommender: competency gaps against the position profile.

gap = required level − achieved score (the shown, final score); only positive
gaps enter the plan, highest priority (gap × competency weight) first.
Employees whose position matches no profile get an empty plan.
"""

from __future__ import annotations

import numpy as np
from pydantic import Field

from appraisal import hookimpl
from appraisal.components import ComponentOptions, PlanEntry, Recommender


class GapOptions(ComponentOptions):
    min_gap: float = Field(0.0, ge=0, description="Only gaps larger than this enter the plan")


class Gaps(Recommender):
    name = "gaps"
    summary = "competency gaps against the position profile, by gap × competency weight"
    Options = GapOptions

    def recommend(self, scores, data, options):
        rubric = data.rubric
        layout = rubric.layout
        profile = data.employees.profile
        plans: list[list[PlanEntry]] = [[] for _ in range(len(profile))]
        if not rubric.positions:
            return plans
        required = required_levels(rubric)
        needed = np.where((profile >= 0)[:, None], required[np.maximum(profile, 0)], np.nan)
        gap = needed - scores.shown_competency
        with np.errstate(invalid="ignore"):
            has_gap = ~np.isnan(gap) & (gap > options.min_gap + 1e-9)
        priority = np.where(has_gap, gap * layout.competency_weight, -np.inf)
        for e in np.flatnonzero(has_gap.any(axis=1)):
            order = np.lexsort((np.arange(len(layout.competency_ids)), -priority[e]))
            plans[e] = [
                PlanEntry(
                    competency=layout.competency_ids[c],
                    required=float(needed[e, c]),
                    achieved=float(scores.shown_competency[e, c]),
                    gap=float(gap[e, c]),
                    priority=float(priority[e, c]),
                )
                for c in order
                if has_gap[e, c]
            ]
        return plans


def required_levels(rubric) -> np.ndarray:
    """``float64[P, C]``: required level per position profile and competency, NaN where none."""
    layout = rubric.layout
    required = np.full((len(rubric.positions), len(layout.competency_ids)), np.nan)
    for p, profile in enumerate(rubric.positions):
        for competency_id, level in profile.required.items():
            required[p, layout.competency_index[competency_id]] = level
    return required


@hookimpl
def register_recommenders(register):
    register(Gaps())
