"""Do the MCMC week's statistical hidden tests ever fail a correct sampler?

Each hidden statistical test states a bound (at most 1e-5) on its false-failure probability.
This script checks the whole hidden suite empirically on the reference, over many fresh seeds:

    in-process : the hidden tests with the reference imported into the pytest process (fast;
                 for many seeds), counting failed tests;
    graded     : the real grader (sandboxed worker, public and hidden tests) on the reference,
                 counting runs without full marks.

    .venv/bin/python benchmarks/mcmc_false_failures.py [--inprocess 300] [--graded 50] [--seed0 1000] [--solution DIR]

With every bound at 1e-5 and 15 statistical tests, the chance that any run of 300 fails one
of them is below 300 * 15 * 1e-5 = 0.045; a failure here therefore points at a broken bound.
"""

from __future__ import annotations

import argparse
import collections
import tempfile
import time
from pathlib import Path

from autograder import grading, manifest
from source_utils import markers

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--inprocess", type=int, default=300, help="runs of the hidden tests in-process")
    parser.add_argument("--graded", type=int, default=50, help="full gradings with the real grader")
    parser.add_argument("--seed0", type=int, default=1000)
    parser.add_argument("--solution", type=Path, default=ROOT / "solutions" / "mcmc",
                        help="the assignment folder (a snapshot, to keep editing the original meanwhile)")
    args = parser.parse_args()
    solution = args.solution.resolve()
    man = manifest.load(solution)
    with tempfile.TemporaryDirectory() as tmp:
        sub = Path(tmp) / "submission"
        sub.mkdir()
        module = sub / f"{man.module}.py"
        module.write_text(markers.remove_solution_markers((solution / module.name).read_text()))

        failures: collections.Counter[str] = collections.Counter()
        tests_run = 0
        started = time.perf_counter()
        for i in range(args.inprocess):
            run = Path(tmp) / f"in-{i}"
            run.mkdir()
            outcome = grading.run_pytest(solution, sub, run, seed=args.seed0 + i, timeout=600, mode="inprocess")
            entries = [e for e in outcome.entries if e.get("event") == "test" and e.get("kind") == "hidden"]
            assert entries, "no hidden test ran"
            tests_run += len(entries)
            failures.update(e["nodeid"] for e in entries if e["outcome"] != "passed")
        print(f"in-process: {args.inprocess} runs, {tests_run} hidden test executions, "
              f"{sum(failures.values())} failures ({time.perf_counter() - started:.0f} s)", flush=True)
        for nodeid, count in failures.most_common():
            print(f"  {count:4d}  {nodeid}", flush=True)

        full = 0
        started = time.perf_counter()
        for i in range(args.graded):
            result = grading.grade(solution, sub, seed=args.seed0 + 100_000 + i)
            if abs(result.score - result.max_score) < 1e-9:
                full += 1
            else:
                failed = [t.name for t in result.tests if t.status != "passed"]
                print(f"  seed {result.seed}: {result.score:.2f}/{result.max_score:.2f}, failed {failed}", flush=True)
        if args.graded:
            print(f"graded: {full} of {args.graded} runs with full marks ({time.perf_counter() - started:.0f} s, "
                  f"sandbox {result.sandbox})", flush=True)


if __name__ == "__main__":
    main()
