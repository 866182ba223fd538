"""How reliably does the reference `train_mlp` reach 95% on held-out digits?

The hidden test `test_mlp_reaches_95_percent_on_held_out_digits` draws a fresh stratified
4-fold split from the grading seed, trains on three folds and predicts the fourth, four times,
and pools the accuracy over all digits. This script repeats that for many seeds and prints the
distribution of the pooled accuracy (and of single 25% folds) and the normal-approximation
probability of a pooled accuracy below 0.95 (the false-failure rate of a correct solution).
Usage:

    .venv/bin/python benchmarks/backprop_mlp_accuracy.py [runs]
"""

import math
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import StratifiedKFold

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
    pooled, folds, times = [], [], []
    for seed in range(runs):
        correct = 0
        for k, (train, test) in enumerate(StratifiedKFold(4, shuffle=True, random_state=seed).split(X, y)):
            started = time.perf_counter()
            w = bp.train_mlp(X[train], y[train], seed=(seed + k) % 1000)
            times.append(time.perf_counter() - started)
            logits = np.maximum(X[test] @ w["W1"] + w["b1"], 0) @ w["W2"] + w["b2"]
            hits = int((logits.argmax(1) == y[test]).sum())
            folds.append(hits / len(test))
            correct += hits
        pooled.append(correct / len(y))
        print(f"seed {seed}: pooled accuracy {pooled[-1]:.4f}", flush=True)
    for name, values in (("single fold", folds), ("pooled over 4 folds", pooled)):
        a = np.array(values)
        z = (0.95 - a.mean()) / a.std(ddof=1)
        p = 0.5 * math.erfc(-z / math.sqrt(2))
        print(f"{name}: n={len(a)} mean={a.mean():.4f} sd={a.std(ddof=1):.4f} min={a.min():.4f} "
              f"below 0.95: {(a < 0.95).sum()}; normal approximation P(< 0.95) = {p:.1e} (z = {z:.1f})")
    print(f"train_mlp time: median {np.median(times):.2f} s over {len(times)} runs (shared machine)")

if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 100)
