"""The final score of every student and assignment, from everything the gradebook holds.

For a student and an assignment:

- the counted submission is the latest one (by submission time); a student's last word
  counts, as in most LMSs;
- earned = the score of its counted grading run (`pending` while it has none), plus the seminar
  notebook's cell scores where they were imported from nbgrader (`adl notebook import`): the
  manual score where a person gave one, else the auto score; a written answer nobody graded yet
  counts 0 and the line says so (`notebook_ungraded`). The assignment's points then include the
  notebook's;
- due = the latest extension granted to the student, else the course's due date (course.toml);
- penalty p = the week's late policy applied to (submitted_at - due) (policy.py);
- final = clamp(earned * (1 - p) + sum(adjustments), 0, points);
  with no submission at all, final = clamp(sum(adjustments), 0, points) (zero unless a person
  gave points by hand).

A course total is the sum of the finals over the sum of the points.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select

from gradebook.course import Course
from gradebook.models import Adjustment, Assignment, Extension, GradingRun, NotebookGrade, Student, Submission


@dataclass
class Line:
    student: Student
    slug: str
    points: float
    status: str  # graded | pending | missing
    submission: Submission | None = None
    run: GradingRun | None = None
    earned: float | None = None
    due: datetime | None = None
    extension: Extension | None = None
    late_seconds: float = 0.0
    days_late: int = 0
    penalty: float = 0.0  # fraction of the earned score
    adjustments: list[Adjustment] = field(default_factory=list)
    final: float | None = None
    code: float | None = None  # the counted grading run's score (hidden and public tests)
    code_points: float = 0.0
    notebook: list[NotebookGrade] = field(default_factory=list)

    @property
    def notebook_points(self) -> float:
        return sum(g.max_score for g in self.notebook)

    @property
    def notebook_score(self) -> float:
        return sum(g.score or 0.0 for g in self.notebook)

    @property
    def notebook_ungraded(self) -> int:
        """Written answers that still wait for a person."""
        return sum(1 for g in self.notebook if g.score is None)

    @property
    def adjusted(self) -> float:
        return sum(a.points for a in self.adjustments)


@dataclass
class Sheet:
    assignments: list[Assignment]
    students: list[Student]
    lines: dict[tuple[str, str], Line]  # (student id, slug)
    notebook_points: dict[str, float] = field(default_factory=dict)  # slug -> points of its notebook

    def points(self, slug: str) -> float:
        """The assignment's points: its tests' and, once imported, its notebook's."""
        return next(a.points for a in self.assignments if a.slug == slug) + self.notebook_points.get(slug, 0.0)

    def total(self, student_id: str) -> tuple[float, float, bool]:
        """(sum of finals, sum of points, complete: no grade pending)."""
        got, out_of, complete = 0.0, 0.0, True
        for a in self.assignments:
            line = self.lines[(student_id, a.slug)]
            out_of += line.points
            if line.final is None:
                complete = False
            else:
                got += line.final
        return got, out_of, complete


def clamp(value: float, low: float, high: float) -> float:
    return max(low, min(high, value))


def compute(session, course: Course, slugs: list[str] | None = None) -> Sheet:
    query = select(Assignment).order_by(Assignment.slug)
    assignments = [a for a in session.scalars(query) if slugs is None or a.slug in slugs]
    order = {slug: i for i, slug in enumerate(course.weeks)}
    assignments.sort(key=lambda a: (order.get(a.slug, len(order)), a.slug))
    students = list(session.scalars(select(Student).order_by(Student.id)))
    wanted = [a.slug for a in assignments]
    latest: dict[tuple[str, str], Submission] = {}
    for sub in session.scalars(select(Submission).where(Submission.slug.in_(wanted))
                               .order_by(Submission.submitted_at, Submission.id)):
        latest[(sub.student_id, sub.slug)] = sub
    counted = {r.submission_id: r for r in session.scalars(select(GradingRun).where(GradingRun.counted.is_(True)))}
    extensions: dict[tuple[str, str], Extension] = {}
    for ext in session.scalars(select(Extension).order_by(Extension.at, Extension.id)):
        extensions[(ext.student_id, ext.slug)] = ext
    notebook: dict[tuple[str, str], list[NotebookGrade]] = {}
    for grade in session.scalars(select(NotebookGrade).where(NotebookGrade.slug.in_(wanted))
                                 .order_by(NotebookGrade.cell)):
        notebook.setdefault((grade.student_id, grade.slug), []).append(grade)
    # every student's notebook has the same cells: the assignment's notebook points are theirs
    notebook_points: dict[str, float] = {}
    for (_, slug), grades in notebook.items():
        notebook_points[slug] = max(notebook_points.get(slug, 0.0), sum(g.max_score for g in grades))
    adjustments: dict[tuple[str, str], list[Adjustment]] = {}
    for adj in session.scalars(select(Adjustment).order_by(Adjustment.at, Adjustment.id)):
        adjustments.setdefault((adj.student_id, adj.slug), []).append(adj)

    lines = {}
    for a in assignments:
        week = course.week(a.slug)
        for st in students:
            key = (st.id, a.slug)
            sub = latest.get(key)
            ext = extensions.get(key)
            line = Line(student=st, slug=a.slug, points=a.points + notebook_points.get(a.slug, 0.0),
                        status="missing", submission=sub, due=ext.due if ext else week.due, extension=ext,
                        adjustments=adjustments.get(key, []), code_points=a.points, notebook=notebook.get(key, []))
            if sub is None:
                line.final = clamp(line.notebook_score + line.adjusted, 0.0, line.points)
            else:
                line.run = counted.get(sub.id)
                if line.due is not None:
                    line.late_seconds = max(0.0, (sub.submitted_at - line.due).total_seconds())
                    line.days_late = week.late.days_late(line.late_seconds)
                    line.penalty = week.late.penalty(line.late_seconds)
                if line.run is None:
                    line.status = "pending"
                else:
                    line.status = "graded"
                    line.code = line.run.score
                    line.earned = line.code + line.notebook_score
                    line.final = clamp(line.earned * (1 - line.penalty) + line.adjusted, 0.0, line.points)
            lines[key] = line
    return Sheet(assignments, students, lines, notebook_points)
