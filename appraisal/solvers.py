"""Preconditioned conjugate gradients, shared by the rater-effect models and the Rasch fit.

Both solve normal equations whose matrix is never formed: ``apply`` multiplies
by it through gathers and bincounts over ratings or pairs of levels.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from .grouping import compact


def conjugate_gradients(
    apply: Callable[[np.ndarray], np.ndarray],
    rhs: np.ndarray,
    diagonal: np.ndarray,
    target: float,
    max_steps: int,
    coarse: TwoLevel | None = None,
) -> tuple[np.ndarray, int, bool]:
    """Solve ``apply(x) = rhs`` from 0 by preconditioned CG; returns (x, steps, converged).

    The matrix must be symmetric positive semi-definite; where it is singular
    (dummies of overlapping factors) CG from 0 still converges to a solution
    when ``rhs`` is consistent.  Converged: the residual's norm fell to
    ``target``, or no direction with positive curvature is left.

    The preconditioner is Jacobi (``diagonal``), plus ``coarse``'s correction
    when given; that correction is itself solved by CG, so it is not quite
    the same linear map at every step, and the search directions are then
    made conjugate the flexible way (Polak–Ribière).
    """
    inverse = np.where(diagonal > 0, 1.0 / np.where(diagonal > 0, diagonal, 1.0), 0.0)

    def precondition(r: np.ndarray) -> np.ndarray:
        return inverse * r if coarse is None else inverse * r + coarse.correction(r)

    x = np.zeros_like(rhs)
    residual = rhs.copy()
    z = precondition(residual)
    direction = z.copy()
    rz = residual @ z
    for step in range(1, max_steps + 1):
        product = apply(direction)
        curvature = direction @ product
        if curvature <= 0:
            return x, step, True
        alpha = rz / curvature
        x += alpha * direction
        residual -= alpha * product
        if np.sqrt(residual @ residual) <= target:
            return x, step, True
        z_next = precondition(residual)
        rz_next = residual @ z_next
        beta = rz_next / rz if coarse is None else (rz_next - residual @ z) / rz
        direction = z_next + beta * direction
        z, rz = z_next, rz_next
    return x, max_steps, False


def group_codes(*groups: np.ndarray) -> np.ndarray:
    """``int64``: the group codes of several kinds of unknowns end to end, renumbered ``0..G-1`` over the
    groups present, so that a group shared by two kinds (a unit's ratees and its raters) is one aggregate
    of :class:`TwoLevel`; ``-1`` (no group) stays ``-1``."""
    code = np.concatenate([np.asarray(g).reshape(-1) for g in groups]).astype(np.int64)
    grouped = code >= 0
    code[grouped] = compact(code[grouped])[1]
    return code


class TwoLevel:
    """A coarse correction for CG: the system restricted to aggregates of unknowns, solved and spread back.

    Jacobi-preconditioned CG on a rating network is slow where the network
    is: work units rate inside themselves and are linked to each other by a
    few ratings (a head and their supervisor), so moving a whole unit, or a
    branch of the hierarchy, changes the fit very little, and CG corrects
    such moves a little per step.  With each unit's unknowns summed into one
    coarse unknown (``Z'AZ``, Z the aggregation: ``sign`` at a member, 0
    elsewhere), those moves are solved
    for all units at once (Mandel's additive two-level preconditioner).  The
    coarse system is small (one unknown per unit) and solved by Jacobi CG to
    1% of its residual.

    :param aggregate: each unknown's aggregate, ``-1`` for none (left to Jacobi).
    :param rows, cols: the unknowns of each matrix entry :meth:`set_matrix` will be given.
    :param sign: ``+1``/``-1`` per unknown, how it moves with its aggregate
        (the unit's move is "ratees up, their raters down" when the two add
        up in the fit, as ratee level and rater leniency do); all ``+1`` by default.
    """

    INNER_RESIDUAL = 1e-2
    INNER_STEPS = 200

    def __init__(self, aggregate: np.ndarray, rows: np.ndarray, cols: np.ndarray, sign: np.ndarray | None = None) -> None:
        self._aggregate = np.where(aggregate >= 0, aggregate, 0)
        self._member = aggregate >= 0
        self._size = int(aggregate.max(initial=-1)) + 1
        # Z's entries: the sign for a member of an aggregate, 0 for the rest.
        self._weight = np.where(self._member, 1.0 if sign is None else sign, 0.0)
        first, second = aggregate[rows], aggregate[cols]
        self._kept = (first >= 0) & (second >= 0)
        self._entry_sign = (self._weight[rows] * self._weight[cols])[self._kept]
        keys = first[self._kept] * np.int64(self._size) + second[self._kept]
        coarse_keys, self._entry = np.unique(keys, return_inverse=True)
        self._entry = self._entry.reshape(-1)
        self._rows, self._cols = coarse_keys // self._size, coarse_keys % self._size
        self._values = np.zeros(len(coarse_keys))
        self._diagonal = np.zeros(self._size)

    def set_matrix(self, values: np.ndarray) -> None:
        """The matrix's entries, in the order of ``rows`` and ``cols`` (repeated entries add up)."""
        self._values = np.bincount(self._entry, values[self._kept] * self._entry_sign, len(self._rows))
        self._diagonal = np.bincount(self._rows, np.where(self._rows == self._cols, self._values, 0.0), self._size)

    def _apply(self, v: np.ndarray) -> np.ndarray:
        return np.bincount(self._rows, self._values * v[self._cols], self._size)

    def correction(self, residual: np.ndarray) -> np.ndarray:
        restricted = np.bincount(self._aggregate, self._weight * residual, self._size)
        target = self.INNER_RESIDUAL * np.sqrt(restricted @ restricted)
        coarse = conjugate_gradients(self._apply, restricted, self._diagonal, target, self.INNER_STEPS)[0]
        return self._weight * coarse[self._aggregate]
