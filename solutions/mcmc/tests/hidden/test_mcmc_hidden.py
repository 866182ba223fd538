"""Hidden tests for the MCMC assignment.

Three kinds of check, each sized for a correct sampler never to fail by chance:

* **Exact checks.** The steps take their randomness as arguments, so with chosen normals and
  uniforms they are deterministic functions. On a small discrete state space the test builds
  the student's transition kernel from a grid of uniforms and checks detailed balance and
  invariance; leapfrog is checked for reversibility, volume preservation and an energy error
  of order h^2; every step is compared with the formula. Accept/reject decisions are compared
  only where the uniform is not within 1e-6 (in log) of the acceptance probability, so any valid
  order of floating-point operations gives the same decisions.
* **Statistical checks with exact error rates.** Many independent chains are started from
  exact draws of the target and advanced a few steps with fresh random numbers. A correct
  sampler leaves the target invariant, so the final states are i.i.d. draws from it (the
  effective sample size is exactly the number of chains, no estimate needed) and the test's
  false-failure probability is bounded rigorously for every sample size (the
  Dvoretzky-Kiefer-Wolfowitz-Massart bound for Kolmogorov-Smirnov distances, Laurent-Massart
  for chi-square sums, the exact normal law of a Gaussian mean, Bernstein for bounded
  statistics); each test states its bound, always at most 1e-5.
* **Oracles.** Closed forms evaluated here (energy ratios, Gaussian densities, the logistic
  gradient, autocorrelation sums, the AR(1) autocorrelation) or the reference (ESS, R-hat).

Independence: a composite step (rwmh_step, independence_step, hmc_step, mala_step, sgld_step)
passes its exact test if it agrees with the reference *or* with the reference's formula applied
to the student's own building block (mh_step, leapfrog, mala_log_acceptance,
logistic_grad_estimate), so one mistake is not penalised twice.

Every input comes from `np.random.default_rng(seed)`; failure messages never show expected values.
"""

import math

import numpy as np
import pytest

from autograder.checks import check

GUARD = 1e-6  # |log u - log alpha| below this: the decision is left to rounding, so u is moved


# ----------------------------------------------------------------------------- helpers


def near(actual, expected, what, rtol=1e-7, atol=1e-9):
    """Shape, finiteness and values of `actual` against `expected` (float64, numpy)."""
    check(isinstance(actual, np.ndarray), f"{what}: expected a numpy array, got {type(actual).__name__}")
    expected = np.asarray(expected)
    check(actual.shape == expected.shape, f"{what}: shape {actual.shape}, but the specification gives {expected.shape}")
    got = actual.astype(np.float64)
    want = expected.astype(np.float64)
    bad = int((np.isfinite(got) != np.isfinite(want)).sum())
    check(bad == 0, f"{what}: {bad} entries are NaN or infinite where they should not be (or the reverse)")
    fin = np.isfinite(want)
    err = np.where(fin, np.abs(got - want), 0.0)
    off = int((err > atol + rtol * np.abs(np.where(fin, want, 0.0))).sum())
    check(off == 0, f"{what}: {off} of {want.size} entries differ from the oracle (largest absolute error {err.max():.3g})")


def agrees(actual, expected, rtol=1e-7, atol=1e-9):
    try:
        near(actual, expected, "")
    except AssertionError:
        return False
    return True


def pair(submission, reference, cls, *args):
    """(student-side object, trusted-side object) of a provided target class."""
    return submission.call(cls, *args), getattr(reference, cls)(*args)


def fn(submission, obj, name):
    return submission.getattr(obj, name)


def step_result(result, n, what):
    """Unpack and check `(x_new, accept)`."""
    check(isinstance(result, tuple) and len(result) == 2, f"{what}: should return a tuple (x_new, accept)")
    x_new, accept = result
    check(isinstance(accept, np.ndarray) and accept.dtype == np.bool_ and accept.shape == (n,),
          f"{what}: accept should be a bool array of shape ({n},)")
    return x_new, accept


def guarded_uniforms(rng, log_alphas):
    """Uniforms (n,) none of which lies within GUARD (in log) of any candidate log_alpha."""
    n = log_alphas[0].shape[0]
    log_u = np.log(rng.uniform(size=n))
    for la in log_alphas:
        close = np.isfinite(la) & (np.abs(log_u - la) < GUARD)
        log_u = np.where(close, la - 1.0, log_u)  # then clearly accepted
    for la in log_alphas:  # a move may have come close to another candidate: re-check
        check(not np.any(np.isfinite(la) & (np.abs(log_u - la) < GUARD)), "internal: guard failed")
    return np.exp(log_u)


def try_call(submission, name, *args):
    """The student's result, or None if their function fails (then the reference stands in)."""
    try:
        return submission.call(name, *args)
    except Exception:  # noqa: BLE001 -- a stub or a crash of a building block
        return None


def random_spd(rng, d, cond=10.0):
    q, _ = np.linalg.qr(rng.standard_normal((d, d)))
    eig = np.exp(rng.uniform(0.0, math.log(cond), d))
    return (q * eig) @ q.T


def expit(t):
    return np.exp(-np.logaddexp(0.0, -t))


def normal_cdf(t):
    return 0.5 * np.vectorize(math.erfc)(-np.asarray(t) / math.sqrt(2.0))


def ks_pass(sample, cdf, delta):
    """Kolmogorov-Smirnov distance of i.i.d. `sample` from a continuous `cdf`, against the
    Dvoretzky-Kiefer-Wolfowitz-Massart bound P(sup |F_n - F| > eps) <= 2 exp(-2 n eps^2):
    with eps = sqrt(log(2 / delta) / (2 n)) a correct sampler fails with probability <= delta."""
    n = len(sample)
    f = cdf(np.sort(sample))
    i = np.arange(1, n + 1)
    dist = max(float((i / n - f).max()), float((f - (i - 1) / n).max()))
    return dist <= math.sqrt(math.log(2.0 / delta) / (2.0 * n))


def chi2_pass(total, dof, delta):
    """`total` ~ chi2(dof)? Laurent and Massart (2000): P(X - k >= 2 sqrt(k x) + 2x) <= e^-x and
    P(k - X >= 2 sqrt(k x)) <= e^-x; with x = log(2 / delta) both tails together fail with
    probability <= delta for a correct sampler."""
    x = math.log(2.0 / delta)
    return dof - 2.0 * math.sqrt(dof * x) < total < dof + 2.0 * math.sqrt(dof * x) + 2.0 * x


def bernstein_radius(n, var, bound, delta):
    """t with P(|mean of n i.i.d. X - mu| >= t) <= delta when |X - mu| <= bound and Var X = var:
    Bernstein, 2 exp(-n t^2 / (2 var + 2 bound t / 3)) = delta, solved for t."""
    log_term = math.log(2.0 / delta)
    a = 2.0 * bound * log_term / 3.0
    return (a + math.sqrt(a * a + 8.0 * n * var * log_term)) / (2.0 * n)


# ----------------------------------------------------------------------------- part 1: MH


def discrete_kernel(submission, target_s, proposal_s, k, grid):
    """The student's kernel P (K, K) from mh_step with uniforms on a midpoint grid.

    For every ordered pair x != y, P[x, y] = Q[x, y] * (fraction of grid uniforms accepted);
    with u_i = (i + 1/2) / N that fraction is within 1/(2N) of alpha(x, y) for any correct rule.
    """
    xs, ys = np.nonzero(~np.eye(k, dtype=bool))
    x = np.repeat(xs, grid)
    y = np.repeat(ys, grid)
    u = np.tile((np.arange(grid) + 0.5) / grid, xs.size)
    x_new, accept = step_result(submission.call("mh_step", x, y, fn(submission, target_s, "log_prob"), u,
                                                fn(submission, proposal_s, "log_q")), x.size, "mh_step")
    check(isinstance(x_new, np.ndarray) and x_new.shape == x.shape, "mh_step: x_new should have the shape of x")
    check(bool(np.all(np.where(accept, x_new == y, x_new == x))), "mh_step: x_new is not y where accepted and x elsewhere")
    frac = accept.reshape(xs.size, grid).mean(axis=1)
    return frac


@pytest.mark.parametrize("case", ["asymmetric", "symmetric_with_empty_state"])
def test_mh_kernel_detailed_balance_and_invariance(submission, reference, seed, case):
    """On a 6-state space, the kernel built from mh_step with a grid of uniforms satisfies detailed balance and leaves the target invariant."""
    rng = np.random.default_rng(seed)
    k, grid = 6, 1000
    log_p = rng.normal(0.0, 1.0, k)
    full = np.zeros((k, k))
    off = ~np.eye(k, dtype=bool)
    if case == "asymmetric":
        full[off] = (rng.dirichlet(np.full(k - 1, 0.7), size=k) + 0.02).ravel()
    else:
        log_p[rng.integers(k)] = -np.inf  # a state the chain must never enter
        full[off] = 1.0
    full /= full.sum(axis=1, keepdims=True)
    pi = np.exp(log_p - np.max(log_p))
    pi /= pi.sum()
    target_s = submission.call("DiscreteTarget", log_p)
    proposal_s = submission.call("DiscreteProposal", full)
    frac = discrete_kernel(submission, target_s, proposal_s, k, grid)
    xs, ys = np.nonzero(~np.eye(k, dtype=bool))
    kernel = np.zeros((k, k))
    kernel[xs, ys] = full[xs, ys] * frac
    kernel[np.arange(k), np.arange(k)] = 1.0 - kernel.sum(axis=1)
    # each entry of the grid kernel is within Q[x, y] / (2N) of the true one (plus rounding)
    slack = full / (2 * grid) + 1e-12
    flow = pi[:, None] * kernel
    db_err = np.abs(flow - flow.T)
    db_tol = pi[:, None] * slack + (pi[:, None] * slack).T
    check(bool(np.all(db_err <= db_tol)),
          f"detailed balance pi(x) P(x, y) = pi(y) P(y, x) fails for {int((db_err > db_tol).sum()) // 2} pairs of states "
          f"(largest violation {db_err.max():.3g})")
    inv_err = np.abs(pi @ kernel - pi)
    inv_tol = 2.0 * (pi[:, None] * slack).sum(axis=0) + (pi * slack.sum(axis=1)) + 1e-12
    check(bool(np.all(inv_err <= inv_tol)), f"the kernel does not leave the target invariant (largest error {inv_err.max():.3g})")


def test_mh_keeps_inputs_and_vector_states(submission, reference, seed):
    """mh_step on (n, d) states returns a new array equal to y where accepted and x elsewhere, and does not modify x."""
    rng = np.random.default_rng(seed)
    n, d = 64, 3
    target_s, target_r = pair(submission, reference, "Gaussian", np.zeros(d), random_spd(rng, d))
    x, y = rng.standard_normal((n, d)), rng.standard_normal((n, d))
    la = np.minimum(0.0, target_r.log_prob(y) - target_r.log_prob(x))
    u = guarded_uniforms(rng, [la])
    x_copy = x.copy()
    x_new, accept = step_result(submission.call("mh_step", x, y, fn(submission, target_s, "log_prob"), u), n, "mh_step")
    want = np.log(u) < la
    check(bool(np.all(accept == want)), f"mh_step: {int((accept != want).sum())} of {n} accept decisions differ from log(u) < log_alpha")
    near(x_new, np.where(want[:, None], y, x), "mh_step x_new", rtol=0, atol=0)
    check(bool(np.all(x == x_copy)), "mh_step modified its input x")


def test_rwmh_matches_formula(submission, reference, seed):
    """rwmh_step proposes x + step_size * z and accepts with min(1, p(y)/p(x)) on a banana."""
    rng = np.random.default_rng(seed)
    n = 200
    target_s, target_r = pair(submission, reference, "Banana", 0.4, 1.5)
    x = target_r.sample(rng, n)
    z = rng.standard_normal((n, 2))
    step = float(rng.uniform(0.3, 1.5))
    y = x + step * z
    la = np.minimum(0.0, target_r.log_prob(y) - target_r.log_prob(x))
    u = guarded_uniforms(rng, [la])
    x_new, accept = step_result(submission.call("rwmh_step", x, fn(submission, target_s, "log_prob"), step, z, u), n, "rwmh_step")
    candidates = [reference.rwmh_step(x, target_r.log_prob, step, z, u)]
    own = try_call(submission, "mh_step", x, y, fn(submission, target_s, "log_prob"), u)
    if own is not None:
        candidates.append(own)
    ok = any(agrees(x_new, c[0]) and isinstance(c[1], np.ndarray) and np.array_equal(accept, c[1]) for c in candidates)
    want = candidates[0]
    if not ok:
        check(bool(np.array_equal(accept, want[1])), f"rwmh_step: {int((accept != want[1]).sum())} of {n} accept decisions are wrong")
        near(x_new, want[0], "rwmh_step x_new")


def test_rwmh_rejects_moves_outside_the_support(submission, reference, seed):
    """Proposals where the target density is zero (log p = -inf) are rejected even for tiny u."""
    rng = np.random.default_rng(seed)
    k = 5
    target_s = submission.call("DiscreteTarget", rng.normal(size=k))
    x = np.array([[0.0], [0.0], [k - 1.0], [k - 1.0]])
    z = np.array([[-1.0], [-3.0], [1.0], [2.0]])
    x_new, accept = step_result(submission.call("rwmh_step", x, fn(submission, target_s, "log_prob"), 1.0, z,
                                                np.full(4, 1e-12)), 4, "rwmh_step")
    check(not bool(accept.any()), "rwmh_step accepted a move to a state of probability zero")
    near(x_new, x, "rwmh_step x_new after rejected moves", rtol=0, atol=0)


def test_rwmh_samples_banana(submission, reference, seed):
    """Started from exact draws, 15 random-walk steps on a banana keep both of its independent Gaussian coordinates exact (KS tests)."""
    rng = np.random.default_rng(seed)
    n, steps, b, s = 3000, 15, 0.4, 1.5
    target_s, target_r = pair(submission, reference, "Banana", b, s)
    log_prob = fn(submission, target_s, "log_prob")
    x = target_r.sample(rng, n)
    for _ in range(steps):
        x, _ = step_result(submission.call("rwmh_step", x, log_prob, 1.0, rng.standard_normal((n, 2)), rng.uniform(size=n)),
                           n, "rwmh_step")
    # x1 ~ N(0, s^2) and x2 + b (x1^2 - s^2) ~ N(0, 1) for exact draws; the n chains are
    # independent, so each KS distance exceeds its DKW-Massart bound with probability <= 5e-6: 1e-5 in all.
    ok1 = ks_pass(x[:, 0] / s, normal_cdf, 5e-6)
    ok2 = ks_pass(x[:, 1] + b * (x[:, 0] ** 2 - s**2), normal_cdf, 5e-6)
    check(ok1 and ok2, "random-walk Metropolis does not leave the banana invariant (Kolmogorov-Smirnov distance beyond its 5e-6 bound)")


def test_independence_matches_formula(submission, reference, seed):
    """independence_step proposes mean + std * z and includes the proposal ratio q(x)/q(y) in the acceptance."""
    rng = np.random.default_rng(seed)
    n, d = 300, 2
    target_s, target_r = pair(submission, reference, "GaussianMixture", [0.3, 0.7], [[-1.0, 0.5], [1.5, -0.5]], 0.8)
    mean, std = rng.normal(0, 0.5, d), rng.uniform(1.0, 2.5, d)
    x = target_r.sample(rng, n)
    z = rng.standard_normal((n, d))
    y = mean + std * z

    def log_q(a, _b=None):
        return -0.5 * (((a - mean) / std) ** 2).sum(axis=1)

    la = np.minimum(0.0, target_r.log_prob(y) - target_r.log_prob(x) + log_q(x) - log_q(y))
    u = guarded_uniforms(rng, [la])
    x_new, accept = step_result(submission.call("independence_step", x, fn(submission, target_s, "log_prob"), mean, std, z, u),
                                n, "independence_step")
    want = (np.where((np.log(u) < la)[:, None], y, x), np.log(u) < la)
    candidates = [want]
    # the student's own mh_step driven by the right proposal density (held in a provided class)
    prop_s = submission.call("Gaussian", mean, np.diag(std**2))
    own = try_call(submission, "mh_step", x, y, fn(submission, target_s, "log_prob"), u,
                   fn(submission, submission.call("IndependenceProposal", fn(submission, prop_s, "log_prob")), "log_q"))
    if own is not None:
        candidates.append(own)
    ok = any(agrees(x_new, c[0]) and isinstance(c[1], np.ndarray) and np.array_equal(accept, c[1]) for c in candidates)
    if not ok:
        check(bool(np.array_equal(accept, want[1])),
              f"independence_step: {int((accept != want[1]).sum())} of {n} accept decisions are wrong (is the proposal term included?)")
        near(x_new, want[0], "independence_step x_new")


def test_independence_samples_mixture(submission, reference, seed):
    """Started from exact draws, 10 independence-sampler steps keep a bimodal 1-D mixture exact (KS test)."""
    rng = np.random.default_rng(seed)
    n, steps = 3000, 10
    w, mu, sd = np.array([0.35, 0.65]), np.array([[-2.0], [1.5]]), 0.7
    target_s, target_r = pair(submission, reference, "GaussianMixture", w, mu, sd)
    log_prob = fn(submission, target_s, "log_prob")
    x = target_r.sample(rng, n)
    for _ in range(steps):
        x, _ = step_result(submission.call("independence_step", x, log_prob, np.array([0.5]), np.array([2.0]),
                                           rng.standard_normal((n, 1)), rng.uniform(size=n)), n, "independence_step")

    def cdf(t):
        return sum(wk * normal_cdf((t - m[0]) / sd) for wk, m in zip(w, mu))

    # i.i.d. final states under a correct sampler: the KS distance exceeds its DKW-Massart bound w.p. <= 1e-5
    check(ks_pass(x[:, 0], cdf, 1e-5), "the independence sampler does not leave the mixture invariant (Kolmogorov-Smirnov distance beyond its 1e-5 bound)")


# ----------------------------------------------------------------------------- part 2: Gibbs


def test_gibbs_gaussian_matches_formula(submission, reference, seed):
    """One systematic-scan sweep equals the sequential conditional updates (newest values used)."""
    rng = np.random.default_rng(seed)
    n, d = 50, 4
    lam, mean = random_spd(rng, d), rng.normal(size=d)
    x, z = rng.standard_normal((n, d)) * 2, rng.standard_normal((n, d))
    x_copy = x.copy()
    want = x.copy()
    for i in range(d):  # the conditional of coordinate i given the current others
        r = want - mean
        want[:, i] = mean[i] - (r @ lam[i] - lam[i, i] * r[:, i]) / lam[i, i] + z[:, i] / math.sqrt(lam[i, i])
    got = submission.call("gibbs_gaussian_sweep", x, mean, lam, z)
    near(got, want, "Gibbs sweep")
    check(bool(np.all(x == x_copy)), "gibbs_gaussian_sweep modified its input x")


def test_gibbs_gaussian_leaves_target_invariant(submission, reference, seed):
    """The sweep is an affine map x' = M x + L z + c; exactly, M mean + c = mean and M S M^T + L L^T = S (S the covariance)."""
    rng = np.random.default_rng(seed)
    d = 5
    lam, mean = random_spd(rng, d, cond=30.0), rng.normal(size=d)
    cov = np.linalg.inv(lam)
    # chains: the origin, the unit vectors (for M), and z = unit vectors (for L)
    x = np.vstack([np.zeros((1, d)), np.eye(d), np.zeros((d, d))])
    z = np.vstack([np.zeros((1, d)), np.zeros((d, d)), np.eye(d)])
    out = submission.call("gibbs_gaussian_sweep", x, mean, lam, z)
    check(isinstance(out, np.ndarray) and out.shape == x.shape, "gibbs_gaussian_sweep: wrong output shape")
    c = out[0]
    m = (out[1 : d + 1] - c).T
    ell = (out[d + 1 :] - c).T
    scale = np.abs(cov).max()
    mean_err = np.abs(m @ mean + c - mean).max() / (1.0 + np.abs(mean).max())
    cov_err = np.abs(m @ cov @ m.T + ell @ ell.T - cov).max() / scale
    check(mean_err < 1e-8 and cov_err < 1e-8,
          f"the Gibbs sweep does not leave N(mean, cov) invariant (relative error {max(mean_err, cov_err):.3g} in the mean or covariance)")


def ising_energy(s, coupling, field):
    """log p(s) + const for spins (n, H, W) on the torus, from the definition (each bond once)."""
    bonds = (s * np.roll(s, 1, axis=1)).sum(axis=(1, 2)) + (s * np.roll(s, 1, axis=2)).sum(axis=(1, 2))
    return coupling * bonds + field * s.sum(axis=(1, 2))


@pytest.mark.parametrize("shape", [(3, 3), (4, 5)], ids=["3x3", "4x5"])
def test_ising_conditional_matches_probability_ratio(submission, reference, seed, shape):
    """P(s_ij = +1 | rest) equals p(s with +1) / (p(s with +1) + p(s with -1)), from the model's energy."""
    rng = np.random.default_rng(seed)
    n, (h, w) = 20, shape
    coupling, field = rng.uniform(-0.8, 0.8), rng.uniform(-0.5, 0.5)
    s = rng.choice([-1, 1], size=(n, h, w))
    want = np.empty((n, h, w))
    for i in range(h):
        for j in range(w):
            up, down = s.copy(), s.copy()
            up[:, i, j], down[:, i, j] = 1, -1
            want[:, i, j] = expit(ising_energy(up, coupling, field) - ising_energy(down, coupling, field))
    got = submission.call("ising_conditional", s, coupling, field)
    near(got, want, "Ising conditional probabilities", rtol=1e-9, atol=1e-12)


def test_ising_sweep_matches_formula(submission, reference, seed):
    """A row-major sweep sets each spin to +1 iff u < P(+1 | current neighbours), using spins already updated."""
    rng = np.random.default_rng(seed)
    n, h, w = 40, 4, 3
    coupling, field = rng.uniform(-0.8, 0.8), rng.uniform(-0.5, 0.5)
    s = rng.choice([-1, 1], size=(n, h, w))
    u = rng.uniform(size=(n, h, w))
    # decisions differ between valid implementations only if some u is within rounding of its
    # probability: probability below 1e-12 here
    want = reference.gibbs_ising_sweep(s, coupling, field, u)
    got = submission.call("gibbs_ising_sweep", s, coupling, field, u)
    check(isinstance(got, np.ndarray) and got.shape == want.shape, "gibbs_ising_sweep: wrong output shape")
    wrong = int((got != want).sum())
    check(wrong == 0, f"gibbs_ising_sweep: {wrong} of {want.size} spins differ from the systematic-scan update")


def test_ising_sweep_leaves_target_invariant(submission, reference, seed):
    """Started from exact draws of a 3x3 Ising model, two sweeps keep the mean magnetisation and bond energy exact (Bernstein bounds)."""
    rng = np.random.default_rng(seed)
    n, coupling, field = 20000, 0.35, 0.2
    states = ((np.arange(512)[:, None] >> np.arange(9)) & 1) * 2 - 1
    grid = states.reshape(512, 3, 3)
    log_w = ising_energy(grid, coupling, field)
    prob = np.exp(log_w - log_w.max())
    prob /= prob.sum()
    s = grid[rng.choice(512, size=n, p=prob)]
    for _ in range(2):
        s = submission.call("gibbs_ising_sweep", s, coupling, field, rng.uniform(size=(n, 3, 3)))
        check(isinstance(s, np.ndarray) and s.shape == (n, 3, 3), "gibbs_ising_sweep: wrong output shape")
    check(bool(np.all(np.abs(s) == 1)), "gibbs_ising_sweep: spins must be -1 or +1")
    mag = lambda g: g.reshape(len(g), -1).mean(axis=1)  # noqa: E731  in [-1, 1]
    bond = lambda g: (ising_energy(g, 1.0, 0.0)) / 18.0  # noqa: E731  in [-1, 1]
    for stat, name in ((mag, "magnetisation"), (bond, "bond energy")):
        values = stat(grid.astype(np.float64))
        mu = float(prob @ values)
        var = float(prob @ (values - mu) ** 2)
        # i.i.d. final states, |X - mu| <= 2: Bernstein gives P(fail) <= 5e-6 per statistic, 1e-5 in all
        radius = bernstein_radius(n, var, 2.0, 5e-6)
        err = abs(float(stat(s.astype(np.float64)).mean()) - mu)
        check(err < radius, f"Gibbs sweeps do not leave the Ising model invariant: the mean {name} is off by {err:.3g} "
                            f"(allowed {radius:.3g})")


# ----------------------------------------------------------------------------- part 3: HMC


def reference_leapfrog(x, p, grad, h, steps):
    """Leapfrog written out step by step (half kick, drift, half kick), float64."""
    x, p = x.copy(), p.copy()
    for _ in range(steps):
        p = p + 0.5 * h * grad(x)
        x = x + h * p
        p = p + 0.5 * h * grad(x)
    return x, p


def leapfrog_pair(result, shape, what="leapfrog"):
    check(isinstance(result, tuple) and len(result) == 2, f"{what}: should return a tuple (x, p)")
    for a in result:
        check(isinstance(a, np.ndarray) and a.shape == shape, f"{what}: x and p should have shape {shape}")
    return result


@pytest.mark.parametrize("target", ["banana", "gaussian"])
def test_leapfrog_matches_formula(submission, reference, seed, target):
    """leapfrog equals n_steps of (half kick, drift, half kick) with unit mass."""
    rng = np.random.default_rng(seed)
    n = 30
    if target == "banana":
        target_s, target_r = pair(submission, reference, "Banana", 0.3, 1.5)
        d = 2
    else:
        d = 4
        target_s, target_r = pair(submission, reference, "Gaussian", rng.normal(size=d), random_spd(rng, d))
    x, p = target_r.sample(rng, n), rng.standard_normal((n, d))
    h, steps = float(rng.uniform(0.05, 0.2)), int(rng.integers(1, 12))
    x_copy, p_copy = x.copy(), p.copy()
    got = leapfrog_pair(submission.call("leapfrog", x, p, fn(submission, target_s, "grad_log_prob"), h, steps), x.shape)
    want = reference_leapfrog(x, p, target_r.grad_log_prob, h, steps)
    near(got[0], want[0], "leapfrog positions")
    near(got[1], want[1], "leapfrog momenta")
    check(bool(np.all(x == x_copy) and np.all(p == p_copy)), "leapfrog modified its inputs")


def test_leapfrog_is_reversible(submission, reference, seed):
    """Integrating back from (x_L, -p_L) returns to (x, -p)."""
    rng = np.random.default_rng(seed)
    n = 40
    target_s, target_r = pair(submission, reference, "Banana", 0.3, 1.5)
    grad = fn(submission, target_s, "grad_log_prob")
    x, p = target_r.sample(rng, n), rng.standard_normal((n, 2))
    xl, pl = leapfrog_pair(submission.call("leapfrog", x, p, grad, 0.1, 15), x.shape)
    xb, pb = leapfrog_pair(submission.call("leapfrog", xl, -pl, grad, 0.1, 15), x.shape)
    near(xb, x, "positions after integrating forward and back", rtol=1e-8, atol=1e-8)
    near(-pb, p, "momenta after integrating forward and back", rtol=1e-8, atol=1e-8)


def test_leapfrog_preserves_volume(submission, reference, seed):
    """The Jacobian determinant of (x, p) -> (x_L, p_L) is 1 (central differences on a banana)."""
    rng = np.random.default_rng(seed)
    n, eps = 12, 1e-5
    target_s, target_r = pair(submission, reference, "Banana", 0.3, 1.5)
    x, p = target_r.sample(rng, n), rng.standard_normal((n, 2))
    base = np.hstack([x, p])  # (n, 4) phase-space points
    pert = np.concatenate([base[:, None, :] + eps * sign * np.eye(4)[None, :, :] for sign in (1.0, -1.0)], axis=1)
    flat = pert.reshape(-1, 4)  # (n * 8, 4): +e_k then -e_k
    xl, pl = leapfrog_pair(submission.call("leapfrog", flat[:, :2], flat[:, 2:], fn(submission, target_s, "grad_log_prob"), 0.1, 10),
                           (n * 8, 2))
    out = np.hstack([xl, pl]).reshape(n, 2, 4, 4)
    jac = (out[:, 0] - out[:, 1]).transpose(0, 2, 1) / (2 * eps)  # (n, 4 outputs, 4 inputs)
    det = np.linalg.det(jac)
    # central differences with eps = 1e-5: truncation ~1e-10, rounding ~1e-10; the bound is loose
    check(bool(np.all(np.abs(det - 1.0) < 1e-5)), f"leapfrog does not preserve volume (|det J - 1| up to {np.abs(det - 1).max():.3g})")


def test_leapfrog_energy_error_is_second_order(submission, reference, seed):
    """Halving the step (same trajectory length) divides the mean energy error by about 4."""
    rng = np.random.default_rng(seed)
    n = 200
    target_s, target_r = pair(submission, reference, "Banana", 0.1, 1.5)
    grad = fn(submission, target_s, "grad_log_prob")
    x, p = target_r.sample(rng, n), rng.standard_normal((n, 2))

    def energy(a, b):
        return -target_r.log_prob(a) + 0.5 * (b**2).sum(axis=1)

    errs = []
    for h, steps in ((0.1, 10), (0.05, 20)):
        xl, pl = leapfrog_pair(submission.call("leapfrog", x, p, grad, h, steps), x.shape)
        errs.append(float(np.abs(energy(xl, pl) - energy(x, p)).mean()))
    # for this target the ratio is 4.00 +- 0.01 at these steps (error ~ C h^2, C > 0 on average);
    # a first-order integrator gives about 2
    ratio = errs[0] / max(errs[1], 1e-300)
    check(3.3 < ratio < 4.8, f"the energy error does not shrink like step_size^2 (halving the step divided it by {ratio:.2f})")


def hamiltonian(target, x, p):
    return -target.log_prob(x) + 0.5 * (p**2).sum(axis=1)


def test_hmc_matches_formula(submission, reference, seed):
    """hmc_step accepts the leapfrog endpoint iff log(u) < H(x, p) - H(x*, p*)."""
    rng = np.random.default_rng(seed)
    n = 200
    target_s, target_r = pair(submission, reference, "Banana", 0.5, 2.0)
    x, p = target_r.sample(rng, n), rng.standard_normal((n, 2))
    h, steps = float(rng.uniform(0.15, 0.4)), int(rng.integers(3, 10))  # big enough for rejections
    trajectories = [reference_leapfrog(x, p, target_r.grad_log_prob, h, steps)]
    own = try_call(submission, "leapfrog", x, p, fn(submission, target_s, "grad_log_prob"), h, steps)
    if isinstance(own, tuple) and len(own) == 2 and all(isinstance(a, np.ndarray) and a.shape == x.shape for a in own):
        trajectories.append(own)
    with np.errstate(all="ignore"):
        las = [np.minimum(0.0, hamiltonian(target_r, x, p) - hamiltonian(target_r, *t)) for t in trajectories]
    u = guarded_uniforms(rng, las)
    x_new, accept = step_result(submission.call("hmc_step", x, fn(submission, target_s, "log_prob"),
                                                fn(submission, target_s, "grad_log_prob"), h, steps, p, u), n, "hmc_step")
    for (xt, _), la in zip(trajectories, las):
        want = np.log(u) < la
        if np.array_equal(accept, want) and agrees(x_new, np.where(want[:, None], xt, x)):
            return
    want = np.log(u) < las[0]
    check(bool(np.array_equal(accept, want)), f"hmc_step: {int((accept != want).sum())} of {n} accept decisions are wrong")
    near(x_new, np.where(want[:, None], trajectories[0][0], x), "hmc_step x_new")


def test_hmc_samples_gaussian(submission, reference, seed):
    """Started from exact draws of a correlated 5-D Gaussian, 4 HMC steps keep every whitened coordinate's mean and variance exact."""
    rng = np.random.default_rng(seed)
    n, d = 4000, 5
    cov, mean = random_spd(rng, d, cond=20.0), rng.normal(size=d)
    target_s, target_r = pair(submission, reference, "Gaussian", mean, cov)
    x = target_r.sample(rng, n)
    h = 0.25 * math.sqrt(np.linalg.eigvalsh(cov).min())
    for _ in range(4):
        x, _ = step_result(submission.call("hmc_step", x, fn(submission, target_s, "log_prob"), fn(submission, target_s, "grad_log_prob"),
                                           h, 7, rng.standard_normal((n, d)), rng.uniform(size=n)), n, "hmc_step")
    w = np.linalg.solve(target_r.chol, (x - mean).T).T  # i.i.d. N(0, I) rows for a correct sampler
    # per coordinate, exactly for a correct sampler: sqrt(n) * mean ~ N(0, 1), failing |.| < 5 with
    # probability erfc(5 / sqrt 2) = 5.7e-7; and sum of squares ~ chi2(n), failing the
    # Laurent-Massart interval with probability <= 1e-6. Over d = 5 coordinates: <= 8e-6.
    zscore = np.abs(w.mean(axis=0)) * math.sqrt(n)
    ss = (w**2).sum(axis=0)
    ok_mean = bool(np.all(zscore < 5.0))
    ok_var = all(chi2_pass(float(v), n, 1e-6) for v in ss)
    check(ok_mean and ok_var, "HMC does not leave the Gaussian invariant: a mean or a variance is off by more than "
                              "Monte Carlo error (two-sided tests at 1e-6)")


# ----------------------------------------------------------------------------- part 4: Langevin


def test_ula_matches_formula(submission, reference, seed):
    """ula_step returns x + h grad log p(x) + sqrt(2h) z."""
    rng = np.random.default_rng(seed)
    n = 50
    target_s, target_r = pair(submission, reference, "GaussianMixture", [0.4, 0.6], [[-1.0, 0.0, 1.0], [1.0, 1.0, -1.0]], 0.9)
    x, z = target_r.sample(rng, n), rng.standard_normal((n, 3))
    h = float(rng.uniform(0.01, 0.3))
    got = submission.call("ula_step", x, fn(submission, target_s, "grad_log_prob"), h, z)
    near(got, x + h * target_r.grad_log_prob(x) + math.sqrt(2 * h) * z, "ULA step")


def test_ula_stationary_variance(submission, reference, seed):
    """On N(0, s^2 I), ULA's exact stationary law N(0, s^2 / (1 - h / (2 s^2))) is kept by 10 steps (chi-square test)."""
    rng = np.random.default_rng(seed)
    n, d, sigma2 = 3000, 3, 2.0
    h = 0.5 * sigma2
    target_s, target_r = pair(submission, reference, "Gaussian", np.zeros(d), sigma2 * np.eye(d))
    # x' = (1 - h / s^2) x + sqrt(2h) z has stationary variance 2h / (1 - (1 - h/s^2)^2)
    v = sigma2 / (1.0 - h / (2.0 * sigma2))
    x = math.sqrt(v) * rng.standard_normal((n, d))
    for _ in range(10):
        x = submission.call("ula_step", x, fn(submission, target_s, "grad_log_prob"), h, rng.standard_normal((n, d)))
        check(isinstance(x, np.ndarray) and x.shape == (n, d), "ula_step: wrong output shape")
    ss = float((x**2).sum()) / v  # chi2(n d) exactly for a correct step: P(fail) <= 1e-5 (Laurent-Massart)
    check(chi2_pass(ss, n * d, 1e-5), "ULA's stationary variance differs from its closed form (chi-square test at 1e-5)")


def mala_log_alpha(target, x, y, h):
    def log_q(b, a):
        return -((b - a - h * target.grad_log_prob(a)) ** 2).sum(axis=1) / (4 * h)

    return np.minimum(0.0, target.log_prob(y) - target.log_prob(x) + log_q(x, y) - log_q(y, x))


def test_mala_log_acceptance_matches_formula(submission, reference, seed):
    """mala_log_acceptance equals min(0, log p(y) - log p(x) + log q(x|y) - log q(y|x)) with the Langevin proposal."""
    rng = np.random.default_rng(seed)
    n = 100
    target_s, target_r = pair(submission, reference, "Banana", 0.5, 2.0)
    h = float(rng.uniform(0.05, 0.5))
    x = target_r.sample(rng, n)
    y = x + h * target_r.grad_log_prob(x) + math.sqrt(2 * h) * rng.standard_normal((n, 2))
    y[: n // 4] = target_r.sample(rng, n // 4)  # and some arbitrary pairs
    got = submission.call("mala_log_acceptance", x, y, fn(submission, target_s, "log_prob"), fn(submission, target_s, "grad_log_prob"), h)
    near(got, mala_log_alpha(target_r, x, y, h), "MALA log acceptance probability", rtol=1e-7, atol=1e-8)


def test_mala_step_matches_formula(submission, reference, seed):
    """mala_step proposes the ULA move and accepts iff log(u) < log alpha."""
    rng = np.random.default_rng(seed)
    n = 200
    target_s, target_r = pair(submission, reference, "Banana", 0.5, 2.0)
    log_prob, grad = fn(submission, target_s, "log_prob"), fn(submission, target_s, "grad_log_prob")
    h = float(rng.uniform(0.1, 0.6))
    x, z = target_r.sample(rng, n), rng.standard_normal((n, 2))
    y = x + h * target_r.grad_log_prob(x) + math.sqrt(2 * h) * z
    las = [mala_log_alpha(target_r, x, y, h)]
    own = try_call(submission, "mala_log_acceptance", x, y, log_prob, grad, h)
    if isinstance(own, np.ndarray) and own.shape == (n,):
        las.append(own.astype(np.float64))
    u = guarded_uniforms(rng, las)
    x_new, accept = step_result(submission.call("mala_step", x, log_prob, grad, h, z, u), n, "mala_step")
    for la in las:
        want = np.log(u) < la
        if np.array_equal(accept, want) and agrees(x_new, np.where(want[:, None], y, x)):
            return
    want = np.log(u) < las[0]
    check(bool(np.array_equal(accept, want)), f"mala_step: {int((accept != want).sum())} of {n} accept decisions are wrong")
    near(x_new, np.where(want[:, None], y, x), "mala_step x_new")


def test_mala_samples_banana(submission, reference, seed):
    """Started from exact draws, 15 MALA steps keep both independent Gaussian coordinates of a banana exact (KS tests)."""
    rng = np.random.default_rng(seed)
    n, b, s = 3000, 0.4, 1.5
    target_s, target_r = pair(submission, reference, "Banana", b, s)
    log_prob, grad = fn(submission, target_s, "log_prob"), fn(submission, target_s, "grad_log_prob")
    x = target_r.sample(rng, n)
    for _ in range(15):
        x, _ = step_result(submission.call("mala_step", x, log_prob, grad, 0.3, rng.standard_normal((n, 2)), rng.uniform(size=n)),
                           n, "mala_step")
    # two KS distances of i.i.d. final states, each bounded at 5e-6 (DKW-Massart): P(fail) <= 1e-5
    ok1 = ks_pass(x[:, 0] / s, normal_cdf, 5e-6)
    ok2 = ks_pass(x[:, 1] + b * (x[:, 0] ** 2 - s**2), normal_cdf, 5e-6)
    check(ok1 and ok2, "MALA does not leave the banana invariant (Kolmogorov-Smirnov distance beyond its 5e-6 bound)")


# ----------------------------------------------------------------------------- part 5: SGLD


def logistic_data(rng, n_data=80, d=3, scale=1.0):
    X = rng.standard_normal((n_data, d)) * scale
    w_true = rng.normal(0, 1.5, d)
    y = (rng.uniform(size=n_data) < expit(X @ w_true / max(scale, 1.0))).astype(np.float64)
    return X, y


def logistic_grad(w, X, y, n_data, prior_var):
    """The formula, with scipy's sigmoid."""
    return -w / prior_var + (n_data / X.shape[0]) * (y[None, :] - expit(w @ X.T)) @ X


def test_logistic_grad_estimate_matches_formula(submission, reference, seed):
    """The minibatch gradient is -w/prior_var + (N/B) sum_batch (y - sigmoid(x.w)) x."""
    rng = np.random.default_rng(seed)
    X, y = logistic_data(rng)
    idx = rng.choice(len(X), size=10, replace=False)
    w = rng.normal(0, 1, (6, X.shape[1]))
    prior_var = float(rng.uniform(0.5, 4.0))
    got = submission.call("logistic_grad_estimate", w, X[idx], y[idx], len(X), prior_var)
    near(got, logistic_grad(w, X[idx], y[idx], len(X), prior_var), "minibatch gradient")


def test_logistic_grad_full_batch_is_the_gradient(submission, reference, seed):
    """With the whole data set as the batch, the estimate is the gradient of the log posterior (central differences); averaged over a partition into batches it is too."""
    rng = np.random.default_rng(seed)
    X, y = logistic_data(rng, n_data=60)
    w = rng.normal(0, 1, (4, X.shape[1]))
    prior_var = 2.0

    def log_post(v):  # log prior + sum of log likelihoods, from the model's definition
        logits = v @ X.T
        return -0.5 * (v**2).sum(axis=1) / prior_var + (y * -np.logaddexp(0, -logits) + (1 - y) * -np.logaddexp(0, logits)).sum(axis=1)

    eps = 1e-6
    fd = np.stack([(log_post(w + eps * e) - log_post(w - eps * e)) / (2 * eps) for e in np.eye(X.shape[1])], axis=1)
    full = submission.call("logistic_grad_estimate", w, X, y, len(X), prior_var)
    near(full, fd, "full-batch gradient", rtol=1e-6, atol=1e-5)
    batches = rng.permutation(len(X)).reshape(6, 10)
    mean = sum(submission.call("logistic_grad_estimate", w, X[b], y[b], len(X), prior_var) for b in batches) / len(batches)
    near(mean, fd, "average of the minibatch estimates over a partition", rtol=1e-6, atol=1e-5)


def test_logistic_grad_large_logits_are_finite(submission, reference, seed):
    """Logits of size 1e3 give a finite, correct gradient (no overflow in the sigmoid)."""
    rng = np.random.default_rng(seed)
    X, y = logistic_data(rng, n_data=20, scale=300.0)
    w = rng.normal(0, 3, (3, X.shape[1]))
    with np.errstate(over="ignore"):
        want = logistic_grad(w, X, y, len(X), 1.0)
    got = submission.call("logistic_grad_estimate", w, X, y, len(X), 1.0)
    near(got, want, "gradient with large logits", rtol=1e-7, atol=1e-6)


def test_sgld_step_matches_formula(submission, reference, seed):
    """sgld_step returns w + h g + sqrt(2h) z with g the minibatch gradient estimate."""
    rng = np.random.default_rng(seed)
    X, y = logistic_data(rng)
    idx = rng.choice(len(X), size=16, replace=False)
    w, z = rng.normal(0, 1, (5, X.shape[1])), rng.standard_normal((5, X.shape[1]))
    h, prior_var = float(rng.uniform(1e-4, 1e-2)), 3.0
    grads = [logistic_grad(w, X[idx], y[idx], len(X), prior_var)]
    own = try_call(submission, "logistic_grad_estimate", w, X[idx], y[idx], len(X), prior_var)
    if isinstance(own, np.ndarray) and own.shape == w.shape:
        grads.append(own)
    got = submission.call("sgld_step", w, X[idx], y[idx], len(X), prior_var, h, z)
    if any(agrees(got, w + h * g + math.sqrt(2 * h) * z) for g in grads):
        return
    near(got, w + h * grads[0] + math.sqrt(2 * h) * z, "SGLD step")


# ----------------------------------------------------------------------------- part 6: diagnostics


def ar1(rng, m, n, phi, mu=0.0):
    """m stationary AR(1) chains x_t = mu + phi (x_{t-1} - mu) + e_t, e_t ~ N(0, 1)."""
    e = rng.standard_normal((m, n))
    e[:, 0] /= math.sqrt(1 - phi**2)  # x_0 from the stationary law N(0, 1 / (1 - phi^2))
    block = 64  # the recursion in blocks: x[b + k] = phi^(k+1) x[b - 1] + sum_{s <= k} phi^(k-s) e[b + s]
    k = np.arange(block)
    toeplitz = np.tril(phi ** np.clip(k[:, None] - k[None, :], 0, None))
    x = np.empty((m, n))
    last = np.zeros(m)
    for b in range(0, n, block):
        chunk = e[:, b : b + block]
        size = chunk.shape[1]
        x[:, b : b + size] = chunk @ toeplitz[:size, :size].T + last[:, None] * phi ** (k[:size] + 1)
        last = x[:, b + size - 1]
    return x + mu


@pytest.mark.parametrize("length", [9, 200, 1001])
def test_acf_matches_definition(submission, reference, seed, length):
    """autocorrelation equals gamma_t / gamma_0 with gamma_t = (1/T) sum_s (x_s - xbar)(x_{s+t} - xbar)."""
    rng = np.random.default_rng(seed)
    x = ar1(rng, 1, length, float(rng.uniform(-0.5, 0.9)), mu=float(rng.normal(0, 5)))[0]
    max_lag = int(rng.integers(1, length))
    c = x - x.mean()
    want = np.array([c[: length - t] @ c[t:] for t in range(max_lag + 1)]) / length
    got = submission.call("autocorrelation", x, max_lag)
    near(got, want / want[0], "autocorrelation", rtol=1e-8, atol=1e-10)


def test_acf_ar1_closed_form(submission, reference, seed):
    """On a long AR(1) chain with a non-zero mean, the autocorrelation at lags 1..5 is phi^k up to Monte Carlo error."""
    rng = np.random.default_rng(seed)
    n, phi = 100_000, float(rng.uniform(0.4, 0.8))
    x = ar1(rng, 1, n, phi, mu=float(rng.choice([-4.0, 4.0])))[0]
    got = submission.call("autocorrelation", x, 5)
    check(isinstance(got, np.ndarray) and got.shape == (6,), "autocorrelation: wrong output shape")
    # Bartlett: Var r_k <= (1 + phi^2) / ((1 - phi^2) n) <= 4.6e-5 for phi <= 0.8 (sd 0.0068); the
    # bias is O(1/n). 0.045 is 6.6 sd: P(fail) < 5 * 4e-11 by a normal tail, far below 1e-4.
    err = np.abs(got[1:] - phi ** np.arange(1, 6)).max()
    check(err < 0.045, f"the autocorrelation of an AR(1) chain is off by {err:.3g} from phi^k (is the chain centred?)")


ESS_CASES = {  # (m chains, length, phi, spread of the chain means)
    "one_white_noise_chain": (1, 500, 0.0, 0.0),
    "four_ar1_chains": (4, 800, 0.7, 0.0),
    "antithetic_chains": (3, 400, -0.4, 0.0),
    "chains_with_different_means": (4, 300, 0.5, 0.6),
    "short_chains": (2, 7, 0.2, 0.0),
    "strongly_antithetic": (2, 200, -0.95, 0.0),
}


@pytest.mark.parametrize("case", list(ESS_CASES))
def test_ess_matches_reference(submission, reference, seed, case):
    """effective_sample_size follows the stated recipe (Geyer's initial monotone sequence, Stan's multi-chain combination)."""
    rng = np.random.default_rng(seed)
    m, n, phi, spread = ESS_CASES[case]
    chains = ar1(rng, m, n, phi) + spread * rng.standard_normal((m, 1)) + 2.0
    got = submission.call("effective_sample_size", chains)
    check(isinstance(got, (float, int)) and math.isfinite(got), "effective_sample_size should return a finite float")
    want = reference.effective_sample_size(chains)
    err = abs(got - want) / want
    check(err < 1e-6, f"effective sample size off by a relative {err:.3g} from the recipe")


RHAT_CASES = {  # (m, length, spread of the chain means, drift per step)
    "mixed_even": (4, 200, 0.0, 0.0),
    "mixed_odd_length": (3, 101, 0.0, 0.0),
    "one_chain_with_drift": (1, 150, 0.0, 0.02),
    "separated_chains": (4, 60, 2.0, 0.0),
}


@pytest.mark.parametrize("case", list(RHAT_CASES))
def test_rhat_matches_definition(submission, reference, seed, case):
    """split_rhat equals sqrt(var_plus / W) over the 2m half-chains (middle draw dropped for odd lengths)."""
    rng = np.random.default_rng(seed)
    m, n, spread, drift = RHAT_CASES[case]
    chains = ar1(rng, m, n, 0.3) + spread * rng.standard_normal((m, 1)) + drift * np.arange(n)
    half = n // 2
    split = np.concatenate([chains[:, :half], chains[:, n - half :]])
    w = split.var(axis=1, ddof=1).mean()
    var_plus = (half - 1) / half * w + split.mean(axis=1).var(ddof=1)
    want = math.sqrt(var_plus / w)
    got = submission.call("split_rhat", chains)
    check(isinstance(got, (float, int)) and math.isfinite(got), "split_rhat should return a finite float")
    check(abs(got - want) < 1e-9 * want, f"split R-hat off by {abs(got - want):.3g} from its definition")
