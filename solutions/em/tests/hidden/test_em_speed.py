"""Hidden speed tests for the EM assignment: the vectorised E-step and M-step, timed by the
grader as a ratio to the reference (see docs/authoring.md, "Speed and memory tests").

Sizes: 20,000 points in 8 dimensions, 6 full-covariance components. The reference takes a few
milliseconds per call; a loop over the points in Python takes hundreds of times longer.
"""

import math

import numpy as np

from autograder.checks import assert_close, check

N, D, K = 20_000, 8, 6


def _mixture(seed):
    rng = np.random.default_rng(seed)
    weights = rng.dirichlet(np.full(K, 3.0))
    means = rng.normal(size=(K, D)) * 3.0
    a = rng.normal(size=(K, D, D)) / math.sqrt(D)
    covs = a @ a.transpose(0, 2, 1) + 0.3 * np.eye(D)
    return weights, means, covs


def _points(g, means, covs):
    import torch

    z = torch.randint(K, (N,), generator=g).numpy()
    eps = torch.randn(N, D, generator=g, dtype=torch.float64).numpy()
    return means[z] + np.einsum("nij,nj->ni", np.linalg.cholesky(covs)[z], eps)


def test_speed_e_step(speed, seed):
    """The E-step on 20,000 points (8-D, 6 full components) runs within the time limit relative to the reference."""
    weights, means, covs = _mixture(seed)

    def inputs(g):
        return (_points(g, means, covs), weights, means, covs, "full"), {}

    def agree(got, want, args, kwargs):
        check(isinstance(got, tuple) and len(got) == 2, "e_step in the speed test: should return (resp, log_likelihood)")
        assert_close(np.asarray(got[0]), want[0], what="responsibilities in the speed test", atol=1e-8)
        assert_close(np.array(float(got[1])), np.array(float(want[1])), what="log-likelihood in the speed test")

    speed.compare("e_step", inputs, seed=seed, check=agree)


def test_speed_m_step(speed, seed):
    """The M-step on 20,000 points (8-D, 6 full components) runs within the time limit relative to the reference."""
    weights, means, covs = _mixture(seed)

    def inputs(g):
        import torch

        X = _points(g, means, covs)
        logits = torch.randn(N, K, generator=g, dtype=torch.float64).numpy() * 2.0
        resp = np.exp(logits - logits.max(axis=1, keepdims=True))
        return (X, resp / resp.sum(axis=1, keepdims=True), "full", 1e-6), {}

    def agree(got, want, args, kwargs):
        check(isinstance(got, tuple) and len(got) == 3, "m_step in the speed test: should return (weights, means, covariances)")
        for g_, w_, name in zip(got, want, ("weights", "means", "covariances")):
            assert_close(np.asarray(g_), w_, what=f"{name} in the speed test", atol=1e-8)

    speed.compare("m_step", inputs, seed=seed, check=agree)
