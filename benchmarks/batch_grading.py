"""How long `adl grade SLUG --all --jobs 2` takes for a class of submissions.

Builds a throw-away course (a roster of N students, one submission each), collects the
submissions through the store, and grades them all with the gradebook's batch grader, as an
instructor would. The submissions are half the reference (a class does well), half a cycle through the
other variants: the stubs (all, and one function at a time) and the mutants (one plausible
mistake each), so that full passes, fast failures and near misses mix as in a real class. Prints the total wall time, the per-submission median of the
grader's own time, the throughput, and the projection for 100 submissions (goal: under
5 minutes for 100 attention submissions with 2 jobs on a 2-core machine).

    .venv/bin/python benchmarks/batch_grading.py [--n 100] [--jobs 2] [--repeats 1] [--slug attention]

With --repeats R the same batch is graded R times (`--force`), and the medians are reported.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import tempfile
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table
from sqlalchemy import select

from autograder import manifest as manifest_mod
from gradebook import batch, collect, db, roster
from gradebook.models import GradingRun
from gradebook.store import Store
from source_utils import variants

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=100, help="submissions")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--slug", default="attention")
    args = parser.parse_args()
    console = Console()
    solution = ROOT / "solutions" / args.slug
    pool = variants.variants(solution)  # pool[0] is the reference
    others = pool[1:]
    module = manifest_mod.load(solution).module
    with tempfile.TemporaryDirectory(prefix="adl-bench-") as tmp:
        course = Path(tmp) / "course"
        (course / "solutions").mkdir(parents=True)
        (course / "solutions" / args.slug).symlink_to(solution)
        inbox = Path(tmp) / "inbox"
        kinds: dict[str, int] = {}
        for i in range(args.n):
            v = pool[0] if i % 2 == 0 else others[(i // 2) % len(others)]
            kinds[v.kind] = kinds.get(v.kind, 0) + 1
            (inbox / f"s{i:04d}").mkdir(parents=True)
            (inbox / f"s{i:04d}" / f"{module}.py").write_text(v.source + f"\n# submission {i}\n")
        (Path(tmp) / "roster.csv").write_text("id,name,email,section\n" + "".join(
            f"s{i:04d},Student {i},s{i:04d}@uni.edu,A\n" for i in range(args.n)))
        gb = db.open_gradebook(course)
        store = Store(course / "submission-store")
        with gb.session() as s:
            roster.import_roster(s, Path(tmp) / "roster.csv")
        started = time.perf_counter()
        report = collect.collect(gb, store, course / "solutions" / args.slug, inbox)
        collect_s = time.perf_counter() - started
        assert len(report.received) == args.n, report
        totals, medians, cpus = [], [], []
        for r in range(args.repeats):
            started = time.perf_counter()
            cpu_before = resource.getrusage(resource.RUSAGE_CHILDREN)
            done = batch.grade_all(gb, store, course / "solutions" / args.slug, jobs=args.jobs, force=r > 0,
                                   on_done=lambda _id: None)
            totals.append(time.perf_counter() - started)
            cpu_after = resource.getrusage(resource.RUSAGE_CHILDREN)
            cpus.append(cpu_after.ru_utime + cpu_after.ru_stime - cpu_before.ru_utime - cpu_before.ru_stime)
            assert len(done.graded) == args.n and not done.errors, done
            with gb.session() as s:
                times = [run.execution_time for run in s.scalars(select(GradingRun).where(GradingRun.counted.is_(True)))]
            medians.append(statistics.median(times))
            console.print(f"run {r + 1}: {totals[-1]:.1f} s total, per-submission median {medians[-1]:.2f} s, "
                          f"{cpus[-1]:.1f} CPU s in the grading processes")
        gb.close()
    total = statistics.median(totals)
    table = Table(title=f"adl grade {args.slug} --all --jobs {args.jobs}: {args.n} submissions "
                  f"({', '.join(f'{n} {k}' for k, n in kinds.items())}), {args.repeats} run(s)")
    for col in ("measure", "value"):
        table.add_column(col, justify="right" if col == "value" else "left")
    table.add_row("collect (store + record, fsync each)", f"{collect_s:.1f} s")
    table.add_row("grading, total wall (median of runs)", f"{total:.1f} s")
    table.add_row("grader time per submission (median)", f"{statistics.median(medians):.2f} s")
    table.add_row("wall per submission (total / n)", f"{total / args.n:.2f} s")
    projected = total / args.n * 100
    table.add_row("projected for 100 submissions", f"{projected:.0f} s ({'meets' if projected < 300 else 'misses'} "
                  "the 5-minute goal)")
    cpu = statistics.median(cpus)
    table.add_row("CPU time of the grading processes per submission", f"{cpu / args.n:.2f} s")
    table.add_row("projected for 100 on an idle machine (CPU / jobs)", f"{cpu / args.n * 100 / args.jobs:.0f} s")
    console.print(table)
    console.print("[dim]wall times depend on what else the machine runs (load average now "
                  f"{' '.join(f'{x:.1f}' for x in os.getloadavg())}); the CPU-based projection does not, "
                  "as long as jobs <= cores[/]")


if __name__ == "__main__":
    main()
