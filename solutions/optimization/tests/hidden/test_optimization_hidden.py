"""Hidden tests for the optimisation assignment.

Every input is drawn fresh from `torch.Generator().manual_seed(seed)`. Oracles are PyTorch's own
implementations, run here on the trusted side from the same starting point: `torch.optim`
optimisers fed the same gradients for many steps, `torch.optim.lr_scheduler` schedules,
`torch.nn.utils.clip_grad_norm_`, `torch.nn.functional.batch_norm` / `nn.BatchNorm1d` /
`layer_norm`, and `torch.autograd` in float64 for the backward passes. Every comparison of
student output goes through `autograder.checks`, whose messages never show expected values.

Independence: every optimiser, schedule and norm function is graded on its own (no test of one
part calls another part's function); the backward passes take `x` rather than a cache, so they
are graded even when the forward pass is wrong.
"""

import math

import pytest
import torch
import torch.nn.functional as F

from autograder.checks import PropertyFailure, assert_close, check
from autograder.remote import StudentError

F32, F64 = torch.float32, torch.float64
SHAPES = [(4, 3), (5,), (2, 3, 2)]


# ----------------------------------------------------------------------------- helpers


def rand(g, *shape, dtype=F64, scale=1.0):
    return (torch.randn(*shape, generator=g, dtype=F64) * scale).to(dtype)


def start_params(g, dtype=F64):
    return [rand(g, *s, dtype=dtype) for s in SHAPES]


def grad_sequence(g, steps, dtype=F64, zero_every=0, none_for=None):
    """Gradients whose scale changes from step to step (so adaptive methods are exercised).

    `zero_every=k`: every k-th step has all-zero gradients. `none_for=(i, n)`: parameter i has no
    gradient (None) for its first n steps.
    """
    seq = []
    for t in range(steps):
        scale = float(torch.exp(torch.randn((), generator=g, dtype=F64)))
        grads = [rand(g, *s, dtype=dtype, scale=scale) for s in SHAPES]
        if zero_every and t % zero_every == zero_every - 1:
            grads = [torch.zeros_like(x) for x in grads]
        if none_for is not None and t < none_for[1]:
            grads[none_for[0]] = None
        seq.append(grads)
    return seq


def torch_trajectory(cls, kwargs, params0, grads_seq, lrs=None):
    """Parameters after each step of a torch.optim optimiser fed `grads_seq`: one (steps, *shape) tensor per parameter."""
    params = [torch.nn.Parameter(p.clone()) for p in params0]
    opt = cls(params, **kwargs)
    history = [[] for _ in params]
    for t, grads in enumerate(grads_seq):
        if lrs is not None:
            for group in opt.param_groups:
                group["lr"] = lrs[t]
        for p, grad in zip(params, grads):
            p.grad = None if grad is None else grad.clone()
        opt.step()
        for h, p in zip(history, params):
            h.append(p.detach().clone())
    return [torch.stack(h) for h in history]


def student_trajectory(submission, name, kwargs, params0, grads_seq, lrs=None):
    """The same for the student's optimiser; each step's returned parameters are recorded."""
    opt = submission.call(name, [p.clone() for p in params0], **kwargs)
    history = [[] for _ in params0]
    for t, grads in enumerate(grads_seq):
        if lrs is not None:
            opt.set_lr(lrs[t])
        out = opt.step(grads)
        check(isinstance(out, (list, tuple)) and len(out) == len(params0),
              "step() must return the list of parameters (Optimizer.step does this; do not override it)")
        for h, p in zip(history, out):
            h.append(torch.as_tensor(p).clone())
    return [torch.stack(h) for h in history]


def compare_trajectories(got, want, what, **tol):
    for i, (a, b) in enumerate(zip(got, want)):
        assert_close(a, b, what=f"{what}: parameter {i} over {b.shape[0]} steps", **tol)


def quadratic(g, d=6, cond=30.0):
    """An ill-conditioned convex quadratic f(p) = 1/2 p^T A p - b^T p with eigenvalues in [1, cond]."""
    q, _ = torch.linalg.qr(rand(g, d, d))
    eig = torch.logspace(0, math.log10(cond), d, dtype=F64)
    a = q @ torch.diag(eig) @ q.T
    return (a + a.T) / 2, rand(g, d)


def closed_loop(submission, name, cls, kwargs, g, steps=60):
    """Run the student's optimiser and torch's on the same quadratic, each on its own gradients."""
    a, b = quadratic(g)
    p0 = rand(g, 6, scale=3.0)
    ours = submission.call(name, [p0.clone()], **kwargs)
    theirs = torch.nn.Parameter(p0.clone())
    opt = cls([theirs], **kwargs)
    got, want = [], []
    p = p0.clone()
    for _ in range(steps):
        p = torch.as_tensor(ours.step([a @ p - b])[0]).clone()
        got.append(p)
        theirs.grad = (a @ theirs.detach() - b).clone()
        opt.step()
        want.append(theirs.detach().clone())
    return torch.stack(got), torch.stack(want)


def raised(fn):
    """The name of the exception type `fn()` raises in the student's code, or None."""
    try:
        fn()
    except StudentError as exc:
        return exc.type
    except Exception as exc:  # noqa: BLE001 (in-process runs raise the student's own exception)
        return type(exc).__name__
    return None


# ----------------------------------------------------------------------------- part 1: SGD

SGD_CASES = {  # id -> kwargs (lr fixed per case; momentum forms agree when lr is constant)
    "plain": dict(lr=0.1),
    "momentum": dict(lr=0.05, momentum=0.9),
    "nesterov": dict(lr=0.05, momentum=0.9, nesterov=True),
    "nesterov_wd": dict(lr=0.02, momentum=0.5, nesterov=True, weight_decay=0.1),
    "momentum_wd": dict(lr=0.03, momentum=0.8, weight_decay=0.05),
}


@pytest.mark.parametrize("case", list(SGD_CASES))
def test_sgd_trajectory_matches_torch(submission, seed, case):
    """Fed the same gradients for 40 steps, SGD's parameters follow torch.optim.SGD exactly (float64)."""
    g = torch.Generator().manual_seed(seed)
    kwargs = SGD_CASES[case]
    params0, grads = start_params(g), grad_sequence(g, 40)
    got = student_trajectory(submission, "SGD", kwargs, params0, grads)
    compare_trajectories(got, torch_trajectory(torch.optim.SGD, kwargs, params0, grads), f"SGD ({case})")


def test_sgd_plain_follows_changing_lr(submission, seed):
    """Plain SGD uses the learning rate set by set_lr() before each step."""
    g = torch.Generator().manual_seed(seed)
    params0, grads = start_params(g), grad_sequence(g, 20)
    lrs = (torch.rand(20, generator=g, dtype=F64) * 0.2).tolist()
    got = student_trajectory(submission, "SGD", dict(lr=0.1), params0, grads, lrs)
    compare_trajectories(got, torch_trajectory(torch.optim.SGD, dict(lr=0.1), params0, grads, lrs), "SGD with a schedule")


def test_sgd_float32(submission, seed):
    """In float32 the Nesterov trajectory stays float32 and within float32 accuracy of torch's."""
    g = torch.Generator().manual_seed(seed)
    kwargs = dict(lr=0.05, momentum=0.9, nesterov=True, weight_decay=0.01)
    params0, grads = start_params(g, F32), grad_sequence(g, 15, F32)
    got = student_trajectory(submission, "SGD", kwargs, params0, grads)
    compare_trajectories(got, torch_trajectory(torch.optim.SGD, kwargs, params0, grads), "SGD in float32",
                         rtol=1e-4, atol=1e-4)


def test_sgd_first_step_starts_from_zero_buffer(submission, seed):
    """With the buffer at 0, the first momentum step is p - lr*g and the first Nesterov step p - lr*(1+mu)*g."""
    g = torch.Generator().manual_seed(seed)
    p0, grad = rand(g, 7), rand(g, 7)
    for nesterov, factor in ((False, 1.0), (True, 1.9)):
        opt = submission.call("SGD", [p0.clone()], lr=0.1, momentum=0.9, nesterov=nesterov)
        got = opt.step([grad])[0]
        assert_close(got, p0 - 0.1 * factor * grad, what=f"first step (nesterov={nesterov})")


def test_sgd_zero_and_missing_gradients(submission, seed):
    """Zero gradients keep momentum moving; a None gradient leaves its parameter and buffer untouched."""
    g = torch.Generator().manual_seed(seed)
    kwargs = dict(lr=0.05, momentum=0.9, nesterov=True)
    params0, grads = start_params(g), grad_sequence(g, 24, zero_every=3, none_for=(1, 6))
    got = student_trajectory(submission, "SGD", kwargs, params0, grads)
    compare_trajectories(got, torch_trajectory(torch.optim.SGD, kwargs, params0, grads), "SGD with zero/None gradients")


def test_sgd_closed_loop_quadratic(submission, seed):
    """On an ill-conditioned quadratic, each optimiser on its own gradients, Nesterov SGD tracks torch for 60 steps."""
    g = torch.Generator().manual_seed(seed)
    got, want = closed_loop(submission, "SGD", torch.optim.SGD, dict(lr=0.02, momentum=0.9, nesterov=True), g)
    assert_close(got, want, what="Nesterov SGD on a quadratic", rtol=1e-6, atol=1e-8)


def test_sgd_instances_are_independent(submission, seed):
    """Two SGD optimisers stepped alternately keep separate momentum buffers."""
    g = torch.Generator().manual_seed(seed)
    kwargs = dict(lr=0.05, momentum=0.9)
    pa, pb = start_params(g), start_params(g)
    ga, gb = grad_sequence(g, 10), grad_sequence(g, 10)
    oa, ob = submission.call("SGD", [p.clone() for p in pa], **kwargs), submission.call("SGD", [p.clone() for p in pb], **kwargs)
    for t in range(10):
        last_a = [torch.as_tensor(x).clone() for x in oa.step(ga[t])]
        last_b = [torch.as_tensor(x).clone() for x in ob.step(gb[t])]
    want_a = [w[-1] for w in torch_trajectory(torch.optim.SGD, kwargs, pa, ga)]
    want_b = [w[-1] for w in torch_trajectory(torch.optim.SGD, kwargs, pb, gb)]
    compare_trajectories([x[None] for x in last_a], [x[None] for x in want_a], "first of two interleaved optimisers")
    compare_trajectories([x[None] for x in last_b], [x[None] for x in want_b], "second of two interleaved optimisers")


# ----------------------------------------------------------------------------- part 2: RMSProp

RMSPROP_CASES = {"default": dict(lr=0.01), "alpha09": dict(lr=0.003, alpha=0.9), "big_eps": dict(lr=0.02, alpha=0.95, eps=1e-2)}


@pytest.mark.parametrize("case", list(RMSPROP_CASES))
def test_rmsprop_trajectory_matches_torch(submission, seed, case):
    """Fed the same gradients for 40 steps, RMSProp follows torch.optim.RMSprop (float64)."""
    g = torch.Generator().manual_seed(seed)
    kwargs = RMSPROP_CASES[case]
    params0, grads = start_params(g), grad_sequence(g, 40, zero_every=7)
    got = student_trajectory(submission, "RMSProp", kwargs, params0, grads)
    compare_trajectories(got, torch_trajectory(torch.optim.RMSprop, kwargs, params0, grads), f"RMSProp ({case})")


def test_rmsprop_changing_lr_and_float32(submission, seed):
    """RMSProp uses the learning rate of each step and works in float32."""
    g = torch.Generator().manual_seed(seed)
    params0, grads = start_params(g, F32), grad_sequence(g, 15, F32)
    lrs = (torch.rand(15, generator=g, dtype=F64) * 0.02).tolist()
    got = student_trajectory(submission, "RMSProp", dict(lr=0.01), params0, grads, lrs)
    want = torch_trajectory(torch.optim.RMSprop, dict(lr=0.01), params0, grads, lrs)
    compare_trajectories(got, want, "RMSProp in float32 with a schedule", rtol=1e-4, atol=1e-4)


def test_rmsprop_zero_gradients_stay_finite(submission, seed):
    """All-zero gradients from the start leave the parameters unchanged (no 0/0)."""
    g = torch.Generator().manual_seed(seed)
    params0 = start_params(g)
    grads = [[torch.zeros_like(p) for p in params0] for _ in range(3)]
    got = student_trajectory(submission, "RMSProp", dict(lr=0.01), params0, grads)
    compare_trajectories(got, [p.expand(3, *p.shape) for p in params0], "RMSProp with zero gradients")


def test_rmsprop_closed_loop_quadratic(submission, seed):
    """On an ill-conditioned quadratic, each on its own gradients, RMSProp tracks torch for 60 steps."""
    g = torch.Generator().manual_seed(seed)
    got, want = closed_loop(submission, "RMSProp", torch.optim.RMSprop, dict(lr=0.01, alpha=0.9), g)
    assert_close(got, want, what="RMSProp on a quadratic", rtol=1e-6, atol=1e-8)


# ----------------------------------------------------------------------------- part 3: Adam

ADAM_CASES = {
    "default": dict(lr=1e-2),
    "betas": dict(lr=3e-2, betas=(0.8, 0.99), eps=1e-6),
    "l2": dict(lr=1e-2, weight_decay=0.1),
}


@pytest.mark.parametrize("case", list(ADAM_CASES))
def test_adam_trajectory_matches_torch(submission, seed, case):
    """Fed the same gradients for 50 steps, Adam follows torch.optim.Adam (float64)."""
    g = torch.Generator().manual_seed(seed)
    kwargs = ADAM_CASES[case]
    params0, grads = start_params(g), grad_sequence(g, 50)
    got = student_trajectory(submission, "Adam", kwargs, params0, grads)
    compare_trajectories(got, torch_trajectory(torch.optim.Adam, kwargs, params0, grads), f"Adam ({case})")


def test_adam_follows_a_schedule(submission, seed):
    """Adam uses the learning rate set before each step (warm-up then decay)."""
    g = torch.Generator().manual_seed(seed)
    params0, grads = start_params(g), grad_sequence(g, 30)
    lrs = [0.02 * min(1.0, (t + 1) / 5) * 0.9 ** t for t in range(30)]
    got = student_trajectory(submission, "Adam", dict(lr=0.02), params0, grads, lrs)
    compare_trajectories(got, torch_trajectory(torch.optim.Adam, dict(lr=0.02), params0, grads, lrs), "Adam with a schedule")


def test_adam_step_count_per_parameter(submission, seed):
    """Bias correction counts each parameter's own steps: one without gradients for 8 steps starts at t = 1 (with L2 decay)."""
    g = torch.Generator().manual_seed(seed)
    kwargs = dict(lr=0.05, weight_decay=0.05)
    params0, grads = start_params(g), grad_sequence(g, 20, none_for=(2, 8))
    got = student_trajectory(submission, "Adam", kwargs, params0, grads)
    compare_trajectories(got, torch_trajectory(torch.optim.Adam, kwargs, params0, grads), "Adam with late gradients")


def test_adam_zero_gradients(submission, seed):
    """Zero gradients (from the start, and between others) give finite steps that match torch."""
    g = torch.Generator().manual_seed(seed)
    params0 = start_params(g)
    grads = [[torch.zeros_like(p) for p in params0] for _ in range(3)] + grad_sequence(g, 20, zero_every=4)
    got = student_trajectory(submission, "Adam", dict(lr=0.01), params0, grads)
    compare_trajectories(got, torch_trajectory(torch.optim.Adam, dict(lr=0.01), params0, grads), "Adam with zero gradients")


def test_adam_float32(submission, seed):
    """In float32 Adam stays float32 and within float32 accuracy of torch."""
    g = torch.Generator().manual_seed(seed)
    params0, grads = start_params(g, F32), grad_sequence(g, 15, F32)
    got = student_trajectory(submission, "Adam", dict(lr=1e-2), params0, grads)
    compare_trajectories(got, torch_trajectory(torch.optim.Adam, dict(lr=1e-2), params0, grads), "Adam in float32",
                         rtol=1e-4, atol=1e-4)


def test_adam_closed_loop_quadratic(submission, seed):
    """On an ill-conditioned quadratic, each on its own gradients, Adam tracks torch for 60 steps."""
    g = torch.Generator().manual_seed(seed)
    got, want = closed_loop(submission, "Adam", torch.optim.Adam, dict(lr=0.05), g)
    assert_close(got, want, what="Adam on a quadratic", rtol=1e-6, atol=1e-8)


# ----------------------------------------------------------------------------- part 4: AdamW


def check_adamw(got, params0, grads, kwargs, what, **tol):
    """Accept either documented decay: torch's p -= lr*wd*p, or the paper's p -= wd*p (schedule multiplier 1).

    With a constant lr the paper's form is torch.optim.AdamW with weight_decay = wd / lr.
    """
    torch_form = torch_trajectory(torch.optim.AdamW, kwargs, params0, grads)
    try:
        compare_trajectories(got, torch_form, what, **tol)
    except PropertyFailure:
        paper = dict(kwargs, weight_decay=kwargs["weight_decay"] / kwargs["lr"])
        compare_trajectories(got, torch_trajectory(torch.optim.AdamW, paper, params0, grads), what, **tol)


ADAMW_CASES = {
    "default_wd": dict(lr=1e-2, weight_decay=1e-2),
    "strong_wd": dict(lr=5e-2, weight_decay=0.5),
    "betas": dict(lr=2e-2, betas=(0.7, 0.95), weight_decay=0.2),
}


@pytest.mark.parametrize("case", list(ADAMW_CASES))
def test_adamw_trajectory_matches_torch(submission, seed, case):
    """Fed the same gradients for 50 steps, AdamW follows torch.optim.AdamW (either documented decay form)."""
    g = torch.Generator().manual_seed(seed)
    kwargs = ADAMW_CASES[case]
    params0, grads = start_params(g), grad_sequence(g, 50)
    got = student_trajectory(submission, "AdamW", kwargs, params0, grads)
    check_adamw(got, params0, grads, kwargs, f"AdamW ({case})")


def test_adamw_zero_gradients_only_decay(submission, seed):
    """With zero gradients AdamW only shrinks the parameters geometrically (decay outside the moments)."""
    g = torch.Generator().manual_seed(seed)
    kwargs = dict(lr=0.1, weight_decay=0.3)
    params0 = start_params(g)
    grads = [[torch.zeros_like(p) for p in params0] for _ in range(10)]
    got = student_trajectory(submission, "AdamW", kwargs, params0, grads)
    check_adamw(got, params0, grads, kwargs, "AdamW with zero gradients")


def test_adamw_missing_gradients_and_float32(submission, seed):
    """In float32, with a parameter that has no gradient for 5 steps, AdamW matches torch within float32 accuracy."""
    g = torch.Generator().manual_seed(seed)
    kwargs = dict(lr=2e-2, weight_decay=0.1)
    params0, grads = start_params(g, F32), grad_sequence(g, 15, F32, none_for=(0, 5))
    got = student_trajectory(submission, "AdamW", kwargs, params0, grads)
    check_adamw(got, params0, grads, kwargs, "AdamW in float32", rtol=1e-4, atol=1e-4)


# ----------------------------------------------------------------------------- part 5: clipping


def torch_clip(grads, max_norm):
    params = [torch.nn.Parameter(torch.zeros_like(x)) for x in grads]
    for p, x in zip(params, grads):
        p.grad = x.clone()
    total = torch.nn.utils.clip_grad_norm_(params, max_norm)
    return [p.grad for p in params], float(total)


@pytest.mark.parametrize("case", ["clipped", "unclipped", "single", "float32_many"])
def test_clip_matches_torch(submission, seed, case):
    """clip_grad_norm scales all gradients by one factor from their global norm, like torch's clip_grad_norm_."""
    g = torch.Generator().manual_seed(seed)
    dtype = F32 if case == "float32_many" else F64
    shapes = {"single": [(6, 5)], "float32_many": [(50, 40), (40,), (3, 3, 3), (1,)]}.get(case, SHAPES)
    grads = [rand(g, *s, dtype=dtype, scale=2.0) for s in shapes]
    total = math.sqrt(sum(float((x.to(F64) ** 2).sum()) for x in grads))
    max_norm = total * (3.0 if case == "unclipped" else 0.3)
    kept = [x.clone() for x in grads]
    clipped, got_total = submission.call("clip_grad_norm", grads, max_norm)
    want, want_total = torch_clip(grads, max_norm)
    check(isinstance(clipped, (list, tuple)) and len(clipped) == len(grads),
          "clip_grad_norm must return (list of clipped gradients, total norm)")
    for i, (a, b) in enumerate(zip(clipped, want)):
        assert_close(a, b, what=f"clipped gradient {i}", rtol=1e-5 if dtype == F32 else None)
    check(isinstance(got_total, (int, float)) and math.isclose(got_total, want_total, rel_tol=1e-5),
          "the returned total norm (a float, before clipping) is wrong")
    for i, (a, b) in enumerate(zip(grads, kept)):
        assert_close(a, b, what=f"input gradient {i} after the call (it must not change)")


def test_clip_global_not_per_tensor(submission, seed):
    """A large and a small gradient are scaled by the same factor: their ratio is kept."""
    g = torch.Generator().manual_seed(seed)
    big, small = rand(g, 10, scale=10.0), rand(g, 3, scale=0.1)
    (cb, cs), _ = submission.call("clip_grad_norm", [big, small], 1.0)
    want, _ = torch_clip([big, small], 1.0)
    assert_close(cb, want[0], what="clipped large gradient")
    assert_close(cs, want[1], what="clipped small gradient")


def test_clip_zero_gradients_and_bad_max_norm(submission, seed):
    """All-zero gradients come back unchanged with total 0 (no NaN); max_norm <= 0 raises ValueError."""
    zeros = [torch.zeros(3, 2, dtype=F64), torch.zeros(4, dtype=F64)]
    clipped, total = submission.call("clip_grad_norm", zeros, 1.0)
    for i, x in enumerate(clipped):
        assert_close(x, zeros[i], what=f"clipped zero gradient {i}")
    check(total == 0.0, "the total norm of all-zero gradients must be 0")
    kind = raised(lambda: submission.call("clip_grad_norm", [torch.ones(2)], 0.0))
    check(kind == "ValueError", f"clip_grad_norm with max_norm=0 raised {kind}, expected ValueError")


# ----------------------------------------------------------------------------- part 6: schedules


def torch_lrs(make, steps, base_lr):
    opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=base_lr)
    sched = make(opt)
    lrs = []
    for _ in range(steps):
        lrs.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    return torch.tensor(lrs, dtype=F64)


def student_lrs(submission, name, steps, *args, **kwargs):
    values = [submission.call(name, t, *args, **kwargs) for t in range(steps)]
    check(all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values),
          f"{name} must return a Python float")
    return torch.tensor([float(v) for v in values], dtype=F64)


@pytest.mark.parametrize("case", [(0.1, 7, 0.5), (1.0, 1, 0.9), (0.03, 10, 0.1)], ids=["s7", "s1", "s10"])
def test_schedule_step_matches_torch(submission, case):
    """step_lr(t) equals torch's StepLR for 40 steps."""
    base, size, gamma = case
    want = torch_lrs(lambda o: torch.optim.lr_scheduler.StepLR(o, size, gamma), 40, base)
    got = student_lrs(submission, "step_lr", 40, base, size, gamma=gamma)
    assert_close(got, want, what="step_lr schedule", rtol=1e-9, atol=1e-15)


@pytest.mark.parametrize("case", [(0.1, 30, 0.0), (1.0, 7, 0.1), (0.05, 1, 0.01)], ids=["T30", "T7_min", "T1"])
def test_schedule_cosine_matches_torch(submission, case):
    """cosine_lr(t) equals CosineAnnealingLR up to total_steps and stays at min_lr afterwards."""
    base, total, low = case
    want = torch_lrs(lambda o: torch.optim.lr_scheduler.CosineAnnealingLR(o, total, low), total + 1, base)
    want = torch.cat([want, torch.full((5,), low, dtype=F64)])
    got = student_lrs(submission, "cosine_lr", total + 6, base, total, min_lr=low)
    assert_close(got, want, what="cosine_lr schedule", rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("case", [(0.1, 5, 40, 0.0), (1.0, 2, 9, 0.05), (0.3, 10, 11, 0.0)],
                         ids=["w5_T40", "w2_T9_min", "w10_T11"])
def test_schedule_warmup_cosine_matches_torch(submission, case):
    """warmup_cosine_lr equals LinearLR(1/W -> 1 over W-1 steps) followed by CosineAnnealingLR(T-W), then min_lr."""
    base, w, total, low = case

    def make(o):
        warm = torch.optim.lr_scheduler.LinearLR(o, start_factor=1.0 / w, end_factor=1.0, total_iters=w - 1)
        cos = torch.optim.lr_scheduler.CosineAnnealingLR(o, total - w, low)
        return torch.optim.lr_scheduler.SequentialLR(o, [warm, cos], milestones=[w])

    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        want = torch_lrs(make, total + 1, base)
    want = torch.cat([want, torch.full((4,), low, dtype=F64)])
    got = student_lrs(submission, "warmup_cosine_lr", total + 5, base, w, total, min_lr=low)
    assert_close(got, want, what="warm-up + cosine schedule", rtol=1e-9, atol=1e-12)


def test_schedule_warmup_edge_cases(submission):
    """warmup_steps=0 is plain cosine annealing, warmup_steps=1 starts at base_lr; bad arguments raise ValueError."""
    want = torch_lrs(lambda o: torch.optim.lr_scheduler.CosineAnnealingLR(o, 12, 0.0), 13, 0.2)
    got = student_lrs(submission, "warmup_cosine_lr", 13, 0.2, 0, 12)
    assert_close(got, want, what="warm-up of 0 steps", rtol=1e-9, atol=1e-12)
    first = submission.call("warmup_cosine_lr", 0, 0.2, 1, 12)
    check(math.isclose(float(first), 0.2, rel_tol=1e-12), "with warmup_steps=1 the first learning rate must be base_lr")
    for args in [(0, 0.1, 5, 5), (0, 0.1, 6, 5), (-1, 0.1, 2, 5)]:
        kind = raised(lambda: submission.call("warmup_cosine_lr", *args))
        check(kind == "ValueError", f"warmup_cosine_lr{args} raised {kind}, expected ValueError")
    for name, args in [("step_lr", (-1, 0.1, 3)), ("step_lr", (0, 0.1, 0)), ("cosine_lr", (0, 0.1, 0))]:
        kind = raised(lambda: submission.call(name, *args))
        check(kind == "ValueError", f"{name}{args} raised {kind}, expected ValueError")


# ----------------------------------------------------------------------------- part 7: batch norm


def bn_inputs(g, n, d, dtype):
    x = rand(g, n, d, dtype=dtype, scale=2.0) + rand(g, d, dtype=dtype)
    gamma, beta = rand(g, d, dtype=dtype) + 1.0, rand(g, d, dtype=dtype)
    rm, rv = rand(g, d, dtype=dtype), rand(g, d, dtype=F64).abs().to(dtype) + 0.5
    return x, gamma, beta, rm, rv


def torch_bn(x, gamma, beta, rm, rv, training, momentum, eps):
    rm64, rv64 = rm.to(F64).clone(), rv.to(F64).clone()
    out = F.batch_norm(x.to(F64), rm64, rv64, gamma.to(F64), beta.to(F64), training, momentum, eps)
    return out.to(x.dtype), rm64.to(x.dtype), rv64.to(x.dtype)


@pytest.mark.parametrize("dtype", [F32, F64], ids=["float32", "float64"])
@pytest.mark.parametrize("shape", [(2, 3), (16, 5), (64, 1)], ids=["N2", "N16", "D1"])
def test_batchnorm_train_forward_matches_torch(submission, seed, dtype, shape):
    """Training mode: output and updated running statistics equal torch's batch_norm (biased var to normalise, unbiased in the running var)."""
    g = torch.Generator().manual_seed(seed)
    x, gamma, beta, rm, rv = bn_inputs(g, *shape, dtype)
    args = (x, gamma, beta, rm, rv)
    out, new_rm, new_rv = submission.call("batchnorm_forward", *args, training=True, momentum=0.3, eps=1e-5)
    want = torch_bn(*args, True, 0.3, 1e-5)
    assert_close(out, want[0], what="batch-norm output (training)")
    assert_close(new_rm, want[1], what="new running mean")
    assert_close(new_rv, want[2], what="new running variance")


def test_batchnorm_running_stats_over_many_batches(submission, seed):
    """Twenty training batches, feeding the returned running statistics back, track nn.BatchNorm1d; then eval mode agrees."""
    g = torch.Generator().manual_seed(seed)
    d = 4
    bn = torch.nn.BatchNorm1d(d, momentum=0.2, dtype=F64)
    with torch.no_grad():
        bn.weight.copy_(rand(g, d) + 1.0)
        bn.bias.copy_(rand(g, d))
    gamma, beta = bn.weight.detach().clone(), bn.bias.detach().clone()
    rm, rv = torch.zeros(d, dtype=F64), torch.ones(d, dtype=F64)
    for step in range(20):
        x = rand(g, 8, d, scale=3.0) + 2.0
        with torch.no_grad():
            want = bn.train()(x)
        out, rm, rv = submission.call("batchnorm_forward", x, gamma, beta, rm, rv, training=True, momentum=0.2)
        assert_close(out, want, what=f"training output at batch {step}")
        assert_close(rm, bn.running_mean, what=f"running mean after batch {step}")
        assert_close(rv, bn.running_var, what=f"running variance after batch {step}")
    x = rand(g, 5, d)
    with torch.no_grad():
        want = bn.eval()(x)
    out, _, _ = submission.call("batchnorm_forward", x, gamma, beta, rm, rv, training=False, momentum=0.2)
    assert_close(out, want, what="eval output after training")


@pytest.mark.parametrize("n", [1, 6], ids=["batch_of_one", "N6"])
def test_batchnorm_eval_uses_running_stats(submission, seed, n):
    """Eval mode normalises with the running statistics, returns them unchanged, and accepts a batch of one."""
    g = torch.Generator().manual_seed(seed)
    x, gamma, beta, rm, rv = bn_inputs(g, n, 5, F64)
    kept = [t.clone() for t in (x, gamma, beta, rm, rv)]
    out, new_rm, new_rv = submission.call("batchnorm_forward", x, gamma, beta, rm, rv, training=False, momentum=0.3)
    want = torch_bn(x, gamma, beta, rm, rv, False, 0.3, 1e-5)
    assert_close(out, want[0], what="batch-norm output (eval)")
    assert_close(new_rm, rm, what="running mean after an eval-mode call (must not change)")
    assert_close(new_rv, rv, what="running variance after an eval-mode call (must not change)")
    for name, a, b in zip(("x", "gamma", "beta", "running_mean", "running_var"), (x, gamma, beta, rm, rv), kept):
        assert_close(a, b, what=f"input {name} after the call (it must not change)")


def test_batchnorm_training_batch_of_one_raises(submission, seed):
    """Training mode with a single row (no batch variance) raises ValueError."""
    g = torch.Generator().manual_seed(seed)
    x, gamma, beta, rm, rv = bn_inputs(g, 1, 3, F64)
    kind = raised(lambda: submission.call("batchnorm_forward", x, gamma, beta, rm, rv, training=True))
    check(kind == "ValueError", f"batchnorm_forward with N=1 in training mode raised {kind}, expected ValueError")


def autograd_grads(fn, x, gamma, beta, dout):
    """dL/dx, dL/dgamma, dL/dbeta of L = sum(fn(x, gamma, beta) * dout), in float64."""
    x64, g64, b64 = (t.to(F64).detach().requires_grad_() for t in (x, gamma, beta))
    out = fn(x64, g64, b64)
    dx, dg, db = torch.autograd.grad(out, (x64, g64, b64), dout.to(F64))
    return dx.to(x.dtype), dg.to(x.dtype), db.to(x.dtype)


@pytest.mark.parametrize("dtype", [F32, F64], ids=["float32", "float64"])
@pytest.mark.parametrize("shape", [(2, 3), (10, 7), (64, 2)], ids=["N2", "N10", "N64"])
def test_batchnorm_backward_matches_autograd(submission, seed, dtype, shape):
    """batchnorm_backward equals torch.autograd's gradients of training-mode batch norm (float64 oracle)."""
    g = torch.Generator().manual_seed(seed)
    x, gamma, beta, _, _ = bn_inputs(g, *shape, dtype)
    dout = rand(g, *shape, dtype=dtype)
    eps = 1e-3

    def fn(x_, g_, b_):
        return F.batch_norm(x_, None, None, g_, b_, True, 0.0, eps)

    want = autograd_grads(fn, x, gamma, beta, dout)
    got = submission.call("batchnorm_backward", dout, x, gamma, eps=eps)
    check(isinstance(got, (list, tuple)) and len(got) == 3, "batchnorm_backward must return (dx, dgamma, dbeta)")
    tol = {"rtol": 1e-4, "atol": 1e-4} if dtype == F32 else {}
    for name, a, b in zip(("dx", "dgamma", "dbeta"), got, want):
        assert_close(a, b, what=f"batch-norm {name}", **tol)


# ----------------------------------------------------------------------------- part 8: layer norm

LN_SHAPES = {"rows": (5, 8), "seq": (2, 3, 6), "batch_of_one": (1, 4), "d1": (3, 1)}


@pytest.mark.parametrize("dtype", [F32, F64], ids=["float32", "float64"])
@pytest.mark.parametrize("shape", list(LN_SHAPES))
def test_layernorm_forward_matches_torch(submission, seed, dtype, shape):
    """layernorm_forward equals torch's layer_norm over the last dimension (batch of one and D=1 included)."""
    g = torch.Generator().manual_seed(seed)
    s = LN_SHAPES[shape]
    x = rand(g, *s, dtype=dtype, scale=2.0) + 1.0
    gamma, beta = rand(g, s[-1], dtype=dtype) + 1.0, rand(g, s[-1], dtype=dtype)
    got = submission.call("layernorm_forward", x, gamma, beta, eps=1e-5)
    want = F.layer_norm(x.to(F64), (s[-1],), gamma.to(F64), beta.to(F64), 1e-5).to(dtype)
    assert_close(got, want, what=f"layer-norm output {s}")


def test_layernorm_forward_stable_with_large_offset(submission, seed):
    """Rows around 1e3 with unit spread normalise correctly in float32 (no E[x^2] - E[x]^2 cancellation)."""
    g = torch.Generator().manual_seed(seed)
    x = (rand(g, 6, 32) + 1000.0).to(F32)
    gamma, beta = torch.ones(32), torch.zeros(32)
    got = submission.call("layernorm_forward", x, gamma, beta)
    want = F.layer_norm(x.to(F64), (32,), eps=1e-5).to(F32)
    # float32 spacing near 1e3 is 6e-5, so x - mean is exact to ~1e-4 of a unit spread.
    assert_close(got, want, what="layer norm of rows near 1e3", rtol=1e-3, atol=1e-3)


@pytest.mark.parametrize("dtype", [F32, F64], ids=["float32", "float64"])
@pytest.mark.parametrize("shape", list(LN_SHAPES))
def test_layernorm_backward_matches_autograd(submission, seed, dtype, shape):
    """layernorm_backward equals torch.autograd's gradients of layer_norm; dgamma and dbeta sum over all leading dims."""
    g = torch.Generator().manual_seed(seed)
    s = LN_SHAPES[shape]
    x = rand(g, *s, dtype=dtype, scale=2.0)
    gamma, beta = rand(g, s[-1], dtype=dtype) + 1.0, rand(g, s[-1], dtype=dtype)
    dout = rand(g, *s, dtype=dtype)

    def fn(x_, g_, b_):
        return F.layer_norm(x_, (s[-1],), g_, b_, 1e-5)

    want = autograd_grads(fn, x, gamma, beta, dout)
    got = submission.call("layernorm_backward", dout, x, gamma, eps=1e-5)
    check(isinstance(got, (list, tuple)) and len(got) == 3, "layernorm_backward must return (dx, dgamma, dbeta)")
    tol = {"rtol": 1e-4, "atol": 1e-4} if dtype == F32 else {}
    for name, a, b in zip(("dx", "dgamma", "dbeta"), got, want):
        assert_close(a, b, what=f"layer-norm {name} {s}", **tol)
