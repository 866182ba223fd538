"""Hidden tests for the PPO assignment.

Inputs are drawn fresh from `seed`. Oracles:
* returns and GAE: direct sums over each episode segment, written per environment in float64
  (a different formulation from the backward recursion the task sheet describes);
* policies: `torch.distributions.Categorical` / `Normal` on the trusted side, with the same weights;
* losses: the PPO-clip formulas evaluated here, gradients by `torch.autograd` here, compared with
  the student's gradients (computed on their side by the given `loss_gradients` adapter);
* learning: the grader's own evaluation of the returned weights in its own `CategoricalPolicy`
  (the reference network), greedy actions, 100 episodes from seeds the student never sees.

Independence: the loss tests need no rollout; the learning test is the only one that runs the
student's `train_ppo`.
"""

import math

import numpy as np
import pytest
import torch
from torch.distributions import Categorical, Normal

from autograder.checks import assert_close, check, finite_number

F32, F64 = torch.float32, torch.float64


# ----------------------------------------------------------------------------- helpers


def buffer(g, T, N, p_term=0.06, p_trunc=0.04):
    """A random rollout buffer: float32 (T, N) rewards, values, next values, 0/1 flags.

    Terminations and truncations fall anywhere, the last step included; a step is never both."""
    rewards = torch.randn(T, N, generator=g, dtype=F64).to(F32)
    values = torch.randn(T, N, generator=g, dtype=F64).to(F32)
    next_values = torch.randn(T, N, generator=g, dtype=F64).to(F32)
    u = torch.rand(T, N, generator=g, dtype=F64)
    terminated = (u < p_term).to(F32)
    truncated = ((u >= p_term) & (u < p_term + p_trunc)).to(F32)
    return rewards, values, next_values, terminated, truncated


def segment_end(term, trunc, t, T):
    """First k >= t where the episode stops (terminated or truncated), or T-1."""
    k = t
    while k < T - 1 and not (term[k] or trunc[k]):
        k += 1
    return k


def oracle_returns(rewards, next_values, terminated, truncated, gamma):
    """G_t = sum_{k=t}^{e} gamma^(k-t) r_k + gamma^(e-t+1) * bootstrap_e, per environment, float64."""
    r, nv = rewards.to(F64).numpy(), next_values.to(F64).numpy()
    term, trunc = terminated.numpy() > 0, truncated.numpy() > 0
    T, N = r.shape
    out = np.zeros((T, N))
    for i in range(N):
        for t in range(T):
            e = segment_end(term[:, i], trunc[:, i], t, T)
            discounts = gamma ** np.arange(e - t + 1)
            bootstrap = 0.0 if term[e, i] else nv[e, i]
            out[t, i] = (discounts * r[t:e + 1, i]).sum() + gamma ** (e - t + 1) * bootstrap
    return torch.from_numpy(out).to(F32)


def oracle_gae(rewards, values, next_values, terminated, truncated, gamma, lam):
    """A_t = sum_{k=t}^{e} (gamma lam)^(k-t) delta_k within the episode segment, float64."""
    r, v, nv = (x.to(F64).numpy() for x in (rewards, values, next_values))
    term, trunc = terminated.numpy() > 0, truncated.numpy() > 0
    delta = r + gamma * np.where(term, 0.0, nv) - v
    T, N = r.shape
    adv = np.zeros((T, N))
    for i in range(N):
        for t in range(T):
            e = segment_end(term[:, i], trunc[:, i], t, T)
            adv[t, i] = ((gamma * lam) ** np.arange(e - t + 1) * delta[t:e + 1, i]).sum()
    adv = torch.from_numpy(adv)
    return adv.to(F32), (adv + torch.from_numpy(v)).to(F32)


def policy_state(reference, kind, obs_dim, act, g):
    """Weights for the documented policy network, drawn from `g` (scaled so logits vary a lot)."""
    torch.manual_seed(int(torch.randint(2**31 - 1, (1,), generator=g)))
    if kind == "categorical":
        net = reference.CategoricalPolicy(obs_dim, act, hidden=16)
    else:
        net = reference.GaussianPolicy(obs_dim, act, hidden=16)
        with torch.no_grad():
            net.log_std.copy_(torch.randn(act, generator=g) * 0.7)
    with torch.no_grad():
        for p in net.actor.parameters():
            p.copy_(torch.randn(p.shape, generator=g) * 0.8)
    return net


def student_policy(submission, net, kind, obs_dim, act):
    cls = "CategoricalPolicy" if kind == "categorical" else "GaussianPolicy"
    handle = submission.call(cls, obs_dim, act, hidden=net.actor[0].out_features)
    handle.load_state_dict({k: v.detach().clone() for k, v in net.state_dict().items()})
    return handle


# ----------------------------------------------------------------------------- part 1: returns and GAE


@pytest.mark.parametrize("T,N", [(64, 5), (1, 3), (40, 1)])
def test_returns_match_segment_sums(submission, seed, T, N):
    """discounted_returns equals the per-episode discounted sums with bootstrapping (terminations and truncations mid-buffer)."""
    g = torch.Generator().manual_seed(seed)
    rewards, _, next_values, term, trunc = buffer(g, T, N)
    gamma = float(0.9 + 0.099 * torch.rand((), generator=g))
    got = submission.call("discounted_returns", rewards, next_values, term, trunc, gamma)
    assert_close(got, oracle_returns(rewards, next_values, term, trunc, gamma), what="returns", rtol=1e-4, atol=1e-4)


def test_returns_truncation_bootstraps_from_final_value(submission):
    """A truncated step bootstraps from next_values; a terminated one does not; neither runs into the next episode."""
    # One environment, 4 steps: truncated at t=1, terminated at t=3. Rewards 1, values of the
    # observations each step led to 10, 20, 30, 40; gamma = 0.5.
    rewards = torch.ones(4, 1)
    next_values = torch.tensor([[10.0], [20.0], [30.0], [40.0]])
    term = torch.tensor([[0.0], [0.0], [0.0], [1.0]])
    trunc = torch.tensor([[0.0], [1.0], [0.0], [0.0]])
    got = submission.call("discounted_returns", rewards, next_values, term, trunc, 0.5)
    want = oracle_returns(rewards, next_values, term, trunc, 0.5)
    assert_close(got, want, what="returns around a truncation and a termination", rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("lam", [0.0, 0.8, 1.0])
def test_gae_matches_segment_sums(submission, seed, lam):
    """gae's advantages and returns equal the per-episode sums of (gamma lam)-discounted TD errors."""
    g = torch.Generator().manual_seed(seed)
    rewards, values, next_values, term, trunc = buffer(g, 48, 6)
    gamma = float(0.9 + 0.099 * torch.rand((), generator=g))
    adv, ret = submission.call("gae", rewards, values, next_values, term, trunc, gamma, lam)
    want_adv, want_ret = oracle_gae(rewards, values, next_values, term, trunc, gamma, lam)
    assert_close(adv, want_adv, what="advantages", rtol=1e-4, atol=1e-4)
    assert_close(ret, want_ret, what="returns (advantages + values)", rtol=1e-4, atol=1e-4)


def test_gae_time_limits_and_terminations_differ(submission, seed):
    """The same transition gets different advantages when it truncates (bootstrap) or terminates (no bootstrap)."""
    g = torch.Generator().manual_seed(seed)
    rewards, values, next_values, _, _ = buffer(g, 8, 4)
    flags = torch.zeros(8, 4)
    flags[3] = 1.0
    for term, trunc, what in ((flags, torch.zeros(8, 4), "terminated at step 3"),
                              (torch.zeros(8, 4), flags, "truncated at step 3")):
        adv, _ = submission.call("gae", rewards, values, next_values, term, trunc, 0.99, 0.95)
        want, _ = oracle_gae(rewards, values, next_values, term, trunc, 0.99, 0.95)
        assert_close(adv, want, what=f"advantages, {what}", rtol=1e-4, atol=1e-4)


# ----------------------------------------------------------------------------- part 2: policies


@pytest.mark.parametrize("n_actions", [2, 5])
def test_categorical_log_prob_and_entropy(submission, reference, seed, n_actions):
    """CategoricalPolicy.log_prob and entropy equal torch.distributions.Categorical's on the same logits."""
    g = torch.Generator().manual_seed(seed)
    net = policy_state(reference, "categorical", 4, n_actions, g)
    handle = student_policy(submission, net, "categorical", 4, n_actions)
    obs = torch.randn(64, 4, generator=g) * 2
    actions = torch.randint(n_actions, (64,), generator=g)
    with torch.no_grad():
        dist = Categorical(logits=net.actor(obs).double())
    assert_close(handle.log_prob(obs, actions), dist.log_prob(actions).float(), what="log_prob", rtol=1e-4, atol=1e-4)
    assert_close(handle.entropy(obs), dist.entropy().float(), what="entropy", rtol=1e-4, atol=1e-4)


def test_categorical_extreme_logits_stay_finite(submission, reference):
    """log_prob and entropy are finite and correct when logits differ by thousands (stable log-softmax)."""
    net = reference.CategoricalPolicy(2, 3, hidden=4)
    with torch.no_grad():
        for p in net.actor.parameters():
            p.zero_()
        net.actor[-1].bias.copy_(torch.tensor([1000.0, -1000.0, 0.0]))
    handle = student_policy(submission, net, "categorical", 2, 3)
    obs = torch.zeros(3, 2)
    actions = torch.tensor([0, 1, 2])
    want = Categorical(logits=torch.tensor([1000.0, -1000.0, 0.0], dtype=F64).expand(3, 3))
    assert_close(handle.log_prob(obs, actions), want.log_prob(actions).float(), what="log_prob with logits of +-1000",
                 rtol=1e-5, atol=1e-3)
    assert_close(handle.entropy(obs), want.entropy().float(), what="entropy with logits of +-1000", atol=1e-4)


def test_categorical_sample_uses_the_generator(submission, reference, seed):
    """CategoricalPolicy.sample draws torch.multinomial(softmax(logits), 1, generator) as documented."""
    g = torch.Generator().manual_seed(seed)
    net = policy_state(reference, "categorical", 4, 3, g)
    handle = student_policy(submission, net, "categorical", 4, 3)
    obs = torch.randn(200, 4, generator=g) * 0.3
    draw_seed = int(torch.randint(2**31 - 1, (1,), generator=g))
    got = handle.sample(obs, torch.Generator().manual_seed(draw_seed))
    with torch.no_grad():
        want = torch.multinomial(torch.softmax(net.actor(obs), -1), 1,
                                 generator=torch.Generator().manual_seed(draw_seed)).squeeze(-1)
    assert_close(got, want, what="sampled actions")


@pytest.mark.parametrize("act_dim", [1, 3])
def test_gaussian_log_prob_and_entropy(submission, reference, seed, act_dim):
    """GaussianPolicy.log_prob and entropy equal those of torch.distributions.Normal, summed over action dimensions."""
    g = torch.Generator().manual_seed(seed)
    net = policy_state(reference, "gaussian", 3, act_dim, g)
    handle = student_policy(submission, net, "gaussian", 3, act_dim)
    obs = torch.randn(50, 3, generator=g)
    actions = torch.randn(50, act_dim, generator=g) * 2
    with torch.no_grad():
        dist = Normal(net.actor(obs).double(), net.log_std.exp().double())
    assert_close(handle.log_prob(obs, actions), dist.log_prob(actions.double()).sum(-1).float(), what="log_prob",
                 rtol=1e-4, atol=1e-4)
    assert_close(handle.entropy(obs), dist.entropy().sum(-1).float(), what="entropy", rtol=1e-4, atol=1e-4)


def test_gaussian_sample_uses_the_generator(submission, reference, seed):
    """GaussianPolicy.sample is mu + sigma * randn(generator), as documented."""
    g = torch.Generator().manual_seed(seed)
    net = policy_state(reference, "gaussian", 3, 2, g)
    handle = student_policy(submission, net, "gaussian", 3, 2)
    obs = torch.randn(100, 3, generator=g)
    draw_seed = int(torch.randint(2**31 - 1, (1,), generator=g))
    got = handle.sample(obs, torch.Generator().manual_seed(draw_seed))
    with torch.no_grad():
        mu = net.actor(obs)
        want = mu + net.log_std.exp() * torch.randn(mu.shape, generator=torch.Generator().manual_seed(draw_seed))
    assert_close(got, want, what="sampled actions", rtol=1e-5, atol=1e-5)


# ----------------------------------------------------------------------------- part 3: losses


def ppo_inputs(g, B=256):
    """Minibatch tensors whose ratios r = exp(new - old) spread over [0.4, 2.2], so every clipping
    region is populated, and advantages of both signs."""
    old = torch.randn(B, generator=g, dtype=F64) - 1.0
    new = old + (torch.rand(B, generator=g, dtype=F64) * 1.7 - 0.9)
    values_old = torch.randn(B, generator=g, dtype=F64)
    return dict(
        new_log_probs=new.float(), old_log_probs=old.float(),
        advantages=torch.randn(B, generator=g, dtype=F64).float(),
        new_values=(values_old + torch.randn(B, generator=g, dtype=F64) * 0.4).float(),
        old_values=values_old.float(), returns=(values_old + torch.randn(B, generator=g, dtype=F64)).float(),
        entropy=(torch.rand(B, generator=g, dtype=F64) + 0.2).float(),
    )


def oracle_ppo(x, clip_coef, vf_coef, ent_coef, clip_vloss):
    """The PPO-clip objective in float64 from the formulas; returns the dict of the specification."""
    d = {k: v.double() for k, v in x.items()}
    ratio = (d["new_log_probs"] - d["old_log_probs"]).exp()
    A = d["advantages"]
    policy = torch.maximum(-A * ratio, -A * ratio.clamp(1 - clip_coef, 1 + clip_coef)).mean()
    err = (d["new_values"] - d["returns"]) ** 2
    if clip_vloss:
        clipped = d["old_values"] + (d["new_values"] - d["old_values"]).clamp(-clip_coef, clip_coef)
        value = 0.5 * torch.maximum(err, (clipped - d["returns"]) ** 2).mean()
    else:
        value = 0.5 * err.mean()
    entropy = d["entropy"].mean()
    return {"loss": policy - ent_coef * entropy + vf_coef * value, "policy_loss": policy, "value_loss": value,
            "entropy": entropy, "approx_kl": ((ratio - 1) - ratio.log()).mean(),
            "clip_fraction": ((ratio - 1).abs() > clip_coef).double().mean()}


@pytest.mark.parametrize("clip_vloss", [True, False])
def test_ppo_loss_values(submission, seed, clip_vloss):
    """ppo_loss returns the clipped surrogate, (clipped) value loss, entropy, total loss and diagnostics of the formulas."""
    g = torch.Generator().manual_seed(seed)
    x = ppo_inputs(g)
    opts = dict(clip_coef=0.2, vf_coef=0.7, ent_coef=0.03, clip_vloss=clip_vloss)
    got = submission.call("ppo_loss", **x, **opts)
    check(isinstance(got, dict), "ppo_loss must return a dict of 0-d tensors")
    want = oracle_ppo(x, **opts)
    for key, value in want.items():
        check(key in got, f"ppo_loss's result has no {key!r} entry")
        assert_close(torch.as_tensor(got[key]).double().reshape(()), value, what=f"ppo_loss[{key!r}]",
                     rtol=1e-4, atol=1e-5)


def test_ppo_loss_gradients(submission, seed):
    """The gradient of ppo_loss's "loss" w.r.t. every input matches autograd on the formula; rollout inputs are constants."""
    g = torch.Generator().manual_seed(seed)
    x = ppo_inputs(g)
    opts = dict(clip_coef=0.2, vf_coef=0.5, ent_coef=0.01, clip_vloss=True)
    got = submission.call("loss_gradients", "ppo_loss", x, **opts)
    leaves = {k: v.double().requires_grad_(k in ("new_log_probs", "new_values", "entropy")) for k, v in x.items()}
    loss = oracle_ppo(leaves, **opts)["loss"]
    trainable = [k for k, v in leaves.items() if v.requires_grad]
    grads = dict(zip(trainable, torch.autograd.grad(loss, [leaves[k] for k in trainable])))
    for key in x:
        want = grads.get(key, torch.zeros_like(leaves[key])).float()
        what = f"d loss / d {key}" + ("" if key in grads else " (a rollout constant: should be zero)")
        assert_close(torch.as_tensor(got[key]), want, what=what, rtol=1e-4, atol=1e-6)


def test_ppo_loss_clipping_regions(submission):
    """No policy gradient where the ratio is clipped in the direction the advantage pushes; full gradient elsewhere."""
    # Four entries: (A > 0, r = 1.5), (A < 0, r = 0.5): clipped, zero gradient; (A > 0, r = 0.5),
    # (A < 0, r = 1.5): the unclipped term is the larger loss, gradient -A r / B.
    r = torch.tensor([1.5, 0.5, 0.5, 1.5])
    A = torch.tensor([1.0, -1.0, 1.0, -1.0])
    x = dict(new_log_probs=r.log(), old_log_probs=torch.zeros(4), advantages=A, new_values=torch.zeros(4),
             old_values=torch.zeros(4), returns=torch.zeros(4), entropy=torch.ones(4))
    got = submission.call("loss_gradients", "ppo_loss", x, clip_coef=0.2, vf_coef=0.5, ent_coef=0.0, clip_vloss=False)
    want = torch.tensor([0.0, 0.0, -0.5 / 4, 1.5 / 4])
    assert_close(torch.as_tensor(got["new_log_probs"]), want, what="d loss / d new_log_probs in the four clipping regions",
                 rtol=1e-4, atol=1e-6)


def test_reinforce_loss_value_and_gradients(submission, seed):
    """reinforce_loss equals the formula, and the baseline carries no gradient through the policy term."""
    g = torch.Generator().manual_seed(seed)
    B = 64
    x = dict(log_probs=(torch.randn(B, generator=g) - 1), returns=torch.randn(B, generator=g) * 3,
             values=torch.randn(B, generator=g))
    got = submission.call("reinforce_loss", **x, vf_coef=0.3)
    d = {k: v.double().requires_grad_(k != "returns") for k, v in x.items()}
    want = -(d["log_probs"] * (d["returns"] - d["values"]).detach()).mean() + 0.3 * ((d["values"] - d["returns"]) ** 2).mean()
    assert_close(torch.as_tensor(got).double().reshape(()), want.detach(), what="reinforce_loss", rtol=1e-4, atol=1e-5)
    grads = dict(zip(("log_probs", "values"), torch.autograd.grad(want, [d["log_probs"], d["values"]])))
    got_grads = submission.call("loss_gradients", "reinforce_loss", x, vf_coef=0.3)
    for key in x:
        want_g = grads.get(key, torch.zeros(B, dtype=F64)).float()
        assert_close(torch.as_tensor(got_grads[key]), want_g, what=f"d loss / d {key}", rtol=1e-4, atol=1e-6)


def test_normalize_advantages(submission, seed):
    """normalize_advantages gives (A - mean) / (unbiased std + eps)."""
    g = torch.Generator().manual_seed(seed)
    A = torch.randn(37, generator=g) * 5 + 3
    want = (A.double() - A.double().mean()) / (A.double().std() + 1e-8)
    assert_close(submission.call("normalize_advantages", A), want.float(), what="normalised advantages",
                 rtol=1e-4, atol=1e-5)


# ----------------------------------------------------------------------------- part 4: learning

SOLVED = 475.0
EVAL_EPISODES = 100


@pytest.mark.time_limit(600)
def test_learning_cartpole_two_of_three_seeds(submission, reference, seed):
    """train_ppo solves CartPole-v1 (greedy return >= 475 over 100 grader episodes) on at least 2 of 3 training seeds."""
    rng = np.random.default_rng(seed)
    train_seeds = [int(s) for s in rng.integers(0, 2**20, size=3)]
    eval_seed = int(rng.integers(10**6, 2 * 10**6))
    solved, means = 0, []
    for s in train_seeds:
        weights = submission.call("train_ppo", "CartPole-v1", s)
        check(isinstance(weights, dict), "train_ppo must return the policy's state_dict (a dict of tensors)")
        try:
            returns = reference.evaluate(weights, "CartPole-v1", EVAL_EPISODES, seed=eval_seed)
        except (RuntimeError, KeyError, TypeError, ValueError) as exc:
            check(False, f"the returned weights do not load into CategoricalPolicy(4, 2) ({type(exc).__name__})")
        means.append(float(returns.mean()))
        solved += means[-1] >= SOLVED
    check(solved >= 2, f"solved CartPole-v1 on {solved} of 3 training seeds (mean greedy returns "
                       f"{', '.join(f'{m:.0f}' for m in means)}; 475 needed on 2 of 3)")
