"""Validated input as columns: the only shape the numeric engine and plugins see.

Ids are factorised to integer codes once, at ingestion; numbers are numpy
arrays; nothing downstream loops over ratings in Python.  Row ``i`` of every
array in :class:`RatingFrame` is one accepted rating.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True)
class Employees:
    """The people being appraised, in output order.

    Built from the roster when one is given, otherwise from the ratees found in
    the ratings.  ``supervisor`` and ``profile`` are codes (``-1`` = none).
    """

    ids: np.ndarray  # object[E] employee_id as text
    names: np.ndarray  # object[E]
    units: np.ndarray  # object[E]
    positions: np.ndarray  # object[E]
    supervisor: np.ndarray  # int64[E] employee code of the roster supervisor, -1 = none
    profile: np.ndarray  # int64[E] index into rubric.positions, -1 = no matching profile
    extra: dict[str, np.ndarray] = field(default_factory=dict)  # further roster columns, carried through
    source: str | None = None  # roster file, None when derived from ratings

    def __len__(self) -> int:
        return len(self.ids)


@dataclass(frozen=True)
class Comments:
    """The free-text comments of the ratings that carry one (most carry none)."""

    rating: np.ndarray  # int64[K] row index into the RatingFrame
    text: np.ndarray  # object[K] the comment, trimmed, never ""


@dataclass(frozen=True)
class RatingFrame:
    """Accepted ratings, one array per column.

    ``score`` is NaN where the rater answered "not observed" (or left it
    blank): those rows are kept, so counts add up, but never averaged.
    """

    ratee: np.ndarray  # int64[N] employee code
    rater: np.ndarray  # int64[N] rater code, index into ``raters``
    group: np.ndarray  # int64[N] rater-group code, index into rubric.layout.group_ids
    competency: np.ndarray  # int64[N] index into rubric.layout.competency_ids
    item: np.ndarray  # int64[N] index into rubric.layout.item_keys, -1 = rated as a whole
    score: np.ndarray  # float64[N], NaN = not observed
    source: np.ndarray  # int64[N] index into ``sources``
    row: np.ndarray  # int64[N] row number in its source file (header = row 1)
    raters: np.ndarray  # object[R] rater ids as text
    rater_employee: np.ndarray  # int64[R] employee code of each rater, -1 = not an employee
    sources: tuple[str, ...]
    comments: Comments | None = None  # None when no rating has a comment

    def __len__(self) -> int:
        return len(self.score)

    @property
    def observed(self) -> np.ndarray:
        return ~np.isnan(self.score)


def work_units(employees: Employees, frame: RatingFrame) -> tuple[np.ndarray, np.ndarray]:
    """``(int64[E], int64[R])``: a code for the work unit of each employee and of each rater.

    ``-1`` where the roster gives no unit, and for raters who are not
    employees.  People rate mostly inside their unit, so the rater-effect
    solvers use units to correct whole units at once, and the favouritism
    rule compares ratings inside and outside them.
    """
    units = np.asarray(employees.units, dtype=object)
    present = np.asarray([bool(u) and str(u).strip() != "" for u in units.tolist()], dtype=bool)
    employee_unit = np.full(len(units), -1, dtype=np.int64)
    if present.any():
        employee_unit[present] = np.unique(units[present].astype(str), return_inverse=True)[1].reshape(-1)
    rater_employee = frame.rater_employee
    if not len(units):
        return employee_unit, np.full(len(rater_employee), -1, dtype=np.int64)
    return employee_unit, np.where(rater_employee >= 0, employee_unit[np.maximum(rater_employee, 0)], -1)
