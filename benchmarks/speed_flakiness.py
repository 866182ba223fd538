"""How often the attention week's speed and memory tests give a wrong verdict under load.

Grades the speed tests of the reference (goal: 0 failures, and every round at full points)
and of the naive solutions (goal: every round fails) many times, while busy-loop processes
keep cores busy, and prints the failure counts and the extreme ratios seen. Each round is
measured exactly as in a grading run (warm-up, paired interleaved repeats, the idle worker
frozen, median ratio); rounds run in batches of `--batch` that share one pair of workers, and
the table so far is printed after every batch (a run cut short still reports).

    .venv/bin/python benchmarks/speed_flakiness.py [--rounds 100] [--busy 1] [--threads 1] [--gpu]

Not part of `make test`: 100 rounds take tens of minutes.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

from autograder.speed import bench

ROOT = Path(__file__).resolve().parent.parent
SOLUTION = ROOT / "solutions" / "attention"
# (variant, speed test, what a correct verdict is)
CASES = [
    ("reference", "test_speed_sdpa", "pass"),
    ("reference", "test_memory_chunked", "pass"),
    ("sdpa_loop_over_heads", "test_speed_sdpa", "fail"),
    ("chunked_ignores_chunk_size", "test_memory_chunked", "fail"),
]
# --gpu: the same verdicts for the CUDA tests (CUDA events for time, CUDA peak memory)
GPU_CASES = [
    ("reference", "test_speed_sdpa_gpu", "pass"),
    ("reference", "test_memory_chunked_gpu", "pass"),
    ("sdpa_loop_over_heads", "test_speed_sdpa_gpu", "fail"),
    ("chunked_ignores_chunk_size", "test_memory_chunked_gpu", "fail"),
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=100)
    parser.add_argument("--busy", type=int, default=1, help="busy-loop processes to start (default 1: the other core)")
    parser.add_argument("--threads", type=int, default=1, help="math-library threads per worker (validate uses 1)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--batch", type=int, default=10, help="rounds per grading run (one pair of workers)")
    parser.add_argument("--gpu", action="store_true", help="the CUDA speed and memory tests instead (needs a GPU)")
    args = parser.parse_args()
    global CASES
    if args.gpu:
        CASES = GPU_CASES
    console = Console(width=150)
    busy = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(args.busy)]
    started = time.monotonic()
    rows: dict[tuple[str, str], bench.BenchRow] = {}
    try:
        for first in range(0, args.rounds, args.batch):
            n = min(args.batch, args.rounds - first)
            for variant in dict.fromkeys(v for v, _, _ in CASES):
                tests = [t for v, t, _ in CASES if v == variant]
                for r in bench.run(SOLUTION, rounds=n, seed=args.seed + first, only=[variant], threads=args.threads,
                                   tests=tests):
                    into = rows.setdefault((r.variant, r.test), bench.BenchRow(r.variant, r.why, r.test, r.kind))
                    into.ratios += r.ratios
                    into.credits += r.credits if r.ratios else [0.0] * n  # a batch that errored counts as failed
                    into.error = into.error or r.error
            report(console, rows, first + n, args, started)
    finally:
        for p in busy:  # only the processes this script started
            p.kill()
            p.wait()


def report(console: Console, rows: dict, done: int, args, started: float) -> None:
    table = Table(title=f"speed-test verdicts over {done} rounds, {args.busy} busy-loop process(es), "
                        f"{args.threads} thread(s) per worker, load average now {os.getloadavg()[0]:.1f}",
                  title_justify="left")
    for col in ("variant", "test", "goal", "wrong verdicts", "below full points", "median ratio", "extreme ratio"):
        table.add_column(col, justify="left" if col in ("variant", "test", "goal") else "right")
    for variant, test, goal in CASES:
        row = rows.get((variant, test))
        if row is None or not row.ratios:
            table.add_row(variant, test, goal, "[red]no result[/]", "", "", row.error[:60] if row else "")
            continue
        n = len(row.credits)
        failures = sum(c <= 0 for c in row.credits)
        wrong = failures if goal == "pass" else n - failures
        partial = sum(c < 1 for c in row.credits)
        extreme = max(row.ratios) if goal == "pass" else min(row.ratios)
        table.add_row(variant, test, goal, f"{wrong}/{n}", f"{partial}/{n}" if goal == "pass" else "",
                      f"{statistics.median(row.ratios):.2f}x",
                      f"{extreme:.2f}x ({'slowest' if goal == 'pass' else 'fastest'})")
    console.print(table)
    print(f"{time.monotonic() - started:.0f} s so far; the machine may be shared: read the load average", flush=True)


if __name__ == "__main__":
    main()
