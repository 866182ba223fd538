"""Public tests for the MCMC assignment: small cases you can check by hand.

Run them with `adl test mcmc` or `pytest` in the assignment folder. Passing them is a good sign
but not a guarantee: the hidden tests build your transition kernels, run many chains on fresh
random numbers and compare with closed forms (see the README).
"""

import math

import numpy as np
close = np.testing.assert_allclose


def sigmoid(t):
    return 1.0 / (1.0 + math.exp(-t))


# ----------------------------------------------------------------------------- part 1: MH


def test_mh_two_state_example(submission):
    """p = (1/4, 3/4), symmetric proposal: 0 -> 1 always accepted, 1 -> 0 accepted iff u < 1/3."""
    target = submission.call("DiscreteTarget", np.log([0.25, 0.75]))
    log_prob = submission.getattr(target, "log_prob")
    x = np.array([0, 0, 1, 1])
    y = np.array([1, 1, 0, 0])
    u = np.array([0.01, 0.99, 0.30, 0.40])
    x_new, accept = submission.call("mh_step", x, y, log_prob, u)
    assert accept.dtype == np.bool_
    assert accept.tolist() == [True, True, True, False]
    assert x_new.tolist() == [1, 1, 0, 1]


def test_mh_proposal_term(submission):
    """Uniform target on 2 states; proposing 1 from 0 has probability 0.8, 0 from 1 only 0.2.
    alpha(0 -> 1) = min(1, 0.2 / 0.8) = 1/4 and alpha(1 -> 0) = 1."""
    target = submission.call("DiscreteTarget", np.zeros(2))
    proposal = submission.call("DiscreteProposal", np.array([[0.2, 0.8], [0.2, 0.8]]))
    x, y = np.array([0, 0, 1]), np.array([1, 1, 0])
    u = np.array([0.24, 0.26, 0.99])
    _, accept = submission.call("mh_step", x, y, submission.getattr(target, "log_prob"), u,
                                submission.getattr(proposal, "log_q"))
    assert accept.tolist() == [True, False, True]


def test_rwmh_shapes_and_deterministic_proposal(submission):
    """With u tiny, a move to a more probable state is accepted: x_new = x + step_size * z."""
    target = submission.call("Gaussian", np.zeros(2), np.eye(2))
    x = np.array([[2.0, 0.0], [0.0, -3.0]])
    z = np.array([[-1.0, 0.0], [0.0, 1.0]])
    x_new, accept = submission.call("rwmh_step", x, submission.getattr(target, "log_prob"), 0.5, z, np.full(2, 1e-9))
    assert x_new.shape == (2, 2) and accept.shape == (2,)
    close(x_new, [[1.5, 0.0], [0.0, -2.5]])


def test_independence_proposal_ignores_x(submission):
    """The proposal is mean + std * z whatever x is; a target equal to the proposal accepts always."""
    mean, std = np.array([1.0, -1.0]), np.array([2.0, 0.5])
    target = submission.call("Gaussian", mean, np.diag(std**2))
    x = np.array([[0.0, 0.0], [5.0, 5.0]])
    z = np.array([[1.0, 1.0], [-2.0, 0.0]])
    x_new, accept = submission.call("independence_step", x, submission.getattr(target, "log_prob"), mean, std, z,
                                    np.array([0.999, 0.999]))
    assert accept.all()  # p(y) q(x) / (p(x) q(y)) = 1 when p = q
    close(x_new, mean + std * z)


# ----------------------------------------------------------------------------- part 2: Gibbs


def test_gibbs_independent_coordinates(submission):
    """With a diagonal precision each coordinate is redrawn as mean_i + z_i / sqrt(Lambda_ii)."""
    lam, mean = np.diag([4.0, 1.0]), np.array([1.0, 2.0])
    x, z = np.array([[10.0, -10.0]]), np.array([[1.0, -2.0]])
    close(submission.call("gibbs_gaussian_sweep", x, mean, lam, z), [[1.5, 0.0]])


def test_gibbs_uses_updated_values(submission):
    """Lambda = [[1, 0.5], [0.5, 1]], mean 0, z = 0: x0 <- -0.5 x1, then x1 <- -0.5 * (new x0)."""
    lam = np.array([[1.0, 0.5], [0.5, 1.0]])
    out = submission.call("gibbs_gaussian_sweep", np.array([[0.0, 4.0]]), np.zeros(2), lam, np.zeros((1, 2)))
    close(out, [[-2.0, 1.0]])


def test_ising_conditional_all_up(submission):
    """All spins +1: every site has m = 4, so P(+1 | rest) = sigmoid(2 (4 J + h))."""
    s = np.ones((1, 3, 4))
    close(submission.call("ising_conditional", s, 0.25, 0.1), np.full((1, 3, 4), sigmoid(2 * (1.0 + 0.1))))


def test_ising_sweep_extreme_uniforms(submission):
    """u close to 0 sets every spin to +1, u close to 1 sets every spin to -1."""
    s = np.array([[[1, -1, 1], [-1, 1, -1], [1, 1, -1]]])
    up = submission.call("gibbs_ising_sweep", s, 0.3, 0.0, np.full((1, 3, 3), 1e-12))
    down = submission.call("gibbs_ising_sweep", s, 0.3, 0.0, np.full((1, 3, 3), 1 - 1e-12))
    assert up.shape == (1, 3, 3) and (up == 1).all() and (down == -1).all()


# ----------------------------------------------------------------------------- part 3: HMC


def test_leapfrog_one_step_harmonic_oscillator(submission):
    """log p(x) = -x^2 / 2, h = 0.5, one step from (x, p) = (1, 0):
    p = 0 - 0.25 * 1 = -0.25, x = 1 + 0.5 * (-0.25) = 0.875, p = -0.25 - 0.25 * 0.875 = -0.46875."""
    target = submission.call("Gaussian", np.zeros(1), np.eye(1))
    x, p = submission.call("leapfrog", np.array([[1.0]]), np.array([[0.0]]),
                           submission.getattr(target, "grad_log_prob"), 0.5, 1)
    close(x, [[0.875]])
    close(p, [[-0.46875]])


def test_leapfrog_conserves_energy_approximately(submission):
    """100 small steps on a Gaussian change H by far less than the step."""
    target = submission.call("Gaussian", np.zeros(2), np.diag([1.0, 4.0]))
    x0, p0 = np.array([[1.0, -1.0]]), np.array([[0.5, 0.3]])
    x, p = submission.call("leapfrog", x0, p0, submission.getattr(target, "grad_log_prob"), 0.01, 100)

    def energy(a, b):
        return 0.5 * a[0, 0] ** 2 + 0.125 * a[0, 1] ** 2 + 0.5 * (b**2).sum()

    assert abs(energy(x, p) - energy(x0, p0)) < 1e-4


def test_hmc_tiny_step_accepts(submission):
    """A tiny step conserves energy almost exactly, so u = 0.5 is accepted."""
    target = submission.call("Gaussian", np.zeros(2), np.eye(2))
    x = np.array([[0.3, -0.2], [1.0, 1.0]])
    p = np.array([[1.0, 0.0], [0.0, -1.0]])
    x_new, accept = submission.call("hmc_step", x, submission.getattr(target, "log_prob"),
                                    submission.getattr(target, "grad_log_prob"), 1e-3, 10, p, np.full(2, 0.5))
    assert accept.all()
    close(x_new, x + 1e-2 * p, atol=1e-4)


# ----------------------------------------------------------------------------- part 4: Langevin


def test_ula_formula(submission):
    """x + h * grad + sqrt(2h) z, for log p = -x^2/2 (grad = -x): 2 + 0.5 * (-2) + 1 * 1 = 2."""
    target = submission.call("Gaussian", np.zeros(1), np.eye(1))
    out = submission.call("ula_step", np.array([[2.0]]), submission.getattr(target, "grad_log_prob"), 0.5, np.array([[1.0]]))
    close(out, [[2.0]])


def test_mala_acceptance_is_one_for_exact_gaussian_moves(submission):
    """On N(0, 1) with h = 1, the Langevin proposal is y = sqrt(2) z, independent of x, and
    log alpha = min(0, -y^2/2 + x^2/2 + (-(x)^2/4) - (-(y)^2/4)) = min(0, (x^2 - y^2) / 4)."""
    target = submission.call("Gaussian", np.zeros(1), np.eye(1))
    x, y = np.array([[1.0], [2.0]]), np.array([[2.0], [1.0]])
    got = submission.call("mala_log_acceptance", x, y, submission.getattr(target, "log_prob"),
                          submission.getattr(target, "grad_log_prob"), 1.0)
    close(got, [-0.75, 0.0])


# ----------------------------------------------------------------------------- part 5: SGLD


def test_logistic_grad_at_zero(submission):
    """At w = 0 every sigmoid is 1/2: g = (N/B) * sum_b (y_b - 1/2) x_b."""
    X = np.array([[1.0, 2.0], [3.0, -1.0]])
    y = np.array([1.0, 0.0])
    g = submission.call("logistic_grad_estimate", np.zeros((1, 2)), X, y, 10, 1.0)
    close(g, 5.0 * np.array([[0.5 * 1 - 0.5 * 3, 0.5 * 2 + 0.5 * 1]]))


def test_sgld_step_shape(submission):
    """sgld_step keeps the (n, d) shape and with z = 0 moves along the gradient."""
    X = np.array([[1.0, 0.0], [0.0, 1.0]])
    y = np.array([1.0, 1.0])
    w = np.zeros((3, 2))
    out = submission.call("sgld_step", w, X, y, 2, 1.0, 0.1, np.zeros((3, 2)))
    close(out, np.full((3, 2), 0.05))


# ----------------------------------------------------------------------------- part 6: diagnostics


def test_acf_alternating_chain(submission):
    """x = [1, -1, 1, -1]: mean 0, gamma_0 = 1, gamma_1 = -3/4, gamma_2 = 2/4."""
    close(submission.call("autocorrelation", np.array([1.0, -1.0, 1.0, -1.0]), 2), [1.0, -0.75, 0.5])


def test_ess_of_white_noise_is_close_to_the_number_of_draws(submission):
    """Four chains of i.i.d. draws: ESS is about 4 * 2000 (a loose check)."""
    chains = np.random.default_rng(0).standard_normal((4, 2000))
    ess = submission.call("effective_sample_size", chains)
    assert 0.8 * 8000 < ess < 1.25 * 8000


def test_rhat_by_hand(submission):
    """One chain [0, 1, 2, 3]: halves [0, 1], [2, 3]; W = 0.5, B = 2 * 2 = 4; var_plus = 0.25 + 2; R = sqrt(4.5)."""
    close(submission.call("split_rhat", np.array([[0.0, 1.0, 2.0, 3.0]])), math.sqrt(4.5))


def test_ess_returns_a_float(submission):
    chains = np.random.default_rng(1).standard_normal((3, 100))
    assert isinstance(submission.call("effective_sample_size", chains), float)


def test_rhat_returns_a_float_near_one_for_iid_chains(submission):
    chains = np.random.default_rng(1).standard_normal((3, 1000))
    rhat = submission.call("split_rhat", chains)
    assert isinstance(rhat, float) and abs(rhat - 1.0) < 0.01
