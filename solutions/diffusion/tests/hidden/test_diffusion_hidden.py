"""Hidden tests for the diffusion assignment.

Inputs are drawn fresh from `torch.Generator().manual_seed(seed)`. The oracles are closed forms
and analytic models: for an isotropic Gaussian mixture the score of every noised marginal, the
exact noise predictor and the exact flow-matching velocity are known, so samplers are checked
without any training, both step by step (the update rule, with the noise passed in) and as
samplers (their samples must follow the target law).

Independence between parts: the analytic models the samplers are driven by are provided code
(the trusted side checks the student-side copies still agree with the reference's); sampler
tests take the schedule from the reference; loss tests need no sampler; the training tests run
the provided training loop on the student's loss and judge the trained weights on the trusted
side, against the analytic optimum.

Statistical tests and their false-failure rate (`check_law`): n samples are projected on J = 3
fixed unit directions and compared with the exact CDF of the projected target (a 1-D Gaussian
mixture). By the Dvoretzky-Kiefer-Wolfowitz inequality with Massart's constant,
P(sup |F_n - F_sampler| > e) <= 2 exp(-2 n e^2) for each direction; with
e = sqrt(log(2 J / 1e-4) / (2 n)) the union over the J directions fails with probability at most
1e-4, whatever the sampler's law. The threshold adds an allowance `bias` for the sampler's own
discretisation error (the KS distance between the law of a correct sampler with a finite number
of steps and the target): `benchmarks/diffusion_calibration.py` measures it for the reference
with 50,000 samples on 3 random mixtures drawn as these tests draw them (largest values: DDPM
0.008, DDIM 0.012, probability flow 0.014, Euler flow 0.010, annealed Langevin 0.024), and every
allowance is at least 2.5 times the largest value measured there (the measured values include
about 0.004 of sampling noise). A correct sampler therefore
fails with probability below 1e-4. Check by simulation: the reference run through these very
tests on 60 seeds per sampler never failed; its largest distance was 0.59 of the threshold.
"""

import copy
import math

import pytest
import torch

from autograder.checks import assert_close, check

F32, F64 = torch.float32, torch.float64

FAILURE_RATE = 1e-4
DIRECTIONS = torch.tensor([[math.cos(a), math.sin(a)] for a in (0.3, 1.3, 2.4)], dtype=F64)

# Settings of the statistical sampler tests (also read by benchmarks/diffusion_calibration.py).
N_LAW = 1000
T_LAW = 200
BETAS_LAW = (5e-4, 0.1)  # linear schedule for T = 200 (Ho et al.'s 1e-4..0.02 rescaled by 1000/T)
DDIM_STEPS_LAW = 50
FLOW_STEPS_LAW = 50
ANNEALED_LAW = {"sigmas": (4.0, 0.05), "levels": 10, "steps": 30, "ratio": 0.25}
TRAIN_STEPS = 150  # Adam steps of the training tests (batch 128, hidden width 32)
TRAIN_RATIO = 0.6  # trained error / initial error must be below this (calibration in the tests)
BIAS = {  # allowance for each sampler's discretisation error, at least 2x the measured maximum
    "ddpm": 0.03,
    "ddim": 0.035,
    "probability_flow": 0.045,
    "flow_euler": 0.04,
    "annealed_langevin": 0.06,
}


# ----------------------------------------------------------------------------- helpers


def randn(g, *shape, dtype=F32):
    return torch.randn(*shape, generator=g, dtype=F64).to(dtype)


def random_mixture(g, k=3):
    """(weights, means, stds) of a 2-D mixture: k components around a circle of radius 2.2."""
    angles = torch.arange(k, dtype=F64) * (2 * math.pi / k) + 2 * math.pi * torch.rand(1, generator=g, dtype=F64)
    radius = 2.2 + 0.3 * torch.rand(k, generator=g, dtype=F64)
    means = torch.stack([radius * angles.cos(), radius * angles.sin()], dim=1)
    stds = 0.35 + 0.25 * torch.rand(k, generator=g, dtype=F64)
    weights = 0.5 + torch.rand(k, generator=g, dtype=F64)
    return weights / weights.sum(), means, stds


def student_mixture(submission, reference, params, labels=None):
    """(student-side GaussianMixture handle, trusted-side reference GaussianMixture)."""
    weights, means, stds = params
    handle = submission.call("GaussianMixture", weights, means, stds, labels)
    return handle, reference.GaussianMixture(weights, means, stds, labels)


def provided_model(submission, reference, g, name, mixture, *args, inputs):
    """A student-side analytic model (`MixtureScore`, ...) after checking that the provided class
    still computes what the reference's copy computes; returns (handle, reference model)."""
    handle_mix, ref_mix = mixture
    handle = submission.call(name, handle_mix, *args)
    ref = getattr(reference, name)(ref_mix, *args)
    got = handle(*inputs)
    with torch.no_grad():
        want = ref(*inputs)
    check(torch.is_tensor(got) and tuple(got.shape) == tuple(want.shape)
          and bool(torch.allclose(got.to(F64), want.to(F64), rtol=1e-6, atol=1e-8)),
          f"the provided class {name} no longer computes what the original does; keep the provided code as it is")
    return handle, ref


def projected_ks(samples, cdf):
    """max over DIRECTIONS of the KS distance between the projected samples and `cdf(u, values)`."""
    worst = 0.0
    for u in DIRECTIONS:
        values = (samples.to(F64) @ u).sort().values
        n = len(values)
        F = cdf(u, values)
        i = torch.arange(1, n + 1, dtype=F64)
        worst = max(worst, float(torch.maximum(i / n - F, F - (i - 1) / n).max()))
    return worst


def law_threshold(n, bias):
    """KS threshold: `bias` + the DKW bound at level FAILURE_RATE / len(DIRECTIONS) (module docstring)."""
    return bias + math.sqrt(math.log(2 * len(DIRECTIONS) / FAILURE_RATE) / (2 * n))


def check_law(samples, cdf, bias, what):
    samples = torch.as_tensor(samples)
    check(tuple(samples.shape) == (N_LAW, 2), f"{what}: shape {tuple(samples.shape)}, expected ({N_LAW}, 2)")
    check(bool(torch.isfinite(samples).all()), f"{what}: the samples contain NaN or inf")
    distance, limit = projected_ks(samples, cdf), law_threshold(N_LAW, bias)
    check(distance <= limit,
          f"{what}: the samples do not follow the target distribution (largest Kolmogorov-Smirnov distance "
          f"over 3 projections {distance:.3f}, allowed {limit:.3f}; a correct sampler fails with probability < 1e-4)")


def law_schedule(reference):
    return reference.linear_beta_schedule(T_LAW, *BETAS_LAW)


def annealed_sigmas():
    hi, lo = ANNEALED_LAW["sigmas"]
    levels = ANNEALED_LAW["levels"]
    return torch.tensor([hi * (lo / hi) ** (i / (levels - 1)) for i in range(levels)], dtype=F64)


def network_pair(submission, reference, seed, name, *args, dtype=F32):
    """The same small network on both sides: the reference's seeded init, loaded into the student's."""
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        ref = getattr(reference, name)(*args)
    # larger, non-zero output weights so that the loss is not dominated by the noise term
    with torch.no_grad():
        for p in ref.parameters():
            p.mul_(1.5)
    net = submission.call(name, *args)
    net.load_state_dict({k: v.clone() for k, v in ref.state_dict().items()})
    if dtype == F64:
        net = net.double()
        ref = copy.deepcopy(ref).double()
    return net, ref


def close_grads(got, want, what):
    check(isinstance(got, dict) and sorted(got) == sorted(want), f"{what}: the gradients do not cover the model's parameters")
    for name in want:
        assert_close(got[name], want[name], what=f"{what}, parameter {name}", rtol=1e-6, atol=1e-9)


def trained_state(submission, reference, seed, name, args, loss, data, **options):
    """Train a student-side network with the provided loop and the student's loss; return the
    reference network at the same initial weights and the reference network with the trained
    weights, both on the trusted side."""
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        init = getattr(reference, name)(*args)
    net = submission.call(name, *args)
    net.load_state_dict({k: v.clone() for k, v in init.state_dict().items()})
    history = submission.call("train", net, loss, data, n_steps=TRAIN_STEPS, batch_size=128, lr=3e-3, seed=seed, **options)
    check(isinstance(history, list) and len(history) == TRAIN_STEPS and all(math.isfinite(v) for v in history),
          f"training with your {loss} loss did not give {TRAIN_STEPS} finite loss values")
    trained = getattr(reference, name)(*args)
    trained.load_state_dict(net.state_dict())
    return init, trained


def check_training(errors, loss, what):
    """errors = [initial, trained] squared distance to the analytic optimum on fresh points.

    The baseline is the same network before training. Calibration with the reference losses
    (benchmarks/diffusion_calibration.py, 60 seeds, random mixtures as here): trained/initial ratio
    DSM median 0.32, max 0.41; DDPM median 0.13, max 0.15; flow matching median 0.32, max 0.40. A
    normal fit to the log-ratios puts TRAIN_RATIO = 0.6 at 6.4, 17 and 6.2 standard deviations, a
    false-failure rate below 1e-9 per test. A loss with a wrong sign or target stays near or above 1.
    """
    ratio = errors[1] / errors[0]
    check(ratio < TRAIN_RATIO, f"after training with your {loss}, {what} is {ratio:.2f} of the initial one; "
          f"a correct loss brings it below {TRAIN_RATIO}")


# ----------------------------------------------------------------------------- part 1: score matching


@pytest.mark.parametrize("dtype", [F32, F64], ids=["float32", "float64"])
def test_dsm_matches_formula(submission, reference, seed, dtype):
    """dsm_loss = mean_i 1/2 ||sigma_i s(x_i + sigma_i z_i, sigma_i) + z_i||^2 for a small network."""
    g = torch.Generator().manual_seed(seed)
    net, ref = network_pair(submission, reference, seed, "ScoreNet", 2, 16, 2, dtype=dtype)
    x, z = randn(g, 64, 2, dtype=dtype), randn(g, 64, 2, dtype=dtype)
    sigma = (torch.rand(64, generator=g, dtype=F64) * 2 + 0.05).to(dtype)
    got = submission.call("dsm_loss", net, x, sigma, z)
    ref64 = copy.deepcopy(ref).double()
    with torch.no_grad():
        s64 = sigma.to(F64)
        want = 0.5 * ((s64[:, None] * ref64(x.to(F64) + s64[:, None] * z.to(F64), s64) + z.to(F64)) ** 2).sum(-1).mean()
    tol = {"rtol": 1e-4, "atol": 1e-6} if dtype == F32 else {"rtol": 1e-9, "atol": 1e-12}
    assert_close(torch.as_tensor(got, dtype=F64).reshape(()), want, what="DSM loss", check_dtype=False, **tol)


def test_dsm_exact_score_gives_known_value(submission, reference, seed):
    """With the exact score of a Gaussian, the DSM loss equals its closed form for the given noise."""
    g = torch.Generator().manual_seed(seed)
    mu, s = randn(g, 1, 2, dtype=F64), 0.5 + float(torch.rand(1, generator=g))
    mixture = student_mixture(submission, reference, (torch.ones(1, dtype=F64), mu, torch.tensor([s], dtype=F64)))
    x, z = randn(g, 200, 2, dtype=F64), randn(g, 200, 2, dtype=F64)
    sigma = torch.rand(200, generator=g, dtype=F64) + 0.1
    model, _ = provided_model(submission, reference, g, "MixtureScore", mixture, inputs=(x, sigma))
    got = submission.call("dsm_loss", model, x, sigma, z)
    noisy = x + sigma[:, None] * z
    score = -(noisy - mu) / (s**2 + sigma[:, None] ** 2)
    want = 0.5 * ((sigma[:, None] * score + z) ** 2).sum(-1).mean()
    assert_close(torch.as_tensor(got, dtype=F64).reshape(()), want, what="DSM loss of the exact Gaussian score",
                 check_dtype=False, rtol=1e-9, atol=1e-12)


def test_dsm_gradients_match(submission, reference, seed):
    """The DSM loss is differentiable in the model's parameters, with the gradients of the formula."""
    g = torch.Generator().manual_seed(seed)
    net, ref = network_pair(submission, reference, seed, "ScoreNet", 2, 16, 2, dtype=F64)
    x, z = randn(g, 48, 2, dtype=F64), randn(g, 48, 2, dtype=F64)
    sigma = torch.rand(48, generator=g, dtype=F64) + 0.1
    _, grads = submission.call("loss_and_grads", net, "dsm_loss", x, sigma, z)
    loss = 0.5 * ((sigma[:, None] * ref(x + sigma[:, None] * z, sigma) + z) ** 2).sum(-1).mean()
    want = dict(zip([n for n, _ in ref.named_parameters()], torch.autograd.grad(loss, list(ref.parameters()))))
    close_grads(grads, want, "gradient of the DSM loss")


def test_dsm_training_approaches_exact_score(submission, reference, seed):
    """150 Adam steps on your DSM loss bring a small network much closer to the exact mixture score."""
    g = torch.Generator().manual_seed(seed)
    params = random_mixture(g)
    mix = reference.GaussianMixture(*params)
    sigmas = [0.1, 0.3, 1.0, 3.0]
    data = mix.sample(2000, g).float()
    init, trained = trained_state(submission, reference, seed, "ScoreNet", (2, 32, 2), "dsm", data, sigmas=sigmas)
    # Fisher divergence weighted by sigma^2, the quantity DSM minimises up to a constant.
    x = mix.sample(4000, g)
    sigma = torch.tensor(sigmas, dtype=F64)[torch.randint(4, (4000,), generator=g)]
    noisy = x + sigma[:, None] * randn(g, 4000, 2, dtype=F64)
    exact = reference.MixtureScore(mix)(noisy, sigma)
    with torch.no_grad():
        errors = [float(((sigma[:, None] * (m.double()(noisy, sigma) - exact)) ** 2).sum(-1).mean()) for m in (init, trained)]
    check_training(errors, "DSM loss", "the sigma-weighted score error")


def test_ssm_gaussian_closed_form(submission, reference, seed):
    """For the exact score of a Gaussian N(mu, v I): loss = mean[-|p|^2 / v + (p.(x - mu))^2 / (2 v^2)]."""
    g = torch.Generator().manual_seed(seed)
    mu, s = randn(g, 1, 2, dtype=F64), 0.5 + float(torch.rand(1, generator=g))
    mixture = student_mixture(submission, reference, (torch.ones(1, dtype=F64), mu, torch.tensor([s], dtype=F64)))
    x, proj = randn(g, 100, 2, dtype=F64), randn(g, 3, 100, 2, dtype=F64)
    sigma = torch.rand(100, generator=g, dtype=F64) + 0.1
    model, _ = provided_model(submission, reference, g, "MixtureScore", mixture, inputs=(x, sigma))
    got = submission.call("sliced_score_matching_loss", model, x, sigma, proj)
    v = (s**2 + sigma**2)[None, :]  # (1, N): the score is -(x - mu) / v, its Jacobian -I / v
    want = (-(proj**2).sum(-1) / v + ((proj * (x - mu)).sum(-1)) ** 2 / (2 * v**2)).mean()
    assert_close(torch.as_tensor(got, dtype=F64).reshape(()), want, what="sliced score matching loss of a Gaussian",
                 check_dtype=False, rtol=1e-8, atol=1e-10)


def ssm_oracle(ref, x, sigma, proj):
    """Sliced score matching through the full Jacobian of each point (D = 2), float64."""
    s = ref(x, sigma)
    jac = torch.stack([torch.autograd.functional.jacobian(lambda p: ref(p[None], sigma[i:i + 1])[0], x[i], create_graph=True)
                       for i in range(len(x))])  # (N, D, D)
    quad = torch.einsum("mnd,nde,mne->mn", proj, jac, proj)
    return (quad + 0.5 * (proj * s[None]).sum(-1) ** 2).mean()


def test_ssm_matches_jacobian_oracle(submission, reference, seed):
    """On a small network the loss equals v^T J v + (v.s)^2 / 2 averaged, with J from the full Jacobian."""
    g = torch.Generator().manual_seed(seed)
    net, ref = network_pair(submission, reference, seed, "ScoreNet", 2, 16, 2, dtype=F64)
    x, proj = randn(g, 12, 2, dtype=F64), randn(g, 2, 12, 2, dtype=F64)
    sigma = torch.rand(12, generator=g, dtype=F64) + 0.2
    value, grads = submission.call("loss_and_grads", net, "sliced_score_matching_loss", x, sigma, proj)
    want = ssm_oracle(ref, x, sigma, proj)
    assert_close(torch.tensor(value, dtype=F64), want.detach(), what="sliced score matching loss", rtol=1e-8, atol=1e-10)
    names = [n for n, _ in ref.named_parameters()]
    close_grads(grads, dict(zip(names, torch.autograd.grad(want, list(ref.parameters())))),
                "gradient of the sliced score matching loss (did the Jacobian term keep its graph?)")


# ----------------------------------------------------------------------------- part 2: Langevin


def test_langevin_matches_update_rule(submission, reference, seed):
    """K steps of x <- x + eps s(x, sigma) + sqrt(2 eps) z_k with the given noise, for a mixture score."""
    g = torch.Generator().manual_seed(seed)
    mixture = student_mixture(submission, reference, random_mixture(g))
    x, noises = randn(g, 30, 2, dtype=F64) * 2, randn(g, 7, 30, 2, dtype=F64)
    sigma, step = 0.3, 0.01
    model, ref = provided_model(submission, reference, g, "MixtureScore", mixture,
                                inputs=(x, torch.full((30,), sigma, dtype=F64)))
    got = submission.call("langevin_sample", model, x, sigma, step, noises)
    want = x.clone()
    for z in noises:
        want = want + step * ref(want, torch.full((30,), sigma, dtype=F64)) + math.sqrt(2 * step) * z
    assert_close(got, want, what="Langevin samples after 7 steps", rtol=1e-7, atol=1e-9)


def test_langevin_gaussian_target_law(submission, reference, seed):
    """For a Gaussian target the chains follow the exact law of unadjusted Langevin after K steps."""
    g = torch.Generator().manual_seed(seed)
    mu, s = randn(g, 1, 2, dtype=F64), 0.6 + 0.4 * float(torch.rand(1, generator=g))
    sigma, step, k = 0.2, 0.05, 40
    mixture = student_mixture(submission, reference, (torch.ones(1, dtype=F64), mu, torch.tensor([s], dtype=F64)))
    x0 = torch.zeros(N_LAW, 2, dtype=F64) + randn(g, 1, 2, dtype=F64) * 2  # every chain starts at one point
    model, _ = provided_model(submission, reference, g, "MixtureScore", mixture,
                              inputs=(x0[:5], torch.full((5,), sigma, dtype=F64)))
    got = submission.call("langevin_sample", model, x0, sigma, step, randn(g, k, N_LAW, 2, dtype=F64))
    # x_{k+1} - mu = r (x_k - mu) + sqrt(2 eps) z with r = 1 - eps / v, v = s^2 + sigma^2: Gaussian,
    # mean mu + r^K (x_0 - mu), variance 2 eps (1 - r^(2K)) / (1 - r^2) per coordinate.
    v = s**2 + sigma**2
    r = 1 - step / v
    mean = mu + r**k * (x0[:1] - mu)
    var = 2 * step * (1 - r ** (2 * k)) / (1 - r**2)

    def cdf(u, values):
        return torch.special.ndtr((values - float(mean[0] @ u)) / math.sqrt(var))

    check_law(got, cdf, 0.0, "Langevin chains on a Gaussian target")


def test_annealed_langevin_matches_update_rule(submission, reference, seed):
    """Level i uses step alpha_i = eps sigma_i^2 / sigma_L^2 and the score at sigma_i, with the given noise."""
    g = torch.Generator().manual_seed(seed)
    mixture = student_mixture(submission, reference, random_mixture(g))
    sigmas = torch.tensor([2.0, 0.7, 0.25, 0.1], dtype=F64)
    x, noises, step = randn(g, 25, 2, dtype=F64) * 2, randn(g, 4, 3, 25, 2, dtype=F64), 1e-3
    model, ref = provided_model(submission, reference, g, "MixtureScore", mixture,
                                inputs=(x, torch.full((25,), 1.0, dtype=F64)))
    got = submission.call("annealed_langevin_sample", model, x, sigmas, step, noises)
    want = x.clone()
    for sigma, level in zip(sigmas.tolist(), noises):
        alpha = step * sigma**2 / float(sigmas[-1]) ** 2
        for z in level:
            want = want + alpha * ref(want, torch.full((25,), sigma, dtype=F64)) + math.sqrt(2 * alpha) * z
    assert_close(got, want, what="annealed Langevin samples", rtol=1e-7, atol=1e-9)


def test_annealed_langevin_reaches_mixture(submission, reference, seed):
    """Driven by the exact scores, annealed Langevin samples follow the target mixture."""
    g = torch.Generator().manual_seed(seed)
    mixture = student_mixture(submission, reference, random_mixture(g))
    sigmas = annealed_sigmas()
    x0 = randn(g, N_LAW, 2, dtype=F64) * float(sigmas[0])
    model, _ = provided_model(submission, reference, g, "MixtureScore", mixture,
                              inputs=(x0[:5], torch.full((5,), 1.0, dtype=F64)))
    noises = randn(g, len(sigmas), ANNEALED_LAW["steps"], N_LAW, 2, dtype=F64)
    step = ANNEALED_LAW["ratio"] * float(sigmas[-1]) ** 2
    got = submission.call("annealed_langevin_sample", model, x0, sigmas, step, noises)
    check_law(got, mixture[1].projected_cdf, BIAS["annealed_langevin"], "annealed Langevin samples")


# ----------------------------------------------------------------------------- part 3: schedules, q(x_t | x_0), loss


@pytest.mark.parametrize("case", [(1000, 1e-4, 0.02), (7, 0.1, 0.3), (1, 0.05, 0.05)], ids=["ho1000", "short", "one"])
def test_schedule_linear_closed_form(submission, case):
    """linear_beta_schedule gives T evenly spaced float64 values from beta_start to beta_end inclusive."""
    T, lo, hi = case
    want = torch.tensor([lo + (hi - lo) * i / max(T - 1, 1) for i in range(T)], dtype=F64)
    got = submission.call("linear_beta_schedule", T, lo, hi)
    assert_close(got, want, what=f"linear schedule (T={T})", rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("case", [(1000, 0.008), (50, 0.008), (20, 0.05)], ids=["T1000", "T50", "s005"])
def test_schedule_cosine_alpha_bar_closed_form(submission, case):
    """cumprod(1 - betas) = f(t+1)/f(0), f(u) = cos^2((u/T + s)/(1 + s) pi/2), until betas reach max_beta."""
    T, s = case
    betas = torch.as_tensor(submission.call("cosine_beta_schedule", T, s))
    check(tuple(betas.shape) == (T,) and betas.dtype == F64, f"cosine schedule: shape {tuple(betas.shape)}, "
          f"dtype {betas.dtype}; expected ({T},) float64")
    f = [math.cos((u / T + s) / (1 + s) * math.pi / 2) ** 2 for u in range(T + 1)]
    want_betas = torch.tensor([min(1 - f[t + 1] / f[t], 0.999) for t in range(T)], dtype=F64)
    assert_close(betas, want_betas, what="cosine betas", rtol=1e-9, atol=1e-12)
    unclipped = want_betas < 0.999
    want_ab = torch.tensor([f[t + 1] / f[0] for t in range(T)], dtype=F64)
    got_ab = torch.cumprod(1 - betas, 0)
    assert_close(got_ab[unclipped], want_ab[unclipped], what="alpha_bar of the cosine schedule", rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("dtype", [F32, F64], ids=["float32", "float64"])
def test_q_sample_formula(submission, reference, seed, dtype):
    """x_t = sqrt(alpha_bar[t]) x_0 + sqrt(1 - alpha_bar[t]) noise, per example, in x_0's dtype."""
    g = torch.Generator().manual_seed(seed)
    alpha_bar = reference.alphas_cumprod(reference.linear_beta_schedule(1000))
    x0, noise = randn(g, 40, 3, dtype=dtype), randn(g, 40, 3, dtype=dtype)
    t = torch.randint(1000, (40,), generator=g)
    t[:2] = torch.tensor([0, 999])
    got = submission.call("q_sample", x0, t, alpha_bar, noise)
    ab = alpha_bar[t][:, None]
    want = (ab.sqrt() * x0.to(F64) + (1 - ab).sqrt() * noise.to(F64)).to(dtype)
    assert_close(got, want, what="q_sample")


def test_q_sample_marginal_variance(submission, reference, seed):
    """For x_0 from a mixture, x_t has variance alpha_bar Var(x_0) + 1 - alpha_bar (checked exactly given the draws)."""
    g = torch.Generator().manual_seed(seed)
    alpha_bar = reference.alphas_cumprod(reference.cosine_beta_schedule(100))
    x0, noise = randn(g, 500, 2, dtype=F64) * 3, randn(g, 500, 2, dtype=F64)
    t = torch.full((500,), int(torch.randint(100, (1,), generator=g)))
    got = torch.as_tensor(submission.call("q_sample", x0, t, alpha_bar, noise))
    ab = float(alpha_bar[t[0]])
    # Identity for the given draws: |x_t|^2 = ab |x0|^2 + (1 - ab) |z|^2 + 2 sqrt(ab (1 - ab)) x0.z
    want = ab * (x0**2).sum() + (1 - ab) * (noise**2).sum() + 2 * math.sqrt(ab * (1 - ab)) * (x0 * noise).sum()
    assert_close((got**2).sum(), want, what="sum of squares of x_t", rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize("conditional", [False, True], ids=["plain", "labels"])
def test_ddpm_loss_formula(submission, reference, seed, conditional):
    """ddpm_loss = mean over entries of (eps_model(q_sample(x0, t, noise), t[, y]) - noise)^2."""
    g = torch.Generator().manual_seed(seed)
    T = 100
    alpha_bar = reference.alphas_cumprod(reference.linear_beta_schedule(T, 1e-3, 0.2))
    n_classes = 3 if conditional else 0
    net, ref = network_pair(submission, reference, seed, "NoiseNet", 2, T, 16, 2, n_classes, dtype=F64)
    x0, noise = randn(g, 64, 2, dtype=F64), randn(g, 64, 2, dtype=F64)
    t = torch.randint(T, (64,), generator=g)
    y = torch.randint(n_classes + 1, (64,), generator=g) if conditional else None
    value, grads = submission.call("loss_and_grads", net, "ddpm_loss", x0, t, noise, alpha_bar, y=y)
    ab = alpha_bar[t][:, None]
    x_t = ab.sqrt() * x0 + (1 - ab).sqrt() * noise
    loss = ((ref(x_t, t, y) - noise) ** 2).mean()
    assert_close(torch.tensor(value, dtype=F64), loss.detach(), what="DDPM loss", rtol=1e-9, atol=1e-12)
    names = [n for n, _ in ref.named_parameters()]
    close_grads(grads, dict(zip(names, torch.autograd.grad(loss, list(ref.parameters())))), "gradient of the DDPM loss")


def test_ddpm_loss_exact_predictor_value(submission, reference, seed):
    """With the exact noise predictor of a mixture, the loss equals the formula at float32 precision."""
    g = torch.Generator().manual_seed(seed)
    alpha_bar = reference.alphas_cumprod(reference.linear_beta_schedule(T_LAW, *BETAS_LAW))
    mixture = student_mixture(submission, reference, random_mixture(g))
    x0 = mixture[1].sample(300, g).float()
    noise, t = randn(g, 300, 2), torch.randint(T_LAW, (300,), generator=g)
    model, ref = provided_model(submission, reference, g, "MixtureNoisePredictor", mixture, alpha_bar, inputs=(x0, t))
    got = submission.call("ddpm_loss", model, x0, t, noise, alpha_bar)
    ab = alpha_bar[t][:, None]
    x_t = ab.sqrt() * x0.double() + (1 - ab).sqrt() * noise.double()
    want = ((ref(x_t, t) - noise.double()) ** 2).mean()
    assert_close(torch.as_tensor(got, dtype=F64).reshape(()), want, what="DDPM loss of the exact predictor",
                 check_dtype=False, rtol=1e-4, atol=1e-6)


def test_ddpm_loss_training_approaches_exact_predictor(submission, reference, seed):
    """150 Adam steps on your DDPM loss bring a small network much closer to the exact noise predictor."""
    g = torch.Generator().manual_seed(seed)
    mix = reference.GaussianMixture(*random_mixture(g))
    alpha_bar = reference.alphas_cumprod(reference.linear_beta_schedule(T_LAW, *BETAS_LAW))
    data = mix.sample(2000, g).float()
    init, trained = trained_state(submission, reference, seed, "NoiseNet", (2, T_LAW, 32, 2), "ddpm", data,
                                  alpha_bar=alpha_bar)
    x0, t = mix.sample(4000, g), torch.randint(T_LAW, (4000,), generator=g)
    ab = alpha_bar[t][:, None]
    x_t = ab.sqrt() * x0 + (1 - ab).sqrt() * randn(g, 4000, 2, dtype=F64)
    exact = reference.MixtureNoisePredictor(mix, alpha_bar)(x_t, t)
    with torch.no_grad():
        errors = [float(((m.double()(x_t, t) - exact) ** 2).sum(-1).mean()) for m in (init, trained)]
    check_training(errors, "DDPM loss", "the noise-prediction error")


# ----------------------------------------------------------------------------- part 4: samplers


def oracle_ddpm(ref_eps, x, betas, noises):
    alpha_bar = torch.cumprod(1 - betas, 0)
    for t in reversed(range(len(betas))):
        prev = float(alpha_bar[t - 1]) if t > 0 else 1.0
        b, ab = float(betas[t]), float(alpha_bar[t])
        eps = ref_eps(x, torch.full((len(x),), t))
        x = (x - b / math.sqrt(1 - ab) * eps) / math.sqrt(1 - b) + math.sqrt(b * (1 - prev) / (1 - ab)) * noises[t]
    return x


def test_ddpm_sample_matches_algorithm(submission, reference, seed):
    """Ancestral sampling follows Ho et al.'s algorithm 2 step by step, with posterior variance and the given noise."""
    g = torch.Generator().manual_seed(seed)
    betas = reference.linear_beta_schedule(30, 1e-3, 0.3)
    mixture = student_mixture(submission, reference, random_mixture(g))
    x_T, noises = randn(g, 20, 2, dtype=F64), randn(g, 30, 20, 2, dtype=F64)
    model, ref = provided_model(submission, reference, g, "MixtureNoisePredictor", mixture,
                                reference.alphas_cumprod(betas), inputs=(x_T, torch.full((20,), 29)))
    got = submission.call("ddpm_sample", model, x_T, betas, noises)
    assert_close(got, oracle_ddpm(ref, x_T, betas, noises), what="DDPM samples", rtol=1e-7, atol=1e-9)
    path = torch.as_tensor(submission.call("ddpm_sample", model, x_T, betas, noises, return_trajectory=True))
    check(tuple(path.shape) == (31, 20, 2), f"DDPM trajectory: shape {tuple(path.shape)}, expected (31, 20, 2)")
    assert_close(path[0], x_T, what="first entry of the DDPM trajectory")
    assert_close(path[-1], torch.as_tensor(got), what="last entry of the DDPM trajectory")


def test_ddpm_sample_reproduces_mixture(submission, reference, seed):
    """Driven by the exact noise predictor, ancestral samples follow the target mixture."""
    g = torch.Generator().manual_seed(seed)
    betas = law_schedule(reference)
    mixture = student_mixture(submission, reference, random_mixture(g))
    x_T = randn(g, N_LAW, 2, dtype=F64)
    model, _ = provided_model(submission, reference, g, "MixtureNoisePredictor", mixture,
                              reference.alphas_cumprod(betas), inputs=(x_T[:5], torch.full((5,), 7)))
    got = submission.call("ddpm_sample", model, x_T, betas, randn(g, T_LAW, N_LAW, 2, dtype=F64))
    check_law(got, mixture[1].projected_cdf, BIAS["ddpm"], "DDPM samples")


def oracle_ddim(ref_eps, x, alpha_bar, steps):
    steps = [int(s) for s in steps]
    for i, t in enumerate(steps):
        prev = float(alpha_bar[steps[i + 1]]) if i + 1 < len(steps) else 1.0
        ab = float(alpha_bar[t])
        eps = ref_eps(x, torch.full((len(x),), t))
        x0 = (x - math.sqrt(1 - ab) * eps) / math.sqrt(ab)
        x = math.sqrt(prev) * x0 + math.sqrt(1 - prev) * eps
    return x


@pytest.mark.parametrize("kind", ["even", "random"])
def test_ddim_sample_matches_algorithm(submission, reference, seed, kind):
    """DDIM (eta = 0) steps through the given timesteps, using alpha_bar at t and at the next timestep."""
    g = torch.Generator().manual_seed(seed)
    alpha_bar = reference.alphas_cumprod(reference.cosine_beta_schedule(100))
    if kind == "even":
        steps = reference.ddim_timesteps(100, 10)
    else:
        steps = torch.randperm(100, generator=g)[:7].sort(descending=True).values
    mixture = student_mixture(submission, reference, random_mixture(g))
    x_T = randn(g, 20, 2, dtype=F64)
    model, ref = provided_model(submission, reference, g, "MixtureNoisePredictor", mixture, alpha_bar,
                                inputs=(x_T, torch.full((20,), 50)))
    got = submission.call("ddim_sample", model, x_T, alpha_bar, steps)
    assert_close(got, oracle_ddim(ref, x_T, alpha_bar, steps), what=f"DDIM samples ({kind} timesteps)", rtol=1e-7, atol=1e-9)
    path = torch.as_tensor(submission.call("ddim_sample", model, x_T, alpha_bar, steps, return_trajectory=True))
    check(tuple(path.shape) == (len(steps) + 1, 20, 2),
          f"DDIM trajectory: shape {tuple(path.shape)}, expected ({len(steps) + 1}, 20, 2)")
    assert_close(path[0], x_T, what="first entry of the DDIM trajectory")
    assert_close(path[-1], torch.as_tensor(got), what="last entry of the DDIM trajectory")


def test_ddim_sample_reproduces_mixture(submission, reference, seed):
    """Driven by the exact noise predictor, 50 DDIM steps give samples that follow the target mixture."""
    g = torch.Generator().manual_seed(seed)
    alpha_bar = reference.alphas_cumprod(law_schedule(reference))
    mixture = student_mixture(submission, reference, random_mixture(g))
    x_T = randn(g, N_LAW, 2, dtype=F64)
    model, _ = provided_model(submission, reference, g, "MixtureNoisePredictor", mixture, alpha_bar,
                              inputs=(x_T[:5], torch.full((5,), 7)))
    got = submission.call("ddim_sample", model, x_T, alpha_bar, reference.ddim_timesteps(T_LAW, DDIM_STEPS_LAW))
    check_law(got, mixture[1].projected_cdf, BIAS["ddim"], "DDIM samples")


def test_probability_flow_matches_euler_steps(submission, reference, seed):
    """x <- x + beta_t / 2 (x - eps(x, t) / sqrt(1 - alpha_bar_t)) for t = T-1 .. 0."""
    g = torch.Generator().manual_seed(seed)
    betas = reference.linear_beta_schedule(40, 1e-3, 0.2)
    alpha_bar = torch.cumprod(1 - betas, 0)
    mixture = student_mixture(submission, reference, random_mixture(g))
    x_T = randn(g, 20, 2, dtype=F64)
    model, ref = provided_model(submission, reference, g, "MixtureNoisePredictor", mixture, alpha_bar,
                                inputs=(x_T, torch.full((20,), 3)))
    got = submission.call("probability_flow_sample", model, x_T, betas)
    want = x_T.clone()
    for t in reversed(range(40)):
        eps = ref(want, torch.full((20,), t))
        want = want + 0.5 * float(betas[t]) * (want - eps / math.sqrt(1 - float(alpha_bar[t])))
    assert_close(got, want, what="probability-flow samples", rtol=1e-7, atol=1e-9)
    path = torch.as_tensor(submission.call("probability_flow_sample", model, x_T, betas, return_trajectory=True))
    check(tuple(path.shape) == (41, 20, 2), f"probability-flow trajectory: shape {tuple(path.shape)}, expected (41, 20, 2)")
    assert_close(path[-1], want, what="last entry of the probability-flow trajectory", rtol=1e-7, atol=1e-9)


def test_probability_flow_reproduces_mixture(submission, reference, seed):
    """Driven by the exact noise predictor, the probability-flow ODE maps Gaussian noise to the target mixture."""
    g = torch.Generator().manual_seed(seed)
    betas = law_schedule(reference)
    mixture = student_mixture(submission, reference, random_mixture(g))
    x_T = randn(g, N_LAW, 2, dtype=F64)
    model, _ = provided_model(submission, reference, g, "MixtureNoisePredictor", mixture,
                              reference.alphas_cumprod(betas), inputs=(x_T[:5], torch.full((5,), 7)))
    got = submission.call("probability_flow_sample", model, x_T, betas)
    check_law(got, mixture[1].projected_cdf, BIAS["probability_flow"], "probability-flow samples")


# ----------------------------------------------------------------------------- part 5: guidance


@pytest.mark.parametrize("scale", [0.0, 1.0, 3.5])
def test_guidance_combines_predictions(submission, reference, seed, scale):
    """guided = eps(x, t, null) + w (eps(x, t, y) - eps(x, t, null)) for the exact class-conditional predictor."""
    g = torch.Generator().manual_seed(seed)
    alpha_bar = reference.alphas_cumprod(reference.linear_beta_schedule(T_LAW, *BETAS_LAW))
    labels = torch.tensor([0, 1, 1])
    mixture = student_mixture(submission, reference, random_mixture(g), labels)
    x, t = randn(g, 40, 2, dtype=F64) * 2, torch.randint(T_LAW, (40,), generator=g)
    y = torch.randint(2, (40,), generator=g)
    model, ref = provided_model(submission, reference, g, "MixtureNoisePredictor", mixture, alpha_bar, inputs=(x, t, y))
    got = submission.call("guided_noise_prediction", model, x, t, y, scale, 2)
    uncond, cond = ref(x, t, torch.full((40,), 2)), ref(x, t, y)
    assert_close(got, uncond + scale * (cond - uncond), what=f"guided noise prediction (w={scale})", rtol=1e-7, atol=1e-9)


def test_guidance_null_label_is_respected(submission, reference, seed):
    """The unconditional prediction uses the given null label (here 7), whatever the labels' range."""
    g = torch.Generator().manual_seed(seed)
    alpha_bar = reference.alphas_cumprod(reference.linear_beta_schedule(T_LAW, *BETAS_LAW))
    labels = torch.tensor([3, 5, 3])
    mixture = student_mixture(submission, reference, random_mixture(g), labels)
    x, t = randn(g, 30, 2), torch.randint(T_LAW, (30,), generator=g)
    y = torch.tensor([3, 5])[torch.randint(2, (30,), generator=g)]
    model, ref = provided_model(submission, reference, g, "MixtureNoisePredictor", mixture, alpha_bar, inputs=(x, t, y))
    got = submission.call("guided_noise_prediction", model, x, t, y, 2.0, 7)
    uncond, cond = ref(x, t, torch.full((30,), 7)), ref(x, t, y)
    assert_close(got, uncond + 2.0 * (cond - uncond), what="guided prediction in float32 with null label 7",
                 rtol=1e-4, atol=1e-5)


# ----------------------------------------------------------------------------- part 6: flow matching


@pytest.mark.parametrize("dtype", [F32, F64], ids=["float32", "float64"])
def test_flow_matching_loss_formula(submission, reference, seed, dtype):
    """loss = mean over entries of (v((1 - t) x0 + t x1, t) - (x1 - x0))^2, with its gradients."""
    g = torch.Generator().manual_seed(seed)
    net, ref = network_pair(submission, reference, seed, "VelocityNet", 2, 16, 2, dtype=dtype)
    x0, x1 = randn(g, 64, 2, dtype=dtype), randn(g, 64, 2, dtype=dtype) * 2 + 1
    t = torch.rand(64, generator=g, dtype=F64).to(dtype)
    t[0], t[1] = 0.0, 1.0
    value, grads = submission.call("loss_and_grads", net, "flow_matching_loss", x0, x1, t)
    ref64 = copy.deepcopy(ref).double()
    a, b, tt = x0.to(F64), x1.to(F64), t.to(F64)
    loss = ((ref64((1 - tt[:, None]) * a + tt[:, None] * b, tt) - (b - a)) ** 2).mean()
    tol = {"rtol": 1e-4, "atol": 1e-6} if dtype == F32 else {"rtol": 1e-9, "atol": 1e-12}
    assert_close(torch.tensor(value, dtype=F64), loss.detach(), what="flow matching loss", **tol)
    if dtype == F64:
        names = [n for n, _ in ref64.named_parameters()]
        close_grads(grads, dict(zip(names, torch.autograd.grad(loss, list(ref64.parameters())))),
                    "gradient of the flow matching loss")


def test_flow_matching_loss_exact_field_on_a_shift(submission, reference, seed):
    """If x1 = x0 + c, the velocity c is exact: a model returning c has loss 0, one returning -c has 4|c|^2 / D."""
    g = torch.Generator().manual_seed(seed)
    c = randn(g, 2, dtype=F64)
    net, _ = network_pair(submission, reference, seed, "VelocityNet", 2, 8, 1, dtype=F64)
    state = {k: torch.zeros_like(v) for k, v in net.state_dict().items()}
    state["net.freqs"] = net.state_dict()["net.freqs"]
    for sign, want in ((1.0, 0.0), (-1.0, 2.0 * float((c**2).sum()))):  # mean over D=2 of (2c)^2
        state["net.out.bias"] = sign * c
        net.load_state_dict(state)
        x0 = randn(g, 50, 2, dtype=F64)
        got = submission.call("flow_matching_loss", net, x0, x0 + c, torch.rand(50, generator=g, dtype=F64))
        assert_close(torch.as_tensor(got, dtype=F64).reshape(()), torch.tensor(want, dtype=F64),
                     what=f"flow matching loss of a constant field {'c' if sign > 0 else '-c'}", rtol=1e-9, atol=1e-12)


def test_flow_matching_training_approaches_exact_velocity(submission, reference, seed):
    """150 Adam steps on your flow matching loss bring a small network much closer to the exact velocity."""
    g = torch.Generator().manual_seed(seed)
    mix = reference.GaussianMixture(*random_mixture(g))
    data = mix.sample(2000, g).float()
    init, trained = trained_state(submission, reference, seed, "VelocityNet", (2, 32, 2), "cfm", data)
    x1, x0 = mix.sample(4000, g), randn(g, 4000, 2, dtype=F64)
    t = torch.rand(4000, generator=g, dtype=F64) * 0.95
    x_t = (1 - t[:, None]) * x0 + t[:, None] * x1
    exact = reference.MixtureVelocity(mix)(x_t, t)
    with torch.no_grad():
        errors = [float(((m.double()(x_t, t) - exact) ** 2).sum(-1).mean()) for m in (init, trained)]
    check_training(errors, "flow matching loss", "the velocity error")


def test_flow_euler_matches_steps(submission, reference, seed):
    """x <- x + v(x, k/n) / n for k = 0 .. n-1, with the exact mixture velocity; trajectory has n+1 entries."""
    g = torch.Generator().manual_seed(seed)
    mixture = student_mixture(submission, reference, random_mixture(g))
    x0 = randn(g, 25, 2, dtype=F64)
    model, ref = provided_model(submission, reference, g, "MixtureVelocity", mixture,
                                inputs=(x0, torch.full((25,), 0.5, dtype=F64)))
    n = 9
    got = submission.call("flow_euler_sample", model, x0, n)
    want, path = x0.clone(), [x0.clone()]
    for k in range(n):
        want = want + ref(want, torch.full((25,), k / n, dtype=F64)) / n
        path.append(want)
    assert_close(got, want, what="Euler flow samples", rtol=1e-7, atol=1e-9)
    traj = submission.call("flow_euler_sample", model, x0, n, return_trajectory=True)
    assert_close(traj, torch.stack(path), what="Euler flow trajectory", rtol=1e-7, atol=1e-9)


def test_flow_euler_reproduces_mixture(submission, reference, seed):
    """Driven by the exact velocity, 50 Euler steps carry Gaussian noise to the target mixture."""
    g = torch.Generator().manual_seed(seed)
    mixture = student_mixture(submission, reference, random_mixture(g))
    x0 = randn(g, N_LAW, 2, dtype=F64)
    model, _ = provided_model(submission, reference, g, "MixtureVelocity", mixture,
                              inputs=(x0[:5], torch.full((5,), 0.5, dtype=F64)))
    got = submission.call("flow_euler_sample", model, x0, FLOW_STEPS_LAW)
    check_law(got, mixture[1].projected_cdf, BIAS["flow_euler"], "Euler flow samples")
