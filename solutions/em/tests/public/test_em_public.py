"""Public tests for the EM assignment: small cases you can check by hand.

Run them with `adl test em` or `pytest` in the assignment folder. Passing them is a good sign but
not a guarantee: the hidden tests use fresh random mixtures, every covariance type, 1-D and
60-D data, degenerate components, and compare against scipy and scikit-learn.
"""

import math

import numpy as np
import pytest

LOG_2PI = math.log(2 * math.pi)


# ----------------------------------------------------------------------------- part 1: densities


def test_density_standard_normal_by_hand(submission):
    """N(0, I) in 2-D: log p(0) = -log(2 pi), log p((1, 0)) = -log(2 pi) - 1/2."""
    X = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, -2.0]])
    got = submission.call("log_gaussian_pdf", X, np.zeros(2), np.eye(2))
    np.testing.assert_allclose(got, [-LOG_2PI, -LOG_2PI - 0.5, -LOG_2PI - 2.0], rtol=1e-12)


def test_density_correlated_covariance_by_hand(submission):
    """cov = [[2, 1], [1, 2]] has det 3 and inverse [[2, -1], [-1, 2]] / 3."""
    x = np.array([[1.0, 2.0]])
    maha = x[0] @ np.array([[2.0, -1.0], [-1.0, 2.0]]) @ x[0] / 3.0  # = 2
    want = -0.5 * (2 * LOG_2PI + math.log(3.0) + maha)
    got = submission.call("log_gaussian_pdf", x, np.zeros(2), np.array([[2.0, 1.0], [1.0, 2.0]]))
    np.testing.assert_allclose(got, [want], rtol=1e-12)


def test_density_covariance_types_agree(submission):
    """diag and spherical layouts give the same (N, K) densities as the equivalent full matrices."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(5, 3))
    means = rng.normal(size=(2, 3))
    diag = np.array([[1.0, 2.0, 0.5], [0.3, 0.3, 0.3]])
    full = np.stack([np.diag(d) for d in diag])
    from_full = submission.call("component_log_densities", X, means, full, "full")
    assert np.shape(from_full) == (5, 2)
    np.testing.assert_allclose(submission.call("component_log_densities", X, means, diag, "diag"), from_full, rtol=1e-10)
    sph = submission.call("component_log_densities", X, means[1:], np.array([0.3]), "spherical")
    np.testing.assert_allclose(sph, from_full[:, 1:], rtol=1e-10)


# ----------------------------------------------------------------------------- part 2: E-step


def test_logsumexp_by_hand(submission):
    """log(e^1000 + e^1000) = 1000 + log 2, and -inf entries add nothing."""
    got = submission.call("logsumexp", np.array([[1000.0, 1000.0], [0.0, -np.inf]]), 1)
    np.testing.assert_allclose(got, [1000.0 + math.log(2.0), 0.0], rtol=1e-12)


def test_estep_symmetric_components(submission):
    """Two equal 1-D components at -1 and +1: a point at 0 is shared equally; rows sum to 1."""
    X = np.array([[0.0], [-1.0], [5.0]])
    means = np.array([[-1.0], [1.0]])
    covs = np.ones((2, 1, 1))
    resp, ll = submission.call("e_step", X, np.array([0.5, 0.5]), means, covs, "full")
    np.testing.assert_allclose(resp[0], [0.5, 0.5])
    np.testing.assert_allclose(np.sum(resp, axis=1), 1.0)
    # p(-1) = 0.5 N(-1|-1,1) + 0.5 N(-1|1,1); the likelihood sums the logs of the three points.
    px = [0.5 * (math.exp(-0.5 * (x + 1) ** 2) + math.exp(-0.5 * (x - 1) ** 2)) / math.sqrt(2 * math.pi) for x in (0.0, -1.0, 5.0)]
    np.testing.assert_allclose(ll, sum(map(math.log, px)), rtol=1e-12)


def test_elbo_equals_log_likelihood_at_posterior(submission):
    """At the E-step's responsibilities the ELBO equals the log-likelihood; one-hot responsibilities give less."""
    X = np.array([[0.0], [0.5], [3.0]])
    args = (np.array([0.4, 0.6]), np.array([[0.0], [2.0]]), np.array([1.0, 0.5]), "spherical")
    resp, ll = submission.call("e_step", X, *args)
    np.testing.assert_allclose(submission.call("elbo", X, resp, *args), ll, rtol=1e-12)
    onehot = np.array([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0]])
    assert submission.call("elbo", X, onehot, *args) < ll


# ----------------------------------------------------------------------------- part 3: M-step


def test_mstep_one_hot_responsibilities(submission):
    """Hard assignments: fractions, cluster means and (biased) cluster covariances plus reg_covar."""
    X = np.array([[0.0, 0.0], [2.0, 0.0], [10.0, 10.0], [10.0, 12.0], [12.0, 10.0], [12.0, 12.0]])
    resp = np.array([[1, 0], [1, 0], [0, 1], [0, 1], [0, 1], [0, 1]], dtype=float)
    weights, means, covs = submission.call("m_step", X, resp, "full", 0.01)
    np.testing.assert_allclose(weights, [1 / 3, 2 / 3])
    np.testing.assert_allclose(means, [[1.0, 0.0], [11.0, 11.0]], atol=1e-12)
    np.testing.assert_allclose(covs, [[[1.01, 0.0], [0.0, 0.01]], [[1.01, 0.0], [0.0, 1.01]]], atol=1e-12)
    _, _, diag = submission.call("m_step", X, resp, "diag", 0.01)
    np.testing.assert_allclose(diag, [[1.01, 0.01], [1.01, 1.01]], atol=1e-12)
    _, _, sph = submission.call("m_step", X, resp, "spherical", 0.01)
    np.testing.assert_allclose(sph, [0.51, 1.01], atol=1e-12)


# ----------------------------------------------------------------------------- part 4: initialisation


def test_kmeanspp_first_centre_and_distinct_centres(submission):
    """The first index is default_rng(seed).integers(N); the centres are distinct rows of X."""
    X = np.arange(20.0).reshape(10, 2)
    centres, indices = submission.call("kmeans_plusplus", X, 3, 42)
    assert int(indices[0]) == int(np.random.default_rng(42).integers(10))
    assert len(set(np.asarray(indices).tolist())) == 3
    np.testing.assert_array_equal(centres, X[np.asarray(indices)])


def test_kmeans_two_blobs(submission):
    """Two well separated groups end up in two clusters at their means."""
    X = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [10.0, 10.0], [10.0, 11.0], [11.0, 10.0]])
    centres, labels = submission.call("kmeans", X, np.array([[0.0, 0.0], [1.0, 0.0]]))
    np.testing.assert_array_equal(labels, [0, 0, 0, 1, 1, 1])
    np.testing.assert_allclose(centres, [[1 / 3, 1 / 3], [31 / 3, 31 / 3]])


# ----------------------------------------------------------------------------- part 5: EM loop


def test_fit_recovers_separated_blobs(submission):
    """Three far-apart blobs: EM finds their means, and the log-likelihood never decreases."""
    rng = np.random.default_rng(1)
    centres = np.array([[0.0, 0.0], [10.0, 0.0], [0.0, 10.0]])
    X = np.concatenate([c + rng.normal(size=(100, 2)) for c in centres])
    out = submission.call("fit_gmm", X, 3, "full", seed=0)
    found = np.asarray(out["means"])[np.argsort(np.asarray(out["means"])[:, 0] + 2 * np.asarray(out["means"])[:, 1])]
    np.testing.assert_allclose(found, centres, atol=0.3)
    assert np.all(np.diff(out["log_likelihoods"]) >= -1e-8)
    assert out["converged"] and out["n_iter"] == len(out["log_likelihoods"])


# ----------------------------------------------------------------------------- part 6: BIC


@pytest.mark.parametrize("covariance_type, want", [("full", 11), ("diag", 9), ("spherical", 7)])
def test_bic_parameter_counts_by_hand(submission, covariance_type, want):
    """K=2, D=2: 1 weight + 4 mean entries + 2 x (3, 2 or 1) covariance entries."""
    assert submission.call("n_parameters", 2, 2, covariance_type) == want


def test_bic_by_hand(submission):
    """One standard normal component in 1-D, N = 2 points at 0: BIC = 2 log(2 pi) + 2 log 2."""
    X = np.zeros((2, 1))
    got = submission.call("bic", X, np.array([1.0]), np.zeros((1, 1)), np.ones((1, 1, 1)), "full")
    np.testing.assert_allclose(got, 2 * LOG_2PI + 2 * math.log(2.0), rtol=1e-12)
