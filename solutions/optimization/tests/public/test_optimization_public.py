"""Public tests for the optimisation assignment: small cases you can check by hand.

Run them with `adl test optimization` or `pytest` in the assignment folder. Passing them is a good
sign but not a guarantee: the hidden tests run the optimisers for many steps next to `torch.optim`,
compare the norm layers with `torch.nn` and autograd, and use fresh random inputs every time.
"""

import math

import pytest
import torch
import torch.nn.functional as F


def close(actual, expected, **kw):
    torch.testing.assert_close(torch.as_tensor(actual), torch.as_tensor(expected), **kw)


def run(submission, name, p0, grads, **kw):
    """The parameter (a single tensor) after each step, for hand-written gradient lists."""
    opt = submission.call(name, [torch.tensor(p0, dtype=torch.float64)], **kw)
    return [float(opt.step([torch.tensor(g, dtype=torch.float64)])[0]) for g in grads]


# ----------------------------------------------------------------------------- part 1: SGD


def test_sgd_plain_steps(submission):
    """p = 1, gradients 2 then -1, lr 0.1: p goes 1 -> 0.8 -> 0.9."""
    close(run(submission, "SGD", 1.0, [2.0, -1.0], lr=0.1), [0.8, 0.9])


def test_sgd_momentum_by_hand(submission):
    """mu = 0.5, lr = 1, gradient 1 each step: buffers 1, 1.5, 1.75, so p = -1, -2.5, -4.25."""
    close(run(submission, "SGD", 0.0, [1.0, 1.0, 1.0], lr=1.0, momentum=0.5), [-1.0, -2.5, -4.25])


def test_sgd_nesterov_by_hand(submission):
    """Nesterov steps by g + mu*b: with b = 1, 1.5, the steps are 1.5 and 1.75."""
    close(run(submission, "SGD", 0.0, [1.0, 1.0], lr=1.0, momentum=0.5, nesterov=True), [-1.5, -3.25])


def test_sgd_weight_decay(submission):
    """L2 decay adds lambda*p to the gradient: with g = 0, p = (2, -4) becomes p - 0.5 * 0.1 * p."""
    opt = submission.call("SGD", [torch.tensor([2.0, -4.0])], lr=0.5, weight_decay=0.1)
    close(opt.step([torch.zeros(2)])[0], torch.tensor([1.9, -3.8]))


# ----------------------------------------------------------------------------- part 2: RMSProp


def test_rmsprop_first_step(submission):
    """With v = 0, the first step is lr * g / (sqrt(1 - alpha) * |g| + eps): about lr / sqrt(1 - alpha) for alpha = 0.75."""
    (p,) = run(submission, "RMSProp", 0.0, [3.0], lr=0.1, alpha=0.75, eps=0.0)
    assert math.isclose(p, -0.2, rel_tol=1e-12)


# ----------------------------------------------------------------------------- part 3: Adam


def test_adam_first_step_is_lr_times_sign(submission):
    """With bias correction, Adam's first step is lr * g / (|g| + eps): the size does not depend on |g|."""
    for g in (1e-3, 5.0, -20.0):
        (p,) = run(submission, "Adam", 0.0, [g], lr=0.01, eps=0.0)
        assert math.isclose(p, -0.01 * math.copysign(1.0, g), rel_tol=1e-12)


def test_adam_matches_torch_few_steps(submission):
    """Five steps with fixed gradients agree with torch.optim.Adam (a public oracle)."""
    grads = [0.5, -1.0, 2.0, 0.0, 0.3]
    ours = run(submission, "Adam", 1.0, grads, lr=0.1)
    p = torch.nn.Parameter(torch.tensor(1.0, dtype=torch.float64))
    opt = torch.optim.Adam([p], lr=0.1)
    theirs = []
    for g in grads:
        p.grad = torch.tensor(g, dtype=torch.float64)
        opt.step()
        theirs.append(float(p.detach()))
    close(ours, theirs)


# ----------------------------------------------------------------------------- part 4: AdamW


def test_adamw_decay_only_with_zero_gradient(submission):
    """With g = 0 Adam's step is 0, so AdamW only decays: p = 2 * (1 - 0.1 * 0.5) = 1.9 after one step.

    (The paper's convention, decay not scaled by lr, gives 2 * (1 - 0.5) = 1; both are accepted.)
    """
    (p,) = run(submission, "AdamW", 2.0, [0.0], lr=0.1, weight_decay=0.5)
    assert math.isclose(p, 1.9, rel_tol=1e-12) or math.isclose(p, 1.0, rel_tol=1e-12)


# ----------------------------------------------------------------------------- part 5: clipping


def test_clip_3_4_5(submission):
    """Gradients (3) and (4) have global norm 5; clipped to norm 1 they become 0.6 and 0.8."""
    clipped, total = submission.call("clip_grad_norm", [torch.tensor([3.0]), torch.tensor([4.0])], 1.0)
    assert math.isclose(total, 5.0, rel_tol=1e-6)
    close(clipped[0], torch.tensor([0.6]), rtol=1e-5, atol=1e-6)
    close(clipped[1], torch.tensor([0.8]), rtol=1e-5, atol=1e-6)


def test_clip_small_gradients_unchanged(submission):
    """A global norm below max_norm leaves the gradients as they are."""
    clipped, total = submission.call("clip_grad_norm", [torch.tensor([0.3, 0.4])], 1.0)
    assert math.isclose(total, 0.5, rel_tol=1e-6)
    close(clipped[0], torch.tensor([0.3, 0.4]))


# ----------------------------------------------------------------------------- part 6: schedules


def test_schedule_step(submission):
    """step_lr halves the rate every 3 steps."""
    got = [submission.call("step_lr", t, 1.0, 3, gamma=0.5) for t in range(7)]
    close(got, [1.0, 1.0, 1.0, 0.5, 0.5, 0.5, 0.25])


def test_schedule_cosine(submission):
    """cosine_lr: base at 0, halfway at T/2, min at T, and min afterwards."""
    got = [submission.call("cosine_lr", t, 1.0, 4, min_lr=0.2) for t in (0, 2, 4, 9)]
    close(got, [1.0, 0.6, 0.2, 0.2])


def test_schedule_warmup_cosine(submission):
    """W = 4: 0.25, 0.5, 0.75, 1 during warm-up, then cosine from 1 at t = 4 to 0 at t = 8."""
    got = [submission.call("warmup_cosine_lr", t, 1.0, 4, 8) for t in range(10)]
    half = (1 + math.cos(math.pi / 4)) / 2
    close(got, [0.25, 0.5, 0.75, 1.0, 1.0, half, 0.5, 1 - half, 0.0, 0.0])


# ----------------------------------------------------------------------------- part 7: batch norm


def test_batchnorm_train_by_hand(submission):
    """A column (1, 3): mean 2, biased variance 1, so the output is (-1, 1); the running var uses N-1 = 1."""
    x = torch.tensor([[1.0], [3.0]], dtype=torch.float64)
    one, zero = torch.ones(1, dtype=torch.float64), torch.zeros(1, dtype=torch.float64)
    out, rm, rv = submission.call("batchnorm_forward", x, one, zero, zero, one, training=True, momentum=0.5, eps=0.0)
    close(out, torch.tensor([[-1.0], [1.0]], dtype=torch.float64))
    close(rm, torch.tensor([1.0], dtype=torch.float64))   # 0.5 * 0 + 0.5 * 2
    close(rv, torch.tensor([1.5], dtype=torch.float64))   # 0.5 * 1 + 0.5 * 2 (unbiased var = 2)


def test_batchnorm_eval_by_hand(submission):
    """Eval mode uses the running statistics: (x - 1) / sqrt(4) * 3 + 1, and leaves them unchanged."""
    x = torch.tensor([[5.0]], dtype=torch.float64)
    t = lambda v: torch.tensor([v], dtype=torch.float64)  # noqa: E731
    out, rm, rv = submission.call("batchnorm_forward", x, t(3.0), t(1.0), t(1.0), t(4.0), training=False, eps=0.0)
    close(out, torch.tensor([[7.0]], dtype=torch.float64))
    close(rm, t(1.0))
    close(rv, t(4.0))


def test_batchnorm_backward_matches_autograd_small(submission):
    """On a small float64 batch, the hand-written backward equals autograd through torch's batch_norm."""
    g = torch.Generator().manual_seed(0)
    x = torch.randn(4, 3, dtype=torch.float64, generator=g).requires_grad_()
    gamma = torch.randn(3, dtype=torch.float64, generator=g).requires_grad_()
    beta = torch.randn(3, dtype=torch.float64, generator=g).requires_grad_()
    dout = torch.randn(4, 3, dtype=torch.float64, generator=g)
    F.batch_norm(x, None, None, gamma, beta, True, 0.0, 1e-5).backward(dout)
    dx, dgamma, dbeta = submission.call("batchnorm_backward", dout, x.detach(), gamma.detach(), eps=1e-5)
    close(dx, x.grad)
    close(dgamma, gamma.grad)
    close(dbeta, beta.grad)


# ----------------------------------------------------------------------------- part 8: layer norm


def test_layernorm_by_hand(submission):
    """The row (0, 2, 4) has mean 2 and biased variance 8/3; each row is normalised on its own."""
    x = torch.tensor([[0.0, 2.0, 4.0], [1.0, 1.0, 1.0]], dtype=torch.float64)
    one, zero = torch.ones(3, dtype=torch.float64), torch.zeros(3, dtype=torch.float64)
    out = submission.call("layernorm_forward", x, one, zero, eps=1e-12)
    s = math.sqrt(8.0 / 3.0)
    close(out, torch.tensor([[-2 / s, 0.0, 2 / s], [0.0, 0.0, 0.0]], dtype=torch.float64), atol=1e-5, rtol=1e-5)


def test_layernorm_backward_matches_autograd_small(submission):
    """On a small float64 input of shape (2, 3, 4), the hand-written backward equals autograd through layer_norm."""
    g = torch.Generator().manual_seed(1)
    x = torch.randn(2, 3, 4, dtype=torch.float64, generator=g).requires_grad_()
    gamma = torch.randn(4, dtype=torch.float64, generator=g).requires_grad_()
    beta = torch.randn(4, dtype=torch.float64, generator=g).requires_grad_()
    dout = torch.randn(2, 3, 4, dtype=torch.float64, generator=g)
    F.layer_norm(x, (4,), gamma, beta, 1e-5).backward(dout)
    dx, dgamma, dbeta = submission.call("layernorm_backward", dout, x.detach(), gamma.detach(), eps=1e-5)
    close(dx, x.grad)
    close(dgamma, gamma.grad)
    close(dbeta, beta.grad)
