"""Public checks of run_optimizer (otter-grader's exception-based format). Hidden tests also grade it after you submit."""
from otter.test_files import test_case

OK_FORMAT = False
name = "run_optimizer"
points = 1
SUCCESS = "public check passed; hidden tests also grade this exercise after you submit, and did not run here"


class HalvingStep:
    """A stand-in optimiser: w <- w - 0.5 * grad, in place."""

    def __init__(self, params):
        self.params = list(params)

    def step(self, grads):
        for p, g in zip(self.params, grads):
            p.sub_(0.5 * g)


@test_case(points=None, hidden=False, success_message=SUCCESS)
def path_of_gradient_steps_on_a_bowl(run_optimizer, torch):
    """On f(w) = |w|^2 / 2 (gradient w) with steps w <- w - 0.5 w, the path halves every step."""
    w0 = torch.tensor([2.0, -4.0], dtype=torch.float64)
    path = run_optimizer(HalvingStep, lambda w: w.clone(), w0, 3)
    assert tuple(path.shape) == (4, 2), f"3 steps give 4 points (start included) of shape (4, 2), got {tuple(path.shape)}"
    want = torch.stack([w0 / 2**k for k in range(4)])
    assert torch.allclose(path, want), f"expected the rows {want.tolist()}, got {path.tolist()}"


@test_case(points=None, hidden=False, success_message=SUCCESS)
def the_start_is_not_modified(run_optimizer, torch):
    """run_optimizer works on a copy: the caller's w0 keeps its value."""
    w0 = torch.tensor([1.0, 1.0], dtype=torch.float64)
    run_optimizer(HalvingStep, lambda w: w.clone(), w0, 2)
    assert torch.equal(w0, torch.tensor([1.0, 1.0], dtype=torch.float64)), "w0 was changed in place: optimise a clone"
