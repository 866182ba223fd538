"""`adl bench SLUG`: the calibration table for an assignment's speed and memory tests.

It grades, with the real grader but only the `[[speed]]` tests, the reference (against itself:
the noise floor), every mutant marked `speed = true` in mutants.toml (the naive solutions the
limits must catch) and every `[[oracles]]` entry (torch's own kernels, forbidden calls allowed:
how fast it can be). Each variant is measured `rounds` times, each time as in a real grading
run (warm-up, paired interleaved repeats, each side's fastest repeat), and the table shows the median time
or memory, the ratio to the reference, the spread of ratios over the rounds, and how often the
variant would fail. Thresholds are chosen from these numbers, with room for the noise.
"""

from __future__ import annotations

import os
import statistics
import tempfile
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from autograder import grading, manifest as manifest_mod


@dataclass
class BenchRow:
    variant: str
    why: str
    test: str
    kind: str = ""
    ratios: list[float] = field(default_factory=list)  # one per round: that round's verdict ratio
    student: list[float] = field(default_factory=list)
    reference: list[float] = field(default_factory=list)
    credits: list[float] = field(default_factory=list)
    error: str = ""

    @property
    def failures(self) -> int:
        return sum(c <= 0 for c in self.credits) if not self.error else len(self.credits) or 1


def bench_variants(solution: Path) -> list[tuple[str, str, str, bool]]:
    """(name, why, module source, forbidden calls allowed) of the reference, speed mutants, oracles."""
    from source_utils import markers, variants

    man = manifest_mod.load(solution)
    filename = f"{man.module}.py"
    text = (solution / filename).read_text()
    out = [("reference", "the reference against itself (noise floor)", markers.remove_solution_markers(text, filename), False)]
    path = solution / variants.MUTANTS
    table = tomllib.loads(path.read_text()) if path.exists() else {}
    for m in table.get("mutants", []):
        if m.get("speed"):
            out.append((m["name"], m["why"], markers.remove_solution_markers(variants.apply_mutant(text, m, filename), filename), False))
    for m in table.get("oracles", []):
        out.append((m["name"], m["why"], markers.remove_solution_markers(variants.apply_mutant(text, m, filename), filename), True))
    return out


def run(solution: Path, rounds: int = 1, repeats: int | None = None, seed: int = 0, only: list[str] | None = None,
        threads: int | None = None, progress=lambda name: None, tests: list[str] | None = None) -> list[BenchRow]:
    """Measure the bench variants named in `only` (default: all); one BenchRow per (variant, speed
    test). `tests` restricts the speed tests to these function names."""
    solution = Path(solution).resolve()
    man = manifest_mod.load(solution)
    if not man.speed:
        raise ValueError(f"{man.slug}: assignment.toml has no [[speed]] entries")
    rows: list[BenchRow] = []
    saved = {k: os.environ.get(k) for k in ("ADL_ONLY_SPEED", "ADL_SPEED_ROUNDS", "ADL_SPEED_REPEATS", "ADL_ALLOW_FORBIDDEN")}
    try:
        for name, why, source, allow in bench_variants(solution):
            if only and name not in only:
                continue
            os.environ.update(ADL_ONLY_SPEED=",".join(tests) if tests else "1", ADL_SPEED_ROUNDS=str(rounds))
            os.environ.pop("ADL_SPEED_REPEATS", None) if repeats is None else os.environ.update(ADL_SPEED_REPEATS=str(repeats))
            os.environ.pop("ADL_ALLOW_FORBIDDEN", None) if not allow else os.environ.update(ADL_ALLOW_FORBIDDEN="1")
            with tempfile.TemporaryDirectory(prefix="adl-bench-") as tmp:
                staged = Path(tmp) / "submission"
                staged.mkdir()
                (staged / f"{man.module}.py").write_text(source)
                outcome = grading.run_pytest(solution, staged, Path(tmp), seed, 3600, threads=threads)
            reported = [e for e in outcome.entries if e.get("event") == "test"]
            if not reported:
                rows.append(BenchRow(name, why, "(all)", error=f"no speed test reported\n{outcome.log[-500:]}"))
            for e in reported:
                row = BenchRow(name, why, e["function"])
                report = e.get("speed")
                if e["outcome"] == "skipped":
                    row.error = e.get("message", "skipped")
                elif not report:
                    row.error = e.get("message", "failed") or "failed"
                else:
                    row.kind = report["kind"]
                    for r in report["rounds"]:
                        row.ratios.append(r["ratio"])
                        row.student.append(r["student"])
                        row.reference.append(r["reference"])
                        row.credits.append(r["credit"])
                    if e["outcome"] != "passed" and report["credit"] > 0:
                        row.error = e.get("message", "")  # measured, then failed a result check
                rows.append(row)
            progress(name)
    finally:
        for k, v in saved.items():
            os.environ.pop(k, None) if v is None else os.environ.update({k: v})
    return rows


def table(rows: list[BenchRow], rounds: int, title: str):
    from rich.markup import escape
    from rich.table import Table

    out = Table(title=title, title_justify="left")
    for col in ("speed test", "variant", "student side", "reference", "ratio", "ratio range", "fails"):
        out.add_column(col, justify="left" if col in ("speed test", "variant") else "right", overflow="fold")
    previous = None
    for r in sorted(rows, key=lambda r: r.test):
        if previous is not None and r.test != previous:
            out.add_section()
        test = escape(r.test) if r.test != previous else ""
        previous = r.test
        if r.error and not r.ratios:
            out.add_row(test, escape(r.variant), f"[yellow]{escape(r.error.splitlines()[0][:60])}[/]", "", "", "", "")
            continue
        unit = (lambda x: f"{x * 1e3:.1f} ms") if r.kind == "time" else (lambda x: f"{x / 2**20:.1f} MiB")
        colour = "green" if r.failures == 0 else "red" if r.failures == len(r.credits) else "yellow"
        out.add_row(test, escape(r.variant), unit(statistics.median(r.student)), unit(statistics.median(r.reference)),
                    f"{statistics.median(r.ratios):.2f}x", f"{min(r.ratios):.2f}–{max(r.ratios):.2f}x",
                    f"[{colour}]{r.failures}/{len(r.credits)}[/]" + (" [red]wrong result[/]" if r.error else ""))
    return out


def add_parser(sub) -> None:
    """`adl bench` in the CLI's subcommands."""
    p = sub.add_parser("bench", help="time the reference, the speed mutants and the torch oracles with the "
                       "assignment's speed tests (to choose thresholds)")
    p.add_argument("slug")
    p.add_argument("--rounds", type=int, default=3, help="measurements of each variant (each one like a grading run)")
    p.add_argument("--repeats", type=int, help="paired repeats per measurement (default: the manifest's)")
    p.add_argument("--only", action="append", metavar="VARIANT", help="only this variant (and the reference); repeatable")
    p.add_argument("--threads", type=int, help="math-library threads of each worker (default: the machine's)")
    p.add_argument("--seed", type=int, default=0)


def command(args, solution: Path, console) -> int:
    from rich.progress import Progress

    names = [n for n, *_ in bench_variants(solution) if not args.only or n in args.only or n == "reference"]
    with Progress(console=console, transient=True) as progress:
        task = progress.add_task("benchmarking", total=len(names))
        try:
            rows = run(solution, args.rounds, args.repeats, args.seed, args.only and ["reference", *args.only], args.threads,
                       progress=lambda name: progress.advance(task))
        except ValueError as exc:
            console.print(f"[red]adl bench:[/] {exc}")
            return 2
    man = manifest_mod.load(solution)
    console.print(table(rows, args.rounds, f"adl bench {man.slug}: {args.rounds} round(s) per variant; ratio = "
                        "each round's verdict ratio (fastest student repeat / fastest reference repeat; median repeat for memory), median over rounds"))
    for rule in man.speed:
        console.print(f"  {', '.join(rule.tests)}: {rule.kind} on {rule.device}; {rule.describe()}; "
                      f"{rule.repeats} repeats after {rule.warmup} warm-up")
    for name, why, *_ in bench_variants(solution):
        if name in {r.variant for r in rows}:
            console.print(f"  [dim]{name}: {why}[/]")
    return 0
