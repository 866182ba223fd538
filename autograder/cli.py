"""`adl`: the one command-line tool of the course repository.

    adl list                              assignments, points, release status
    adl release [SLUG...] [--check]       regenerate assignments/ from solutions/
    adl test SLUG [--path DIR]            a student's public tests, with an honest summary
    adl grade SLUG SUBMISSION [--results FILE] [--seed N]
    adl grade SLUG --all [--jobs N] [--force]   every collected submission, into the gradebook
    adl roster | collect | gradebook | feedback  running a term: see gradebook/cli.py, docs/course.md
    adl validate [SLUG...]                reference full marks, stubs zero, mutants caught
    adl bench SLUG [--rounds N]           speed tests: reference, speed mutants, torch oracles (calibration)
    adl gradescope SLUG [--out FILE.zip]  the Gradescope autograder bundle
    adl release --student-repo DIR        the repository students clone
    adl demo                              grade the bundled example submissions
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.markup import escape
from rich.table import Table

from autograder import grading, manifest as manifest_mod
from autograder.reporters import gradescope, terminal
from autograder.speed import bench as speed_bench
try:  # the instructor's commands; the repository students clone ships `autograder` alone
    from gradebook import cli as gradebook_cli
    from notebooks import cli as notebooks_cli
except ImportError:
    gradebook_cli = notebooks_cli = None

console = terminal.make_console()


class UsageError(Exception):
    pass


# ---------------------------------------------------------------------------- locations

def find_root(start: Path | None = None) -> Path:
    """The course repository: $ADL_ROOT, else the nearest folder above the current one that
    holds `assignments/`, else the checkout this package was installed from."""
    if os.environ.get("ADL_ROOT"):
        return Path(os.environ["ADL_ROOT"]).resolve()
    here = (start or Path.cwd()).resolve()
    for folder in [here, *here.parents]:
        if (folder / "assignments").is_dir():
            return folder
    return Path(__file__).resolve().parent.parent


def slugs(root: Path) -> list[str]:
    found = {p.parent.name for p in (root / "solutions").glob(f"*/{manifest_mod.MANIFEST}")}
    found |= {p.parent.name for p in (root / "assignments").glob(f"*/{manifest_mod.MANIFEST}")}
    return sorted(found)


def solution_dir(root: Path, slug: str) -> Path:
    path = root / "solutions" / slug
    if not (path / manifest_mod.MANIFEST).exists():
        if (root / "assignments" / slug).exists():
            raise UsageError(f"{slug}: the instructor's solutions/ are not in this repository; "
                             "grading needs them (students: run `adl test`)")
        raise UsageError(f"no assignment {slug!r}; `adl list` shows them")
    return path


# ---------------------------------------------------------------------------- commands

def cmd_list(args, root: Path) -> int:
    table = Table(title=f"assignments in {root}", title_justify="left")
    for col in ("slug", "title", "points", "parts", "public", "hidden", "status"):
        table.add_column(col, justify="right" if col in ("points", "parts", "public", "hidden") else "left")
    for slug in slugs(root):
        solution, student = root / "solutions" / slug, root / "assignments" / slug
        released = manifest_mod.load(student).release if (student / manifest_mod.MANIFEST).exists() else {}
        man = manifest_mod.load(solution if solution.exists() else student)
        if not solution.exists():
            status = "[green]released[/]"
        elif not released:
            status = "[red]not released[/]"
        else:
            from source_utils import release

            counts = {"public": released.get("public_tests", 0), "hidden": released.get("hidden_tests", 0)}
            diff = release.differences(solution, student, counts)
            status = "[green]released, in sync[/]" if not diff else f"[red]release out of date ({len(diff)} files)[/]"
        table.add_row(slug, man.title, f"{man.points:g}", str(len(man.parts)),
                      str(released.get("public_tests", "?")), str(released.get("hidden_tests", "?")), status)
    console.print(table)
    return 0


def cmd_release(args, root: Path) -> int:
    from source_utils import release

    chosen = args.slugs or [s for s in slugs(root) if (root / "solutions" / s).exists()]
    if args.student_repo:
        from source_utils import student_repo

        stale = [p for slug in chosen for p in release.differences(solution_dir(root, slug), root / "assignments" / slug)]
        if stale:
            raise UsageError("the committed release is out of date; run `adl release` first:\n  " + "\n  ".join(stale))
        try:
            written = student_repo.export(root, chosen, Path(args.student_repo))
        except student_repo.ExportError as exc:
            raise UsageError(str(exc)) from None
        console.print(f"wrote the student repository to {args.student_repo} ({len(written)} files: "
                      f"{', '.join(chosen)}, the autograder package, a public-tests workflow)")
        return 0
    stale = []
    for slug in chosen:
        solution = solution_dir(root, slug)
        target = root / "assignments" / slug
        if args.check:
            problems = release.differences(solution, target)
            stale.extend(problems)
            console.print(f"{slug}: " + ("[green]in sync[/]" if not problems else f"[red]{len(problems)} files out of date[/]"))
        else:
            release.write(solution, target)
            console.print(f"{slug}: released to {target.relative_to(root)}")
    for problem in stale:
        console.print(f"  [red]{escape(problem)}[/]")
    if stale:
        console.print("run `adl release` and commit assignments/")
        return 1
    return 0


def cmd_test(args, root: Path) -> int:
    folder = root / "assignments" / args.slug
    if not (folder / manifest_mod.MANIFEST).exists():
        raise UsageError(f"no released assignment {args.slug!r} in {root / 'assignments'}")
    man = manifest_mod.load(folder)
    code_dir = Path(args.path).resolve() if args.path else folder
    if not (code_dir / f"{man.module}.py").exists():
        raise UsageError(f"{code_dir / (man.module + '.py')} not found")
    with tempfile.TemporaryDirectory(prefix="adl-test-") as tmp:
        record = Path(tmp) / "record.jsonl"
        env = {**os.environ, "ADL_MODE": "local", "ADL_SUBMISSION": str(code_dir), "ADL_RECORD": str(record)}
        argv = [sys.executable, "-m", "pytest", "-p", "autograder.pytest_plugin", "-p", "no:cacheprovider",
                "--rootdir", str(folder), "-q", "--tb=short", str(folder / "tests"),
                *(["-k", args.keyword] if args.keyword else [])]
        subprocess.run(argv, cwd=folder, env=env, check=False)
        entries = [e for e in grading.read_record(record) if e.get("event") == "test"]
    passed = sum(1 for e in entries if e["outcome"] == "passed")
    hidden = man.release.get("hidden_tests", "some")
    colour = "green" if entries and passed == len(entries) else "red"
    summary = f"public: {passed}/{len(entries)} passed; {hidden} hidden tests are not run here"
    console.print(f"[bold {colour}]{summary}[/] (they run when your submission is graded)")
    if args.markdown:
        rows = [f"| {'✅' if e['outcome'] == 'passed' else '❌'} | `{e['nodeid'].split('::')[-1]}` |" for e in entries]
        with open(args.markdown, "a") as f:
            f.write(f"### {args.slug}: {summary}\n\n| | public test |\n|---|---|\n" + "\n".join(rows) + "\n\n")
    return 0 if entries and passed == len(entries) else 1


def cmd_grade(args, root: Path) -> int:
    if getattr(args, "all", False):
        return gradebook_cli.cmd_grade_all(args, root)
    if args.submission is None:
        raise UsageError("name the SUBMISSION to grade, or give --all to grade every collected one")
    solution = solution_dir(root, args.slug)
    source = Path(args.submission)
    if not source.exists():
        raise UsageError(f"{source}: no such file or folder")
    with console.status(f"grading {source} …"):
        try:
            result = grading.grade(solution, source, seed=args.seed)
        except grading.SubmissionError as exc:
            console.print(f"[red]cannot grade {escape(str(source))}:[/] {escape(str(exc))}")
            if args.results:
                gradescope.write_failure(Path(args.results), str(exc))
            return 2
    terminal.print_grade(result, console, verbose=args.verbose)
    if args.results:
        gradescope.write(result, Path(args.results), manifest_mod.load(solution).hidden_visibility)
        console.print(f"wrote {args.results}")
    if args.json:
        Path(args.json).write_text(json.dumps(result.to_json(), indent=2))
    return 0


def _progress() -> Progress:
    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                    console=console, transient=True)


def cmd_validate(args, root: Path) -> int:
    from source_utils import validate, variants

    chosen = args.slugs or [s for s in slugs(root) if (root / "solutions" / s).exists()]
    failures = 0
    for slug in chosen:
        solution = solution_dir(root, slug)
        with _progress() as progress:
            task = progress.add_task(f"validating {slug}", total=len(variants.variants(solution)))
            checks = validate.validate(root, slug, jobs=args.jobs, seed=args.seed,
                                       progress=lambda name: progress.advance(task))
        table = Table(title=f"adl validate {slug}", title_justify="left")
        table.add_column("check")
        table.add_column("", no_wrap=True)
        table.add_column("detail", overflow="fold")
        for check in checks:
            table.add_row(escape(check.name), "[green]ok[/]" if check.ok else "[red]FAIL[/]", escape(check.detail))
        console.print(table)
        bad = sum(not c.ok for c in checks)
        failures += bad
        console.print(f"{slug}: {len(checks) - bad}/{len(checks)} checks passed")
    return 1 if failures else 0


def cmd_demo(args, root: Path) -> int:
    from source_utils import variants

    slug = args.slug
    solution = solution_dir(root, slug)
    examples = variants.examples(solution)
    console.print(f"[bold]adl demo[/]: grading {len(examples)} example submissions of [bold]{slug}[/] "
                  "with its public and hidden tests, each in its own worker process\n")
    results: dict[str, grading.GradeResult] = {}
    with _progress() as progress, tempfile.TemporaryDirectory(prefix="adl-demo-") as tmp:
        task = progress.add_task("grading", total=len(examples))
        for label, variant in examples.items():
            folder = Path(tmp) / label
            folder.mkdir()
            (folder / f"{manifest_mod.load(solution).module}.py").write_text(variant.source)
            results[label] = grading.grade(solution, folder, seed=args.seed)
            results[label].submission = f"{label}: {variant.why}" if variant.why else label
            progress.advance(task)
    console.print(terminal.comparison_table(results))
    summary = Table(title="scores", title_justify="left")
    for col in ("submission", "what it is", "score", "passed", "grading time"):
        summary.add_column(col, justify="right" if col in ("score", "passed", "grading time") else "left")
    for label, r in results.items():
        passed = sum(t.status == "passed" for t in r.tests)
        summary.add_row(label, escape(examples[label].why), f"{r.score:.2f}/{r.max_score:.0f}",
                        f"{passed}/{len(r.tests)}", f"{r.execution_time:.1f} s")
    console.print(summary)
    wrong = results.get("partly_wrong")
    if wrong is not None:
        console.print("\n[bold]What the student with the partly wrong submission reads[/] (hidden tests say which "
                      "property failed, never the expected values):")
        failed = [t for t in wrong.tests if t.status != "passed"]
        for t in failed[:10]:
            console.print(f"  [red]✗[/] {escape(t.name)} ({t.kind}): {escape(terminal.short(t.message, 100))}")
        if len(failed) > 10:
            console.print(f"  … and {len(failed) - 10} more")
    console.print(f"\n[dim]sandbox: {next(iter(results.values())).sandbox}[/]")
    return 0


# ---------------------------------------------------------------------------- entry point

def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="adl", description="Run an advanced deep-learning course: "
                                     "release, test, grade and validate assignments.")
    parser.add_argument("--root", help="the course repository (default: found from the current folder)")
    sub = parser.add_subparsers(dest="command", required=True)

    sub.add_parser("list", help="assignments, their points and release status")

    p = sub.add_parser("release", help="regenerate assignments/ from solutions/")
    p.add_argument("slugs", nargs="*")
    p.add_argument("--check", action="store_true", help="only report files that are out of date (exit 1 if any)")
    p.add_argument("--student-repo", metavar="DIR", help="write the repository students clone into DIR "
                   "(assignments, the autograder package, a public-tests workflow; no solutions)")

    p = sub.add_parser("gradescope", help="build the Gradescope autograder bundle of an assignment")
    p.add_argument("slug")
    p.add_argument("--out", help="the zip to write (default build/gradescope/SLUG.zip)")

    p = sub.add_parser("test", help="run the public tests on your working copy")
    p.add_argument("slug")
    p.add_argument("--path", help="folder with your module (default: the assignment folder)")
    p.add_argument("-k", dest="keyword", help="only the tests matching this pytest -k expression")
    p.add_argument("--markdown", metavar="FILE", help="append a Markdown summary to FILE (e.g. $GITHUB_STEP_SUMMARY)")

    p = sub.add_parser("grade", help="grade one submission (folder, .zip or module) with the hidden tests")
    p.add_argument("slug")
    p.add_argument("submission", nargs="?")
    p.add_argument("--results", help="write Gradescope's results.json here")
    p.add_argument("--json", help="write the full grading record (JSON) here")
    p.add_argument("--seed", type=int, help="the seed of an earlier run, to reproduce it")
    p.add_argument("-v", "--verbose", action="store_true", help="full failure messages")
    if gradebook_cli is not None:
        gradebook_cli.extend_grade_parser(p)

    p = sub.add_parser("validate", help="reference full marks, stubs zero, every stub and mutant loses points")
    p.add_argument("slugs", nargs="*")
    p.add_argument("--jobs", type=int, default=2, help="submissions graded at once")
    p.add_argument("--seed", type=int)

    p = sub.add_parser("demo", help="grade the bundled example submissions and show the results")
    p.add_argument("slug", nargs="?", default="attention")
    p.add_argument("--seed", type=int)
    speed_bench.add_parser(sub)
    for extra in (gradebook_cli, notebooks_cli):
        if extra is not None:
            extra.add_parsers(sub)
    return parser


def cmd_gradescope(args, root: Path) -> int:
    from source_utils import gradescope as bundle

    solution_dir(root, args.slug)
    out = Path(args.out) if args.out else root / "build" / "gradescope" / f"{args.slug}.zip"
    bundle.build(root, args.slug, out)
    console.print(f"wrote {out}: upload it as the autograder of the Gradescope assignment "
                  "(it holds the hidden tests: keep it private)")
    return 0


COMMANDS = {"list": cmd_list, "release": cmd_release, "test": cmd_test, "grade": cmd_grade,
            "validate": cmd_validate, "demo": cmd_demo, "gradescope": cmd_gradescope}
for extra in (gradebook_cli, notebooks_cli):
    if extra is not None:
        COMMANDS.update(extra.COMMANDS)
COMMANDS["bench"] = lambda args, root: speed_bench.command(args, solution_dir(root, args.slug), console)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    root = Path(args.root).resolve() if args.root else find_root()
    try:
        return COMMANDS[args.command](args, root)
    except (UsageError, manifest_mod.ManifestError, grading.SubmissionError) as exc:
        console.print(f"[red]adl {args.command}:[/] {escape(str(exc))}")
        return 2
    except KeyboardInterrupt:
        console.print("[red]interrupted[/]")
        return 130
