"""Leave-one-rater-out: would a category change if any single rater were removed?

For every employee with a category and every rater who counts in their
score, the employee is scored again without that rater — re-weighting,
re-applying the anonymity rule (the group may fall below its minimum) and
re-classifying with the very components of the run.  Each (employee, rater)
pair becomes a "pseudo-employee", so the whole check is a few vectorised
passes over replicated rater cells, done in chunks to bound memory.

An employee whose category hangs on one rater is told so (without naming
anyone); HR's integrity queue names the raters.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import numpy as np

from .components import Classification, Flag, StepInput
from .frame import Employees
from .grouping import distinct
from .scoring import RaterCells

CHUNK_ROWS = 250_000
"""Replicated rater cells rescored at once (about 10 MB of arrays).

Rescoring makes some sixty passes over a chunk; chunks this small keep them
within the CPU's caches: at 100,000 employees the check took 7.7-9.2 s in
250,000-cell chunks against 9.7-9.9 s in chunks of 4 million (the run's flag
rules checked after it, not beside), with the same results."""

Rescore = Callable[[RaterCells, StepInput, np.ndarray], np.ndarray]


def take_employees(employees: Employees, index: np.ndarray) -> Employees:
    """The employees at ``index`` (repeats allowed), as a new Employees."""
    return replace(
        employees,
        ids=employees.ids[index],
        names=employees.names[index],
        units=employees.units[index],
        positions=employees.positions[index],
        supervisor=employees.supervisor[index],
        profile=employees.profile[index],
        extra={name: values[index] for name, values in employees.extra.items()},
    )


def leave_one_rater_out(
    cells: RaterCells, weights: np.ndarray, data: StepInput, categories: np.ndarray, rescore: Rescore
) -> dict[int, list[int]]:
    """Employee code → rater codes whose removal alone changes the employee's category.

    :param rescore: scores and classifies a subset of cells whose ``ratee``
        codes are pseudo-employees (one per removed rater); it receives the
        cells, a matching :class:`StepInput`, and each cell's index in ``cells``.
    """
    counted = weights > 0
    classified = np.asarray([bool(c) for c in categories])
    pairs = distinct(cells.ratee[counted] * np.int64(len(data.frame.raters) + 1) + cells.rater[counted])
    pair_ratee = pairs // (len(data.frame.raters) + 1)
    pair_rater = pairs % (len(data.frame.raters) + 1)
    keep = classified[pair_ratee]
    pair_ratee, pair_rater = pair_ratee[keep], pair_rater[keep]

    order = np.argsort(cells.ratee, kind="stable")
    n_employees = len(data.employees)
    cells_per_employee = np.bincount(cells.ratee, minlength=n_employees)
    first_cell = np.concatenate([[0], np.cumsum(cells_per_employee)[:-1]])

    fragile: dict[int, list[int]] = {}
    rows_per_pair = cells_per_employee[pair_ratee]
    bounds = np.searchsorted(np.cumsum(rows_per_pair), np.arange(CHUNK_ROWS, rows_per_pair.sum() + CHUNK_ROWS, CHUNK_ROWS))
    start = 0
    for stop in np.unique(np.r_[bounds + 1, len(pair_ratee)]):
        stop = int(min(stop, len(pair_ratee)))
        if stop <= start:
            continue
        ratee, rater = pair_ratee[start:stop], pair_rater[start:stop]
        lengths = cells_per_employee[ratee]
        pseudo = np.repeat(np.arange(len(ratee)), lengths)
        offset = np.arange(lengths.sum()) - np.repeat(np.cumsum(lengths) - lengths, lengths)
        origin = order[np.repeat(first_cell[ratee], lengths) + offset]
        kept = cells.rater[origin] != rater[pseudo]
        origin, pseudo = origin[kept], pseudo[kept]
        subset = _subset(cells, origin, pseudo, len(ratee), data)
        subset_data = StepInput(
            rubric=data.rubric, employees=take_employees(data.employees, ratee), frame=data.frame, tables=data.tables
        )
        changed = np.asarray(rescore(subset, subset_data, origin), dtype=object) != categories[ratee]
        for employee, removed in zip(ratee[changed].tolist(), rater[changed].tolist()):
            fragile.setdefault(employee, []).append(removed)
        start = stop
    return fragile


def _subset(cells: RaterCells, origin: np.ndarray, pseudo: np.ndarray, n_pseudo: int, data: StepInput) -> RaterCells:
    """Rater cells ``origin`` re-labelled to pseudo-employees, with group sizes recounted."""
    layout = data.rubric.layout
    n_comp, n_groups = len(layout.competency_ids), len(layout.group_ids)
    group, competency, eligible = cells.group[origin], cells.competency[origin], cells.eligible[origin]
    pcg = (pseudo * n_comp + competency) * n_groups + group
    sizes = np.bincount(pcg, weights=eligible, minlength=n_pseudo * n_comp * n_groups).astype(np.int64)
    return RaterCells(
        ratee=pseudo,
        rater=cells.rater[origin],
        group=group,
        competency=competency,
        score=cells.score[origin],
        items_observed=cells.items_observed[origin],
        eligible=eligible,
        group_size=sizes[pcg],
        of_rating=np.zeros(0, dtype=np.int64),
    )


def fragile_flags(fragile: dict[int, list[int]], data: StepInput, classification: Classification | None) -> list[Flag]:
    """One flag for the employee (no names) and one for HR (naming the raters) per fragile category."""
    frame = data.frame
    stride = np.int64(len(frame.raters) + 1)
    pivotal = np.array([e * stride + r for e, raters in fragile.items() for r in raters], dtype=np.int64)
    involved = np.flatnonzero(np.isin(frame.ratee * stride + frame.rater, pivotal))
    rows_of: dict[int, list[int]] = {}
    for employee, row in zip(frame.ratee[involved].tolist(), frame.row[involved].tolist()):
        rows_of.setdefault(employee, []).append(row)
    flags: list[Flag] = []
    for employee, raters in sorted(fragile.items()):
        employee_id = str(data.employees.ids[employee])
        category = str(classification.categories[employee]) if classification is not None else ""
        rows = tuple(rows_of.get(employee, [])[:200])
        flags.append(
            Flag(
                rule="leave-one-rater-out",
                severity="info",
                subject="employee",
                subject_id=employee_id,
                message={
                    "id": "Kategori Anda bergantung pada satu penilai: tanpa salah satu penilai, kategorinya akan berbeda. "
                    "Bacalah hasil ini dengan hati-hati.",
                    "en": "Your category hangs on a single rater: without one of your raters it would differ. "
                    "Read this result with care.",
                },
                statistic=float(len(raters)),
                threshold=1.0,
            )
        )
        names = ", ".join(str(frame.raters[r]) for r in raters)
        flags.append(
            Flag(
                rule="leave-one-rater-out",
                severity="review",
                subject="employee",
                subject_id=employee_id,
                message={
                    "id": f"Kategori {category!r} berubah bila salah satu penilai ini dikeluarkan: {names}.",
                    "en": f"Category {category!r} changes if any one of these raters is removed: {names}.",
                },
                audience="hr",
                statistic=float(len(raters)),
                threshold=1.0,
                rows=rows,
            )
        )
    return flags
