"""Hidden tests for the latent-variable assignment (PCA, PPCA, PPCA by EM).

Every input is drawn fresh from `np.random.default_rng(seed)`. Oracles:

* scikit-learn's `PCA(svd_solver="full")` for PCA (directions compared up to sign) and, rescaled
  from its unbiased (N - 1) covariance to the maximum-likelihood 1/N one, for the PPCA covariance
  `W W^T + sigma^2 I` and noise variance (its `get_covariance`, `noise_variance_`, `score`);
* `scipy.stats.multivariate_normal` with the covariance `W W^T + sigma^2 I` for likelihoods;
* Tipping and Bishop's closed form evaluated from `np.linalg.eigh` of the sample covariance
  (where N < D, scikit-learn averages only the nonzero eigenvalues, so it is not used there);
* Gaussian conditioning `z | x` from the joint covariance for the posterior;
* the EM update written with the sample covariance S (Bishop, PRML eq. 12.58-12.59) for EM.

Independence: transform/reconstruct tests use scikit-learn's fitted mean and components; the
posterior, likelihood and EM-step tests get their parameters from the oracles, not from the
student's fit. Every comparison goes through `autograder.checks` (no expected values shown).
"""

import math

import numpy as np
import pytest
import scipy.stats
from sklearn.decomposition import PCA

from autograder.checks import assert_close, check, finite_number


# ----------------------------------------------------------------------------- helpers


def low_rank_data(rng, n, d, q, signal=(6.0, 4.0, 3.0, 2.5), noise=0.5, shift=3.0):
    """n points near a random q-dimensional affine subspace of R^d, with decreasing signal scales."""
    scales = np.array([signal[i % len(signal)] / (1 + i // len(signal)) for i in range(q)])
    basis, _ = np.linalg.qr(rng.normal(size=(d, q)))
    z = rng.normal(size=(n, q)) * scales
    return z @ basis.T + noise * rng.normal(size=(n, d)) + shift * rng.normal(size=d)


def sklearn_pca(X, q):
    return PCA(q, svd_solver="full").fit(X)


def align_rows(got, want):
    """Flip the sign of each row of `got` to match `want` (directions are defined up to sign)."""
    got = np.asarray(got, dtype=np.float64)
    if got.shape != want.shape:
        return got
    signs = np.sign((got * want).sum(axis=1))
    signs[signs == 0] = 1.0
    return got * signs[:, None]


def ml_closed_form(X, q):
    """Tipping-Bishop ML (mean, C = W W^T + sigma2 I, sigma2) from eigh of S = Y^T Y / N."""
    n, d = X.shape
    y = X - X.mean(axis=0)
    vals, vecs = np.linalg.eigh(y.T @ y / n)
    vals, vecs = vals[::-1], vecs[:, ::-1]
    sigma2 = vals[q:].mean()
    W = vecs[:, :q] * np.sqrt(vals[:q] - sigma2)
    return X.mean(axis=0), W, sigma2


def covariance(W, sigma2):
    return W @ W.T + sigma2 * np.eye(W.shape[0])


def oracle_ll(X, mean, W, sigma2):
    return float(scipy.stats.multivariate_normal(mean, covariance(W, sigma2)).logpdf(X).sum())


def random_params(rng, d, q, X):
    """A random PPCA model near the data: mean, W (D, q), sigma2."""
    return X.mean(axis=0) + 0.1 * rng.normal(size=d), rng.normal(size=(d, q)), float(rng.uniform(0.3, 2.0))


def s_form_em_step(X, mean, W, sigma2):
    """EM for PPCA written with S (Bishop 12.58-12.59): an independent form of the update."""
    n, d = X.shape
    q = W.shape[1]
    y = X - mean
    S = y.T @ y / n
    m_inv = np.linalg.inv(W.T @ W + sigma2 * np.eye(q))
    SW = S @ W
    W_new = SW @ np.linalg.inv(sigma2 * np.eye(q) + m_inv @ W.T @ SW)
    sigma2_new = np.trace(S - SW @ m_inv @ W_new.T) / d
    return W_new, sigma2_new


def student_error_type(exc):
    return getattr(exc, "type", type(exc).__name__)


# ----------------------------------------------------------------------------- part 1: PCA

PCA_CASES = {"tall": (200, 6, 2), "one_latent": (120, 5, 1), "wide": (30, 80, 3)}


@pytest.mark.parametrize("case", list(PCA_CASES), ids=list(PCA_CASES))
def test_pca_matches_sklearn(submission, seed, case):
    """Mean, components (up to sign), explained variance and its ratio equal scikit-learn's PCA."""
    rng = np.random.default_rng(seed)
    n, d, q = PCA_CASES[case]
    X = low_rank_data(rng, n, d, q)
    out = submission.call("pca", X, q)
    sk = sklearn_pca(X, q)
    assert_close(np.asarray(out["mean"]), sk.mean_, what="mean")
    assert_close(align_rows(out["components"], sk.components_), sk.components_,
                 what="principal directions (up to sign)", rtol=1e-6, atol=1e-7)
    assert_close(np.asarray(out["explained_variance"]), sk.explained_variance_, what="explained variance", rtol=1e-6)
    assert_close(np.asarray(out["explained_variance_ratio"]), sk.explained_variance_ratio_,
                 what="explained variance ratio", rtol=1e-6)


def test_pca_components_are_orthonormal(submission, seed):
    """The returned directions are orthonormal rows, in decreasing order of explained variance."""
    rng = np.random.default_rng(seed)
    X = low_rank_data(rng, 80, 7, 4)
    out = submission.call("pca", X, 4)
    comps = np.asarray(out["components"])
    check(comps.shape == (4, 7), f"components have shape {comps.shape}, not (4, 7)")
    assert_close(comps @ comps.T, np.eye(4), what="components @ components.T", atol=1e-9)
    ev = np.asarray(out["explained_variance"])
    check(bool(np.all(np.diff(ev) <= 1e-12 * ev[0])), "explained variances are not in decreasing order")


def test_pca_transform_and_reconstruct_match_sklearn(submission, seed):
    """Given scikit-learn's mean and components, transform and reconstruct equal its transform and inverse_transform."""
    rng = np.random.default_rng(seed)
    X = low_rank_data(rng, 100, 9, 3)
    sk = sklearn_pca(X, 3)
    X_new = low_rank_data(rng, 20, 9, 3)
    Z = submission.call("pca_transform", X_new, sk.mean_, sk.components_)
    assert_close(np.asarray(Z), sk.transform(X_new), what="PCA coordinates", atol=1e-8)
    R = submission.call("pca_reconstruct", sk.transform(X_new), sk.mean_, sk.components_)
    assert_close(np.asarray(R), sk.inverse_transform(sk.transform(X_new)), what="PCA reconstruction", atol=1e-8)


def test_pca_bad_n_components_raises(submission, seed):
    """n_components outside 1 <= q < D raises ValueError."""
    X = np.random.default_rng(seed).normal(size=(10, 4))
    for bad in (0, 4):
        try:
            submission.call("pca", X, bad)
        except Exception as exc:  # noqa: BLE001 - the type is inspected below
            check(student_error_type(exc) == "ValueError", f"n_components={bad} raised {student_error_type(exc)}, not ValueError")
            continue
        check(False, f"n_components={bad} with D=4 raised no error")


# ----------------------------------------------------------------------------- part 2: PPCA


@pytest.mark.parametrize("case", ["tall", "one_latent"])
def test_ppca_fit_matches_sklearn_covariance(submission, seed, case):
    """W W^T + sigma2 I and sigma2 equal scikit-learn's PPCA covariance, rescaled from 1/(N-1) to the ML 1/N."""
    rng = np.random.default_rng(seed)
    n, d, q = PCA_CASES[case]
    X = low_rank_data(rng, n, d, q)
    mean, W, sigma2 = submission.call("ppca_fit", X, q)
    W = np.asarray(W)
    check(W.shape == (d, q), f"W has shape {W.shape}, not {(d, q)}")
    sk = sklearn_pca(X, q)
    scale = (n - 1) / n  # scikit-learn's covariance is unbiased; PPCA's ML estimate divides by N
    assert_close(np.asarray(mean), sk.mean_, what="PPCA mean")
    assert_close(np.array(finite_number(sigma2, "sigma2")), np.array(sk.noise_variance_ * scale), what="sigma2", rtol=1e-6)
    assert_close(covariance(W, sigma2), sk.get_covariance() * scale, what="W W^T + sigma2 I", rtol=1e-6, atol=1e-8)


def test_ppca_fit_large_dimension_closed_form(submission, seed):
    """With N < D (40 points in 120 dimensions) the fit equals the closed form from the eigenvalues of S (zeros included)."""
    rng = np.random.default_rng(seed)
    X = low_rank_data(rng, 40, 120, 3)
    mean, W, sigma2 = submission.call("ppca_fit", X, 3)
    want_mean, want_W, want_sigma2 = ml_closed_form(X, 3)
    assert_close(np.array(finite_number(sigma2, "sigma2")), np.array(want_sigma2), what="sigma2 (N < D)", rtol=1e-6)
    assert_close(covariance(np.asarray(W), sigma2), covariance(want_W, want_sigma2), what="W W^T + sigma2 I (N < D)",
                 rtol=1e-6, atol=1e-8)


def test_ppca_fit_is_a_likelihood_maximum(submission, seed):
    """The fitted parameters have a higher likelihood (scipy) than nearby parameters."""
    rng = np.random.default_rng(seed)
    X = low_rank_data(rng, 150, 6, 2)
    mean, W, sigma2 = submission.call("ppca_fit", X, 2)
    W = np.asarray(W)
    best = oracle_ll(X, np.asarray(mean), W, sigma2)
    for W2, s2 in ((W * 1.05, sigma2), (W * 0.95, sigma2), (W, sigma2 * 1.1), (W, sigma2 * 0.9),
                   (W + 0.05 * rng.normal(size=W.shape), sigma2)):
        check(oracle_ll(X, np.asarray(mean), W2, s2) < best, "a nearby parameter setting has a higher likelihood than the fit")


@pytest.mark.parametrize("dims", [(5, 2), (150, 4), (3, 1)], ids=["D5q2", "D150q4", "D3q1"])
def test_ppca_log_likelihood_matches_scipy(submission, seed, dims):
    """ppca_log_likelihood equals scipy's Gaussian log-density with covariance W W^T + sigma2 I, summed."""
    rng = np.random.default_rng(seed)
    d, q = dims
    X = low_rank_data(rng, 60, d, q)
    mean, W, sigma2 = random_params(rng, d, q, X)
    got = finite_number(submission.call("ppca_log_likelihood", X, mean, W, sigma2), "log-likelihood")
    assert_close(np.array(got), np.array(oracle_ll(X, mean, W, sigma2)), what=f"PPCA log-likelihood (D={d}, q={q})")


def test_ppca_log_likelihood_matches_sklearn_score(submission, seed):
    """At scikit-learn's PPCA parameters, the log-likelihood equals N times its score(X)."""
    rng = np.random.default_rng(seed)
    X = low_rank_data(rng, 90, 8, 3)
    sk = sklearn_pca(X, 3)
    W = sk.components_.T * np.sqrt(sk.explained_variance_ - sk.noise_variance_)
    got = finite_number(submission.call("ppca_log_likelihood", X, sk.mean_, W, float(sk.noise_variance_)), "log-likelihood")
    assert_close(np.array(got), np.array(sk.score(X) * len(X)), what="log-likelihood at scikit-learn's parameters")


# ----------------------------------------------------------------------------- part 3: posterior


@pytest.mark.parametrize("dims", [(6, 2), (40, 5), (4, 1)], ids=["D6q2", "D40q5", "D4q1"])
def test_posterior_matches_gaussian_conditioning(submission, seed, dims):
    """Posterior mean and covariance equal Gaussian conditioning: W^T C^{-1} (x - mean) and I - W^T C^{-1} W."""
    rng = np.random.default_rng(seed)
    d, q = dims
    X = low_rank_data(rng, 30, d, q)
    mean, W, sigma2 = random_params(rng, d, q, X)
    post_mean, post_cov = submission.call("ppca_posterior", X, mean, W, sigma2)
    C = covariance(W, sigma2)
    want_mean = np.linalg.solve(C, W).T @ (X - mean).T
    want_cov = np.eye(q) - W.T @ np.linalg.solve(C, W)
    assert_close(np.asarray(post_mean), want_mean.T, what="posterior means (N, q)", atol=1e-9)
    assert_close(np.asarray(post_cov), want_cov, what="posterior covariance (q, q)", atol=1e-9)


def test_posterior_reconstruction(submission, seed):
    """ppca_reconstruct gives W E[z|x] + mean; with sigma2 -> 0 and the ML W it tends to the PCA reconstruction."""
    rng = np.random.default_rng(seed)
    X = low_rank_data(rng, 50, 7, 2)
    mean, W, sigma2 = random_params(rng, 7, 2, X)
    got = submission.call("ppca_reconstruct", X, mean, W, sigma2)
    C = covariance(W, sigma2)
    want = (W @ np.linalg.solve(C, W).T @ (X - mean).T).T + mean
    assert_close(np.asarray(got), want, what="reconstruction from the posterior mean", atol=1e-9)
    sk = sklearn_pca(X, 2)
    W_ml = sk.components_.T * np.sqrt(sk.explained_variance_)
    tiny = 1e-9
    got = submission.call("ppca_reconstruct", X, sk.mean_, W_ml, tiny)
    assert_close(np.asarray(got), sk.inverse_transform(sk.transform(X)), what="reconstruction as sigma2 -> 0",
                 rtol=1e-6, atol=1e-6)


# ----------------------------------------------------------------------------- part 4: EM


@pytest.mark.parametrize("dims", [(6, 2), (60, 4), (3, 1)], ids=["D6q2", "D60q4", "D3q1"])
def test_em_step_matches_the_covariance_form(submission, seed, dims):
    """One EM step equals the update written with the sample covariance (Bishop 12.58-12.59)."""
    rng = np.random.default_rng(seed)
    d, q = dims
    X = low_rank_data(rng, 80, d, q)
    _, W, sigma2 = random_params(rng, d, q, X)
    mean = X.mean(axis=0)
    W_new, sigma2_new = submission.call("ppca_em_step", X, mean, W, sigma2)
    want_W, want_sigma2 = s_form_em_step(X, mean, W, sigma2)
    assert_close(np.asarray(W_new), want_W, what="W after one EM step", rtol=1e-6, atol=1e-9)
    assert_close(np.array(finite_number(sigma2_new, "sigma2")), np.array(want_sigma2), what="sigma2 after one EM step", rtol=1e-6)


def test_em_step_never_decreases_the_likelihood(submission, seed):
    """Repeated EM steps from a random start never lower the likelihood (computed by scipy)."""
    rng = np.random.default_rng(seed)
    X = low_rank_data(rng, 100, 10, 3)
    mean = X.mean(axis=0)
    _, W, sigma2 = random_params(rng, 10, 3, X)
    values = [oracle_ll(X, mean, W, sigma2)]
    for _ in range(8):
        W, sigma2 = submission.call("ppca_em_step", X, mean, W, sigma2)
        W = np.asarray(W)
        values.append(oracle_ll(X, mean, W, finite_number(sigma2, "sigma2")))
    drops = int((np.diff(values) < -1e-9 * np.abs(values[1:])).sum())
    check(drops == 0, f"the likelihood decreased in {drops} of 8 EM steps")


def test_em_converges_to_the_closed_form(submission, seed):
    """From the prescribed random start, EM reaches the closed-form ML covariance, with a non-decreasing log-likelihood."""
    rng = np.random.default_rng(seed)
    # Signal variances a few times the noise: EM's rate is about 1 - 2 sigma2 (l - sigma2) / l^2 per
    # iteration, fast here (it crawls when sigma2 << l).
    X = low_rank_data(rng, 300, 8, 2, signal=(2.5, 2.0), noise=1.0)
    em_seed = int(rng.integers(2**31))
    out = submission.call("ppca_em", X, 2, max_iter=400, tol=0.0, seed=em_seed)
    history = np.array([finite_number(v, "log-likelihood") for v in out["log_likelihoods"]])
    check(len(history) == 400 and out["n_iter"] == 400, "with tol=0 EM did not run max_iter iterations")
    W0 = np.random.default_rng(em_seed).normal(size=(8, 2))
    assert_close(np.array(history[0]), np.array(oracle_ll(X, X.mean(axis=0), W0, 1.0)),
                 what="first log-likelihood (at the prescribed start)")
    drops = int((np.diff(history) < -1e-9 * np.abs(history[1:])).sum())
    check(drops == 0, f"the log-likelihood decreased in {drops} iterations")
    mean, W, sigma2 = ml_closed_form(X, 2)
    assert_close(covariance(np.asarray(out["W"]), out["sigma2"]), covariance(W, sigma2),
                 what="W W^T + sigma2 I after EM vs the closed form", rtol=1e-5, atol=1e-6)


def test_em_given_start_and_tolerance(submission, seed):
    """EM from W0 and sigma2_0 follows the covariance-form updates and stops at the first change below tol * N."""
    rng = np.random.default_rng(seed)
    X = low_rank_data(rng, 120, 5, 2, signal=(3.0, 2.0), noise=1.0)
    mean = X.mean(axis=0)
    W0, s0 = rng.normal(size=(5, 2)), 1.5
    out = submission.call("ppca_em", X, 2, max_iter=3, tol=0.0, W0=W0, sigma2_0=s0)
    W, s2 = W0, s0
    for _ in range(3):
        W, s2 = s_form_em_step(X, mean, W, s2)
    assert_close(np.asarray(out["W"]), W, what="W after 3 iterations from W0", rtol=1e-6, atol=1e-9)
    tol = 1e-4
    out = submission.call("ppca_em", X, 2, max_iter=500, tol=tol, W0=W0, sigma2_0=s0)
    history = np.array(out["log_likelihoods"], dtype=np.float64)
    gains = np.diff(history)
    check(len(gains) >= 1 and abs(gains[-1]) < tol * len(X), "EM stopped before the change fell below tol * N")
    check(bool((np.abs(gains[:-1]) >= tol * len(X)).all()), "EM ran on after the change fell below tol * N")
