"""How long grading one attention submission takes, and the price of isolation.

Runs the attention week's public and hidden tests on the reference solution three ways,
interleaved, several times:
  bwrap      : the real grader (student code in a bubblewrap-sandboxed worker)
  process    : the same, in the weaker process mode (ADL_SANDBOX=process)
  in-process : the same tests with the module imported into the pytest process
and prints the median wall time of each and the ratios to in-process (goal: under 1.5x).

    .venv/bin/python benchmarks/grading_overhead.py [--repeats 5] [--slug attention]
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

from autograder import grading, manifest
from source_utils import markers

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--slug", default="attention")
    args = parser.parse_args()
    solution = ROOT / "solutions" / args.slug
    man = manifest.load(solution)
    modes = [("bwrap", "grade", "bwrap"), ("process", "grade", "process"), ("in-process", "inprocess", None)]
    times: dict[str, list[float]] = {label: [] for label, _, _ in modes}
    with tempfile.TemporaryDirectory() as tmp:
        sub = Path(tmp) / "submission"
        sub.mkdir()
        module = sub / f"{man.module}.py"
        module.write_text(markers.remove_solution_markers((solution / module.name).read_text()))
        for i in range(args.repeats):
            for label, mode, sandbox_mode in modes:
                if sandbox_mode:
                    os.environ["ADL_SANDBOX"] = sandbox_mode
                run = Path(tmp) / f"{label}-{i}"
                run.mkdir()
                started = time.perf_counter()
                outcome = grading.run_pytest(solution, sub, run, seed=i, timeout=600, mode=mode)
                times[label].append(time.perf_counter() - started)
                entries = [e for e in outcome.entries if e.get("event") == "test"]
                failed = [e["nodeid"] for e in entries if e["outcome"] == "failed"]
                assert entries and not failed, f"{label}: reference failed {failed[:3]}"
        n_tests = len(entries)
    table = Table(title=f"grading the {args.slug} reference: {n_tests} tests, {args.repeats} interleaved runs each")
    for col in ("mode", "median s", "min s", "max s", "ratio to in-process"):
        table.add_column(col, justify="right")
    base = statistics.median(times["in-process"])
    for label, values in times.items():
        table.add_row(label, f"{statistics.median(values):.2f}", f"{min(values):.2f}", f"{max(values):.2f}",
                      f"{statistics.median(values) / base:.2f}x")
    Console().print(table)
    print("goal: the sandboxed grader under 1.5x the in-process run")


if __name__ == "__main__":
    main()
