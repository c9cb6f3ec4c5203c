"""Example plugin: the supervisor's view counts for a fixed share of each competency score.

Under PermenPANRB 6/2022 the direct supervisor decides the behaviour rating;
an agency may want the supervisor to carry, say, half of every 360 competency
score, and the other groups present to share the rest equally.

Install it (``pip install ./docs/example-plugin``) or load it directly::

    appraisal --plugin docs/example-plugin/appraisal_supervisor_half.py \\
        run --rubric demo/rubric.yaml --ratings demo/ratings.csv --weighting supervisor-half --out out
"""

from __future__ import annotations

import numpy as np
from pydantic import Field

from appraisal import hookimpl
from appraisal.components import ComponentOptions, WeightingScheme
from appraisal.scoring import counting

__version__ = "1.0.0"


class SupervisorHalfOptions(ComponentOptions):
    share: float = Field(0.5, gt=0, lt=1, description="Share of the supervisor when other groups are present")


class SupervisorHalf(WeightingScheme):
    name = "supervisor-half"
    summary = "the supervisor carries a fixed share (default 1/2); the other groups present share the rest equally"
    Options = SupervisorHalfOptions

    def check(self, rubric, options):
        if "supervisor" not in rubric.rater_groups:
            return [((), "this rubric has no 'supervisor' rater group")]
        return []

    def weights(self, cells, data, options):
        layout = data.rubric.layout
        n_groups = len(layout.group_ids)
        supervisor = layout.group_ids.index("supervisor")
        counts = counting(cells, layout)  # only what the engine will count: hidden groups stay out
        # Which groups count, per employee x competency (one row per cell's employee-competency pair).
        pair = cells.ratee * len(layout.competency_ids) + cells.competency
        pairs, cell_pair = np.unique(pair, return_inverse=True)
        present = np.zeros((len(pairs), n_groups), dtype=bool)
        present[cell_pair[counts], cells.group[counts]] = True
        others = present.sum(axis=1) - present[:, supervisor]
        has_supervisor = present[:, supervisor]
        group_share = np.where(
            cells.group == supervisor,
            np.where(others[cell_pair] > 0, options.share, 1.0),
            np.where(has_supervisor[cell_pair], 1 - options.share, 1.0) / np.maximum(others[cell_pair], 1),
        )
        # Split each group's share equally among its raters.
        return group_share / np.maximum(cells.group_size, 1)


@hookimpl
def register_weighting_schemes(register):
    register(SupervisorHalf())
