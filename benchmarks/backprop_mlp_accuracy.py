"""How reliably does the reference `train_mlp` reach 95% on held-out digits?

The hidden test `test_mlp_reaches_95_percent_on_held_out_digits` draws a fresh stratified
split (25% test) and training seed from the grading seed. This script repeats that for many
seeds and prints the accuracy distribution and the normal-approximation probability of a
run below 0.95 (the false-failure rate of a correct solution). Usage:

    .venv/bin/python benchmarks/backprop_mlp_accuracy.py [runs]
"""

import math
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from autograder.local import load_module  # noqa: E402
from source_utils import markers  # noqa: E402


def main(runs: int) -> None:
    source = (ROOT / "solutions" / "backprop" / "backprop.py").read_text()
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "backprop.py").write_text(markers.remove_solution_markers(source))
        bp = load_module(Path(tmp), "backprop")
    X, y = load_digits(return_X_y=True)
    X = X / 16.0
    accs, times = [], []
    for seed in range(runs):
        Xtr, Xte, ytr, yte = train_test_split(X, y, test_size=0.25, random_state=seed, stratify=y)
        started = time.perf_counter()
        w = bp.train_mlp(Xtr, ytr, seed=seed % 1000)
        times.append(time.perf_counter() - started)
        logits = np.maximum(Xte @ w["W1"] + w["b1"], 0) @ w["W2"] + w["b2"]
        accs.append(float((logits.argmax(1) == yte).mean()))
    a = np.array(accs)
    z = (0.95 - a.mean()) / a.std(ddof=1)
    p = 0.5 * math.erfc(-z / math.sqrt(2))
    print(f"runs={runs} accuracy mean={a.mean():.4f} sd={a.std(ddof=1):.4f} min={a.min():.4f} "
          f"quantiles(1%,5%,50%)={np.quantile(a, [0.01, 0.05, 0.5]).round(4).tolist()}")
    print(f"below 0.95: {(a < 0.95).sum()} of {runs}; normal approximation P(acc < 0.95) = {p:.2e} (z = {z:.2f})")
    print(f"train_mlp time: median {np.median(times):.2f} s (shared machine)")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 100)
