"""Notebook scores between nbgrader's gradebook and adl's.

nbgrader keeps a score per graded cell of each submitted notebook: the autograded check cells
get an auto score from `nbgrader autograde`; written answers get a manual score from a TA in
formgrader (or from `adl notebook grade`, which writes the same fields, for courses that do
not run formgrader). `import_grades` copies those cells into adl's gradebook
(`gradebook.models.NotebookGrade`), where they sit beside the code's score of the same week
(`gradebook/scores.py` adds them up; `adl gradebook show SLUG` shows both parts).

Importing is idempotent: each (student, week, cell) row is replaced by nbgrader's current
values, so importing again after more manual grading just brings the new scores in.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from notebooks import restore

NOTEBOOK_ID = "seminar"


@dataclass
class ImportSummary:
    students: int = 0
    cells: int = 0
    waiting: int = 0  # written answers not graded by a person yet
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (student, why)


def _gradebook(course_dir: Path):
    from nbgrader.api import Gradebook

    db = Path(course_dir) / "gradebook.db"
    if not db.exists():
        raise FileNotFoundError(f"no nbgrader gradebook at {db}; run `adl notebook setup` and "
                                "`nbgrader autograde` first")
    return Gradebook(f"sqlite:///{db}")


def _notices(course_dir: Path, student: str, assignment: str) -> dict[str, str]:
    import nbformat

    path = Path(course_dir) / "autograded" / student / assignment / f"{NOTEBOOK_ID}.ipynb"
    if not path.exists():
        return {}
    return restore.read_notices(nbformat.read(path, as_version=4))


def import_grades(session, root: Path, course_dir: Path, slug: str, assignment_id: str | None = None,
                  now: datetime | None = None) -> ImportSummary:
    """Copy every graded notebook cell of `slug` from nbgrader's gradebook into adl's."""
    from gradebook import collect
    from gradebook.models import NotebookGrade, Student

    assignment_id = assignment_id or slug
    now = now or datetime.now(timezone.utc).replace(tzinfo=None)
    collect.sync_assignment(session, Path(root) / "solutions" / slug)
    summary = ImportSummary()
    with _gradebook(course_dir) as gb:
        try:
            assignment = gb.find_assignment(assignment_id)
        except Exception as exc:  # nbgrader raises MissingEntry
            raise ValueError(f"nbgrader has no assignment {assignment_id!r} in {course_dir}") from exc
        for submission in assignment.submissions:
            student = submission.student.id
            if session.get(Student, student) is None:
                summary.skipped.append((student, "not on adl's roster"))
                continue
            notices = _notices(course_dir, student, assignment_id)
            summary.students += 1
            for nb in submission.notebooks:
                comments = {c.name: (c.manual_comment or "") for c in nb.comments}
                for grade in nb.grades:
                    row = session.query(NotebookGrade).filter_by(student_id=student, slug=slug,
                                                                 cell=grade.name).one_or_none()
                    if row is None:
                        row = NotebookGrade(student_id=student, slug=slug, cell=grade.name)
                        session.add(row)
                    row.kind = "manual" if grade.auto_score is None else "autograded"
                    row.max_score = float(grade.max_score)
                    row.auto_score = grade.auto_score
                    row.manual_score = grade.manual_score
                    row.needs_manual_grade = bool(grade.needs_manual_grade)
                    row.comment = comments.get(grade.name, "")
                    row.notice = notices.get(grade.name, "")
                    row.imported_at = now
                    summary.cells += 1
                    summary.waiting += row.score is None
    return summary


def grade_by_hand(course_dir: Path, assignment_id: str, student: str, cell: str, points: float,
                  comment: str | None = None) -> tuple[float, float]:
    """Give a written answer its manual score in nbgrader's gradebook (what formgrader does).
    Returns (points, max points)."""
    from nbgrader.api import MissingEntry

    with _gradebook(course_dir) as gb:
        try:
            grade = gb.find_grade(cell, NOTEBOOK_ID, assignment_id, student)
        except MissingEntry:
            raise ValueError(f"nbgrader has no graded cell {cell!r} of {student!r} in {assignment_id!r} "
                             "(autograde the submission first; cell names are nbgrader's grade_ids)") from None
        if not 0 <= points <= grade.max_score:
            raise ValueError(f"{cell}: {points:g} points is outside 0..{grade.max_score:g}")
        grade.manual_score = float(points)
        grade.needs_manual_grade = False
        if comment is not None:
            try:
                gb.find_comment(cell, NOTEBOOK_ID, assignment_id, student).manual_comment = comment
            except MissingEntry:
                pass  # only solution cells carry comments in nbgrader
        gb.db.commit()
        return float(points), float(grade.max_score)
