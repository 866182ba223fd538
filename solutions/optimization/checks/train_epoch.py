"""Public checks of train_epoch (otter-grader's exception-based format). Hidden tests also grade it after you submit."""
import math

from otter.test_files import test_case

OK_FORMAT = False
name = "train_epoch"
points = 1
SUCCESS = "public check passed; hidden tests also grade this exercise after you submit, and did not run here"


def recorder(opt):
    class Recorder(opt.Optimizer):
        """Records the learning rate at every step and changes nothing."""

        def __init__(self, params):
            super().__init__(params, lr=0.0)
            self.lrs = []

        def step(self, grads=None):
            self.lrs.append(self.lr)
            return self.params

    return Recorder


@test_case(points=None, hidden=False, success_message=SUCCESS)
def one_loss_and_one_scheduled_step_per_batch(train_epoch, opt, torch, nn, X_train):
    """An epoch has ceil(N / 64) steps; step i runs at learning rate schedule(t0 + i); a zero network's loss is log 10."""
    net = nn.Linear(64, 10)
    with torch.no_grad():
        net.weight.zero_()
        net.bias.zero_()
    optimizer = recorder(opt)(list(net.parameters()))
    losses = train_epoch(net, optimizer, lambda t: 0.001 * t, 7, torch.Generator().manual_seed(0))
    n_steps = math.ceil(len(X_train) / 64)
    assert len(losses) == n_steps, f"expected {n_steps} losses (one per batch, the last batch smaller), got {len(losses)}"
    assert all(isinstance(v, float) for v in losses), "record each loss as a Python float (loss.item())"
    assert all(abs(v - math.log(10)) < 1e-5 for v in losses), "a network with all outputs 0 has loss log(10) on every batch"
    want = [0.001 * (7 + i) for i in range(n_steps)]
    assert len(optimizer.lrs) == n_steps and all(abs(a - b) < 1e-12 for a, b in zip(optimizer.lrs, want)), \
        f"the steps ran at learning rates {optimizer.lrs[:4]}...; expected schedule(t0 + i) = {want[:4]}..."
