"""Public tests for the PPO assignment: small cases you can check by hand.

Run them with `adl test ppo` or `pytest` in the assignment folder. The hidden tests use fresh
random buffers and networks, compare against torch.distributions and autograd, and train your
`train_ppo` on three seeds; passing these is a good sign, not a guarantee.
"""

import math

import pytest
import torch


def close(actual, expected, **kw):
    torch.testing.assert_close(torch.as_tensor(actual).float(), torch.as_tensor(expected).float(), **kw)


# ----------------------------------------------------------------------------- part 1: returns and GAE


def test_returns_without_episode_ends(submission):
    """One environment, rewards 1, 1, 1, gamma 0.5, the buffer ends mid-episode with V = 8:
    G_2 = 1 + 0.5 * 8 = 5, G_1 = 1 + 0.5 * 5 = 3.5, G_0 = 1 + 0.5 * 3.5 = 2.75."""
    zeros = torch.zeros(3, 1)
    next_values = torch.tensor([[0.0], [0.0], [8.0]])
    got = submission.call("discounted_returns", torch.ones(3, 1), next_values, zeros, zeros, 0.5)
    close(got, [[2.75], [3.5], [5.0]])


def test_returns_stop_at_termination(submission):
    """Terminated at t = 1: G_1 = r_1 = 1 and G_0 = 1 + 0.5 * 1; t = 2 starts a new episode."""
    term = torch.tensor([[0.0], [1.0], [0.0]])
    next_values = torch.tensor([[100.0], [100.0], [4.0]])
    got = submission.call("discounted_returns", torch.ones(3, 1), next_values, term, torch.zeros(3, 1), 0.5)
    close(got, [[1.5], [1.0], [3.0]])


def test_gae_with_lambda_zero_is_the_td_error(submission):
    """lam = 0: A_t = r_t + gamma * V(next) * (1 - terminated) - V(s_t)."""
    r = torch.tensor([[1.0, 0.0], [2.0, 1.0]])
    v = torch.tensor([[0.5, 1.0], [1.0, 2.0]])
    nv = torch.tensor([[1.0, 2.0], [3.0, 4.0]])
    term = torch.tensor([[0.0, 0.0], [1.0, 0.0]])
    adv, ret = submission.call("gae", r, v, nv, term, torch.zeros(2, 2), 0.9, 0.0)
    close(adv, [[1.0 + 0.9 * 1.0 - 0.5, 0.0 + 0.9 * 2.0 - 1.0], [2.0 - 1.0, 1.0 + 0.9 * 4.0 - 2.0]])
    close(ret, adv + v)


def test_gae_truncation_bootstraps(submission):
    """Truncated at t = 0 (a time limit): delta_0 = r_0 + gamma V(final obs) - V(s_0), and A_0 = delta_0
    (the next step belongs to a new episode)."""
    r = torch.tensor([[1.0], [5.0]])
    v = torch.tensor([[0.0], [0.0]])
    nv = torch.tensor([[10.0], [0.0]])
    adv, _ = submission.call("gae", r, v, nv, torch.zeros(2, 1), torch.tensor([[1.0], [0.0]]), 0.5, 0.9)
    close(adv[0], [6.0])


# ----------------------------------------------------------------------------- part 2: policies


def test_categorical_uniform_logits(submission):
    """With all-zero weights the logits are 0: log pi(a) = -log n and the entropy is log n."""
    policy = submission.call("CategoricalPolicy", 4, 3, hidden=8)
    state = {k: torch.zeros_like(v) for k, v in policy.state_dict().items()}
    policy.load_state_dict(state)
    obs = torch.randn(5, 4)
    close(policy.log_prob(obs, torch.tensor([0, 1, 2, 0, 1])), torch.full((5,), -math.log(3)))
    close(policy.entropy(obs), torch.full((5,), math.log(3)))
    actions = policy.sample(obs, torch.Generator().manual_seed(0))
    assert actions.shape == (5,) and actions.dtype == torch.int64


def test_gaussian_at_the_mean(submission):
    """With zero weights, mu = 0 and sigma = 1: log p(0) = -d/2 log(2 pi); entropy = d/2 log(2 pi e)."""
    policy = submission.call("GaussianPolicy", 3, 2, hidden=8)
    policy.load_state_dict({k: torch.zeros_like(v) for k, v in policy.state_dict().items()})
    obs = torch.randn(4, 3)
    close(policy.log_prob(obs, torch.zeros(4, 2)), torch.full((4,), -math.log(2 * math.pi)))
    close(policy.entropy(obs), torch.full((4,), math.log(2 * math.pi * math.e)))


# ----------------------------------------------------------------------------- part 3: losses


def test_ppo_loss_at_ratio_one(submission):
    """When new == old log-probs the ratio is 1: the policy loss is -mean(A), nothing is clipped, KL is 0."""
    A = torch.tensor([1.0, -2.0, 4.0])
    logp = torch.tensor([-0.5, -1.0, -2.0])
    values = torch.tensor([0.0, 1.0, 2.0])
    out = submission.call("ppo_loss", logp, logp, A, values, values, values + 1.0, torch.ones(3),
                          clip_coef=0.2, vf_coef=0.5, ent_coef=0.1, clip_vloss=True)
    close(out["policy_loss"], -1.0)
    close(out["value_loss"], 0.5)            # 0.5 * mean(1^2)
    close(out["entropy"], 1.0)
    close(out["loss"], -1.0 - 0.1 * 1.0 + 0.5 * 0.5)
    close(out["clip_fraction"], 0.0)
    close(out["approx_kl"], 0.0)


def test_normalize_advantages(submission):
    """The result has mean 0 and (unbiased) standard deviation 1."""
    out = submission.call("normalize_advantages", torch.tensor([1.0, 2.0, 3.0, 6.0]))
    close(out.mean(), 0.0, atol=1e-6, rtol=0)
    close(out.std(), 1.0, atol=1e-5, rtol=0)


def test_reinforce_loss_with_a_perfect_baseline(submission):
    """When the baseline equals the returns, both terms are zero."""
    out = submission.call("reinforce_loss", torch.tensor([-1.0, -2.0]), torch.tensor([3.0, 1.0]),
                          torch.tensor([3.0, 1.0]))
    close(out, 0.0)


# ----------------------------------------------------------------------------- part 4: training


def test_train_returns_the_policy_weights(submission):
    """A very short run returns a state_dict with the CategoricalPolicy(4, 2) keys and shapes. (The
    grader trains with the default CONFIG on three seeds and evaluates the weights itself.)"""
    weights = submission.call("train_ppo", "CartPole-v1", 0, total_steps=512)
    assert isinstance(weights, dict)
    expected = submission.call("CategoricalPolicy", 4, 2).state_dict()
    assert sorted(weights) == sorted(expected)
    for key in expected:
        assert tuple(weights[key].shape) == tuple(expected[key].shape), key
