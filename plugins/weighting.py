"""Built-in weighting schemes: how rater groups combine into one competency score.

All schemes hand the engine a weight per rater; the engine keeps only raters
in visible groups that count in the overall score and renormalises per
employee × competency.  Hence "renormalised over the groups present": when an
employee has no subordinates, the other groups' weights scale up to sum to 1.
"""

from __future__ import annotations

import numpy as np
from pydantic import Field

from appraisal import hookimpl
from appraisal.components import ComponentOptions, WeightingScheme


class GroupWeightOptions(ComponentOptions):
    weights: dict[str, float] = Field(
        default_factory=dict,
        description="Weight per rater-group id; groups not listed keep the weight set in rater_groups",
    )


class GroupWeights(WeightingScheme):
    """Fixed weight per group, shared equally among the group's raters."""

    name = "group-weights"
    summary = "fixed weight per rater group (rater_groups.*.weight), renormalised over the groups present"
    Options = GroupWeightOptions

    def check(self, rubric, options):
        problems = [
            (("weights", group),f"{group!r} is not a rater group of this rubric; groups: {', '.join(rubric.rater_groups)}")
            for group in options.weights
            if group not in rubric.rater_groups
        ]
        problems += [(("weights", group), "weight must not be negative") for group, w in options.weights.items() if w < 0]
        return problems

    def weights(self, cells, data, options):
        layout = data.rubric.layout
        group_weight = np.array(
            [options.weights.get(group, weight) for group, weight in zip(layout.group_ids, layout.group_weight)]
        )
        return group_weight[cells.group] / np.maximum(cells.group_size, 1)


class EqualGroups(WeightingScheme):
    """Every group present counts the same, however many raters it has."""

    name = "equal-groups"
    summary = "each rater group present counts equally, whatever its size"

    def weights(self, cells, data, options):
        return 1.0 / np.maximum(cells.group_size, 1)


class EqualRaters(WeightingScheme):
    """Every rater counts the same: large groups weigh more."""

    name = "equal-raters"
    summary = "each rater counts equally (pooled mean of all counted raters)"

    def weights(self, cells, data, options):
        return np.ones(len(cells))


@hookimpl
def register_weighting_schemes(register):
    register(GroupWeights())
    register(EqualGroups())
    register(EqualRaters())
