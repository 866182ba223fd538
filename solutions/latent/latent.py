"""Linear latent-variable models: PCA, probabilistic PCA in closed form, and PPCA by EM.

Read README.md first: it gives the maths, the conventions and the points for each part.

Rules
-----
* Use only `math`, `numpy` and `scipy.linalg` (imported below). Anything from `sklearn`
  (PCA, FactorAnalysis, ...) and `scipy.stats.multivariate_normal` are forbidden in this file:
  the grader refuses them.
* Keep every name and signature in this file: the tests call them by name.
* Inputs are float64 NumPy arrays; return float64 arrays (and Python floats for scalars). Do not
  modify the arrays you are given.

Shapes used everywhere: ``X`` is ``(N, D)``, one point per row; ``q`` is the latent dimension
(``n_components``, ``1 <= q < D``); ``mean`` is ``(D,)``; ``W`` is ``(D, q)``; ``sigma2`` is a
positive float. The PPCA model is ``z ~ N(0, I_q)``, ``x = W z + mean + eps``,
``eps ~ N(0, sigma2 I_D)``, so that ``x ~ N(mean, C)`` with ``C = W W^T + sigma2 I_D``.
"""

import math

import numpy as np
import scipy.linalg


def _check_q(q, d):
    if not (isinstance(q, (int, np.integer)) and 1 <= q < d):
        raise ValueError(f"n_components must be an integer with 1 <= q < D = {d}, got {q!r}")


# ---------------------------------------------------------------------------------------------
# Part 1: PCA by the SVD
# ---------------------------------------------------------------------------------------------


def pca(X, n_components):
    """Principal component analysis by the singular value decomposition of the centred data.

    With ``mean = X.mean(0)`` and the thin SVD ``X - mean = U diag(s) V^T`` (singular values in
    decreasing order), return a dict:

    * ``"mean"``: ``(D,)``;
    * ``"components"``: ``(q, D)``, the first ``q`` rows of ``V^T`` (orthonormal rows, the
      principal directions, in decreasing order of variance);
    * ``"explained_variance"``: ``(q,)``, ``s_i**2 / (N - 1)`` (the variance of the data along each
      direction, with the unbiased ``N - 1`` as in scikit-learn);
    * ``"explained_variance_ratio"``: ``(q,)``, each explained variance divided by the **total**
      variance ``sum_i s_i**2 / (N - 1)`` over all directions.

    Each direction is defined up to its sign; any sign is accepted. Raise ``ValueError`` unless
    ``1 <= n_components < D``. Do not form the ``(D, D)`` covariance matrix: use the SVD.
    """
    ### BEGIN SOLUTION
    X = np.asarray(X, dtype=np.float64)
    n, d = X.shape
    _check_q(n_components, d)
    mean = X.mean(axis=0)
    _, s, vt = np.linalg.svd(X - mean, full_matrices=False)
    variances = s**2 / (n - 1)
    components = vt[:n_components]
    return {
        "mean": mean,
        "components": components,
        "explained_variance": variances[:n_components],
        "explained_variance_ratio": variances[:n_components] / variances.sum(),
    }
    ### END SOLUTION


def pca_transform(X, mean, components):
    """Coordinates of the points in the principal subspace: ``(X - mean) @ components.T``, ``(N, q)``."""
    ### BEGIN SOLUTION
    return (np.asarray(X, dtype=np.float64) - mean) @ components.T
    ### END SOLUTION


def pca_reconstruct(Z, mean, components):
    """Back to data space from coordinates ``Z`` ``(N, q)``: ``Z @ components + mean``, ``(N, D)``.

    For orthonormal components this is the orthogonal projection of the data onto the affine
    subspace ``mean + span(components)``: the best rank-q reconstruction in squared error.
    """
    ### BEGIN SOLUTION
    return np.asarray(Z, dtype=np.float64) @ components + mean
    ### END SOLUTION


# ---------------------------------------------------------------------------------------------
# Part 2: probabilistic PCA, maximum likelihood in closed form
# ---------------------------------------------------------------------------------------------


def ppca_fit(X, n_components):
    """Maximum-likelihood PPCA (Tipping and Bishop, 1999), in closed form.

    With ``mean = X.mean(0)`` and the **maximum-likelihood** sample covariance
    ``S = (X - mean)^T (X - mean) / N`` (divide by N, not N - 1), whose eigenvalues in decreasing
    order are ``l_1 >= ... >= l_D`` with unit eigenvectors ``u_1, ..., u_D``::

        sigma2 = mean(l_{q+1}, ..., l_D)                # the average variance that is discarded
        W      = U_q diag(sqrt(l_1 - sigma2), ..., sqrt(l_q - sigma2))

    (``U_q = [u_1 ... u_q]``, ``(D, q)``; the arbitrary rotation R of the paper is the identity).
    Returns ``(mean (D,), W (D, q), sigma2 float)``. Any sign of each column of ``W`` is accepted;
    the tests compare ``W W^T``. You may take the eigenvalues from an SVD of ``X - mean``
    (``l_i = s_i**2 / N``; with ``N < D`` the missing ones are 0) or from ``np.linalg.eigh(S)``.
    Raise ``ValueError`` unless ``1 <= n_components < D``.
    """
    ### BEGIN SOLUTION
    X = np.asarray(X, dtype=np.float64)
    n, d = X.shape
    _check_q(n_components, d)
    mean = X.mean(axis=0)
    _, s, vt = np.linalg.svd(X - mean, full_matrices=False)
    eigvals = np.zeros(d)
    eigvals[: len(s)] = s**2 / n  # with N < D the remaining eigenvalues of S are exactly 0
    q = n_components
    sigma2 = float(eigvals[q:].mean())
    W = vt[:q].T * np.sqrt(np.maximum(eigvals[:q] - sigma2, 0.0))
    return mean, W, sigma2
    ### END SOLUTION


def ppca_log_likelihood(X, mean, W, sigma2):
    """Log-likelihood ``sum_n log N(x_n | mean, C)`` with ``C = W W^T + sigma2 I_D``, a float.

    ``D`` may be large (hundreds) while ``q`` is small: work in q dimensions with
    ``M = W^T W + sigma2 I_q`` ``(q, q)`` and the identities::

        log det C = (D - q) log sigma2 + log det M
        C^{-1}    = (I_D - W M^{-1} W^T) / sigma2

    so that, with ``y_n = x_n - mean``,
    ``y^T C^{-1} y = (||y||^2 - (W^T y)^T M^{-1} (W^T y)) / sigma2`` and
    ``log N = -0.5 (D log 2pi + log det C + y^T C^{-1} y)``.
    """
    ### BEGIN SOLUTION
    X = np.asarray(X, dtype=np.float64)
    n, d = X.shape
    q = W.shape[1]
    y = X - mean
    chol = scipy.linalg.cholesky(W.T @ W + sigma2 * np.eye(q), lower=True)  # M = L L^T
    a = scipy.linalg.solve_triangular(chol, (y @ W).T, lower=True)  # L^{-1} W^T y, (q, N)
    log_det = (d - q) * math.log(sigma2) + 2.0 * np.log(np.diag(chol)).sum()
    maha = ((y * y).sum() - (a * a).sum()) / sigma2  # summed over the points
    return float(-0.5 * (n * (d * math.log(2.0 * math.pi) + log_det) + maha))
    ### END SOLUTION


# ---------------------------------------------------------------------------------------------
# Part 3: the latent posterior and reconstruction
# ---------------------------------------------------------------------------------------------


def ppca_posterior(X, mean, W, sigma2):
    """Posterior of the latent variables: ``p(z | x_n) = N(m_n, Sigma_z)``.

    With ``M = W^T W + sigma2 I_q``::

        m_n     = M^{-1} W^T (x_n - mean)       # returned as rows: (N, q)
        Sigma_z = sigma2 M^{-1}                 # (q, q), the same for every point

    Returns ``(m (N, q), Sigma_z (q, q))``. Solve with ``M`` (``np.linalg.solve`` or a Cholesky
    factor); do not invert ``C``.
    """
    ### BEGIN SOLUTION
    X = np.asarray(X, dtype=np.float64)
    q = W.shape[1]
    m_mat = W.T @ W + sigma2 * np.eye(q)
    post_mean = np.linalg.solve(m_mat, W.T @ (X - mean).T).T
    post_cov = sigma2 * np.linalg.inv(m_mat)
    return post_mean, post_cov
    ### END SOLUTION


def ppca_reconstruct(X, mean, W, sigma2):
    """Reconstruct the data from the posterior mean of the latents: ``W m_n + mean``, ``(N, D)``.

    ``m_n`` is the posterior mean of ``ppca_posterior``. Because ``M^{-1}`` shrinks towards 0,
    this reconstruction is pulled towards ``mean`` compared with the PCA projection; as
    ``sigma2 -> 0`` with the maximum-likelihood ``W`` it becomes the PCA reconstruction.
    """
    ### BEGIN SOLUTION
    X = np.asarray(X, dtype=np.float64)
    q = W.shape[1]
    post_mean = np.linalg.solve(W.T @ W + sigma2 * np.eye(q), W.T @ (X - mean).T).T
    return post_mean @ W.T + mean
    ### END SOLUTION


# ---------------------------------------------------------------------------------------------
# Part 4: PPCA by EM
# ---------------------------------------------------------------------------------------------


def ppca_em_step(X, mean, W, sigma2):
    """One EM iteration for PPCA (``mean`` stays fixed at its ML value, the data mean).

    E-step, with ``M = W^T W + sigma2 I_q`` and ``y_n = x_n - mean``::

        E[z_n]       = M^{-1} W^T y_n
        E[z_n z_n^T] = sigma2 M^{-1} + E[z_n] E[z_n]^T

    M-step::

        W_new      = (sum_n y_n E[z_n]^T) (sum_n E[z_n z_n^T])^{-1}
        sigma2_new = 1/(N D) sum_n ( ||y_n||^2 - 2 E[z_n]^T W_new^T y_n
                                     + trace(E[z_n z_n^T] W_new^T W_new) )

    (the **new** ``W`` in ``sigma2_new``). Returns ``(W_new (D, q), sigma2_new float)``. Vectorise:
    no loop over the points.
    """
    ### BEGIN SOLUTION
    X = np.asarray(X, dtype=np.float64)
    n, d = X.shape
    q = W.shape[1]
    y = X - mean
    m_inv = np.linalg.inv(W.T @ W + sigma2 * np.eye(q))
    ez = y @ W @ m_inv  # (N, q): rows E[z_n]^T (M is symmetric)
    sum_ezz = n * sigma2 * m_inv + ez.T @ ez  # sum_n E[z_n z_n^T]
    yz = y.T @ ez  # (D, q): sum_n y_n E[z_n]^T
    W_new = np.linalg.solve(sum_ezz, yz.T).T  # yz @ inv(sum_ezz); sum_ezz is symmetric
    sigma2_new = ((y * y).sum() - 2.0 * np.sum(yz * W_new) + np.trace(sum_ezz @ (W_new.T @ W_new))) / (n * d)
    return W_new, float(sigma2_new)
    ### END SOLUTION


def ppca_em(X, n_components, max_iter=200, tol=1e-8, seed=0, W0=None, sigma2_0=None):
    """Fit PPCA by EM. Returns a dict (keys below).

    Start: ``mean = X.mean(0)``; ``W = W0`` if given, else
    ``np.random.default_rng(seed).normal(size=(D, q))``; ``sigma2 = sigma2_0`` if given, else
    ``1.0``. Then for ``it = 1..max_iter``::

        ll = ppca_log_likelihood(X, mean, W, sigma2)      # at the parameters before the step
        history.append(ll)
        if it > 1 and abs(ll - previous ll) < tol * N: stop   # converged
        W, sigma2 = ppca_em_step(X, mean, W, sigma2)      # one EM iteration

    Returns ``{"mean", "W", "sigma2", "log_likelihoods", "n_iter"}`` with the final parameters
    (float ``sigma2``), the list of recorded log-likelihoods (floats) and ``n_iter = len(history)``.
    """
    ### BEGIN SOLUTION
    X = np.asarray(X, dtype=np.float64)
    n, d = X.shape
    _check_q(n_components, d)
    mean = X.mean(axis=0)
    W = np.random.default_rng(seed).normal(size=(d, n_components)) if W0 is None else np.array(W0, dtype=np.float64)
    sigma2 = 1.0 if sigma2_0 is None else float(sigma2_0)
    history = []
    for it in range(1, max_iter + 1):
        history.append(ppca_log_likelihood(X, mean, W, sigma2))
        if it > 1 and abs(history[-1] - history[-2]) < tol * n:
            break
        W, sigma2 = ppca_em_step(X, mean, W, sigma2)
    return {"mean": mean, "W": W, "sigma2": float(sigma2), "log_likelihoods": history, "n_iter": len(history)}
    ### END SOLUTION
