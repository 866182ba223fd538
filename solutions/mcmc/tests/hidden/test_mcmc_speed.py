"""Speed test of the MCMC week (part 7), graded as a ratio to the reference.

HMC on a 100-dimensional Gaussian with scales from 0.5 to 2: 500 chains, 20 leapfrog steps per call
(a few milliseconds of elementwise NumPy work for the reference; a Python loop over the chains
costs many times more). The covariance is diagonal so that the provided target needs no matrix
products: a multi-threaded BLAS call on a loaded machine would make the timing noisy. The grader
runs the reference in a second sandboxed worker, gives both the same fresh states, momenta and
uniforms, and times the calls itself, interleaved (autograder/speed; limits in assignment.toml).
With the same randomness a correct hmc_step yields the same chain as the reference, so the
effective sample size is the same and ESS per second compares exactly as time does. Every
repeat's result is checked, so a fast wrong answer scores nothing.

torch is imported inside the input generator only (the speed fixture's generator is a
torch.Generator): collecting this file must not cost every grading a torch import.
"""

import math

import numpy as np

from autograder.checks import check

D, CHAINS, LEAPFROG_STEPS = 100, 500, 20


def test_speed_hmc(speed, seed):
    """HMC on a 100-dimensional Gaussian yields effective samples per second within the limit relative to the reference."""
    rng = np.random.default_rng(seed)
    std = np.exp(rng.uniform(math.log(0.5), math.log(2.0), D))  # scales 0.5 to 2: condition number 16
    cov, mean = np.diag(std**2), rng.normal(size=D)
    step = 1.5 * std.min() * D**-0.25  # most proposals accepted, some rejected: both branches exercised

    def prepare(side):
        return side.call("HMC", side.call("Gaussian", mean, cov), step, LEAPFROG_STEPS)

    def inputs(g):
        import torch

        def normal(*shape):
            return torch.randn(*shape, generator=g, dtype=torch.float64).numpy()

        x = mean + normal(CHAINS, D) * std  # stationary states
        u = torch.rand(CHAINS, generator=g, dtype=torch.float64).numpy()
        return (x, normal(CHAINS, D), u), {}

    def agree(got, want, args, kwargs):
        check(isinstance(got, tuple) and len(got) == 2, "hmc_step in the speed test: should return (x_new, accept)")
        x_new, accept = got
        check(isinstance(accept, np.ndarray) and accept.shape == (CHAINS,) and accept.dtype == np.bool_,
              "hmc_step in the speed test: accept should be a bool array (n,)")
        # a decision may flip only if some log u lies within rounding of log alpha (chance ~1e-12)
        same = accept == want[1]
        check(int((~same).sum()) <= 1, f"hmc_step in the speed test: {int((~same).sum())} of {CHAINS} accept decisions differ from the reference")
        check(isinstance(x_new, np.ndarray) and x_new.shape == want[0].shape, "hmc_step in the speed test: wrong shape of x_new")
        err = np.abs(x_new[same] - want[0][same]).max()
        check(bool(err < 1e-6), f"hmc_step in the speed test: new states differ from the reference's by {err:.3g}")

    speed.compare(None, inputs, seed=seed, prepare=prepare, check=agree, what="hmc_step")
