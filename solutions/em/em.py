"""The EM algorithm for Gaussian mixture models, in NumPy and SciPy.

Read README.md first: it gives the maths, the conventions and the points for each part.

Rules
-----
* Use only `math`, `numpy` and `scipy.linalg` (imported below). `scipy.special.logsumexp`,
  `scipy.stats` and anything from `sklearn` are forbidden in this file: the grader traps them.
* Keep every name and signature in this file: the tests call them by name.
* Inputs are float64 NumPy arrays; return float64 arrays (and Python or NumPy floats for
  scalars). Do not modify the arrays you are given.

Shapes and conventions used everywhere
--------------------------------------
* ``X``: ``(N, D)`` data, one point per row.
* ``K`` components with ``weights`` ``(K,)`` (positive, summing to 1) and ``means`` ``(K, D)``.
* ``covariances`` depends on ``covariance_type`` (the same layout as scikit-learn):

  - ``"full"``: ``(K, D, D)``, one symmetric positive-definite matrix per component;
  - ``"diag"``: ``(K, D)``, the diagonal of each covariance matrix;
  - ``"spherical"``: ``(K,)``, one variance per component (covariance ``var_k * I``).
* ``resp``: ``(N, K)`` responsibilities, ``resp[n, k] = p(z_n = k | x_n)``; every row sums to 1.
"""

import math

import numpy as np
import scipy.linalg

COVARIANCE_TYPES = ("full", "diag", "spherical")


def _check_covariance_type(covariance_type):
    if covariance_type not in COVARIANCE_TYPES:
        raise ValueError(f"covariance_type must be one of {COVARIANCE_TYPES}, got {covariance_type!r}")


# ---------------------------------------------------------------------------------------------
# Part 1: Gaussian log-densities through the Cholesky factor
# ---------------------------------------------------------------------------------------------


def log_gaussian_pdf(X, mean, cov):
    """Log-density of one multivariate Gaussian at every row of ``X``.

    * ``X``: ``(N, D)``; ``mean``: ``(D,)``; ``cov``: ``(D, D)`` symmetric positive definite.
    * Returns ``(N,)`` float64: ``log N(x_n | mean, cov)``.

    Formula, with the Cholesky factor ``cov = L L^T`` (``L`` lower triangular)::

        z_n      = L^{-1} (x_n - mean)                   # a triangular solve, no inverse
        log p_n  = -0.5 * (D log(2 pi) + log det cov + ||z_n||^2)
        log det cov = 2 * sum_i log L_ii

    Never form ``inv(cov)`` or call ``det``: the Cholesky route is cheaper and stays accurate
    for badly conditioned matrices. If ``cov`` is not positive definite (the factorisation
    fails), raise ``ValueError`` with a message that says so.
    """
    ### BEGIN SOLUTION
    X = np.asarray(X, dtype=np.float64)
    d = X.shape[1]
    try:
        chol = scipy.linalg.cholesky(cov, lower=True)
    except np.linalg.LinAlgError:
        raise ValueError("log_gaussian_pdf: the covariance is not positive definite") from None
    z = scipy.linalg.solve_triangular(chol, (X - mean).T, lower=True)  # (D, N)
    log_det = 2.0 * np.log(np.diag(chol)).sum()
    return -0.5 * (d * math.log(2.0 * math.pi) + log_det + (z * z).sum(axis=0))
    ### END SOLUTION


def component_log_densities(X, means, covariances, covariance_type="full"):
    """Log-density of every point under every component: ``(N, K)``.

    ``out[n, k] = log N(x_n | means[k], Sigma_k)``, with ``Sigma_k`` given by ``covariances``
    in the layout of ``covariance_type`` (module docstring). Vectorise over the points: a
    Python loop over the K components is fine, a loop over the N points is not.

    * ``"full"``: as in ``log_gaussian_pdf`` for each component (Cholesky, triangular solve);
      raise ``ValueError`` if a covariance is not positive definite.
    * ``"diag"``: ``-0.5 * (D log 2pi + sum_d log s_kd + sum_d (x_nd - mu_kd)^2 / s_kd)``.
    * ``"spherical"``: the diagonal case with ``s_kd = var_k`` for every d.
    """
    ### BEGIN SOLUTION
    _check_covariance_type(covariance_type)
    X = np.asarray(X, dtype=np.float64)
    n, d = X.shape
    k_count = means.shape[0]
    const = d * math.log(2.0 * math.pi)
    if covariance_type == "full":
        eye = np.eye(d)
        whiten = np.empty((d, k_count, d))  # whiten[:, k, :] = P_k = L_k^{-T}, so z = P_k^T (x - mu_k)
        log_det = np.empty(k_count)
        for k in range(k_count):
            try:
                chol = scipy.linalg.cholesky(covariances[k], lower=True)
            except np.linalg.LinAlgError:
                raise ValueError(f"component_log_densities: covariance {k} is not positive definite") from None
            whiten[:, k, :] = scipy.linalg.solve_triangular(chol, eye, lower=True).T
            log_det[k] = 2.0 * np.log(np.diag(chol)).sum()
        # All N x K whitened residuals in one (N, D) x (D, K*D) matrix product: one large product
        # is several times faster than K small ones (and than N*K triangular solves).
        z = (X @ whiten.reshape(d, k_count * d)).reshape(n, k_count, d)
        z -= np.einsum("kd,dke->ke", means, whiten)
        return -0.5 * (const + log_det + np.einsum("nkd,nkd->nk", z, z))
    var = covariances if covariance_type == "diag" else np.repeat(covariances[:, None], d, axis=1)
    if np.any(var <= 0):
        raise ValueError("component_log_densities: variances must be positive")
    prec = 1.0 / var  # (K, D)
    # sum_d (x - mu)^2 / s expanded, so that the (N, K) result is three matrix products.
    maha = (X * X) @ prec.T - 2.0 * X @ (means * prec).T + (means * means * prec).sum(axis=1)
    return -0.5 * (const + np.log(var).sum(axis=1) + maha)
    ### END SOLUTION


# ---------------------------------------------------------------------------------------------
# Part 2: the E-step in the log domain
# ---------------------------------------------------------------------------------------------


def logsumexp(a, axis):
    """``log(sum(exp(a), axis))`` without overflow or underflow; the axis is removed.

    Shift by the maximum along ``axis``: ``m + log(sum(exp(a - m)))``. Entries of ``-inf`` are
    allowed (they contribute 0); a slice that is entirely ``-inf`` gives ``-inf`` (not NaN).
    Example: ``logsumexp(np.array([[1000., 1000.]]), axis=1)`` is ``[1000 + log 2]``.
    """
    ### BEGIN SOLUTION
    a = np.asarray(a, dtype=np.float64)
    m = np.max(a, axis=axis, keepdims=True)
    m = np.where(np.isfinite(m), m, 0.0)  # an all -inf slice: shift by 0, exp gives 0, log gives -inf
    with np.errstate(divide="ignore"):
        out = np.log(np.sum(np.exp(a - m), axis=axis, keepdims=True)) + m
    return np.squeeze(out, axis=axis)
    ### END SOLUTION


def e_step(X, weights, means, covariances, covariance_type="full"):
    """E-step: responsibilities and the log-likelihood at the current parameters.

    Returns ``(resp, log_likelihood)``:

    * ``resp``: ``(N, K)``, ``resp[n, k] = pi_k N(x_n | k) / sum_j pi_j N(x_n | j)``;
    * ``log_likelihood``: a float, ``sum_n log sum_k pi_k N(x_n | k)`` (summed over the points,
      not averaged).

    Work in the log domain: ``log_joint = log(weights) + component_log_densities(...)``,
    ``log p(x_n) = logsumexp(log_joint, axis=1)``, ``resp = exp(log_joint - log p(x_n))``. This
    must stay finite when every density of a point underflows (log-densities around -1e4).
    """
    ### BEGIN SOLUTION
    log_joint = np.log(weights) + component_log_densities(X, means, covariances, covariance_type)
    log_px = logsumexp(log_joint, axis=1)  # (N,)
    resp = np.exp(log_joint - log_px[:, None])
    return resp, float(log_px.sum())
    ### END SOLUTION


def elbo(X, resp, weights, means, covariances, covariance_type="full"):
    """The evidence lower bound of EM for any responsibilities ``resp`` (rows summing to 1).

    Formula (``q(z_n = k) = resp[n, k]``)::

        ELBO = sum_n sum_k resp[n, k] * (log pi_k + log N(x_n | k) - log resp[n, k])

    with the convention ``0 * log 0 = 0``: an entry with ``resp[n, k] == 0`` contributes nothing
    (``resp`` may contain exact zeros, e.g. one-hot responsibilities from k-means).
    ``ELBO <= log_likelihood`` for every ``resp``, with equality when ``resp`` is the E-step's
    posterior. Returns a float.
    """
    ### BEGIN SOLUTION
    log_joint = np.log(weights) + component_log_densities(X, means, covariances, covariance_type)
    positive = resp > 0
    safe = np.where(positive, resp, 1.0)
    terms = np.where(positive, resp * (log_joint - np.log(safe)), 0.0)
    return float(terms.sum())
    ### END SOLUTION


# ---------------------------------------------------------------------------------------------
# Part 3: the M-step
# ---------------------------------------------------------------------------------------------


def m_step(X, resp, covariance_type="full", reg_covar=1e-6):
    """M-step: the parameters that maximise the expected complete-data log-likelihood.

    With ``N_k = sum_n resp[n, k]``::

        weights[k] = N_k / N
        means[k]   = sum_n resp[n, k] x_n / N_k
        Sigma_k    = sum_n resp[n, k] (x_n - means[k]) (x_n - means[k])^T / N_k  +  reg_covar * I

    (the *new* means inside ``Sigma_k``). For ``"diag"`` keep the diagonal of ``Sigma_k`` (which
    already includes ``reg_covar``): ``(K, D)``; for ``"spherical"`` the mean of that diagonal:
    ``(K,)``. Returns ``(weights (K,), means (K, D), covariances)``.

    ``reg_covar`` keeps a component that has collapsed onto a single point or a subspace
    positive definite. Vectorise over the points (a loop over K is fine).
    """
    ### BEGIN SOLUTION
    _check_covariance_type(covariance_type)
    X = np.asarray(X, dtype=np.float64)
    n, d = X.shape
    nk = resp.sum(axis=0) + 10.0 * np.finfo(np.float64).eps  # never 0: an empty component gets mean 0
    weights = nk / n
    weights = weights / weights.sum()
    means = (resp.T @ X) / nk[:, None]
    if covariance_type == "full":
        covariances = np.empty((means.shape[0], d, d))
        for k in range(means.shape[0]):
            diff = X - means[k]
            covariances[k] = (diff.T * resp[:, k]) @ diff / nk[k]
            covariances[k].flat[:: d + 1] += reg_covar
        return weights, means, covariances
    diag = (resp.T @ (X * X)) / nk[:, None] - means * means
    diag = np.maximum(diag, 0.0) + reg_covar  # E[x^2] - mu^2 can round below 0 for a collapsed component
    if covariance_type == "diag":
        return weights, means, diag
    return weights, means, diag.mean(axis=1)
    ### END SOLUTION


# ---------------------------------------------------------------------------------------------
# Part 4: initialisation by k-means++ and k-means
# ---------------------------------------------------------------------------------------------


def kmeans_plusplus(X, n_components, seed):
    """k-means++ seeding with exactly these random calls (so that runs are reproducible).

    ``rng = np.random.default_rng(seed)``, then:

    1. the first centre is ``X[i]`` with ``i = int(rng.integers(N))``;
    2. each further centre: let ``d2[n]`` be the squared Euclidean distance from ``x_n`` to its
       nearest centre chosen so far; pick ``i = int(rng.choice(N, p=d2 / d2.sum()))``.

    No other calls to ``rng``. Returns ``(centres (K, D), indices (K,) int64)`` with
    ``centres = X[indices]``, in the order chosen. Raise ``ValueError`` if
    ``n_components`` is not between 1 and N.
    """
    ### BEGIN SOLUTION
    X = np.asarray(X, dtype=np.float64)
    n = X.shape[0]
    if not 1 <= n_components <= n:
        raise ValueError(f"kmeans_plusplus: n_components must be in 1..{n}, got {n_components}")
    rng = np.random.default_rng(seed)
    indices = [int(rng.integers(n))]
    d2 = ((X - X[indices[0]]) ** 2).sum(axis=1)
    for _ in range(1, n_components):
        i = int(rng.choice(n, p=d2 / d2.sum()))
        indices.append(i)
        d2 = np.minimum(d2, ((X - X[i]) ** 2).sum(axis=1))
    indices = np.array(indices, dtype=np.int64)
    return X[indices].copy(), indices
    ### END SOLUTION


def kmeans(X, centres, max_iter=300):
    """Lloyd's k-means started from ``centres`` ``(K, D)``.

    Repeat: assign every point to its nearest centre (squared Euclidean distance; ties go to
    the lowest index, as ``argmin`` does), then move every centre to the mean of its points (a
    centre with no points stays where it is). Stop when the assignment no longer changes, or
    after ``max_iter`` assignments. Returns ``(centres (K, D), labels (N,) int64)`` where
    ``labels`` is the assignment to the returned centres.
    """
    ### BEGIN SOLUTION
    X = np.asarray(X, dtype=np.float64)
    centres = np.array(centres, dtype=np.float64, copy=True)
    k_count = centres.shape[0]
    labels = None
    sq_norms = (X * X).sum(axis=1)
    for _ in range(max_iter):
        dist = sq_norms[:, None] - 2.0 * X @ centres.T + (centres * centres).sum(axis=1)
        new_labels = dist.argmin(axis=1)
        if labels is not None and np.array_equal(new_labels, labels):
            break
        labels = new_labels
        counts = np.bincount(labels, minlength=k_count)
        sums = np.zeros_like(centres)
        np.add.at(sums, labels, X)
        filled = counts > 0
        centres[filled] = sums[filled] / counts[filled, None]
    return centres, labels.astype(np.int64)
    ### END SOLUTION


# ---------------------------------------------------------------------------------------------
# Part 5: the EM loop
# ---------------------------------------------------------------------------------------------


def fit_gmm(X, n_components, covariance_type="full", max_iter=100, tol=1e-6, reg_covar=1e-6,
            seed=0, init=None):
    """Fit a Gaussian mixture by EM. Returns a dict (keys below).

    Initialisation:

    * ``init`` given: a dict with ``"weights"``, ``"means"``, ``"covariances"`` (the layout of
      ``covariance_type``), used as the starting parameters;
    * ``init=None``: ``centres, _ = kmeans_plusplus(X, n_components, seed)``, then
      ``_, labels = kmeans(X, centres)``, then one ``m_step`` with the one-hot responsibilities of
      ``labels``.

    The loop (the same order as scikit-learn's ``GaussianMixture``), for ``it = 1..max_iter``::

        resp, ll = e_step(X, params)          # ll at the parameters *before* this M-step
        params   = m_step(X, resp, covariance_type, reg_covar)
        history.append(ll)
        if it > 1 and abs(ll - previous ll) / N < tol: converged; stop

    Returns ``{"weights", "means", "covariances", "log_likelihoods", "n_iter", "converged"}``:
    the final parameters, the list of the ``ll`` values (floats, one per iteration), the number
    of iterations run (int) and whether the tolerance was reached (bool).
    """
    ### BEGIN SOLUTION
    _check_covariance_type(covariance_type)
    X = np.asarray(X, dtype=np.float64)
    n = X.shape[0]
    if init is None:
        centres, _ = kmeans_plusplus(X, n_components, seed)
        _, labels = kmeans(X, centres)
        resp = np.zeros((n, n_components))
        resp[np.arange(n), labels] = 1.0
        weights, means, covariances = m_step(X, resp, covariance_type, reg_covar)
    else:
        weights = np.asarray(init["weights"], dtype=np.float64)
        means = np.asarray(init["means"], dtype=np.float64)
        covariances = np.asarray(init["covariances"], dtype=np.float64)
    history = []
    converged = False
    for it in range(1, max_iter + 1):
        resp, ll = e_step(X, weights, means, covariances, covariance_type)
        weights, means, covariances = m_step(X, resp, covariance_type, reg_covar)
        history.append(ll)
        if it > 1 and abs(history[-1] - history[-2]) / n < tol:
            converged = True
            break
    return {"weights": weights, "means": means, "covariances": covariances,
            "log_likelihoods": history, "n_iter": len(history), "converged": converged}
    ### END SOLUTION


# ---------------------------------------------------------------------------------------------
# Part 6: model selection by BIC
# ---------------------------------------------------------------------------------------------


def n_parameters(n_components, n_features, covariance_type="full"):
    """Number of free parameters of a K-component mixture in D dimensions (an int).

    ``K - 1`` weights (they sum to 1), ``K * D`` mean entries, and per component
    ``D (D + 1) / 2`` covariance entries (``"full"``: a symmetric matrix), ``D`` (``"diag"``) or
    ``1`` (``"spherical"``).
    """
    ### BEGIN SOLUTION
    _check_covariance_type(covariance_type)
    k, d = n_components, n_features
    per_component = {"full": d * (d + 1) // 2, "diag": d, "spherical": 1}[covariance_type]
    return int(k * per_component + k * d + k - 1)
    ### END SOLUTION


def bic(X, weights, means, covariances, covariance_type="full"):
    """Bayesian information criterion (lower is better), a float::

        BIC = -2 * log_likelihood + n_parameters(K, D, covariance_type) * log(N)

    with ``log_likelihood = sum_n log p(x_n)`` at the given parameters.
    """
    ### BEGIN SOLUTION
    X = np.asarray(X, dtype=np.float64)
    _, ll = e_step(X, weights, means, covariances, covariance_type)
    p = n_parameters(means.shape[0], X.shape[1], covariance_type)
    return float(-2.0 * ll + p * math.log(X.shape[0]))
    ### END SOLUTION
