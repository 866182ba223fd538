"""Public tests for the latent-variable assignment: small cases you can check by hand.

Run them with `adl test latent` or `pytest` in the assignment folder. Passing them is a good sign
but not a guarantee: the hidden tests use fresh random data (including more dimensions than
points) and compare with scikit-learn's PCA and scipy's Gaussian densities.
"""

import math

import numpy as np
import pytest

# Four points on a rectangle: the long side (x) has variance 4/3 * 4 = 16/3, the short one 4/3.
RECT = np.array([[-4.0, -2.0], [-4.0, 2.0], [4.0, -2.0], [4.0, 2.0]]) + np.array([1.0, 5.0])


def close(a, b, **kw):
    np.testing.assert_allclose(np.asarray(a, dtype=float), b, atol=1e-12, **kw)


# ----------------------------------------------------------------------------- part 1: PCA


def test_pca_rectangle_by_hand(submission):
    """The first direction of a wide rectangle is the x axis; variances 64/3 and 16/3 (N - 1 = 3)."""
    out = submission.call("pca", RECT, 1)
    close(out["mean"], [1.0, 5.0])
    close(np.abs(out["components"]), [[1.0, 0.0]])
    close(out["explained_variance"], [64.0 / 3.0])
    close(out["explained_variance_ratio"], [0.8])


def test_pca_transform_and_reconstruct_by_hand(submission):
    """Coordinates along the x axis are x - 1; reconstructing them loses the y offsets."""
    comps = np.array([[1.0, 0.0]])
    Z = submission.call("pca_transform", RECT, np.array([1.0, 5.0]), comps)
    close(Z, [[-4.0], [-4.0], [4.0], [4.0]])
    R = submission.call("pca_reconstruct", Z, np.array([1.0, 5.0]), comps)
    close(R, [[-3.0, 5.0], [-3.0, 5.0], [5.0, 5.0], [5.0, 5.0]])


# ----------------------------------------------------------------------------- part 2: PPCA


def test_ppca_fit_rectangle_by_hand(submission):
    """ML covariance S = diag(16, 4) (divide by N = 4): sigma2 = 4 and W = (+-sqrt(16 - 4), 0)."""
    mean, W, sigma2 = submission.call("ppca_fit", RECT, 1)
    close(mean, [1.0, 5.0])
    close(sigma2, 4.0)
    close(np.abs(W), [[math.sqrt(12.0)], [0.0]])


def test_ppca_log_likelihood_isotropic_by_hand(submission):
    """W = 0 and sigma2 = 1: the standard normal log-density, -(D/2) log(2 pi) - |x|^2 / 2 per point."""
    X = np.array([[0.0, 0.0, 0.0], [1.0, 2.0, 2.0]])
    got = submission.call("ppca_log_likelihood", X, np.zeros(3), np.zeros((3, 1)), 1.0)
    close(got, 2 * (-1.5 * math.log(2 * math.pi)) - 4.5)


def test_ppca_log_likelihood_one_direction_by_hand(submission):
    """W = (1, 0), sigma2 = 1: C = diag(2, 1), so log det C = log 2 and x = (2, 0) has y^T C^-1 y = 2."""
    got = submission.call("ppca_log_likelihood", np.array([[2.0, 0.0]]), np.zeros(2), np.array([[1.0], [0.0]]), 1.0)
    close(got, -0.5 * (2 * math.log(2 * math.pi) + math.log(2.0) + 2.0))


# ----------------------------------------------------------------------------- part 3: posterior


def test_posterior_by_hand(submission):
    """W = (2, 0), sigma2 = 1: M = 5, E[z|x] = 2 x_1 / 5, Cov[z|x] = 1/5."""
    W = np.array([[2.0], [0.0]])
    X = np.array([[5.0, 3.0], [-1.0, 0.0]])
    post_mean, post_cov = submission.call("ppca_posterior", X, np.zeros(2), W, 1.0)
    close(post_mean, [[2.0], [-0.4]])
    close(post_cov, [[0.2]])
    close(submission.call("ppca_reconstruct", X, np.zeros(2), W, 1.0), [[4.0, 0.0], [-0.8, 0.0]])


# ----------------------------------------------------------------------------- part 4: EM


def test_em_step_fixed_point_is_the_closed_form(submission):
    """One EM step from the closed-form solution leaves it where it is."""
    mean, W, sigma2 = np.array([1.0, 5.0]), np.array([[math.sqrt(12.0)], [0.0]]), 4.0
    W_new, sigma2_new = submission.call("ppca_em_step", RECT, mean, W, sigma2)
    close(W_new, W, rtol=1e-10)
    close(sigma2_new, sigma2, rtol=1e-10)


def test_em_log_likelihood_increases(submission):
    """EM from a random start never lowers the log-likelihood and ends near the closed form."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 1)) * 2.0 @ np.array([[1.0, 1.0, 0.0]]) + rng.normal(size=(200, 3))
    out = submission.call("ppca_em", X, 1, max_iter=300, tol=0.0)
    assert np.all(np.diff(out["log_likelihoods"]) >= -1e-8)
    _, W, sigma2 = submission.call("ppca_fit", X, 1)
    np.testing.assert_allclose(out["W"] @ out["W"].T + out["sigma2"] * np.eye(3), W @ W.T + sigma2 * np.eye(3), atol=1e-4)
