"""Speed test of the robustness week, graded as a ratio to the reference (autograder/speed).

The grader runs the reference in a second sandboxed worker and times both sides itself, on the
same fresh inputs, interleaved; the limits are in assignment.toml (`[[speed]]`). The call is
`sample_counts` on the committed sigma = 0.25 network through the given `NoiseCounter`: 10,000
noisy copies of each of 4 test digits, 40,000 forward rows in batches of 10,000, tens of
milliseconds for the reference on one core (0.5 s on a 2-core machine shared twelvefold). A Python loop over the samples or the predictions
costs many times that.
"""

from pathlib import Path

import numpy as np
import pytest
import torch

from autograder.checks import check

N, B, SIGMA = 10_000, 4, 0.25
WEIGHTS = Path(__file__).resolve().parent / "digits_mlp.npz"


def committed(prefix):
    """Arrays of digits_mlp.npz under `prefix`, as tensors keyed by the rest of the name."""
    with np.load(WEIGHTS) as data:
        return {k[len(prefix):]: torch.from_numpy(data[k].copy()) for k in data.files if k.startswith(prefix)}


@pytest.mark.time_limit(180)  # 26 timed calls; generous for a loaded grading machine
def test_speed_sample_counts(speed, seed):
    """Counting 10,000 noisy samples for a batch of 4 digits runs within the time limit relative to the reference."""
    x_test = committed("digits/")["x_test"].float() / 16
    state = committed(f"sigma={SIGMA}/")

    def prepare(side):
        model = side.call("DigitsMLP")
        model.load_state_dict(state)
        model.eval()
        return side.call("NoiseCounter", model, SIGMA, 10)

    def inputs(g):
        pick = torch.randint(len(x_test), (B,), generator=g)
        return (x_test[pick], N), {"batch_size": 10_000, "generator": int(torch.randint(2**31 - 1, (), generator=g))}

    def agree(got, want, args, kwargs):
        check(isinstance(got, torch.Tensor) and tuple(got.shape) == (B, 10) and got.dtype == torch.int64,
              "sample_counts: the counts should be an int64 tensor (B, num_classes)")
        check(bool((got.sum(dim=1) == N).all()), "sample_counts: a row does not sum to num_samples")
        # Two independent multinomial(N, p) counts differ by sd sqrt(2 N p (1 - p)) <= 71 per
        # cell; 600 is 8.5 sd (normal tail 2e-17, over 40 cells x 13 calls still below 1e-13).
        check(int((got - want).abs().max()) <= 600, "sample_counts: counts far from the reference's on the same inputs")

    speed.compare(None, inputs, seed=seed, prepare=prepare, check=agree, what="sample_counts")
