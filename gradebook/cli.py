"""The gradebook's `adl` commands; `autograder/cli.py` registers them with `add_parsers`.

    adl roster import FILE.csv
    adl roster list
    adl collect SLUG SOURCE [--assignment-id ID] [--at DATETIME]
    adl grade SLUG --all [--jobs N] [--force] [--student ID ...]
    adl gradebook show [SLUG]
    adl gradebook adjust STUDENT SLUG POINTS --reason WHY [--by NAME]
    adl gradebook extend STUDENT SLUG (--days N | --until DATETIME) --reason WHY [--by NAME]
    adl gradebook export --format csv|canvas|moodle [--out FILE]
    adl feedback SLUG [--out DIR]

Every command takes `--db URL` (else $ADL_GRADEBOOK, else gradebook.db in the course root)
and `--store DIR` (else $ADL_STORE, else submission-store/ in the course root).
"""

from __future__ import annotations

import argparse
import functools
import getpass
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path


def _errors():
    from gradebook.course import CourseError
    from gradebook.roster import RosterError
    from gradebook.store import StoreError

    return (CourseError, RosterError, StoreError, FileNotFoundError, ValueError)


def _console():
    from autograder.cli import console

    return console


def guarded(command):
    """Print a gradebook error plainly (exit 2) instead of a traceback."""
    @functools.wraps(command)
    def run(args, root: Path) -> int:
        from rich.markup import escape

        try:
            return command(args, root)
        except _errors() as exc:
            _console().print(f"[red]adl {args.command}:[/] {escape(str(exc))}")
            return 2
    return run


def _open(args, root: Path):
    from gradebook import db, store

    gb = db.open_gradebook(root, args.db)
    return gb, store.Store(Path(args.store) if args.store else store.default_location(root))


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--db", metavar="URL", help="the gradebook: a SQLAlchemy URL or a SQLite file "
                   "(default: $ADL_GRADEBOOK, else gradebook.db in the course root)")
    p.add_argument("--store", metavar="DIR", help="the submission store (default: $ADL_STORE, else submission-store/)")


def _now() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)


# ---------------------------------------------------------------------------- roster

@guarded
def cmd_roster(args, root: Path) -> int:
    from rich.table import Table
    from sqlalchemy import select

    from gradebook import roster
    from gradebook.models import Student

    console = _console()
    gb, _ = _open(args, root)
    if args.action == "import":
        if not args.file:
            raise ValueError("adl roster import FILE.csv: name the file")
        with gb.session() as s:
            report = roster.import_roster(s, Path(args.file))
        console.print(f"roster: {len(report.added)} added, {len(report.updated)} updated, "
                      f"{len(report.unchanged)} unchanged")
        return 0
    table = Table(title="roster", title_justify="left")
    for col in ("id", "name", "email", "section"):
        table.add_column(col)
    with gb.session() as s:
        for st in s.scalars(select(Student).order_by(Student.id)):
            table.add_row(st.id, st.name, st.email, st.section)
    console.print(table)
    return 0


# ---------------------------------------------------------------------------- collect

@guarded
def cmd_collect(args, root: Path) -> int:
    from rich.markup import escape

    from autograder.cli import solution_dir
    from gradebook import collect

    console = _console()
    from gradebook import course as course_mod

    solution = solution_dir(root, args.slug)
    at = course_mod.load(root).to_utc(args.at, "--at") if args.at else None
    gb, store = _open(args, root)
    with console.status(f"collecting {args.slug} from {args.source} …") as status:
        report = collect.collect(gb, store, solution, Path(args.source), args.assignment_id,
                                 progress=lambda label: status.update(f"collecting {escape(label)} …"), at=at)
    console.print(f"[bold]{args.slug}[/]: {len(report.received)} received, {len(report.already)} already collected "
                  f"(same content), {len(report.unmatched)} unmatched, {len(report.rejected)} rejected, "
                  f"{len(report.skipped)} skipped")
    for label, why in report.unmatched:
        console.print(f"  [yellow]unmatched[/] {escape(label)}: {escape(why)}")
    for label, why in report.rejected:
        console.print(f"  [red]rejected[/] {escape(label)}: {escape(why)}")
    for label, why in report.skipped:
        console.print(f"  [dim]skipped[/] {escape(label)}: {escape(why)}")
    for group in report.identical:
        console.print(f"  [magenta]identical[/] submissions (same SHA-256): {', '.join(group)}")
    return 1 if report.rejected or report.unmatched else 0


# ---------------------------------------------------------------------------- grade --all

def extend_grade_parser(p: argparse.ArgumentParser) -> None:
    """The batch options of `adl grade` (SUBMISSION is then left out)."""
    p.add_argument("--all", action="store_true", help="grade every collected submission not graded yet (gradebook)")
    p.add_argument("--jobs", type=int, default=2, help="with --all: submissions graded at once")
    p.add_argument("--force", action="store_true", help="with --all: regrade submissions already graded")
    p.add_argument("--student", action="append", metavar="ID", help="with --all: only this student's submissions "
                   "(repeat for several), e.g. a TA's regrade with --force")
    _common(p)


@guarded
def cmd_grade_all(args, root: Path) -> int:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

    from autograder.cli import UsageError, solution_dir
    from gradebook import batch

    if args.submission:
        raise UsageError("give either a SUBMISSION or --all, not both")
    if args.student:
        from sqlalchemy import select

        from gradebook.models import Student

        gb_check, _ = _open(args, root)
        with gb_check.session() as s:
            unknown = sorted(set(args.student) - set(s.scalars(select(Student.id))))
        if unknown:
            raise UsageError(f"not on the roster: {', '.join(unknown)}")
    if args.jobs < 1:
        raise UsageError("--jobs must be at least 1")
    console = _console()
    solution = solution_dir(root, args.slug)
    gb, store = _open(args, root)
    with Progress(TextColumn("grading {task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  TimeRemainingColumn(), console=console, transient=False) as progress:
        task = progress.add_task(args.slug, total=None)
        report = batch.grade_all(gb, store, solution, jobs=args.jobs, force=args.force,
                                 on_start=lambda n: progress.update(task, total=n),
                                 on_done=lambda _id: progress.advance(task), students=args.student)
    if report.interrupted_before:
        console.print(f"{report.interrupted_before} grading run(s) of an earlier, killed batch were marked interrupted")
    console.print(f"[bold]{args.slug}[/]: {len(report.graded)} graded, {report.skipped} already graded (skipped), "
                  f"{len(report.errors)} grader errors, {len(report.not_counted)} graded elsewhere first")
    for submission_id, error in report.errors:
        console.print(f"  [red]submission {submission_id}:[/] {error.splitlines()[-1] if error else ''} "
                      "(not counted; run again to retry)")
    return 1 if report.errors else 0


# ---------------------------------------------------------------------------- gradebook

def _student_and_assignment(s, root: Path, student_id: str, slug: str):
    from autograder.cli import solution_dir
    from gradebook.collect import sync_assignment
    from gradebook.models import Student

    if s.get(Student, student_id) is None:
        raise ValueError(f"no student {student_id!r} on the roster (`adl roster list`)")
    sync_assignment(s, solution_dir(root, slug))


@guarded
def cmd_gradebook(args, root: Path) -> int:
    from gradebook import course as course_mod

    course = course_mod.load(root)
    gb, _ = _open(args, root)
    return {"show": _show, "adjust": _adjust, "extend": _extend, "export": _export}[args.action](args, root, gb, course)


def _show(args, root, gb, course) -> int:
    from rich.table import Table
    from sqlalchemy import func, select

    from gradebook.models import GradingRun, Submission

    from gradebook import scores

    console = _console()
    with gb.session() as s:
        sheet = scores.compute(s, course, [args.slug] if args.slug else None)
        if args.slug and not sheet.assignments:
            raise ValueError(f"nothing collected for {args.slug!r} yet")
        if args.slug:
            week = course.week(args.slug)
            a = sheet.assignments[0]
            table = Table(title=f"{a.slug}: {a.title} · due {week.due or '—'} UTC · {week.late.describe()}",
                          title_justify="left")
            notebook = bool(sheet.notebook_points.get(a.slug))
            columns = ["student", "section", "submitted (UTC)", "status", "tests", *(["notebook"] if notebook else []),
                       "late", "penalty", "adjust", "final"]
            for col in columns:
                table.add_column(col, justify="left" if col in ("student", "section", "submitted (UTC)", "status") else "right")
            for st in sheet.students:
                l = sheet.lines[(st.id, a.slug)]
                table.add_row(st.id, st.section, str(l.submission.submitted_at)[:16] if l.submission else "—",
                              l.status + (" (ext.)" if l.extension else ""),
                              f"{l.code:.2f}/{l.code_points:g}" if l.code is not None else "—",
                              *([(f"{l.notebook_score:.2f}/{l.notebook_points:g}" if l.notebook else "—")
                                 + (f" ({l.notebook_ungraded} to grade)" if l.notebook_ungraded else "")] if notebook else []),
                              f"{l.days_late} d" if l.days_late else "", f"-{100 * l.penalty:.0f}%" if l.penalty else "",
                              f"{l.adjusted:+g}" if l.adjustments else "",
                              f"{l.final:.2f}/{l.points:g}" if l.final is not None else "pending")
            states = [sheet.lines[(st.id, a.slug)].status for st in sheet.students]
            runs = dict(s.execute(select(GradingRun.status, func.count()).join(Submission)
                                  .where(Submission.slug == a.slug).group_by(GradingRun.status)).all())
            table.caption = (f"{states.count('graded')} graded, {states.count('pending')} pending, "
                             f"{states.count('missing')} without a submission; grading runs: "
                             + ", ".join(f"{n} {status}" for status, n in sorted(runs.items())))
        else:
            table = Table(title=f"gradebook of {course.name}", title_justify="left")
            table.add_column("student")
            table.add_column("section")
            for a in sheet.assignments:
                table.add_column(f"{a.slug} /{sheet.points(a.slug):g}", justify="right")
            table.add_column("total", justify="right")
            for st in sheet.students:
                got, out_of, complete = sheet.total(st.id)
                cells = []
                for a in sheet.assignments:
                    l = sheet.lines[(st.id, a.slug)]
                    cells.append("pending" if l.final is None else ("—" if l.status == "missing" and not l.adjustments
                                                                    else f"{l.final:.2f}"))
                table.add_row(st.id, st.section, *cells,
                              f"{got:.2f}/{out_of:g}" + ("" if complete else " (pending)"))
    console.print(table)
    return 0


def _adjust(args, root, gb, course) -> int:
    from gradebook.models import Adjustment

    if not args.reason.strip():
        raise ValueError("--reason is required: say why, for the student and the next TA")
    with gb.session() as s:
        _student_and_assignment(s, root, args.student, args.slug)
        s.add(Adjustment(student_id=args.student, slug=args.slug, points=args.points, reason=args.reason.strip(),
                         by=args.by or getpass.getuser(), at=_now()))
    _console().print(f"{args.student} {args.slug}: {args.points:+g} points ({args.reason.strip()})")
    return 0


def _extend(args, root, gb, course) -> int:
    from gradebook.models import Extension

    if (args.days is None) == (args.until is None):
        raise ValueError("give one of --days N (after the course's due date) or --until DATETIME")
    if not args.reason.strip():
        raise ValueError("--reason is required")
    if args.until is not None:
        due = course.to_utc(args.until, "--until")
    else:
        base = course.week(args.slug).due
        if base is None:
            raise ValueError(f"{args.slug} has no due date in course.toml; use --until")
        due = base + timedelta(days=args.days)
    with gb.session() as s:
        _student_and_assignment(s, root, args.student, args.slug)
        s.add(Extension(student_id=args.student, slug=args.slug, due=due, reason=args.reason.strip(),
                        by=args.by or getpass.getuser(), at=_now()))
    _console().print(f"{args.student} {args.slug}: due {due:%Y-%m-%d %H:%M} UTC ({args.reason.strip()})")
    return 0


def _export(args, root, gb, course) -> int:
    from gradebook import exports, scores

    with gb.session() as s:
        sheet = scores.compute(s, course)
        text = exports.render(sheet, course, args.format)
        waiting = exports.pending(sheet)
    if args.out:
        Path(args.out).write_text(text)
        _console().print(f"wrote {args.out} ({args.format}: {len(sheet.students)} students, "
                         f"{len(sheet.assignments)} assignments)")
    else:
        sys.stdout.write(text)
    if waiting:
        print(f"warning: {len(waiting)} grade(s) pending (collected, not graded) were left empty: run "
              "`adl grade SLUG --all`", file=sys.stderr)
    return 0


# ---------------------------------------------------------------------------- feedback

@guarded
def cmd_feedback(args, root: Path) -> int:
    from autograder import manifest as manifest_mod
    from autograder.cli import solution_dir
    from gradebook import course as course_mod, feedback, scores

    console = _console()
    solution = solution_dir(root, args.slug)
    man = manifest_mod.load(solution)
    course = course_mod.load(root)
    gb, _ = _open(args, root)
    out = Path(args.out) if args.out else root / "feedback" / args.slug
    with gb.session() as s:
        sheet = scores.compute(s, course, [args.slug])
        if not sheet.assignments:
            raise ValueError(f"nothing collected for {args.slug!r} yet")
        stats = feedback.write(sheet, course, args.slug, man.title, out, man)
    mean = f"{stats['mean']:.2f}" if stats["mean"] is not None else "—"
    console.print(f"wrote {stats['reports']} reports (.md and .html) and distribution.png to {out}: "
                  f"{stats['graded']} graded, {stats['missing']} without a submission, mean final {mean}")
    return 0


# ---------------------------------------------------------------------------- registration

def add_parsers(sub) -> None:
    p = sub.add_parser("roster", help="import or list the course roster (CSV: id, name, email, section)")
    p.add_argument("action", choices=["import", "list"])
    p.add_argument("file", nargs="?")
    _common(p)

    p = sub.add_parser("collect", help="store submissions from zips/folders, cloned repos or nbgrader's exchange")
    p.add_argument("slug")
    p.add_argument("source", help="a folder of per-student zips/folders, of cloned repos, or nbgrader's course/inbound")
    p.add_argument("--assignment-id", help="nbgrader's name of the assignment (default: SLUG)")
    p.add_argument("--at", metavar="DATETIME", help="the submission time of every entry (ISO; course.toml's time "
                   "zone), when file times are a download's, not the submission's")
    _common(p)

    p = sub.add_parser("gradebook", help="show, adjust, extend, export the gradebook")
    actions = p.add_subparsers(dest="action", required=True)
    q = actions.add_parser("show", help="the grades (all assignments, or one in detail)")
    q.add_argument("slug", nargs="?")
    _common(q)
    q = actions.add_parser("adjust", help="add (or take) points by hand, with a reason")
    q.add_argument("student")
    q.add_argument("slug")
    q.add_argument("points", type=float, help="points to add (negative to take away)")
    q.add_argument("--reason", required=True)
    q.add_argument("--by", help="who decided (default: your user name)")
    _common(q)
    q = actions.add_parser("extend", help="give a student a later due date")
    q.add_argument("student")
    q.add_argument("slug")
    q.add_argument("--days", type=float, help="days after the course's due date")
    q.add_argument("--until", help="the new due date (ISO, e.g. 2026-10-16T23:59; course.toml's time zone)")
    q.add_argument("--reason", required=True)
    q.add_argument("--by")
    _common(q)
    q = actions.add_parser("export", help="grades for a spreadsheet, Canvas or Moodle")
    q.add_argument("--format", choices=["csv", "canvas", "moodle"], default="csv")
    q.add_argument("--out", help="the file to write (default: standard output)")
    _common(q)

    p = sub.add_parser("feedback", help="per-student HTML and Markdown reports, and the grade distribution")
    p.add_argument("slug")
    p.add_argument("--out", help="the folder (default: feedback/SLUG in the course root)")
    _common(p)


COMMANDS = {"roster": cmd_roster, "collect": cmd_collect, "gradebook": cmd_gradebook, "feedback": cmd_feedback}
