"""Start cost of a worker in each isolation mode.

Starts a worker, imports a module and answers one call, for a module without imports and
one that imports torch; process mode and bubblewrap mode interleaved; prints medians.

    .venv/bin/python benchmarks/sandbox_start.py [--repeats 7]
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

from autograder import remote, sandbox

MODULES = {"no imports": "def f():\n    return 1\n", "import torch": "import torch\ndef f():\n    return 1\n"}


def start_and_call(folder: Path) -> float:
    worker = remote.Worker(folder, "m", [], sandbox.Limits())
    started = time.perf_counter()
    assert remote.RemoteSubmission(worker).call("f") == 1
    elapsed = time.perf_counter() - started
    worker.stop()
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    modes = ["process"] + (["bwrap"] if sandbox._bwrap_works() else [])
    samples = {(m, k): [] for m in modes for k in MODULES}
    with tempfile.TemporaryDirectory() as tmp:
        folders = {}
        for label, text in MODULES.items():
            folders[label] = Path(tmp) / label.replace(" ", "_")
            folders[label].mkdir()
            folders[label].chmod(0o755)
            (folders[label] / "m.py").write_text(text)
        for _ in range(args.repeats):
            for label in MODULES:
                for mode in modes:
                    os.environ["ADL_SANDBOX"] = mode
                    samples[(mode, label)].append(start_and_call(folders[label]))
    table = Table(title=f"worker start + import + first call, median of {args.repeats} (seconds)")
    table.add_column("module")
    for mode in modes:
        table.add_column(mode, justify="right")
    if len(modes) == 2:
        table.add_column("bwrap - process", justify="right")
    for label in MODULES:
        meds = [statistics.median(samples[(m, label)]) for m in modes]
        extra = [f"{(meds[1] - meds[0]) * 1e3:+.0f} ms"] if len(modes) == 2 else []
        table.add_row(label, *[f"{m:.3f}" for m in meds], *extra)
    Console().print(table)


if __name__ == "__main__":
    main()
