"""appraisal.solvers: CG against numpy's dense solvers."""

from __future__ import annotations

import numpy as np

from appraisal.solvers import conjugate_gradients


def test_solves_a_positive_definite_system_as_numpy_does():
    rng = np.random.default_rng(0)
    a = rng.normal(size=(40, 25))
    matrix = a.T @ a + 0.1 * np.eye(25)
    rhs = rng.normal(size=25)
    x, steps, converged = conjugate_gradients(lambda v: matrix @ v, rhs, np.diag(matrix), 1e-12, 200)
    assert converged and steps <= 60
    np.testing.assert_allclose(x, np.linalg.solve(matrix, rhs), rtol=1e-8, atol=1e-10)


def test_singular_consistent_system_gives_the_minimum_norm_solution_from_zero():
    # Two overlapping sets of dummies (like ratee and rater effects): the normal equations are singular.
    rng = np.random.default_rng(1)
    design = np.hstack([np.eye(6)[rng.integers(0, 6, 50)], np.eye(4)[rng.integers(0, 4, 50)]])
    matrix = design.T @ design
    rhs = design.T @ rng.normal(size=50)
    x, _, converged = conjugate_gradients(lambda v: matrix @ v, rhs, np.ones(10), 1e-12, 200)
    assert converged
    np.testing.assert_allclose(matrix @ x, rhs, atol=1e-9)
    # From 0 with the identity as preconditioner CG stays in the row space: the pseudo-inverse solution.
    np.testing.assert_allclose(x, np.linalg.pinv(matrix) @ rhs, atol=1e-8)


def test_reports_when_it_runs_out_of_steps():
    matrix = np.diag(np.linspace(1.0, 1e6, 200))
    rhs = np.ones(200)
    _, steps, converged = conjugate_gradients(lambda v: matrix @ v, rhs, np.ones(200), 1e-14, 3)
    assert steps == 3 and not converged
