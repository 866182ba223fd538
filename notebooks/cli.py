"""The notebook commands of `adl`; `autograder/cli.py` registers them with `add_parsers`."""

from __future__ import annotations

from pathlib import Path

from gradebook.cli import guarded


# ---------------------------------------------------------------------------- export-pdf

def _assignment_title(root: Path, slug: str) -> str:
    from autograder import manifest as manifest_mod
    from autograder.cli import UsageError

    for folder in (root / "solutions" / slug, root / "assignments" / slug):
        if (folder / manifest_mod.MANIFEST).exists():
            return manifest_mod.load(folder).title
    raise UsageError(f"no assignment {slug!r}; `adl list` shows them")


def _open_existing_gradebook(args, root: Path, why: str):
    """The gradebook and store of `--db/--store`, refusing to create an empty gradebook file."""
    from gradebook import db
    from gradebook.cli import _open

    url = db.resolve_url(root, args.db)
    if url.startswith("sqlite:///") and not Path(url[len("sqlite:///"):]).exists():
        raise ValueError(f"{why}, and there is no gradebook {url[len('sqlite:///'):]} (`adl collect` makes it; "
                         "or give --db)")
    return _open(args, root)


def _export_one(args, root: Path, slug: str, title: str) -> int:
    from rich.markup import escape

    from autograder.cli import UsageError
    from gradebook.cli import _console
    from gradebook.models import Student
    from notebooks import pdf

    given = args.submission
    path = Path(given)
    if path.exists():
        source = pdf.from_path(path, args.student)
    elif "/" in given or "\\" in given or path.suffix.lower() in (".ipynb", ".zip", ".json"):
        raise FileNotFoundError(f"{given}: no such file or folder")
    else:  # a student id: the latest collected submission
        if args.student:
            raise UsageError("--student names the student of a file; SUBMISSION is a student id already")
        gb, store = _open_existing_gradebook(args, root, f"{given}: no such file or folder")
        try:
            with gb.session() as s:
                if s.get(Student, given) is None:
                    raise ValueError(f"{given}: neither a file or folder nor a student on the roster")
                sub = pdf.latest_submissions(s, slug, [given]).get(given)
            if sub is None:
                raise ValueError(f"{given} has no collected submission of {slug} (`adl collect {slug} SOURCE`)")
            source = pdf.from_submission(sub, store)
        finally:
            gb.close()
    default = root / "build" / "pdf" / slug
    out = Path(args.out) if args.out else default / pdf.file_name(source.stem)
    if out.is_dir():
        out = out / pdf.file_name(source.stem)
    result = pdf.export(source, slug, out, title)
    _console().print(f"wrote {escape(str(result.path))} ({result.pages} page{'s' if result.pages != 1 else ''}, "
                     f"{source.student or 'no student id'})")
    return 0


def _export_all(args, root: Path, slug: str, title: str) -> int:
    from rich.markup import escape
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

    from gradebook.cli import _console
    from notebooks import pdf

    console = _console()
    gb, store = _open_existing_gradebook(args, root, "--all exports collected submissions")
    try:
        with gb.session() as s:
            latest = pdf.latest_submissions(s, slug)
    finally:
        gb.close()
    if not latest:
        raise ValueError(f"nothing collected for {slug!r} yet (`adl collect {slug} SOURCE`)")
    folder = Path(args.out) if args.out else root / "build" / "pdf" / slug
    written, failed = [], []
    with Progress(TextColumn("export-pdf {task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  TimeRemainingColumn(), console=console, transient=False) as progress:
        task = progress.add_task(slug, total=len(latest))
        for student, sub in sorted(latest.items()):
            progress.update(task, description=f"{slug} {escape(student)}")
            try:
                written.append(pdf.export(pdf.from_submission(sub, store), slug, folder / pdf.file_name(student), title))
            except pdf.PdfError as exc:
                failed.append((student, str(exc)))
            except Exception as exc:  # one broken notebook must not stop the batch
                failed.append((student, f"{type(exc).__name__}: {exc}"))
            progress.advance(task)
            progress.update(task, description=slug)
    console.print(f"[bold]{slug}[/]: {len(written)} PDF(s) written to {escape(str(folder))}, {len(failed)} failed")
    for student, why in failed:
        console.print(f"  [red]{escape(student)}:[/] {escape(why)}")
    return 1 if failed else 0


@guarded
def cmd_export_pdf(args, root: Path) -> int:
    from autograder.cli import UsageError

    title = _assignment_title(root, args.slug)
    if args.all:
        if args.submission:
            raise UsageError("give either a SUBMISSION or --all, not both")
        if args.student:
            raise UsageError("--student names the student of one file; --all takes every student's own id")
        return _export_all(args, root, args.slug, title)
    if not args.submission:
        raise UsageError("name the SUBMISSION (an .ipynb, a folder, a .zip or a student id), or give --all")
    return _export_one(args, root, args.slug, title)


# ---------------------------------------------------------------------------- notebook (nbgrader)

def _notebook_setup(args, root: Path) -> int:
    from rich.markup import escape

    from gradebook.cli import _console
    from notebooks import course

    slugs = args.slugs or sorted(p.parent.name for p in (root / "solutions").glob(f"*/{course.NOTEBOOK}"))
    result = course.setup(root, slugs, Path(args.course_dir), Path(args.exchange), args.course_id,
                          kernel=args.kernel)
    console = _console()
    console.print(f"nbgrader course folder {escape(str(result.course_dir))}: generated {', '.join(result.slugs)}")
    for warning in result.warnings:
        console.print(f"[yellow]warning:[/] {escape(warning)}")
    console.print("next, in that folder: nbgrader release_assignment SLUG; later nbgrader collect SLUG, "
                  "nbgrader autograde SLUG, nbgrader formgrader; then adl notebook import SLUG")
    return 0


def _notebook_grade(args, root: Path) -> int:
    from gradebook.cli import _console
    from notebooks import scores

    got, out_of = scores.grade_by_hand(Path(args.course_dir), args.assignment_id or args.slug, args.student,
                                       args.cell, args.points, args.comment)
    _console().print(f"{args.student} {args.slug} {args.cell}: {got:g} / {out_of:g} (manual score in nbgrader's gradebook; "
                     "`adl notebook import` brings it into adl's)")
    return 0


def _notebook_import(args, root: Path) -> int:
    from rich.markup import escape

    from gradebook.cli import _console, _open
    from notebooks import scores

    gb, _ = _open(args, root)
    try:
        with gb.session() as s:
            summary = scores.import_grades(s, root, Path(args.course_dir), args.slug, args.assignment_id)
    finally:
        gb.close()
    console = _console()
    console.print(f"{args.slug}: imported {summary.cells} graded cells of {summary.students} students from nbgrader"
                  + (f"; {summary.waiting} written answers still wait for a grader" if summary.waiting else ""))
    for student, why in summary.skipped:
        console.print(f"  [yellow]skipped {escape(student)}:[/] {escape(why)}")
    return 0


@guarded
def cmd_notebook(args, root: Path) -> int:
    return {"setup": _notebook_setup, "grade": _notebook_grade, "import": _notebook_import}[args.action](args, root)


# ---------------------------------------------------------------------------- registration

def add_parsers(sub) -> None:
    from gradebook.cli import _common

    p = sub.add_parser("export-pdf", help="a student's seminar notebook as a PDF, for grading by hand (Gradescope)")
    p.add_argument("slug")
    p.add_argument("submission", nargs="?", help="an .ipynb, a folder holding seminar.ipynb, a .zip holding it, "
                   "or a student id (their latest collected submission, from the gradebook)")
    p.add_argument("--all", action="store_true", help="every student with a collected submission of SLUG, one PDF each")
    p.add_argument("--out", help="the PDF to write (with --all: the folder); default: build/pdf/SLUG/ in the course root")
    p.add_argument("--student", metavar="ID", help="the student id to print on the pages of a notebook given as a file")
    _common(p)

    p = sub.add_parser("notebook", help="the seminar notebooks in nbgrader: course folder, manual scores, import")
    actions = p.add_subparsers(dest="action", required=True)
    q = actions.add_parser("setup", help="an nbgrader course folder (source/, release/, config) for the weeks")
    q.add_argument("slugs", nargs="*", help="weeks to set up (default: every week with a notebook)")
    q.add_argument("--course-dir", required=True, help="nbgrader's course folder (created if missing)")
    q.add_argument("--exchange", required=True, help="nbgrader's exchange folder (created if missing)")
    q.add_argument("--course-id", default="adl", help="nbgrader's course id (default: adl)")
    q.add_argument("--kernel", help="kernel for autograding (default: adl-sandbox, the grader's sandbox)")
    q = actions.add_parser("grade", help="give a written answer its points by hand (what formgrader does)")
    q.add_argument("slug")
    q.add_argument("student")
    q.add_argument("cell", help="the answer cell's nbgrader grade_id, e.g. q_sqrt_dk")
    q.add_argument("points", type=float)
    q.add_argument("--comment", help="a comment the student sees with the score")
    q.add_argument("--course-dir", required=True)
    q.add_argument("--assignment-id", help="nbgrader's name of the assignment (default: SLUG)")
    q = actions.add_parser("import", help="nbgrader's notebook scores (auto and manual) into adl's gradebook")
    q.add_argument("slug")
    q.add_argument("--course-dir", required=True)
    q.add_argument("--assignment-id", help="nbgrader's name of the assignment (default: SLUG)")
    _common(q)


COMMANDS: dict = {"export-pdf": cmd_export_pdf, "notebook": cmd_notebook}
