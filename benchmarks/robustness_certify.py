"""Certified accuracy of randomized smoothing on the digits test set, with the reference.

    .venv/bin/python benchmarks/robustness_certify.py [--n 10000] [--n0 100] [--alpha 0.001]

For the committed noise-trained base networks (sigma = 0.25 and 0.5, `solutions/robustness/
tests/hidden/digits_mlp.npz`, trained by `solutions/robustness/train_weights.py`), runs the
reference CERTIFY (Cohen et al., 2019) on all 449 test digits and prints the certified accuracy
at L2 radii 0, 0.25, 0.5 and 1.0, the abstention rate, the largest radius n samples allow, and
the time. Also prints the clean accuracy of each base network and its accuracy under its own
noise. One thread; the times are from whatever machine this runs on (shared machines inflate them).
"""

from __future__ import annotations

import argparse
import importlib.util
import time
from pathlib import Path

import numpy as np
import torch
from scipy import stats

ROOT = Path(__file__).resolve().parents[1]
SOLUTION = ROOT / "solutions" / "robustness"
RADII = [0.0, 0.25, 0.5, 1.0]


def reference():
    spec = importlib.util.spec_from_file_location("robustness_reference", SOLUTION / "robustness.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=10_000, help="estimation samples per input")
    parser.add_argument("--n0", type=int, default=100, help="selection samples per input")
    parser.add_argument("--alpha", type=float, default=0.001)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    torch.set_num_threads(1)
    ref = reference()
    with np.load(SOLUTION / "tests" / "hidden" / "digits_mlp.npz") as data:
        arrays = {k: torch.from_numpy(data[k].copy()) for k in data.files}
    x_test = arrays["digits/x_test"].float() / 16
    y_test = arrays["digits/y_test"].long()
    print(f"CERTIFY on {len(y_test)} test digits: n0={args.n0}, n={args.n:,}, alpha={args.alpha}")
    print(f"{'sigma':>6} {'clean':>6} {'noisy':>6} | " + " ".join(f"r={r:<5}" for r in RADII)
          + f" | {'abstain':>7} {'max r':>6} {'time':>7}")
    for sigma in (0.25, 0.5):
        model = ref.DigitsMLP()
        model.load_state_dict({k.split("/", 1)[1]: v for k, v in arrays.items() if k.startswith(f"sigma={sigma}/")})
        model.eval()
        clean = ref.accuracy(model, x_test, y_test)
        g = torch.Generator().manual_seed(args.seed)
        noisy = ref.accuracy(model, x_test + sigma * torch.randn(x_test.shape, generator=g), y_test)
        started = time.perf_counter()
        pred, radius = ref.certify(model, x_test, sigma, args.n0, args.n, args.alpha, generator=args.seed)
        seconds = time.perf_counter() - started
        curve = ref.certified_accuracy_curve(pred, radius, y_test, RADII)
        abstain = float((pred == ref.ABSTAIN).double().mean())
        cap = sigma * stats.norm.ppf(args.alpha ** (1 / args.n))
        print(f"{sigma:>6} {clean:>6.3f} {noisy:>6.3f} | " + " ".join(f"{float(v):<7.3f}" for v in curve)
              + f" | {abstain:>7.3f} {cap:>6.2f} {seconds:>6.1f}s")


if __name__ == "__main__":
    main()
