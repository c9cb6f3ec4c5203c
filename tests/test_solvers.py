"""appraisal.solvers: CG against numpy's dense solvers."""

from __future__ import annotations

import numpy as np

from appraisal.solvers import TwoLevel, conjugate_gradients


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


def _clustered_laplacian(seed: int, clusters: int = 60, size: int = 8):
    """A graph Laplacian (+ a small ridge) of tight clusters joined in a chain by one weak link each."""
    rng = np.random.default_rng(seed)
    n = clusters * size
    matrix = np.zeros((n, n))
    cluster = np.repeat(np.arange(clusters), size)
    for c in range(clusters):
        members = np.flatnonzero(cluster == c)
        block = rng.uniform(1.0, 2.0, (size, size))
        matrix[np.ix_(members, members)] -= (block + block.T) / 2
        if c:
            a, b = members[0], np.flatnonzero(cluster == c - 1)[-1]
            matrix[a, b] = matrix[b, a] = -0.05
    np.fill_diagonal(matrix, 0.0)
    np.fill_diagonal(matrix, -matrix.sum(axis=1) + 1e-4)
    return matrix, cluster


def test_two_level_solves_the_same_system_in_far_fewer_steps():
    matrix, cluster = _clustered_laplacian(2)
    rhs = np.random.default_rng(3).normal(size=len(matrix))
    exact = np.linalg.solve(matrix, rhs)
    target = 1e-10 * np.sqrt(rhs @ rhs)
    x_jacobi, steps_jacobi, ok_jacobi = conjugate_gradients(lambda v: matrix @ v, rhs, np.diag(matrix), target, 5000)
    rows, cols = np.nonzero(matrix)
    coarse = TwoLevel(cluster, rows, cols)
    coarse.set_matrix(matrix[rows, cols])
    x_two, steps_two, ok_two = conjugate_gradients(lambda v: matrix @ v, rhs, np.diag(matrix), target, 5000, coarse)
    assert ok_jacobi and ok_two
    np.testing.assert_allclose(x_two, exact, rtol=1e-6)
    np.testing.assert_allclose(x_jacobi, exact, rtol=1e-6)
    assert steps_two * 4 < steps_jacobi


def test_two_level_coarse_system_sums_each_pair_of_aggregates():
    # Z'AZ by hand: unknowns 0, 1 in aggregate 0, unknown 2 in aggregate 1, unknown 3 in none.
    matrix = np.array([[4.0, -1, -1, -1], [-1, 3, 0, -1], [-1, 0, 2, 0], [-1, -1, 0, 5]])
    rows, cols = np.nonzero(matrix)
    coarse = TwoLevel(np.array([0, 0, 1, -1]), rows, cols)
    coarse.set_matrix(matrix[rows, cols])
    z = np.array([[1.0, 0], [1, 0], [0, 1], [0, 0]])
    residual = np.array([1.0, 2.0, -3.0, 7.0])
    # The correction is Z (Z'AZ)^-1 Z'r, with the coarse system solved to 1% of its residual.
    expected = z @ np.linalg.solve(z.T @ matrix @ z, z.T @ residual)
    np.testing.assert_allclose(coarse.correction(residual), expected, rtol=1e-2, atol=1e-2 * np.abs(expected).max())
    assert coarse.correction(residual)[3] == 0.0
