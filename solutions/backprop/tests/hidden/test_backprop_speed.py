"""Speed test for the backprop assignment: one training epoch of the MLP, as a ratio to the
reference engine (measured by the grader, interleaved, median of paired ratios; the limits
are in assignment.toml's [[speed]] table)."""

import math

import numpy as np

from autograder.checks import check


def test_speed_mlp_epoch(speed, seed):
    """One epoch of train_mlp on all 1797 digits runs within the time limit relative to the reference."""
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    X = X / 16.0

    def inputs(g):  # a fresh order of the digits and a fresh training seed per repeat
        import torch

        order = torch.randperm(len(y), generator=g).numpy()
        train_seed = int(torch.randint(0, 1000, (1,), generator=g))
        return (X[order], y[order]), {"epochs": 1, "seed": train_seed}

    def agree(got, want, args, kwargs):
        # The answer is checked by the accuracy tests; here it only has to be a real epoch's result.
        check(isinstance(got, dict) and {"W1", "b1", "W2", "b2", "losses"} <= set(got),
              "train_mlp in the speed test: expected the documented dict")
        check(np.shape(got["W2"])[-1] == 10 and len(got["losses"]) == 1
              and all(math.isfinite(float(v)) for v in got["losses"]),
              "train_mlp in the speed test: wrong shapes or a non-finite loss")

    speed.compare("train_mlp", inputs, seed=seed, check=agree, what="one epoch of train_mlp")
