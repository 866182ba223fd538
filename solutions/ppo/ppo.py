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
    ### BEGIN SOLUTION
    T = rewards.shape[0]
    returns = torch.zeros_like(rewards)
    following = next_values[T - 1]
    for t in reversed(range(T)):
        if t < T - 1:
            following = torch.where(truncated[t] > 0, next_values[t], returns[t + 1])
        else:
            following = next_values[t]
        returns[t] = rewards[t] + gamma * (1.0 - terminated[t]) * following
    return returns
    ### END SOLUTION


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
    ### BEGIN SOLUTION
    T = rewards.shape[0]
    deltas = rewards + gamma * (1.0 - terminated) * next_values - values
    done = torch.maximum(terminated, truncated)
    advantages = torch.zeros_like(rewards)
    running = torch.zeros_like(rewards[0])
    for t in reversed(range(T)):
        running = deltas[t] + gamma * lam * (1.0 - done[t]) * running
        advantages[t] = running
    return advantages, advantages + values
    ### END SOLUTION


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
        ### BEGIN SOLUTION
        logits = self.actor(obs)
        log_p = logits - torch.logsumexp(logits, dim=-1, keepdim=True)
        return log_p.gather(-1, actions.long().unsqueeze(-1)).squeeze(-1)
        ### END SOLUTION

    def entropy(self, obs: torch.Tensor) -> torch.Tensor:
        """H[pi(. | s)] = -sum_a p_a log p_a in nats, shape (B,); 0 log 0 counts as 0."""
        ### BEGIN SOLUTION
        logits = self.actor(obs)
        log_p = logits - torch.logsumexp(logits, dim=-1, keepdim=True)
        return -(log_p.exp() * log_p).sum(-1)
        ### END SOLUTION

    def sample(self, obs: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        """One action per row, drawn from softmax(logits): int64 tensor (B,).

        Draw with `torch.multinomial(probs, 1, generator=generator)` so that a seeded generator
        gives reproducible actions."""
        ### BEGIN SOLUTION
        probs = torch.softmax(self.actor(obs), dim=-1)
        return torch.multinomial(probs, 1, generator=generator).squeeze(-1)
        ### END SOLUTION


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
        ### BEGIN SOLUTION
        mu = self.actor(obs)
        z = (actions - mu) / self.log_std.exp()
        return (-0.5 * z**2 - self.log_std - 0.5 * math.log(2 * math.pi)).sum(-1)
        ### END SOLUTION

    def entropy(self, obs: torch.Tensor) -> torch.Tensor:
        """Entropy of the Gaussian, sum_j (1/2) log(2 pi e sigma_j^2), repeated for each row: (B,)."""
        ### BEGIN SOLUTION
        per_dim = 0.5 * math.log(2 * math.pi * math.e) + self.log_std
        return per_dim.sum().expand(obs.shape[0])
        ### END SOLUTION

    def sample(self, obs: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        """mu(s) + sigma * eps with eps = torch.randn(mu.shape, generator=generator): (B, act_dim)."""
        ### BEGIN SOLUTION
        mu = self.actor(obs)
        eps = torch.randn(mu.shape, generator=generator, dtype=mu.dtype)
        return mu + self.log_std.exp() * eps
        ### END SOLUTION


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
    ### BEGIN SOLUTION
    returns = returns.detach()
    advantage = (returns - values).detach()
    return -(log_probs * advantage).mean() + vf_coef * ((values - returns) ** 2).mean()
    ### END SOLUTION


def normalize_advantages(advantages: torch.Tensor, eps: float = 1e-8) -> torch.Tensor:
    """(A - mean(A)) / (std(A) + eps) over all entries, with the unbiased std (torch's default)."""
    ### BEGIN SOLUTION
    return (advantages - advantages.mean()) / (advantages.std() + eps)
    ### END SOLUTION


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
    ### BEGIN SOLUTION
    old_log_probs, advantages = old_log_probs.detach(), advantages.detach()
    old_values, returns = old_values.detach(), returns.detach()
    log_ratio = new_log_probs - old_log_probs
    ratio = log_ratio.exp()
    policy_loss = torch.max(-advantages * ratio, -advantages * ratio.clamp(1 - clip_coef, 1 + clip_coef)).mean()
    if clip_vloss:
        clipped = old_values + (new_values - old_values).clamp(-clip_coef, clip_coef)
        value_loss = 0.5 * torch.max((new_values - returns) ** 2, (clipped - returns) ** 2).mean()
    else:
        value_loss = 0.5 * ((new_values - returns) ** 2).mean()
    mean_entropy = entropy.mean()
    loss = policy_loss - ent_coef * mean_entropy + vf_coef * value_loss
    with torch.no_grad():
        approx_kl = ((ratio - 1) - log_ratio).mean()
        clip_fraction = ((ratio - 1).abs() > clip_coef).float().mean()
    return {"loss": loss, "policy_loss": policy_loss, "value_loss": value_loss, "entropy": mean_entropy,
            "approx_kl": approx_kl, "clip_fraction": clip_fraction}
    ### END SOLUTION


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
    ### BEGIN SOLUTION
    cfg = {**CONFIG, **overrides}
    if total_steps is not None:
        cfg["total_steps"] = total_steps
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    envs = make_envs(env_id, cfg["n_envs"], seed)
    obs_dim = envs[0].observation_space.shape[0]
    policy = CategoricalPolicy(obs_dim, envs[0].action_space.n)
    optimizer = torch.optim.Adam(policy.parameters(), lr=cfg["lr"], eps=1e-5)
    N, T = cfg["n_envs"], cfg["n_steps"]
    obs = torch.tensor(np.stack([env.reset(seed=seed + i)[0] for i, env in enumerate(envs)]), dtype=torch.float32)
    n_updates = max(1, cfg["total_steps"] // (N * T))
    for update in range(n_updates):
        frac = 1.0 - update / n_updates
        for group in optimizer.param_groups:
            group["lr"] = cfg["lr"] * frac
        clip = cfg["clip_coef"] * frac

        buf = {k: torch.zeros(T, N) for k in ("logp", "values", "next_values", "rewards", "terminated", "truncated")}
        buf_obs, buf_actions = torch.zeros(T, N, obs_dim), torch.zeros(T, N, dtype=torch.long)
        for t in range(T):
            with torch.no_grad():
                actions = policy.sample(obs, gen)
                buf["logp"][t] = policy.log_prob(obs, actions)
                buf["values"][t] = policy.value(obs)
            buf_obs[t], buf_actions[t] = obs, actions
            next_obs, final_obs = [], []
            for i, env in enumerate(envs):
                o, r, term, trunc, _ = env.step(int(actions[i]))
                buf["rewards"][t, i], buf["terminated"][t, i], buf["truncated"][t, i] = r, float(term), float(trunc)
                final_obs.append(o)
                next_obs.append(env.reset()[0] if term or trunc else o)
            with torch.no_grad():
                buf["next_values"][t] = policy.value(torch.tensor(np.stack(final_obs), dtype=torch.float32))
            obs = torch.tensor(np.stack(next_obs), dtype=torch.float32)

        advantages, returns = gae(buf["rewards"], buf["values"], buf["next_values"], buf["terminated"],
                                  buf["truncated"], cfg["gamma"], cfg["lam"])
        flat = dict(obs=buf_obs.reshape(T * N, obs_dim), actions=buf_actions.reshape(-1), logp=buf["logp"].reshape(-1),
                    values=buf["values"].reshape(-1), advantages=advantages.reshape(-1), returns=returns.reshape(-1))
        for _ in range(cfg["n_epochs"]):
            order = torch.randperm(T * N, generator=gen)
            for start in range(0, T * N, cfg["minibatch_size"]):
                idx = order[start:start + cfg["minibatch_size"]]
                mb = {k: v[idx] for k, v in flat.items()}
                out = ppo_loss(policy.log_prob(mb["obs"], mb["actions"]), mb["logp"],
                               normalize_advantages(mb["advantages"]), policy.value(mb["obs"]), mb["values"],
                               mb["returns"], policy.entropy(mb["obs"]), clip_coef=clip,
                               vf_coef=cfg["vf_coef"], ent_coef=cfg["ent_coef"])
                optimizer.zero_grad()
                out["loss"].backward()
                nn.utils.clip_grad_norm_(policy.parameters(), cfg["max_grad_norm"])
                optimizer.step()
        if callback is not None:
            callback((update + 1) * N * T, policy)
    for env in envs:
        env.close()
    return {k: v.detach().clone() for k, v in policy.state_dict().items()}
    ### END SOLUTION


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
