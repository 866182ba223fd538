"""Markov chain Monte Carlo and Langevin dynamics: Metropolis-Hastings, Gibbs sampling,
Hamiltonian Monte Carlo, unadjusted and Metropolis-adjusted Langevin, stochastic-gradient
Langevin dynamics, and the diagnostics that tell you whether to trust a chain.

Read README.md first: it gives the maths, the conventions and the points for each part.

Rules
-----
* Use only `math` and `numpy` (imported below). Work in float64.
* Every function runs **n chains at once**: a state is an array whose first axis is the chain,
  ``x`` of shape ``(n, d)`` (or ``(n,)`` integers for discrete states). Chains never interact.
* **Randomness is an argument.** No function here draws random numbers: each step receives
  the standard normals ``z`` and the uniforms ``u`` it needs, and must use them exactly as the
  docstring says (the grader feeds chosen values and checks the result). Draw them yourself
  with a ``numpy.random.Generator`` when you run a chain (see ``run_chain``).
* A Metropolis-Hastings step accepts a proposal iff ``log(u) < log_alpha`` (strict), with
  ``log_alpha = min(0, log acceptance ratio)``.
* Keep every name and signature in this file: the tests call them by name.
"""

import math

import numpy as np


# ---------------------------------------------------------------------------------------------
# Provided: targets and a chain driver (not graded; the grader uses these same classes)
# ---------------------------------------------------------------------------------------------


class Gaussian:
    """N(mean, cov) in d dimensions. ``log_prob(x)``: ``(n, d) -> (n,)`` (unnormalised),
    ``grad_log_prob(x)``: ``(n, d) -> (n, d)``, ``sample(rng, n)``: ``(n, d)`` exact draws."""

    def __init__(self, mean, cov):
        self.mean = np.asarray(mean, dtype=np.float64)
        self.cov = np.asarray(cov, dtype=np.float64)
        self.precision = np.linalg.inv(self.cov)
        self.chol = np.linalg.cholesky(self.cov)
        # a diagonal covariance needs no matrix products (elementwise, as fast as NumPy gets)
        self.inv_var = 1.0 / np.diag(self.cov) if np.count_nonzero(self.cov - np.diag(np.diag(self.cov))) == 0 else None

    def log_prob(self, x):
        r = np.asarray(x, dtype=np.float64) - self.mean
        if self.inv_var is not None:
            return -0.5 * (r * r * self.inv_var).sum(axis=1)
        return -0.5 * ((r @ self.precision) * r).sum(axis=1)

    def grad_log_prob(self, x):
        r = np.asarray(x, dtype=np.float64) - self.mean
        return -r * self.inv_var if self.inv_var is not None else -r @ self.precision

    def sample(self, rng, n):
        return self.mean + rng.standard_normal((n, self.mean.size)) @ self.chol.T


class Banana:
    """Haario's twisted Gaussian in 2-D: x1 ~ N(0, s^2), x2 + b (x1^2 - s^2) ~ N(0, 1).

    log p(x) = -x1^2 / (2 s^2) - (x2 + b (x1^2 - s^2))^2 / 2   (unnormalised)
    """

    def __init__(self, b=0.5, s=2.0):
        self.b, self.s = float(b), float(s)

    def _twist(self, x):
        x = np.asarray(x, dtype=np.float64)
        return x[:, 0], x[:, 1] + self.b * (x[:, 0] ** 2 - self.s**2)

    def log_prob(self, x):
        x1, y2 = self._twist(x)
        return -0.5 * x1**2 / self.s**2 - 0.5 * y2**2

    def grad_log_prob(self, x):
        x1, y2 = self._twist(x)
        return np.stack([-x1 / self.s**2 - 2.0 * self.b * x1 * y2, -y2], axis=1)

    def sample(self, rng, n):
        x1 = self.s * rng.standard_normal(n)
        x2 = rng.standard_normal(n) - self.b * (x1**2 - self.s**2)
        return np.stack([x1, x2], axis=1)


class GaussianMixture:
    """sum_k w_k N(mean_k, std^2 I) in d dimensions (a common isotropic std)."""

    def __init__(self, weights, means, std):
        self.weights = np.asarray(weights, dtype=np.float64)
        self.means = np.atleast_2d(np.asarray(means, dtype=np.float64))  # (K, d)
        self.std = float(std)

    def _log_components(self, x):
        x = np.asarray(x, dtype=np.float64)
        sq = ((x[:, None, :] - self.means[None]) ** 2).sum(-1)
        return np.log(self.weights) - 0.5 * sq / self.std**2  # (n, K)

    def log_prob(self, x):
        a = self._log_components(x)
        top = a.max(axis=1, keepdims=True)
        return (top + np.log(np.exp(a - top).sum(axis=1, keepdims=True)))[:, 0]

    def grad_log_prob(self, x):
        x = np.asarray(x, dtype=np.float64)
        a = self._log_components(x)
        r = np.exp(a - a.max(axis=1, keepdims=True))
        r /= r.sum(axis=1, keepdims=True)  # responsibilities (n, K)
        return (r @ self.means - x) / self.std**2

    def sample(self, rng, n):
        k = rng.choice(self.weights.size, size=n, p=self.weights / self.weights.sum())
        return self.means[k] + self.std * rng.standard_normal((n, self.means.shape[1]))


class DiscreteTarget:
    """A distribution on the integers 0..K-1 given by ``log_p`` (K,). ``log_prob(x)`` takes
    integer-valued states of any shape ``(n,)`` or ``(n, 1)`` and returns ``(n,)``; states outside
    0..K-1 have log-probability ``-inf``."""

    def __init__(self, log_p):
        self.log_p = np.asarray(log_p, dtype=np.float64)

    def log_prob(self, x):
        k = np.asarray(x).reshape(len(x), -1)[:, 0]
        k = np.rint(k).astype(np.int64)
        inside = (k >= 0) & (k < self.log_p.size)
        out = np.full(k.shape, -np.inf)
        out[inside] = self.log_p[k[inside]]
        return out


class DiscreteProposal:
    """A proposal on 0..K-1 with matrix ``Q`` (K, K), rows summing to 1: from state b the
    proposal is a with probability Q[b, a]. ``log_q(a, b) = log Q[b, a]`` for integer arrays (n,)."""

    def __init__(self, Q):
        self.Q = np.asarray(Q, dtype=np.float64)

    def log_q(self, a, b):
        return np.log(self.Q[np.asarray(b, dtype=np.int64), np.asarray(a, dtype=np.int64)])


class IndependenceProposal:
    """A proposal that ignores the current state: ``log_q(a, b) = log_density(a)``, for ``mh_step``."""

    def __init__(self, log_density):
        self.log_density = log_density

    def log_q(self, a, b):
        return self.log_density(a)


class HMC:
    """``hmc_step`` bound to a target and its tuning: ``HMC(target, step_size, n_steps)(x, p, u)``.

    Handy with ``run_chain(HMC(target, 0.2, 10), x0, n, rng, n_normals=1, n_uniforms=1)``; the
    speed test calls it too, so your ``hmc_step`` is what gets timed."""

    def __init__(self, target, step_size, n_steps):
        self.target, self.step_size, self.n_steps = target, float(step_size), int(n_steps)

    def __call__(self, x, p, u):
        return hmc_step(x, self.target.log_prob, self.target.grad_log_prob, self.step_size, self.n_steps, p, u)


def run_chain(step, x0, n_steps, rng, n_normals=0, n_uniforms=1, **kwargs):
    """Run ``step`` for ``n_steps`` from ``x0`` (n, d), drawing its randomness from ``rng``.

    ``step(x, *randomness, **kwargs)`` must return ``(x_new, accepted)`` or ``x_new``; each call
    gets ``n_normals`` arrays of standard normals shaped like ``x`` and then ``n_uniforms``
    arrays of uniforms (n,), in that order. Returns ``(samples (n_steps, n, d), acceptance rate)``.
    Example: ``run_chain(lambda x, z, u: rwmh_step(x, t.log_prob, 0.5, z, u), x0, 1000, rng, 1, 1)``.
    """
    x = np.array(x0, dtype=np.float64)
    out = np.empty((n_steps,) + x.shape)
    accepted = 0.0
    for t in range(n_steps):
        draws = [rng.standard_normal(x.shape) for _ in range(n_normals)]
        draws += [rng.uniform(size=x.shape[0]) for _ in range(n_uniforms)]
        result = step(x, *draws, **kwargs)
        if isinstance(result, tuple):
            x, acc = result
            accepted += float(np.mean(acc))
        else:
            x, accepted = result, accepted + 1.0
        out[t] = x
    return out, accepted / max(n_steps, 1)


# ---------------------------------------------------------------------------------------------
# Part 1: Metropolis-Hastings
# ---------------------------------------------------------------------------------------------


def mh_step(x, y, log_prob, u, log_q=None):
    """One Metropolis-Hastings accept/reject decision for n chains, given their proposals.

    * ``x``: ``(n, ...)`` current states, ``y``: ``(n, ...)`` proposed states (same shape);
    * ``log_prob(states) -> (n,)``: log target density, up to a constant (may be ``-inf``);
    * ``u``: ``(n,)`` uniforms in (0, 1), one per chain;
    * ``log_q(a, b) -> (n,)``: log density of **proposing a from b**, ``log q(a | b)``;
      ``None`` means a symmetric proposal (``q(a | b) = q(b | a)``, the term cancels).

    Formula::

        log_alpha = min(0, log p(y) - log p(x) + log q(x | y) - log q(y | x))
        accept    = log(u) < log_alpha            # per chain
        x_new     = y where accept, else x

    A proposal with ``log p(y) = -inf`` is always rejected. Returns ``(x_new, accept)``:
    ``x_new`` shaped like ``x`` (a new array; ``x`` is not modified), ``accept`` a bool ``(n,)``.
    """
    ### BEGIN SOLUTION
    x, y = np.asarray(x), np.asarray(y)
    log_ratio = log_prob(y) - log_prob(x)
    if log_q is not None:
        log_ratio = log_ratio + log_q(x, y) - log_q(y, x)
    log_alpha = np.minimum(0.0, log_ratio)
    # -inf - finite is -inf, which no log(u) beats; a NaN comparison is False as well
    accept = np.log(u) < log_alpha
    keep = accept.reshape((-1,) + (1,) * (x.ndim - 1))
    return np.where(keep, y, x), accept
    ### END SOLUTION


def rwmh_step(x, log_prob, step_size, z, u):
    """Random-walk Metropolis: propose ``y = x + step_size * z``, then accept or reject.

    * ``x``: ``(n, d)``; ``z``: ``(n, d)`` standard normals; ``u``: ``(n,)`` uniforms;
    * ``step_size``: a positive float, the **standard deviation** of the proposal's increments.

    The proposal is symmetric, so ``log_alpha = min(0, log p(y) - log p(x))``. Use your
    ``mh_step``. Returns ``(x_new, accept)`` as ``mh_step`` does.
    """
    ### BEGIN SOLUTION
    y = x + step_size * z
    return mh_step(x, y, log_prob, u)
    ### END SOLUTION


def independence_step(x, log_prob, mean, std, z, u):
    """Independence sampler: propose ``y = mean + std * z`` regardless of ``x``.

    * ``x``: ``(n, d)``; ``mean``, ``std``: ``(d,)`` (the proposal is N(mean, diag(std^2)));
      ``z``: ``(n, d)`` standard normals; ``u``: ``(n,)`` uniforms.

    The proposal is not symmetric: ``q(a | b) = q(a) = prod_i N(a_i; mean_i, std_i^2)``, so::

        log_alpha = min(0, log p(y) - log p(x) + log q(x) - log q(y))

    (the normalising constants of q cancel). Use your ``mh_step`` with a ``log_q``.
    Returns ``(x_new, accept)``.
    """
    ### BEGIN SOLUTION
    mean, std = np.asarray(mean, dtype=np.float64), np.asarray(std, dtype=np.float64)
    y = mean + std * z

    def log_q(a, b):  # independent of b
        return -0.5 * (((a - mean) / std) ** 2).sum(axis=1)

    return mh_step(x, y, log_prob, u, log_q)
    ### END SOLUTION


# ---------------------------------------------------------------------------------------------
# Part 2: Gibbs sampling
# ---------------------------------------------------------------------------------------------


def gibbs_gaussian_sweep(x, mean, precision, z):
    """One systematic-scan Gibbs sweep for N(mean, precision^-1), coordinates 0, 1, ..., d-1.

    * ``x``: ``(n, d)``; ``mean``: ``(d,)``; ``precision``: ``(d, d)`` symmetric positive definite
      (Lambda, the inverse covariance); ``z``: ``(n, d)`` standard normals, ``z[:, i]`` for coordinate i.

    Coordinate i is redrawn from its conditional given all the others, **using the values
    already updated in this sweep** for coordinates j < i::

        x_i <- mean_i - (1 / Lambda_ii) * sum_{j != i} Lambda_ij (x_j - mean_j) + z_i / sqrt(Lambda_ii)

    Returns the new ``(n, d)`` array (``x`` is not modified).
    """
    ### BEGIN SOLUTION
    x = np.array(x, dtype=np.float64)
    mean, lam = np.asarray(mean, dtype=np.float64), np.asarray(precision, dtype=np.float64)
    for i in range(x.shape[1]):
        r = x - mean
        off = r @ lam[i] - lam[i, i] * r[:, i]  # sum over j != i, with the current values
        x[:, i] = mean[i] - off / lam[i, i] + z[:, i] / math.sqrt(lam[i, i])
    return x
    ### END SOLUTION


def ising_conditional(s, coupling, field):
    """P(s_ij = +1 | all other spins) for every site of an Ising model on a periodic grid.

    * ``s``: ``(n, H, W)`` spins in {-1, +1} (any numeric dtype), H, W >= 3, periodic boundaries
      (site (i, j) has the four neighbours (i +- 1 mod H, j) and (i, j +- 1 mod W));
    * the model: ``p(s) proportional to exp(coupling * sum_{neighbour pairs} s_a s_b + field * sum_a s_a)``.

    Formula, with m_ij the sum of the four neighbours of (i, j)::

        P(s_ij = +1 | rest) = 1 / (1 + exp(-2 (coupling * m_ij + field)))

    Returns a float64 array ``(n, H, W)``.
    """
    ### BEGIN SOLUTION
    s = np.asarray(s, dtype=np.float64)
    m = (np.roll(s, 1, axis=1) + np.roll(s, -1, axis=1) + np.roll(s, 1, axis=2) + np.roll(s, -1, axis=2))
    return 1.0 / (1.0 + np.exp(-2.0 * (coupling * m + field)))
    ### END SOLUTION


def gibbs_ising_sweep(s, coupling, field, u):
    """One systematic-scan Gibbs sweep of the Ising model of ``ising_conditional``.

    * ``s``: ``(n, H, W)`` spins in {-1, +1}; ``u``: ``(n, H, W)`` uniforms, ``u[:, i, j]`` for site (i, j).

    Visit the sites in row-major order ((0,0), (0,1), ..., (0,W-1), (1,0), ...). At site (i, j),
    with p = P(s_ij = +1 | the *current* values of its neighbours, including those already
    updated in this sweep), set ``s_ij = +1 if u_ij < p else -1``.

    Returns the new spins as an int64 array ``(n, H, W)`` (``s`` is not modified).
    """
    ### BEGIN SOLUTION
    s = np.array(s, dtype=np.int64)
    _, h, w = s.shape
    for i in range(h):
        for j in range(w):
            m = s[:, (i - 1) % h, j] + s[:, (i + 1) % h, j] + s[:, i, (j - 1) % w] + s[:, i, (j + 1) % w]
            p = 1.0 / (1.0 + np.exp(-2.0 * (coupling * m + field)))
            s[:, i, j] = np.where(u[:, i, j] < p, 1, -1)
    return s
    ### END SOLUTION


# ---------------------------------------------------------------------------------------------
# Part 3: Hamiltonian Monte Carlo
# ---------------------------------------------------------------------------------------------


def leapfrog(x, p, grad_log_prob, step_size, n_steps):
    """``n_steps`` leapfrog steps of size h for H(x, p) = -log p(x) + |p|^2 / 2 (unit mass).

    * ``x``, ``p``: ``(n, d)`` positions and momenta; ``grad_log_prob(x) -> (n, d)``;
    * ``step_size`` h > 0 (float), ``n_steps`` L >= 1 (int).

    One leapfrog step is a half kick, a full drift and a half kick::

        p <- p + (h / 2) * grad_log_prob(x)
        x <- x + h * p
        p <- p + (h / 2) * grad_log_prob(x)

    (consecutive half kicks may be merged into one full kick: same result, one gradient fewer
    per step). Returns ``(x_L, p_L)``, new arrays; ``x`` and ``p`` are not modified.
    """
    ### BEGIN SOLUTION
    x, p = np.array(x, dtype=np.float64), np.array(p, dtype=np.float64)
    p += 0.5 * step_size * grad_log_prob(x)
    for t in range(n_steps):
        x += step_size * p
        if t < n_steps - 1:
            p += step_size * grad_log_prob(x)
    p += 0.5 * step_size * grad_log_prob(x)
    return x, p
    ### END SOLUTION


def hmc_step(x, log_prob, grad_log_prob, step_size, n_steps, p, u):
    """One Hamiltonian Monte Carlo step with the given momenta ``p`` and uniforms ``u``.

    * ``x``: ``(n, d)``; ``p``: ``(n, d)`` standard normal momenta (already drawn); ``u``: ``(n,)``.

    Run your ``leapfrog`` from ``(x, p)`` to ``(x*, p*)`` and accept with the Hamiltonian::

        H(x, p)   = -log p(x) + |p|^2 / 2
        log_alpha = min(0, H(x, p) - H(x*, p*))
        accept    = log(u) < log_alpha;   x_new = x* where accept, else x

    Returns ``(x_new, accept)``.
    """
    ### BEGIN SOLUTION
    x = np.asarray(x, dtype=float)
    x_new, p_new = leapfrog(x, p, grad_log_prob, step_size, n_steps)
    h_old = -log_prob(x) + 0.5 * (p**2).sum(axis=1)
    h_new = -log_prob(x_new) + 0.5 * (p_new**2).sum(axis=1)
    log_alpha = np.minimum(0.0, h_old - h_new)
    accept = np.log(u) < log_alpha  # a diverged trajectory (NaN energy) is rejected
    return np.where(accept[:, None], x_new, x), accept
    ### END SOLUTION


# ---------------------------------------------------------------------------------------------
# Part 4: Langevin dynamics (ULA, MALA)
# ---------------------------------------------------------------------------------------------


def ula_step(x, grad_log_prob, step_size, z):
    """One step of the unadjusted Langevin algorithm (Euler-Maruyama for the Langevin SDE).

    * ``x``, ``z``: ``(n, d)`` (``z`` standard normals); ``step_size`` h > 0.

    Formula::

        x_new = x + h * grad_log_prob(x) + sqrt(2 h) * z

    No accept/reject: the chain's stationary law is close to, but not exactly, the target.
    Returns ``x_new`` ``(n, d)``.
    """
    ### BEGIN SOLUTION
    x = np.asarray(x, dtype=float)
    return x + step_size * grad_log_prob(x) + math.sqrt(2.0 * step_size) * z
    ### END SOLUTION


def mala_log_acceptance(x, y, log_prob, grad_log_prob, step_size):
    """log of MALA's acceptance probability for moving from ``x`` to the proposal ``y``.

    * ``x``, ``y``: ``(n, d)``; returns ``(n,)``, every entry <= 0.

    The Langevin proposal is ``q(b | a) = N(b; a + h grad_log_prob(a), 2h I)``, so up to a
    constant that cancels, ``log q(b | a) = -|b - a - h grad_log_prob(a)|^2 / (4h)``, and::

        log_alpha = min(0, log p(y) - log p(x) + log q(x | y) - log q(y | x))
    """
    ### BEGIN SOLUTION
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    h = step_size
    log_q_yx = -((y - x - h * grad_log_prob(x)) ** 2).sum(axis=1) / (4.0 * h)
    log_q_xy = -((x - y - h * grad_log_prob(y)) ** 2).sum(axis=1) / (4.0 * h)
    return np.minimum(0.0, log_prob(y) - log_prob(x) + log_q_xy - log_q_yx)
    ### END SOLUTION


def mala_step(x, log_prob, grad_log_prob, step_size, z, u):
    """One Metropolis-adjusted Langevin step.

    * ``x``, ``z``: ``(n, d)``; ``u``: ``(n,)``.

    Propose ``y = x + h grad_log_prob(x) + sqrt(2h) z`` (the ULA step), then accept iff
    ``log(u) < mala_log_acceptance(x, y, ...)`` (use yours). Returns ``(x_new, accept)``.
    """
    ### BEGIN SOLUTION
    x = np.asarray(x, dtype=float)
    y = x + step_size * grad_log_prob(x) + math.sqrt(2.0 * step_size) * z
    accept = np.log(u) < mala_log_acceptance(x, y, log_prob, grad_log_prob, step_size)
    return np.where(accept[:, None], y, x), accept
    ### END SOLUTION


# ---------------------------------------------------------------------------------------------
# Part 5: stochastic-gradient Langevin dynamics for Bayesian logistic regression
# ---------------------------------------------------------------------------------------------


def logistic_grad_estimate(w, X_batch, y_batch, n_data, prior_var):
    """Minibatch estimate of grad_w log p(w | data) for Bayesian logistic regression.

    * ``w``: ``(n, d)`` weights of n chains; ``X_batch``: ``(B, d)``; ``y_batch``: ``(B,)`` labels in {0, 1};
    * ``n_data``: N, the size of the full data set the batch was drawn from; ``prior_var``: the
      prior is w ~ N(0, prior_var I).

    Model: ``P(y = 1 | x, w) = sigmoid(x . w)``. The gradient of the log posterior is
    ``-w / prior_var + sum_{i=1..N} (y_i - sigmoid(x_i . w)) x_i``; estimate the sum from the batch::

        g = -w / prior_var + (N / B) * sum_{b in batch} (y_b - sigmoid(x_b . w)) x_b

    (unbiased when the batch is drawn uniformly; the prior term is exact, not rescaled).
    Returns ``(n, d)``. Compute the sigmoid so that large |x . w| gives no overflow warning.
    """
    ### BEGIN SOLUTION
    w = np.asarray(w, dtype=np.float64)
    X, y = np.asarray(X_batch, dtype=np.float64), np.asarray(y_batch, dtype=np.float64)
    logits = w @ X.T  # (n, B)
    prob = np.exp(-np.logaddexp(0.0, -logits))  # sigmoid without overflow
    scale = n_data / X.shape[0]
    return -w / prior_var + scale * (y[None, :] - prob) @ X
    ### END SOLUTION


def sgld_step(w, X_batch, y_batch, n_data, prior_var, step_size, z):
    """One SGLD step (Welling and Teh, 2011), written in this sheet's Langevin convention.

    * ``w``, ``z``: ``(n, d)``; the batch arguments as in ``logistic_grad_estimate`` (use yours).

    Formula, with g the minibatch gradient estimate::

        w_new = w + h * g + sqrt(2 h) * z

    (Welling and Teh write eps / 2 for h, noise variance eps.) Returns ``w_new`` ``(n, d)``.
    """
    ### BEGIN SOLUTION
    g = logistic_grad_estimate(w, X_batch, y_batch, n_data, prior_var)
    return np.asarray(w, dtype=np.float64) + step_size * g + math.sqrt(2.0 * step_size) * z
    ### END SOLUTION


# ---------------------------------------------------------------------------------------------
# Part 6: diagnostics
# ---------------------------------------------------------------------------------------------


def autocorrelation(x, max_lag):
    """Sample autocorrelation of one chain at lags 0..max_lag.

    * ``x``: ``(T,)`` one scalar chain; ``0 <= max_lag < T``. Returns ``(max_lag + 1,)``, float64.

    Formula (the usual biased estimator: every lag is divided by T, not T - t)::

        xbar     = mean(x)
        gamma_t  = (1 / T) * sum_{s=0}^{T-1-t} (x_s - xbar) (x_{s+t} - xbar)
        rho_t    = gamma_t / gamma_0
    """
    ### BEGIN SOLUTION
    x = np.asarray(x, dtype=float)
    n = x.size
    c = x - x.mean()
    # through the FFT, zero-padded to avoid wrap-around: O(T log T) instead of O(T * max_lag)
    size = 1 << (2 * n - 1).bit_length()
    f = np.fft.rfft(c, size)
    acov = np.fft.irfft(f * np.conj(f), size)[: max_lag + 1] / n
    return acov / acov[0]
    ### END SOLUTION


def effective_sample_size(chains):
    """Effective sample size of m chains of length T for the mean (Geyer's initial monotone
    sequence estimator, combined over chains as in Stan).

    * ``chains``: ``(m, T)``, m >= 1, T >= 4. Returns a float.

    Recipe::

        gamma_{j,t}  autocovariance of chain j at lag t (centred on chain j's mean, divided by T,
                     as in ``autocorrelation``), t = 0..T-1
        W          = mean_j gamma_{j,0} * T / (T - 1)          # mean within-chain variance
        var_plus   = (T - 1) / T * W + (variance of the m chain means, ddof=1; 0 if m == 1)
        rho_0      = 1
        rho_t      = 1 - (W - mean_j gamma_{j,t}) / var_plus,  t = 1..T-1
        P_k        = rho_{2k} + rho_{2k+1},  k = 0, 1, ..., while 2k + 1 <= T - 1
        K          = the first k >= 1 with P_k < 0 (or the number of pairs if none is negative)
        P_k       <- min(P_k, P_{k-1}) for k = 1..K-1, in order   # make the sequence monotone
        tau        = -1 + 2 * sum_{k < K} P_k
        tau        = max(tau, 1 / log10(m * T))   # as in Stan: antithetic chains can make tau <= 0
        ESS        = m * T / tau
    """
    ### BEGIN SOLUTION
    chains = np.asarray(chains, dtype=np.float64)
    m, n = chains.shape
    c = chains - chains.mean(axis=1, keepdims=True)
    size = 1 << (2 * n - 1).bit_length()
    f = np.fft.rfft(c, size, axis=1)
    acov = np.fft.irfft(f * np.conj(f), size, axis=1)[:, :n] / n  # (m, T)
    w = acov[:, 0].mean() * n / (n - 1)
    between = chains.mean(axis=1).var(ddof=1) if m > 1 else 0.0
    var_plus = (n - 1) / n * w + between
    rho = 1.0 - (w - acov.mean(axis=0)) / var_plus
    rho[0] = 1.0
    pairs = rho[: 2 * (n // 2)].reshape(-1, 2).sum(axis=1)
    negative = np.flatnonzero(pairs[1:] < 0)
    k = negative[0] + 1 if negative.size else pairs.size
    positive = np.minimum.accumulate(pairs[:k])
    tau = max(-1.0 + 2.0 * positive.sum(), 1.0 / math.log10(m * n))
    return float(m * n / tau)
    ### END SOLUTION


def split_rhat(chains):
    """Split R-hat (Gelman et al., BDA3): compares between- and within-chain variance.

    * ``chains``: ``(m, T)``, T >= 4. Returns a float (close to 1 for chains that have mixed).

    Recipe: split every chain into its first and last ``n = T // 2`` draws (for odd T the middle
    draw is dropped), giving 2m chains of length n; then with the chain means and ddof=1 variances::

        W        = mean of the 2m within-chain variances (ddof=1)
        B        = n * variance of the 2m chain means (ddof=1)
        var_plus = (n - 1) / n * W + B / n
        R_hat    = sqrt(var_plus / W)
    """
    ### BEGIN SOLUTION
    chains = np.asarray(chains, dtype=np.float64)
    half = chains.shape[1] // 2
    split = np.concatenate([chains[:, :half], chains[:, -half:]], axis=0)
    w = split.var(axis=1, ddof=1).mean()
    b = half * split.mean(axis=1).var(ddof=1)
    var_plus = (half - 1) / half * w + b / half
    return float(np.sqrt(var_plus / w))
    ### END SOLUTION
