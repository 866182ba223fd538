"""Policy gradients and PPO, readable top to bottom.

Conventions used everywhere in this file:

* A rollout buffer holds T steps of N environments run side by side, so per-step quantities
  are (T, N) tensors (float32): `rewards[t, i]` is the reward environment i received for the
  action it took at step t.
* `terminated[t, i]` is 1.0 when that step ended the episode for real (the pole fell): the
  value of what follows is 0. `truncated[t, i]` is 1.0 when the episode was cut off by a time
  limit: the episode did not end, it was only interrupted, so what follows is still worth
  V(final observation) and we bootstrap from it.
* `next_values[t, i]` is the critic's value of the observation that step t led to: the
  *final* observation of the episode when step t terminated or truncated (before the
  environment was reset), the next observation otherwise.

You may use torch (tensors, `torch.nn`, `torch.optim`, `torch.nn.utils.clip_grad_norm_`) and
gymnasium. `torch.distributions` is forbidden: part 2 asks you to write the log-densities
yourself.
"""

from __future__ import annotations

import math

import gymnasium as gym
import numpy as np
import torch
import torch.nn as nn

# ----------------------------------------------------------------------------------------------
# Part 1. Returns and generalised advantage estimation
# ----------------------------------------------------------------------------------------------


def discounted_returns(rewards: torch.Tensor, next_values: torch.Tensor, terminated: torch.Tensor,
                       truncated: torch.Tensor, gamma: float) -> torch.Tensor:
    """Discounted returns G of a rollout buffer, with bootstrapping where the data stops early.

    Shapes: every argument is (T, N) float; the result is (T, N).

    Going backwards from the last step t = T-1:

        G_t = r_t + gamma * (1 - terminated_t) * B_t,

        B_t = next_values_t   if truncated_t, or if t = T-1 (the buffer ends mid-episode)
        B_t = G_{t+1}         otherwise (the episode continues inside the buffer).

    A terminated step never looks further; a truncated step bootstraps from the value of its
    final observation instead of running on into the next episode's rewards.
    """
    # YOUR CODE HERE
    raise NotImplementedError('ppo.py: discounted_returns is not implemented yet (README.md, part 1: Discounted returns and GAE)')


def gae(rewards: torch.Tensor, values: torch.Tensor, next_values: torch.Tensor, terminated: torch.Tensor,
        truncated: torch.Tensor, gamma: float, lam: float) -> tuple[torch.Tensor, torch.Tensor]:
    """Generalised advantage estimation (Schulman et al., 2016) over a rollout buffer.

    Shapes: every argument is (T, N) float; `values[t]` is V(s_t). Returns
    `(advantages, returns)`, both (T, N), with `returns = advantages + values` (the critic's
    regression target).

        delta_t = r_t + gamma * (1 - terminated_t) * next_values_t - values_t
        A_t     = delta_t + gamma * lam * (1 - done_t) * A_{t+1},   A_T = 0,

    where done_t = max(terminated_t, truncated_t): the sum of TD errors stops at the end of an
    episode either way, but only a *terminated* step drops the bootstrap value in delta.
    """
    # YOUR CODE HERE
    raise NotImplementedError('ppo.py: gae is not implemented yet (README.md, part 1: Discounted returns and GAE)')


# ----------------------------------------------------------------------------------------------
# Part 2. Policies: log-probabilities, entropies, sampling
# ----------------------------------------------------------------------------------------------


def _mlp(sizes: list[int], last_gain: float) -> nn.Sequential:
    """tanh MLP with orthogonal weights (gain sqrt 2, `last_gain` on the last layer), zero biases."""
    layers: list[nn.Module] = []
    for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        linear = nn.Linear(n_in, n_out)
        last = i == len(sizes) - 2
        nn.init.orthogonal_(linear.weight, last_gain if last else math.sqrt(2))
        nn.init.zeros_(linear.bias)
        layers.append(linear)
        if not last:
            layers.append(nn.Tanh())
    return nn.Sequential(*layers)


class CategoricalPolicy(nn.Module):
    """Actor-critic for discrete actions: `actor` maps (B, obs_dim) observations to (B, n_actions)
    logits, `critic` maps them to (B, 1) values. The architecture is fixed (the grader loads
    your trained weights into this same network), only the methods are yours."""

    def __init__(self, obs_dim: int, n_actions: int, hidden: int = 64):
        super().__init__()
        self.actor = _mlp([obs_dim, hidden, hidden, n_actions], last_gain=0.01)
        self.critic = _mlp([obs_dim, hidden, hidden, 1], last_gain=1.0)

    def value(self, obs: torch.Tensor) -> torch.Tensor:
        """V(obs): (B, obs_dim) -> (B,)."""
        return self.critic(obs).squeeze(-1)

    def log_prob(self, obs: torch.Tensor, actions: torch.Tensor) -> torch.Tensor:
        """log pi(a | s) for integer actions (B,): log_softmax(logits)[b, a_b], shape (B,).

        Use a numerically stable log-softmax (logits of +-1000 must not give inf or nan)."""
        # YOUR CODE HERE
        raise NotImplementedError('ppo.py: CategoricalPolicy.log_prob is not implemented yet (README.md, part 2: Categorical and Gaussian policies)')

    def entropy(self, obs: torch.Tensor) -> torch.Tensor:
        """H[pi(. | s)] = -sum_a p_a log p_a in nats, shape (B,); 0 log 0 counts as 0."""
        # YOUR CODE HERE
        raise NotImplementedError('ppo.py: CategoricalPolicy.entropy is not implemented yet (README.md, part 2: Categorical and Gaussian policies)')

    def sample(self, obs: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        """One action per row, drawn from softmax(logits): int64 tensor (B,).

        Draw with `torch.multinomial(probs, 1, generator=generator)` so that a seeded generator
        gives reproducible actions."""
        # YOUR CODE HERE
        raise NotImplementedError('ppo.py: CategoricalPolicy.sample is not implemented yet (README.md, part 2: Categorical and Gaussian policies)')


class GaussianPolicy(nn.Module):
    """Actor-critic for continuous actions: a diagonal Gaussian with mean `actor(obs)` (B, act_dim)
    and a state-independent standard deviation exp(log_std) (act_dim,)."""

    def __init__(self, obs_dim: int, act_dim: int, hidden: int = 64, log_std: float = 0.0):
        super().__init__()
        self.actor = _mlp([obs_dim, hidden, hidden, act_dim], last_gain=0.01)
        self.critic = _mlp([obs_dim, hidden, hidden, 1], last_gain=1.0)
        self.log_std = nn.Parameter(torch.full((act_dim,), float(log_std)))

    def value(self, obs: torch.Tensor) -> torch.Tensor:
        """V(obs): (B, obs_dim) -> (B,)."""
        return self.critic(obs).squeeze(-1)

    def log_prob(self, obs: torch.Tensor, actions: torch.Tensor) -> torch.Tensor:
        """log N(a; mu(s), diag(sigma^2)) summed over action dimensions: (B, act_dim) -> (B,).

            log p = sum_j [ -(a_j - mu_j)^2 / (2 sigma_j^2) - log sigma_j - log(2 pi) / 2 ]
        """
        # YOUR CODE HERE
        raise NotImplementedError('ppo.py: GaussianPolicy.log_prob is not implemented yet (README.md, part 2: Categorical and Gaussian policies)')

    def entropy(self, obs: torch.Tensor) -> torch.Tensor:
        """Entropy of the Gaussian, sum_j (1/2) log(2 pi e sigma_j^2), repeated for each row: (B,)."""
        # YOUR CODE HERE
        raise NotImplementedError('ppo.py: GaussianPolicy.entropy is not implemented yet (README.md, part 2: Categorical and Gaussian policies)')

    def sample(self, obs: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        """mu(s) + sigma * eps with eps = torch.randn(mu.shape, generator=generator): (B, act_dim)."""
        # YOUR CODE HERE
        raise NotImplementedError('ppo.py: GaussianPolicy.sample is not implemented yet (README.md, part 2: Categorical and Gaussian policies)')


# ----------------------------------------------------------------------------------------------
# Part 3. Losses
# ----------------------------------------------------------------------------------------------


def reinforce_loss(log_probs: torch.Tensor, returns: torch.Tensor, values: torch.Tensor,
                   vf_coef: float = 0.5) -> torch.Tensor:
    """REINFORCE with a learned baseline, as one scalar to minimise. All inputs are (B,).

        loss = -mean(log_probs * (returns - values)) + vf_coef * mean((values - returns)^2)

    The baseline must not carry gradient into the policy term (detach it there), and the
    returns are targets (no gradient).
    """
    # YOUR CODE HERE
    raise NotImplementedError('ppo.py: reinforce_loss is not implemented yet (README.md, part 3: REINFORCE and PPO losses)')


def normalize_advantages(advantages: torch.Tensor, eps: float = 1e-8) -> torch.Tensor:
    """(A - mean(A)) / (std(A) + eps) over all entries, with the unbiased std (torch's default)."""
    # YOUR CODE HERE
    raise NotImplementedError('ppo.py: normalize_advantages is not implemented yet (README.md, part 3: REINFORCE and PPO losses)')


def ppo_loss(new_log_probs: torch.Tensor, old_log_probs: torch.Tensor, advantages: torch.Tensor,
             new_values: torch.Tensor, old_values: torch.Tensor, returns: torch.Tensor, entropy: torch.Tensor,
             clip_coef: float = 0.2, vf_coef: float = 0.5, ent_coef: float = 0.0,
             clip_vloss: bool = True) -> dict[str, torch.Tensor]:
    """The PPO-clip objective (Schulman et al., 2017) on one minibatch; every input is (B,).

    `old_*` and `advantages`, `returns` come from the rollout and are constants (no gradient);
    `new_*` and `entropy` come from the current network. With r = exp(new_log_probs - old_log_probs):

        policy_loss = mean( max(-A * r, -A * clip(r, 1 - c, 1 + c)) )
        value_loss  = 0.5 * mean( max((V - R)^2, (V_clip - R)^2) ),   V_clip = V_old + clip(V - V_old, -c, c)
                      (or 0.5 * mean((V - R)^2) when clip_vloss is False)
        loss        = policy_loss - ent_coef * mean(entropy) + vf_coef * value_loss

    Returns a dict of 0-d tensors: "loss", "policy_loss", "value_loss", "entropy" (the mean),
    "approx_kl" = mean((r - 1) - log r) and "clip_fraction" = fraction of entries with |r - 1| > c
    (the last two are diagnostics, computed without gradient).
    """
    # YOUR CODE HERE
    raise NotImplementedError('ppo.py: ppo_loss is not implemented yet (README.md, part 3: REINFORCE and PPO losses)')


def loss_gradients(loss_name: str, inputs: dict[str, torch.Tensor], **options) -> dict[str, torch.Tensor]:
    """Given code (do not edit): the gradient of a part-3 loss with respect to each of its tensor
    inputs, {input name: gradient}. `loss_name` is "reinforce_loss" or "ppo_loss" (whose "loss"
    entry is differentiated); `options` are its non-tensor arguments. An input the loss does
    not depend on (or that you detached) gets a zero gradient. The tests use this to check
    which inputs your losses treat as constants."""
    leaves = {k: v.detach().clone().requires_grad_(True) for k, v in inputs.items()}
    out = {"reinforce_loss": reinforce_loss, "ppo_loss": ppo_loss}[loss_name](**leaves, **options)
    loss = out["loss"] if isinstance(out, dict) else out
    grads = torch.autograd.grad(loss, list(leaves.values()), allow_unused=True)
    return {k: torch.zeros_like(v) if g is None else g for (k, v), g in zip(leaves.items(), grads)}


# ----------------------------------------------------------------------------------------------
# Part 4. Training
# ----------------------------------------------------------------------------------------------

#: Hyperparameters of `train_ppo`. They solve CartPole-v1; you may change them in your copy.
CONFIG = dict(
    n_envs=8,            # environments run side by side
    n_steps=32,          # steps per environment per rollout: a buffer of 8 * 32 = 256 transitions
    total_steps=100_000, # environment steps in all (sum over the environments)
    n_epochs=20,         # passes over each rollout
    minibatch_size=256,
    lr=1e-3,             # Adam learning rate, annealed linearly to 0
    clip_coef=0.2,       # annealed linearly to 0 as well
    gamma=0.98,
    lam=0.8,
    vf_coef=0.5,
    ent_coef=0.0,
    max_grad_norm=0.5,
)


def make_envs(env_id: str, n: int, seed: int) -> list[gym.Env]:
    """`n` independent environments; environment i is reset with seed `seed + i` on first use."""
    return [gym.make(env_id) for _ in range(n)]


def train_ppo(env_id: str = "CartPole-v1", seed: int = 0, total_steps: int | None = None,
              callback=None, **overrides) -> dict[str, torch.Tensor]:
    """Train a `CategoricalPolicy` with PPO on `env_id` and return its `state_dict()`.

    Run `CONFIG` (updated with `overrides`, and `total_steps` if given). The loop, per rollout:
    1. step each of the `n_envs` environments `n_steps` times with actions from `policy.sample`,
       recording obs, actions, log-probs, values, rewards, terminated, truncated and the value
       of the observation each step led to (the final observation when an episode ended; then
       reset that environment);
    2. advantages and returns by `gae`;
    3. `n_epochs` passes over the buffer in random minibatches: `normalize_advantages` per
       minibatch, `ppo_loss`, backward, clip the global gradient norm to `max_grad_norm`, Adam step;
    4. anneal the learning rate and clip coefficient linearly towards 0.

    After each update, if `callback` is given, call `callback(steps_so_far, policy)` (the
    notebook draws learning curves with it). Seed everything from `seed` (torch.manual_seed, the
    environments' first resets with seed + i, a torch.Generator for actions) so that a run is
    reproducible. The grader loads the
    returned weights into its own `CategoricalPolicy` and runs its own evaluation episodes.
    """
    # YOUR CODE HERE
    raise NotImplementedError('ppo.py: train_ppo is not implemented yet (README.md, part 5: Training PPO on CartPole-v1)')


def evaluate(state_dict: dict[str, torch.Tensor], env_id: str = "CartPole-v1", episodes: int = 100,
             seed: int = 10_000, greedy: bool = True) -> np.ndarray:
    """Returns of `episodes` evaluation episodes of the policy with these weights (given code:
    the grader runs the same evaluation). Greedy: the most likely action at every step."""
    env = gym.make(env_id)
    policy = CategoricalPolicy(env.observation_space.shape[0], env.action_space.n)
    policy.load_state_dict(state_dict)
    sampling_rng = torch.Generator().manual_seed(seed)  # used only when greedy=False
    returns = []
    for episode in range(episodes):
        obs, _ = env.reset(seed=seed + episode)
        total, done = 0.0, False
        while not done:
            x = torch.as_tensor(obs, dtype=torch.float32).unsqueeze(0)
            with torch.no_grad():
                action = policy.actor(x).argmax(-1) if greedy else policy.sample(x, sampling_rng)
            obs, reward, terminated, truncated, _ = env.step(int(action))
            total += float(reward)
            done = terminated or truncated
        returns.append(total)
    env.close()
    return np.array(returns)
