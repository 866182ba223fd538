"""Train the committed base classifiers of the robustness week (instructor-only script).

    .venv/bin/python solutions/robustness/train_weights.py

Trains `DigitsMLP` on the digits training split with the reference `train_noise_augmented`,
once without noise and once for each smoothing level, and writes every state dict into
`tests/hidden/digits_mlp.npz` (keys `sigma=<s>/<parameter>`, float32), together with the data
split itself (`digits/x_train`, ... as uint8 pixel values 0..16 and int64 labels) so that the
hidden tests need neither scikit-learn nor its import time. About 0.3 MB in all. The run
is deterministic on one thread for a given torch version (seeded initialisation, seeded
generator for the order and the noise). The hidden tests only need *a* trained network, not
these exact bits, so retraining with another torch version is harmless.
"""

from __future__ import annotations

import importlib.util
import sys
import time
from pathlib import Path

import numpy as np
import torch

HERE = Path(__file__).resolve().parent
OUT = HERE / "tests" / "hidden" / "digits_mlp.npz"
SIGMAS = (0.0, 0.25, 0.5)
EPOCHS = 40


def load_reference():
    spec = importlib.util.spec_from_file_location("robustness_reference", HERE / "robustness.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def main() -> None:
    torch.set_num_threads(1)
    ref = load_reference()
    x_train, y_train, x_test, y_test = ref.load_digits_split()
    arrays = {}
    for i, sigma in enumerate(SIGMAS):
        torch.manual_seed(1000 + i)
        model = ref.DigitsMLP()
        started = time.perf_counter()
        ref.train_noise_augmented(model, x_train, y_train, sigma, epochs=EPOCHS, generator=2000 + i)
        seconds = time.perf_counter() - started
        g = torch.Generator().manual_seed(0)
        noisy = ref.accuracy(model, x_test + sigma * torch.randn(x_test.shape, generator=g), y_test)
        print(f"sigma={sigma}: {seconds:.1f} s, clean test accuracy {ref.accuracy(model, x_test, y_test):.3f}, "
              f"under its own noise {noisy:.3f}")
        for name, value in model.state_dict().items():
            arrays[f"sigma={sigma}/{name}"] = value.numpy()
    for name, value in (("x_train", x_train), ("y_train", y_train), ("x_test", x_test), ("y_test", y_test)):
        # pixels are k / 16 exactly, so uint8 k loses nothing
        arrays[f"digits/{name}"] = (value * 16).round().to(torch.uint8).numpy() if name[0] == "x" else value.numpy()
    np.savez_compressed(OUT, **arrays)
    print(f"wrote {OUT.relative_to(HERE.parent.parent)} ({OUT.stat().st_size / 1024:.0f} KB)")


if __name__ == "__main__":
    sys.exit(main())
