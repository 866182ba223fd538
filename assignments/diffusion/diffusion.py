"""Score matching, diffusion models and flow matching, from scratch in torch.

Read README.md first: it gives the maths, the conventions and the points for each part.

Rules
-----
* Use only `math`, `torch` and `torch.nn` (already imported below).
* Never draw random numbers inside the functions you write: every random input (the noise
  of a loss, the noise of each sampler step, the random projections) is passed in as a
  tensor, so that your results can be compared exactly with the reference.
* Work in the dtype of the data argument (``x``, ``x0``, ``x_T``): float32 or float64.
  Schedules (``betas``, ``alpha_bar``) are float64; cast what you take from them with
  ``.to(x.dtype)``.
* A *model* is any callable (usually an ``nn.Module``): call it, never look inside it.
  The conventions for calling each kind of model are in the README (section "Models").
* Keep every name and signature in this file: the tests call them by name. The code outside
  the ``YOUR CODE HERE`` regions (analytic models, small networks, the training loop) is
  provided; the graders use it too, so leave it as it is.
"""

import math

import torch
import torch.nn as nn


# =============================================================================================
# Provided: Gaussian mixtures and their exact scores (analytic "perfect models")
# =============================================================================================


def mixture_posterior(x, weights, means, stds, scale, noise_std):
    """Responsibilities and posterior means for a noised isotropic Gaussian mixture.

    Data ``x0 ~ sum_k w_k N(mu_k, s_k^2 I)`` is observed as ``x = a * x0 + b * z`` with
    ``z ~ N(0, I)``, ``a = scale``, ``b = noise_std`` (scalars or ``(N,)`` tensors). Then
    ``x ~ sum_k w_k N(a mu_k, v_k I)`` with ``v_k = a^2 s_k^2 + b^2``.

    Shapes: ``x`` (N, D); ``weights`` (K,) or (N, K) (per-row weights, rows sum to 1);
    ``means`` (K, D); ``stds`` (K,). Returns ``(resp, var)``: ``resp`` (N, K) the posterior
    component probabilities, ``var`` (N, K) the ``v_k``.
    """
    n, d = x.shape
    a = torch.as_tensor(scale, dtype=x.dtype).reshape(-1, 1).expand(n, 1)
    b = torch.as_tensor(noise_std, dtype=x.dtype).reshape(-1, 1).expand(n, 1)
    means, stds = means.to(x.dtype), stds.to(x.dtype)
    var = a**2 * stds**2 + b**2  # (N, K)
    sq = ((x[:, None, :] - a[:, :, None] * means[None]) ** 2).sum(-1)  # (N, K)
    log_w = torch.log(weights.to(x.dtype)).expand(n, -1)
    logits = log_w - 0.5 * d * torch.log(var) - 0.5 * sq / var
    return torch.softmax(logits, dim=-1), var


def mixture_score(x, weights, means, stds, scale, noise_std):
    """Exact score ``grad_x log p(x)`` of the noised mixture of ``mixture_posterior``: (N, D).

    ``score(x) = sum_k resp_k (a mu_k - x) / v_k``.
    """
    resp, var = mixture_posterior(x, weights, means, stds, scale, noise_std)
    a = torch.as_tensor(scale, dtype=x.dtype).reshape(-1, 1, 1)
    diff = a * means.to(x.dtype)[None] - x[:, None, :]  # (N, K, D)
    return (resp[..., None] * diff / var[..., None]).sum(1)


def mixture_denoise(x, weights, means, stds, scale, noise_std):
    """Exact posterior mean ``E[x0 | x]`` for the noised mixture of ``mixture_posterior``: (N, D).

    ``E[x0 | x, k] = mu_k + a s_k^2 / v_k (x - a mu_k)``, averaged with the responsibilities.
    """
    resp, var = mixture_posterior(x, weights, means, stds, scale, noise_std)
    a = torch.as_tensor(scale, dtype=x.dtype).reshape(-1, 1, 1)
    means, stds = means.to(x.dtype), stds.to(x.dtype)
    gain = a * stds[None, :, None] ** 2 / var[..., None]  # (N, K, 1)
    post = means[None] + gain * (x[:, None, :] - a * means[None])
    return (resp[..., None] * post).sum(1)


class GaussianMixture(nn.Module):
    """An isotropic Gaussian mixture ``sum_k w_k N(mu_k, s_k^2 I)`` in D dimensions.

    ``weights`` (K,) positive, summing to 1; ``means`` (K, D); ``stds`` (K,) positive.
    ``labels`` (K,) optional int class of each component (for class-conditional models).
    Parameters are buffers, so ``.double()`` converts them.
    """

    def __init__(self, weights, means, stds, labels=None):
        super().__init__()
        weights, means, stds = (torch.as_tensor(v, dtype=torch.float64) for v in (weights, means, stds))
        if means.ndim != 2 or weights.shape != (means.shape[0],) or stds.shape != weights.shape:
            raise ValueError("GaussianMixture: weights (K,), means (K, D) and stds (K,) expected, got "
                             f"{tuple(weights.shape)}, {tuple(means.shape)}, {tuple(stds.shape)}")
        if not (weights > 0).all() or not (stds > 0).all():
            raise ValueError("GaussianMixture: weights and stds must be positive")
        if abs(float(weights.sum()) - 1.0) > 1e-6:
            raise ValueError(f"GaussianMixture: weights sum to {float(weights.sum()):.6g}, not 1")
        self.register_buffer("weights", weights)
        self.register_buffer("means", means)
        self.register_buffer("stds", stds)
        labels = torch.zeros(len(weights), dtype=torch.long) if labels is None else torch.as_tensor(labels).long()
        self.register_buffer("labels", labels)

    @property
    def dim(self):
        return self.means.shape[1]

    def component_weights(self, y, dtype):
        """(N, K) mixture weights given class labels ``y`` (N,); a label outside the components'
        labels (the null label) keeps the unconditional weights."""
        w = self.weights.to(dtype).expand(len(y), -1)
        known = (y[:, None] == self.labels[None]).any(-1, keepdim=True)
        mask = (y[:, None] == self.labels[None]) | ~known
        w = w * mask
        return w / w.sum(-1, keepdim=True)

    def sample(self, n, generator=None, y=None):
        """``n`` samples (n, D) in float64; with labels ``y`` (n,) from the class-conditional mixture."""
        w = self.weights.expand(n, -1) if y is None else self.component_weights(y, torch.float64)
        k = torch.multinomial(w, 1, generator=generator).squeeze(1)
        z = torch.randn(n, self.dim, generator=generator, dtype=torch.float64)
        return self.means[k] + self.stds[k, None] * z

    def log_prob(self, x):
        """Log density (N,) at points x (N, D)."""
        d = self.dim
        x = x.to(torch.float64)
        sq = ((x[:, None, :] - self.means[None]) ** 2).sum(-1)
        logs = torch.log(self.weights) - 0.5 * d * torch.log(2 * math.pi * self.stds**2) - 0.5 * sq / self.stds**2
        return torch.logsumexp(logs, dim=-1)

    def projected_cdf(self, u, values):
        """CDF of ``u . x`` for x from the mixture and a unit vector ``u`` (D,), at ``values`` (M,)."""
        centres = self.means @ u.to(torch.float64)  # (K,)
        z = (values.to(torch.float64)[:, None] - centres[None]) / self.stds[None]
        return (self.weights[None] * torch.special.ndtr(z)).sum(-1)


class MixtureScore(nn.Module):
    """The exact noise-conditional score of a mixture: ``model(x, sigma)`` =
    ``grad_x log (p * N(0, sigma^2 I))(x)``, shapes x (N, D), sigma (N,) -> (N, D)."""

    def __init__(self, mixture):
        super().__init__()
        self.mixture = mixture

    def forward(self, x, sigma):
        m = self.mixture
        return mixture_score(x, m.weights, m.means, m.stds, 1.0, sigma)


class MixtureNoisePredictor(nn.Module):
    """The exact noise predictor of a mixture under a DDPM schedule.

    ``model(x_t, t)`` or ``model(x_t, t, y)`` with x_t (N, D), integer timesteps t (N,) and
    optional labels y (N,) returns ``E[eps | x_t] = -sqrt(1 - alpha_bar[t]) * score_t(x_t)``,
    the minimiser of the epsilon-prediction loss. Labels select the components with that
    label; ``null_label`` (any label no component has) means "unconditional".
    """

    def __init__(self, mixture, alpha_bar):
        super().__init__()
        self.mixture = mixture
        self.register_buffer("alpha_bar", torch.as_tensor(alpha_bar, dtype=torch.float64))

    def forward(self, x, t, y=None):
        m = self.mixture
        ab = self.alpha_bar[t.long()].to(x.dtype)
        w = m.weights if y is None else m.component_weights(y, x.dtype)
        score = mixture_score(x, w, m.means, m.stds, ab.sqrt(), (1 - ab).sqrt())
        return -(1 - ab).sqrt()[:, None] * score


class MixtureVelocity(nn.Module):
    """The exact marginal velocity of the linear flow-matching path to a mixture.

    With ``x_t = (1 - t) x0 + t x1``, ``x0 ~ N(0, I)``, ``x1`` from the mixture:
    ``model(x, t) = E[x1 - x0 | x_t = x] = (E[x1 | x_t = x] - x) / (1 - t)`` for t in [0, 1).
    """

    def __init__(self, mixture):
        super().__init__()
        self.mixture = mixture

    def forward(self, x, t):
        m = self.mixture
        t = t.to(x.dtype)
        x1_hat = mixture_denoise(x, m.weights, m.means, m.stds, t, 1 - t)
        return (x1_hat - x) / (1 - t)[:, None]


# =============================================================================================
# Provided: small trainable networks and a training loop
# =============================================================================================


class ConditionedMLP(nn.Module):
    """``f(x, c[, y])``: an MLP on x (N, D) with Fourier features of a scalar condition c (N,)
    and, if ``n_classes > 0``, a learned embedding of a label y (N,) in ``0..n_classes``
    (``n_classes`` itself is the null label used for classifier-free guidance)."""

    def __init__(self, dim, hidden=128, n_layers=3, n_classes=0, n_freq=8):
        super().__init__()
        self.register_buffer("freqs", 2.0 ** torch.arange(n_freq, dtype=torch.float32) * math.pi)
        self.n_classes = n_classes
        self.embed = nn.Embedding(n_classes + 1, hidden) if n_classes else None
        layers, width = [], dim + 2 * n_freq
        for _ in range(n_layers):
            layers += [nn.Linear(width, hidden), nn.SiLU()]
            width = hidden
        self.body = nn.ModuleList(layers)
        self.out = nn.Linear(hidden, dim)

    def forward(self, x, c, y=None):
        angles = c.to(x.dtype)[:, None] * self.freqs.to(x.dtype)
        h = torch.cat([x, angles.sin(), angles.cos()], dim=-1)
        for i, layer in enumerate(self.body):
            h = layer(h)
            if i == 0 and self.embed is not None:
                labels = torch.full((len(x),), self.n_classes, dtype=torch.long) if y is None else y.long()
                h = h + self.embed(labels).to(x.dtype)
        return self.out(h)


class ScoreNet(nn.Module):
    """Noise-conditional score network ``s(x, sigma) = f(x, log sigma) / sigma`` (the 1/sigma
    keeps the output on the scale of the true score at every noise level)."""

    def __init__(self, dim, hidden=128, n_layers=3):
        super().__init__()
        self.net = ConditionedMLP(dim, hidden, n_layers, n_freq=4)

    def forward(self, x, sigma):
        sigma = sigma.to(x.dtype)
        return self.net(x, torch.log(sigma) / 4) / sigma[:, None]


class NoiseNet(nn.Module):
    """Noise predictor ``eps(x_t, t[, y])`` for integer timesteps t in ``0..T-1``."""

    def __init__(self, dim, T, hidden=128, n_layers=3, n_classes=0):
        super().__init__()
        self.T = T
        self.net = ConditionedMLP(dim, hidden, n_layers, n_classes=n_classes)

    def forward(self, x, t, y=None):
        return self.net(x, t.to(x.dtype) / self.T, y)


class VelocityNet(nn.Module):
    """Velocity field ``v(x, t)`` for t in [0, 1]."""

    def __init__(self, dim, hidden=128, n_layers=3):
        super().__init__()
        self.net = ConditionedMLP(dim, hidden, n_layers)

    def forward(self, x, t):
        return self.net(x, t)


def alphas_cumprod(betas):
    """``alpha_bar[t] = prod_{s <= t} (1 - betas[s])`` for a (T,) schedule; float64 (T,)."""
    return torch.cumprod(1.0 - torch.as_tensor(betas, dtype=torch.float64), dim=0)


def ddim_timesteps(T, n_steps):
    """``n_steps`` timesteps from T-1 down to 0, evenly spaced (int64, strictly decreasing)."""
    if not 1 <= n_steps <= T:
        raise ValueError(f"ddim_timesteps: need 1 <= n_steps <= T, got n_steps={n_steps}, T={T}")
    if n_steps == 1:
        return torch.tensor([T - 1])
    return torch.linspace(T - 1, 0, n_steps, dtype=torch.float64).round().long()


def train(model, loss, data, n_steps=500, batch_size=256, lr=2e-3, seed=0, labels=None, **options):
    """Train ``model`` in place with Adam (betas 0.9, 0.999) on one of your losses; returns the losses (list of floats).

    ``loss`` names the objective and ``options`` its settings:

    * ``"dsm"``: ``dsm_loss``; ``sigmas`` (L,): each example's noise level is drawn from them;
    * ``"ssm"``: ``sliced_score_matching_loss``; ``sigmas`` as for dsm, data noised with them
      first; ``n_projections`` (default 1);
    * ``"ddpm"``: ``ddpm_loss``; ``alpha_bar`` (T,); with ``labels`` (N,) the model is
      class-conditional and each label is replaced by the null label ``n_classes`` (an option)
      with probability ``p_uncond`` (default 0.2), as classifier-free guidance needs;
    * ``"cfm"``: ``flow_matching_loss``, x0 ~ N(0, I), x1 the data, t ~ U[0, 1).

    All randomness comes from ``torch.Generator().manual_seed(seed)``.
    """
    g = torch.Generator().manual_seed(seed)
    data = torch.as_tensor(data, dtype=torch.float32)
    # Adam written out: creating torch.optim.Adam imports torch._dynamo, over a second of start-up.
    params = [p for p in model.parameters() if p.requires_grad]
    first, second = [torch.zeros_like(p) for p in params], [torch.zeros_like(p) for p in params]
    history = []
    for _ in range(n_steps):
        idx = torch.randint(len(data), (batch_size,), generator=g)
        x = data[idx]
        if loss in ("dsm", "ssm"):
            sigmas = torch.as_tensor(options["sigmas"], dtype=torch.float32)
            sigma = sigmas[torch.randint(len(sigmas), (batch_size,), generator=g)]
            noise = torch.randn(x.shape, generator=g)
            if loss == "dsm":
                value = dsm_loss(model, x, sigma, noise)
            else:
                proj = torch.randn((options.get("n_projections", 1),) + x.shape, generator=g)
                value = sliced_score_matching_loss(model, x + sigma[:, None] * noise, sigma, proj)
        elif loss == "ddpm":
            alpha_bar = options["alpha_bar"]
            t = torch.randint(len(alpha_bar), (batch_size,), generator=g)
            noise = torch.randn(x.shape, generator=g)
            y = None
            if labels is not None:
                y = torch.as_tensor(labels)[idx].clone()
                drop = torch.rand(batch_size, generator=g) < options.get("p_uncond", 0.2)
                y[drop] = options["n_classes"]
            value = ddpm_loss(model, x, t, noise, alpha_bar, y=y)
        elif loss == "cfm":
            x0 = torch.randn(x.shape, generator=g)
            t = torch.rand(batch_size, generator=g)
            value = flow_matching_loss(model, x0, x, t)
        else:
            raise ValueError(f"train: unknown loss {loss!r} (use 'dsm', 'ssm', 'ddpm' or 'cfm')")
        grads = torch.autograd.grad(value, params, allow_unused=True)
        k = len(history) + 1
        with torch.no_grad():
            for p, grad, m, v in zip(params, grads, first, second):
                if grad is not None:
                    m.mul_(0.9).add_(grad, alpha=0.1)
                    v.mul_(0.999).addcmul_(grad, grad, value=0.001)
                    p.sub_(lr * (m / (1 - 0.9**k)) / ((v / (1 - 0.999**k)).sqrt() + 1e-8))
        history.append(float(value.detach()))
    return history


def loss_and_grads(model, loss, *args, **kwargs):
    """Evaluate the loss function named ``loss`` (e.g. ``"dsm_loss"``) on ``model`` and return
    ``(value, grads)``: the loss as a float and ``{parameter name: gradient}`` (used by the tests
    to check that your loss is differentiable in the model's parameters)."""
    model.zero_grad()
    value = globals()[loss](model, *args, **kwargs)
    value.backward()
    grads = {name: p.grad.detach().clone() if p.grad is not None else torch.zeros_like(p)
             for name, p in model.named_parameters()}
    return float(value.detach()), grads


class GuidedModel(nn.Module):
    """``model(x, t)`` = your ``guided_noise_prediction`` for fixed labels and guidance scale,
    so that any sampler of part 4 can draw guided samples."""

    def __init__(self, eps_model, y, guidance_scale, null_label):
        super().__init__()
        self.eps_model, self.y, self.scale, self.null_label = eps_model, y, guidance_scale, null_label

    def forward(self, x, t):
        return guided_noise_prediction(self.eps_model, x, t, self.y, self.scale, self.null_label)


def _level(sigma, x):
    """A noise level (float or 0-dim tensor) as the (N,) tensor a score model takes."""
    return torch.full((x.shape[0],), float(sigma), dtype=x.dtype)


# =============================================================================================
# Part 1: score matching
# =============================================================================================


def dsm_loss(score_model, x, sigma, noise):
    """Denoising score matching loss (Vincent 2011; weighted as in Song & Ermon 2019).

    * ``score_model(x_noisy, sigma)``: (N, D), (N,) -> (N, D), the model's score at noise level sigma;
    * ``x``: (N, D) clean data; ``sigma``: (N,) positive noise level of each example;
    * ``noise``: (N, D) standard normal draws.

    Formula (a scalar tensor, differentiable in the model's parameters)::

        x_noisy = x + sigma * noise
        loss    = mean_i  1/2 * || sigma_i * score_model(x_noisy, sigma)_i + noise_i ||^2

    (``-noise / sigma`` is the score of the noising kernel ``N(x, sigma^2 I)`` at ``x_noisy``;
    weighting each example by ``sigma^2`` gives all noise levels the same scale.) The sum runs
    over the D features, the mean over the N examples.
    """
    # YOUR CODE HERE
    raise NotImplementedError('diffusion.py: dsm_loss is not implemented yet (README.md, part 1: Denoising and sliced score matching)')


def sliced_score_matching_loss(score_model, x, sigma, projections):
    """Sliced score matching loss (Song, Garg, Shi & Ermon 2019).

    * ``score_model(x, sigma)``: (N, D), (N,) -> (N, D);
    * ``x``: (N, D) data points (the model's score is asked at these points themselves);
    * ``sigma``: (N,) the noise level passed to the model;
    * ``projections``: (M, N, D), M random directions ``v`` for each point.

    Formula (a scalar tensor, differentiable in the model's parameters)::

        s = score_model(x, sigma)                     # (N, D)
        loss = mean over m, i of  [ v_mi . grad_x (v_mi . s_i)  +  1/2 (v_mi . s_i)^2 ]

    ``v . grad_x (v . s)`` is ``v^T J v`` with J the Jacobian of s at x_i: compute it with
    ``torch.autograd.grad`` on ``(s * v).sum()`` taken w.r.t. an ``x`` that requires grad,
    with ``create_graph=True`` so that the loss can itself be differentiated. Do not build J.
    """
    # YOUR CODE HERE
    raise NotImplementedError('diffusion.py: sliced_score_matching_loss is not implemented yet (README.md, part 1: Denoising and sliced score matching)')


# =============================================================================================
# Part 2: Langevin dynamics
# =============================================================================================


def langevin_sample(score_model, x, sigma, step_size, noises):
    """Unadjusted Langevin dynamics at one noise level.

    * ``score_model(x, sigma)``: (N, D), (N,) -> (N, D); call it with ``sigma`` as an (N,)
      tensor filled with the float ``sigma``;
    * ``x``: (N, D) starting points; ``step_size``: float eps > 0;
    * ``noises``: (K, N, D) standard normal draws, one slice per step: K steps.

    Update, for k = 0 .. K-1::

        x <- x + eps * score_model(x, sigma) + sqrt(2 eps) * noises[k]

    Returns x after K steps, (N, D). (For small eps and many steps the law of x approaches
    the distribution whose score the model gives.)
    """
    # YOUR CODE HERE
    raise NotImplementedError('diffusion.py: langevin_sample is not implemented yet (README.md, part 2: Langevin and annealed Langevin sampling)')


def annealed_langevin_sample(score_model, x, sigmas, step_size, noises):
    """Annealed Langevin dynamics (Song & Ermon 2019, algorithm 1).

    * ``sigmas``: (L,) noise levels, decreasing; ``step_size``: float eps;
    * ``x``: (N, D) starting points; ``noises``: (L, K, N, D): K steps at each of the L levels.

    For level i = 0 .. L-1 the step is scaled to the level,
    ``alpha_i = eps * sigmas[i]^2 / sigmas[L-1]^2``, and K Langevin steps are taken with the
    model asked at noise level ``sigmas[i]``::

        x <- x + alpha_i * score_model(x, sigmas[i]) + sqrt(2 alpha_i) * noises[i, k]

    Returns x after all L*K steps, (N, D).
    """
    # YOUR CODE HERE
    raise NotImplementedError('diffusion.py: annealed_langevin_sample is not implemented yet (README.md, part 2: Langevin and annealed Langevin sampling)')


# =============================================================================================
# Part 3: DDPM noise schedules, the forward process and the training loss
# =============================================================================================


def linear_beta_schedule(T, beta_start=1e-4, beta_end=0.02):
    """The linear schedule of Ho et al. (2020): T values evenly spaced from ``beta_start`` to
    ``beta_end`` inclusive. Returns float64 (T,)."""
    # YOUR CODE HERE
    raise NotImplementedError('diffusion.py: linear_beta_schedule is not implemented yet (README.md, part 3: DDPM schedules, the forward process and the epsilon-prediction loss)')


def cosine_beta_schedule(T, s=0.008, max_beta=0.999):
    """The cosine schedule of Nichol & Dhariwal (2021). Returns float64 (T,).

    With ``f(u) = cos^2( (u / T + s) / (1 + s) * pi / 2 )`` for u = 0 .. T, the target is
    ``alpha_bar[t] = f(t + 1) / f(0)`` for the 0-based timestep t = 0 .. T-1, so::

        betas[t] = min(1 - f(t + 1) / f(t), max_beta)

    (Clipping at max_beta keeps the last steps from destroying everything at once.)
    """
    # YOUR CODE HERE
    raise NotImplementedError('diffusion.py: cosine_beta_schedule is not implemented yet (README.md, part 3: DDPM schedules, the forward process and the epsilon-prediction loss)')


def q_sample(x0, t, alpha_bar, noise):
    """Sample the forward process in one go: ``x_t ~ q(x_t | x_0)``.

    * ``x0``: (N, D) data; ``t``: (N,) int64 timesteps in 0..T-1;
    * ``alpha_bar``: (T,) float64, ``alpha_bar[t] = prod_{s<=t} (1 - betas[s])``;
    * ``noise``: (N, D) standard normal draws.

    Formula: ``x_t = sqrt(alpha_bar[t]) * x0 + sqrt(1 - alpha_bar[t]) * noise``, (N, D) in the
    dtype of x0.
    """
    # YOUR CODE HERE
    raise NotImplementedError('diffusion.py: q_sample is not implemented yet (README.md, part 3: DDPM schedules, the forward process and the epsilon-prediction loss)')


def ddpm_loss(eps_model, x0, t, noise, alpha_bar, y=None):
    """The epsilon-prediction ("simple") loss of Ho et al. (2020).

    * ``eps_model(x_t, t)`` (or ``eps_model(x_t, t, y)`` when ``y`` is given): (N, D), (N,)
      [, (N,)] -> (N, D), the predicted noise;
    * ``x0``: (N, D); ``t``: (N,) int64; ``noise``: (N, D); ``alpha_bar``: (T,); ``y``: (N,) or None.

    Formula: ``x_t = q_sample(x0, t, alpha_bar, noise)`` and
    ``loss = mean over all N*D entries of (eps_model(x_t, t) - noise)^2`` (a scalar tensor,
    differentiable in the model's parameters).
    """
    # YOUR CODE HERE
    raise NotImplementedError('diffusion.py: ddpm_loss is not implemented yet (README.md, part 3: DDPM schedules, the forward process and the epsilon-prediction loss)')


# =============================================================================================
# Part 4: samplers for a trained noise predictor
# =============================================================================================


def ddpm_sample(eps_model, x_T, betas, noises, return_trajectory=False):
    """Ancestral sampling (Ho et al. 2020, algorithm 2), 0-based timesteps.

    * ``eps_model(x, t)``: (N, D), (N,) int64 -> (N, D); ``x_T``: (N, D) start (standard normal);
    * ``betas``: (T,) float64, ``alpha = 1 - betas``, ``alpha_bar = alphas_cumprod(betas)``,
      and ``alpha_bar_prev[t] = alpha_bar[t - 1]`` with ``alpha_bar_prev[0] = 1``;
    * ``noises``: (T, N, D) standard normal draws; ``noises[t]`` is used at step t.

    For t = T-1, T-2, ..., 0::

        eps   = eps_model(x, t)                       # t as an (N,) int64 tensor
        mean  = (x - betas[t] / sqrt(1 - alpha_bar[t]) * eps) / sqrt(alpha[t])
        var   = betas[t] * (1 - alpha_bar_prev[t]) / (1 - alpha_bar[t])   # posterior variance
        x     = mean + sqrt(var) * noises[t]          # var = 0 at t = 0

    Returns x_0 (N, D); with ``return_trajectory=True`` returns the (T + 1, N, D) stack
    x_T, x_{T-1}, ..., x_0 instead.
    """
    # YOUR CODE HERE
    raise NotImplementedError('diffusion.py: ddpm_sample is not implemented yet (README.md, part 4: Ancestral, DDIM and probability-flow sampling)')


def ddim_sample(eps_model, x_T, alpha_bar, timesteps, return_trajectory=False):
    """Deterministic DDIM sampling (Song, Meng & Ermon 2021, eta = 0) on a subset of timesteps.

    * ``eps_model(x, t)``: as in ``ddpm_sample``; ``x_T``: (N, D);
    * ``alpha_bar``: (T,) float64;
    * ``timesteps``: (S,) int64, strictly decreasing (e.g. ``ddim_timesteps(T, S)``).

    For i = 0 .. S-1, with ``t = timesteps[i]`` and ``t_prev = timesteps[i + 1]``
    (``alpha_bar_prev = 1`` after the last step)::

        eps    = eps_model(x, t)
        x0_hat = (x - sqrt(1 - alpha_bar[t]) * eps) / sqrt(alpha_bar[t])
        x      = sqrt(alpha_bar[t_prev]) * x0_hat + sqrt(1 - alpha_bar[t_prev]) * eps

    Returns x (N, D) after the S steps; with ``return_trajectory=True`` the (S + 1, N, D) stack
    of x before the first step and after each step.
    """
    # YOUR CODE HERE
    raise NotImplementedError('diffusion.py: ddim_sample is not implemented yet (README.md, part 4: Ancestral, DDIM and probability-flow sampling)')


def probability_flow_sample(eps_model, x_T, betas, return_trajectory=False):
    """The probability-flow ODE of the variance-preserving SDE (Song et al. 2021), Euler steps
    on the DDPM grid.

    The forward SDE ``dx = -1/2 beta(s) x ds + sqrt(beta(s)) dW`` has the same marginals as the
    ODE ``dx/ds = -1/2 beta(s) (x + score_s(x))``, and the noise predictor gives the score,
    ``score_t(x) = -eps_model(x, t) / sqrt(1 - alpha_bar[t])``. With ``beta(s) ds = betas[t]``,
    one Euler step backwards in time, for t = T-1, ..., 0, is::

        x <- x + 1/2 * betas[t] * (x - eps_model(x, t) / sqrt(1 - alpha_bar[t]))

    * ``eps_model``, ``x_T`` (N, D), ``betas`` (T,) float64 as in ``ddpm_sample``;
      ``alpha_bar = alphas_cumprod(betas)``.

    Returns x (N, D) after the T steps (deterministic: no noise); with
    ``return_trajectory=True`` the (T + 1, N, D) stack x_T, ..., x_0.
    """
    # YOUR CODE HERE
    raise NotImplementedError('diffusion.py: probability_flow_sample is not implemented yet (README.md, part 4: Ancestral, DDIM and probability-flow sampling)')


# =============================================================================================
# Part 5: classifier-free guidance
# =============================================================================================


def guided_noise_prediction(eps_model, x, t, y, guidance_scale, null_label):
    """Classifier-free guidance (Ho & Salimans 2022).

    * ``eps_model(x, t, y)``: a class-conditional noise predictor, (N, D), (N,), (N,) -> (N, D);
      the label ``null_label`` (an int) asks it for the unconditional prediction;
    * ``x``: (N, D); ``t``: (N,) int64; ``y``: (N,) int64 labels; ``guidance_scale``: float w.

    Formula::

        eps_cond   = eps_model(x, t, y)
        eps_uncond = eps_model(x, t, [null_label] * N)
        return eps_uncond + w * (eps_cond - eps_uncond)

    w = 0 is the unconditional model, w = 1 the conditional one, w > 1 pushes samples towards
    what makes the label likely. Returns (N, D).
    """
    # YOUR CODE HERE
    raise NotImplementedError('diffusion.py: guided_noise_prediction is not implemented yet (README.md, part 5: Classifier-free guidance)')


# =============================================================================================
# Part 6: flow matching
# =============================================================================================


def flow_matching_loss(velocity_model, x0, x1, t):
    """Conditional flow matching with the linear (optimal-transport) path (Lipman et al. 2023,
    sigma_min = 0; the rectified flow of Liu et al. 2023).

    * ``velocity_model(x, t)``: (N, D), (N,) -> (N, D);
    * ``x0``: (N, D) noise, ``x1``: (N, D) data, ``t``: (N,) times in [0, 1].

    Formula::

        x_t    = (1 - t) * x0 + t * x1          # the path from noise (t=0) to data (t=1)
        target = d x_t / dt = x1 - x0
        loss   = mean over all N*D entries of (velocity_model(x_t, t) - target)^2
    """
    # YOUR CODE HERE
    raise NotImplementedError('diffusion.py: flow_matching_loss is not implemented yet (README.md, part 6: Conditional flow matching and the Euler sampler)')


def flow_euler_sample(velocity_model, x0, n_steps, return_trajectory=False):
    """Integrate ``dx/dt = velocity_model(x, t)`` from t = 0 to t = 1 with n Euler steps.

    * ``x0``: (N, D) starting points (noise); ``n_steps``: int n >= 1.

    For k = 0 .. n-1, with ``t_k = k / n`` (an (N,) tensor in x's dtype)::

        x <- x + (1 / n) * velocity_model(x, t_k)

    Returns x (N, D); with ``return_trajectory=True`` the (n + 1, N, D) stack of x at
    t = 0, 1/n, ..., 1.
    """
    # YOUR CODE HERE
    raise NotImplementedError('diffusion.py: flow_euler_sample is not implemented yet (README.md, part 6: Conditional flow matching and the Euler sampler)')
