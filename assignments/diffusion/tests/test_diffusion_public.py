"""Public tests for the diffusion assignment: small cases you can check by hand.

Run them with `adl test diffusion` or `pytest` in the assignment folder. Passing them is a good
sign but not a guarantee: the hidden tests use fresh random mixtures, compare every function
with its formula step by step, check that your samplers driven by exact scores reproduce the
target distribution, and train small networks with your losses.

Models here are the provided classes of diffusion.py (the grader runs your code in a separate
process, so a test cannot hand it a Python lambda).
"""

import math

import torch

F64 = torch.float64


def close(actual, expected, **kw):
    torch.testing.assert_close(torch.as_tensor(actual).detach(), torch.as_tensor(expected).detach(), **kw)


def gaussian(submission, mean, std):
    """A one-component GaussianMixture N(mean, std^2 I) on the student side."""
    return submission.call("GaussianMixture", torch.ones(1, dtype=F64), torch.tensor([mean], dtype=F64),
                           torch.tensor([std], dtype=F64))


def constant_velocity(submission, c):
    """A VelocityNet whose output is the constant vector c (all weights zero, output bias c)."""
    net = submission.call("VelocityNet", len(c), 8, 1)
    state = {k: torch.zeros_like(v) for k, v in net.state_dict().items()}
    state["net.freqs"] = net.state_dict()["net.freqs"]
    state["net.out.bias"] = torch.as_tensor(c, dtype=torch.float32)
    net.load_state_dict(state)
    return net


# ----------------------------------------------------------------------------- part 1


def test_dsm_hand_example(submission):
    """Data at 0, model = exact score of N(0, 1) noised by sigma = 1, i.e. -x/2: residual z/2, loss |z|^2/8."""
    score = submission.call("MixtureScore", gaussian(submission, [0.0, 0.0], 1.0))
    x = torch.zeros(2, 2, dtype=F64)
    z = torch.tensor([[2.0, 0.0], [0.0, 4.0]], dtype=F64)
    loss = submission.call("dsm_loss", score, x, torch.ones(2, dtype=F64), z)
    close(torch.as_tensor(loss).reshape(()), torch.tensor((4.0 + 16.0) / 2 / 8, dtype=F64))


def test_ssm_hand_example(submission):
    """Score -x/v of N(0, v I) with v = 1 + sigma^2 = 2: v^T J v = -|p|^2/2, (p.s)^2/2 = (p.x)^2/8."""
    score = submission.call("MixtureScore", gaussian(submission, [0.0, 0.0], 1.0))
    x = torch.tensor([[2.0, 0.0], [0.0, 1.0]], dtype=F64)
    proj = torch.tensor([[[1.0, 0.0], [1.0, 1.0]]], dtype=F64)  # M = 1 projection per point
    loss = submission.call("sliced_score_matching_loss", score, x, torch.ones(2, dtype=F64), proj)
    want = ((-1 / 2 + 4 / 8) + (-2 / 2 + 1 / 8)) / 2
    close(torch.as_tensor(loss).reshape(()), torch.tensor(want, dtype=F64))


# ----------------------------------------------------------------------------- part 2


def test_langevin_one_step_by_hand(submission):
    """Score of N(0, 1) at sigma -> 0 is -x: from x = 1 with eps = 0.5, z = 1: 1 - 0.5 + 1 = 1.5."""
    score = submission.call("MixtureScore", gaussian(submission, [0.0], 1.0))
    x = torch.ones(1, 1, dtype=F64)
    out = submission.call("langevin_sample", score, x, 1e-12, 0.5, torch.ones(1, 1, 1, dtype=F64))
    close(out, torch.tensor([[1.5]], dtype=F64))
    same = submission.call("langevin_sample", score, x, 1e-12, 0.5, torch.zeros(0, 1, 1, dtype=F64))
    close(same, x)  # zero steps: nothing changes


def test_annealed_langevin_single_level_is_langevin(submission):
    """With one level the step is eps * sigma^2 / sigma^2 = eps: the same as langevin_sample."""
    score = submission.call("MixtureScore", gaussian(submission, [1.0, -1.0], 0.5))
    g = torch.Generator().manual_seed(0)
    x, noise = torch.randn(5, 2, generator=g, dtype=F64), torch.randn(1, 4, 5, 2, generator=g, dtype=F64)
    out = submission.call("annealed_langevin_sample", score, x, torch.tensor([0.3], dtype=F64), 0.01, noise)
    close(out, submission.call("langevin_sample", score, x, 0.3, 0.01, noise[0]))


# ----------------------------------------------------------------------------- part 3


def test_schedule_linear_endpoints(submission):
    """Ho et al.'s schedule: 1000 float64 values from 1e-4 to 0.02."""
    betas = submission.call("linear_beta_schedule", 1000)
    assert betas.dtype == F64 and tuple(betas.shape) == (1000,)
    close(betas[[0, -1]], torch.tensor([1e-4, 0.02], dtype=F64))


def test_schedule_cosine_range(submission):
    """Cosine betas are increasing, in (0, 0.999], and alpha_bar starts just below 1."""
    betas = submission.call("cosine_beta_schedule", 1000)
    assert betas.dtype == F64 and tuple(betas.shape) == (1000,)
    assert bool((betas > 0).all()) and bool((betas <= 0.999).all()) and bool((betas.diff() >= 0).all())
    assert 0.9999 < float(1 - betas[0]) < 1.0


def test_q_sample_endpoints(submission):
    """alpha_bar = 1 keeps x_0; alpha_bar = 0 gives pure noise; alpha_bar = 1/4 gives x0/2 + sqrt(3)/2 noise."""
    alpha_bar = torch.tensor([1.0, 0.0, 0.25], dtype=F64)
    x0 = torch.tensor([[1.0, 2.0], [3.0, 4.0], [2.0, 0.0]])
    noise = torch.tensor([[5.0, 6.0], [7.0, 8.0], [0.0, 2.0]])
    out = submission.call("q_sample", x0, torch.tensor([0, 1, 2]), alpha_bar, noise)
    close(out, torch.tensor([[1.0, 2.0], [7.0, 8.0], [1.0, math.sqrt(3.0)]]))


def test_ddpm_loss_exact_predictor_of_a_point(submission):
    """Data at a single point (std 1e-8): the exact predictor recovers the noise, so the loss is ~0."""
    betas = submission.call("linear_beta_schedule", 50, 1e-3, 0.2)
    alpha_bar = torch.cumprod(1 - betas, 0)
    point = submission.call("GaussianMixture", torch.ones(1, dtype=F64), torch.tensor([[0.5, -1.0]], dtype=F64),
                            torch.tensor([1e-8], dtype=F64))
    eps_model = submission.call("MixtureNoisePredictor", point, alpha_bar)
    x0 = torch.tensor([[0.5, -1.0]] * 4, dtype=F64)
    noise = torch.tensor([[1.0, 0.0], [0.0, -2.0], [0.5, 0.5], [3.0, 1.0]], dtype=F64)
    loss = submission.call("ddpm_loss", eps_model, x0, torch.tensor([0, 10, 25, 49]), noise, alpha_bar)
    assert abs(float(loss)) < 1e-6


# ----------------------------------------------------------------------------- part 4


def point_mass_predictor(submission, T=50):
    betas = submission.call("linear_beta_schedule", T, 1e-3, 0.2)
    point = submission.call("GaussianMixture", torch.ones(1, dtype=F64), torch.tensor([[0.5, -1.0]], dtype=F64),
                            torch.tensor([1e-8], dtype=F64))
    return betas, submission.call("MixtureNoisePredictor", point, torch.cumprod(1 - betas, 0))


def test_ddpm_sample_point_mass(submission):
    """With the exact predictor of a point mass, ancestral sampling ends at that point; the trajectory has T+1 entries."""
    betas, eps_model = point_mass_predictor(submission)
    g = torch.Generator().manual_seed(1)
    x_T, noises = torch.randn(6, 2, generator=g, dtype=F64), torch.randn(50, 6, 2, generator=g, dtype=F64)
    path = submission.call("ddpm_sample", eps_model, x_T, betas, noises, return_trajectory=True)
    assert tuple(path.shape) == (51, 6, 2)
    close(path[0], x_T)
    close(path[-1], torch.tensor([[0.5, -1.0]] * 6, dtype=F64), atol=1e-5, rtol=0)


def test_ddim_one_step_returns_denoised_estimate(submission):
    """A single DDIM step from t = T-1 returns x0_hat; for a point mass that is the point itself."""
    betas, eps_model = point_mass_predictor(submission)
    x_T = torch.tensor([[3.0, 3.0], [-1.0, 0.0]], dtype=F64)
    out = submission.call("ddim_sample", eps_model, x_T, torch.cumprod(1 - betas, 0), torch.tensor([49]))
    close(out, torch.tensor([[0.5, -1.0]] * 2, dtype=F64), atol=1e-6, rtol=0)


def test_probability_flow_is_deterministic(submission):
    """The ODE sampler uses no noise: the same start gives the same end, and it moves towards the point."""
    betas, eps_model = point_mass_predictor(submission)
    x_T = torch.tensor([[3.0, 3.0], [-1.0, 0.0]], dtype=F64)
    a = submission.call("probability_flow_sample", eps_model, x_T, betas)
    b = submission.call("probability_flow_sample", eps_model, x_T, betas)
    close(a, b)
    target = torch.tensor([0.5, -1.0], dtype=F64)
    assert bool(((a - target).norm(dim=-1) < 0.5 * (x_T - target).norm(dim=-1)).all())


# ----------------------------------------------------------------------------- part 5


def test_guidance_scale_zero_and_one(submission):
    """w = 0 gives the unconditional prediction, w = 1 the conditional one."""
    alpha_bar = torch.cumprod(1 - submission.call("linear_beta_schedule", 20, 1e-2, 0.2), 0)
    mix = submission.call("GaussianMixture", torch.tensor([0.5, 0.5], dtype=F64),
                          torch.tensor([[-2.0, 0.0], [2.0, 0.0]], dtype=F64), torch.tensor([0.5, 0.5], dtype=F64),
                          torch.tensor([0, 1]))
    eps_model = submission.call("MixtureNoisePredictor", mix, alpha_bar)
    x, t, y = torch.tensor([[0.3, 0.1], [-1.0, 2.0]], dtype=F64), torch.tensor([5, 12]), torch.tensor([1, 0])
    close(submission.call("guided_noise_prediction", eps_model, x, t, y, 0.0, 2), eps_model(x, t, torch.tensor([2, 2])))
    close(submission.call("guided_noise_prediction", eps_model, x, t, y, 1.0, 2), eps_model(x, t, y))


# ----------------------------------------------------------------------------- part 6


def test_flow_matching_loss_constant_shift(submission):
    """x1 = x0 + c: the exact velocity is c (loss 0); a model returning 0 has loss mean(c^2)."""
    c = [1.0, -2.0]
    x0 = torch.randn(8, 2, generator=torch.Generator().manual_seed(2))
    x1 = x0 + torch.tensor(c)
    t = torch.linspace(0, 1, 8)
    close(torch.as_tensor(submission.call("flow_matching_loss", constant_velocity(submission, c), x0, x1, t)).reshape(()),
          torch.tensor(0.0))
    zero = constant_velocity(submission, [0.0, 0.0])
    close(torch.as_tensor(submission.call("flow_matching_loss", zero, x0, x1, t)).reshape(()), torch.tensor(2.5))


def test_flow_euler_constant_velocity(submission):
    """A constant velocity c moves every point by exactly c between t = 0 and t = 1, for any number of steps."""
    model = constant_velocity(submission, [0.5, -1.5])
    x0 = torch.tensor([[0.0, 0.0], [1.0, 1.0]])
    for n in (1, 4):
        close(submission.call("flow_euler_sample", model, x0, n), x0 + torch.tensor([0.5, -1.5]))
    path = submission.call("flow_euler_sample", model, x0, 4, return_trajectory=True)
    assert tuple(path.shape) == (5, 2, 2)
    close(path[2], x0 + 0.5 * torch.tensor([0.5, -1.5]))
