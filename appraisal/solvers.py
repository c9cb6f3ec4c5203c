"""Preconditioned conjugate gradients, shared by the rater-effect models and the Rasch fit.

Both solve normal equations whose matrix is never formed: ``apply`` multiplies
by it through gathers and bincounts over ratings or pairs of levels.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np


def conjugate_gradients(
    apply: Callable[[np.ndarray], np.ndarray], rhs: np.ndarray, diagonal: np.ndarray, target: float, max_steps: int
) -> tuple[np.ndarray, int, bool]:
    """Solve ``apply(x) = rhs`` from 0 by Jacobi-preconditioned CG; returns (x, steps, converged).

    The matrix must be symmetric positive semi-definite; where it is singular
    (dummies of overlapping factors) CG from 0 still converges to a solution
    when ``rhs`` is consistent.  Converged: the residual's norm fell to
    ``target``, or no direction with positive curvature is left.
    """
    inverse = np.where(diagonal > 0, 1.0 / np.where(diagonal > 0, diagonal, 1.0), 0.0)
    x = np.zeros_like(rhs)
    residual = rhs.copy()
    z = inverse * residual
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
        z = inverse * residual
        rz_next = residual @ z
        direction = z + (rz_next / rz) * direction
        rz = rz_next
    return x, max_steps, False
