"""The gradebook's tables.

Times are stored as naive UTC datetimes (SQLite has no time zones); `course.py` converts due
dates to UTC before they meet these. Every change of the schema gets an Alembic revision in
`migrations/versions/` (tests/test_gradebook_db.py checks the models match the migrations).

Exactly-once grading rests on one index: `one_counted_run_per_submission` lets at most one
grading run of a submission be `counted`, whatever crashes or concurrent batches happen.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (Boolean, DateTime, Float, ForeignKey, Index, Integer, String, Text,
                        UniqueConstraint, text)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


class Base(DeclarativeBase):
    pass


class Student(Base):
    """One row of the roster; `id` is the university's student id."""

    __tablename__ = "students"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str] = mapped_column(String(200), unique=True)
    section: Mapped[str] = mapped_column(String(64), default="")
    added_at: Mapped[datetime] = mapped_column(DateTime)


class Assignment(Base):
    """An assignment as the manifest described it when it was last collected or graded
    (title and points are refreshed from `assignment.toml`, their one source)."""

    __tablename__ = "assignments"

    slug: Mapped[str] = mapped_column(String(64), primary_key=True)
    title: Mapped[str] = mapped_column(String(300))
    points: Mapped[float] = mapped_column(Float)


class Submission(Base):
    """One submitted version, stored write-once under its SHA-256 (`store.py`)."""

    __tablename__ = "submissions"
    __table_args__ = (UniqueConstraint("student_id", "slug", "content_hash", name="one_row_per_content"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    student_id: Mapped[str] = mapped_column(ForeignKey("students.id"), index=True)
    slug: Mapped[str] = mapped_column(ForeignKey("assignments.slug"), index=True)
    submitted_at: Mapped[datetime] = mapped_column(DateTime)  # UTC; what the late policy reads
    collected_at: Mapped[datetime] = mapped_column(DateTime)
    source: Mapped[str] = mapped_column(Text)  # where it was collected from
    source_kind: Mapped[str] = mapped_column(String(16))  # zip | folder | repo | nbgrader | file
    time_source: Mapped[str] = mapped_column(String(64))  # how submitted_at was found
    content_hash: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(Integer)

    student: Mapped[Student] = relationship()
    runs: Mapped[list["GradingRun"]] = relationship(back_populates="submission", order_by="GradingRun.id")


class GradingRun(Base):
    """One attempt to grade a submission. `status`: running (or killed while running),
    done, error (the grader itself failed; retried next time), interrupted (found running
    after its process had died). Only a `done` run can be `counted`, and at most one is."""

    __tablename__ = "grading_runs"
    __table_args__ = (
        Index("one_counted_run_per_submission", "submission_id", unique=True,
              sqlite_where=text("counted = 1"), postgresql_where=text("counted")),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    submission_id: Mapped[int] = mapped_column(ForeignKey("submissions.id"), index=True)
    status: Mapped[str] = mapped_column(String(16))
    counted: Mapped[bool] = mapped_column(Boolean, default=False)
    started_at: Mapped[datetime] = mapped_column(DateTime)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    host: Mapped[str] = mapped_column(String(200))
    pid: Mapped[int] = mapped_column(Integer)
    grader_version: Mapped[str] = mapped_column(String(64))
    hidden_tests_hash: Mapped[str] = mapped_column(String(64))
    seed: Mapped[int | None] = mapped_column(Integer, nullable=True)
    sandbox: Mapped[str | None] = mapped_column(Text, nullable=True)
    score: Mapped[float | None] = mapped_column(Float, nullable=True)
    max_score: Mapped[float | None] = mapped_column(Float, nullable=True)
    execution_time: Mapped[float | None] = mapped_column(Float, nullable=True)
    notes: Mapped[str] = mapped_column(Text, default="[]")  # JSON list of the grader's notes
    error: Mapped[str] = mapped_column(Text, default="")

    submission: Mapped[Submission] = relationship(back_populates="runs")
    tests: Mapped[list["TestOutcome"]] = relationship(back_populates="run", order_by="TestOutcome.id")


class TestOutcome(Base):
    """One test of one grading run, as the grader scored it (messages are the grader's,
    which never quote hidden expected values)."""

    __tablename__ = "test_outcomes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("grading_runs.id"), index=True)
    name: Mapped[str] = mapped_column(String(300))
    part: Mapped[str] = mapped_column(String(300))
    kind: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16))
    score: Mapped[float] = mapped_column(Float)
    max_score: Mapped[float] = mapped_column(Float)
    message: Mapped[str] = mapped_column(Text, default="")
    duration: Mapped[float] = mapped_column(Float, default=0.0)

    run: Mapped[GradingRun] = relationship(back_populates="tests")


class Adjustment(Base):
    """Points a person added (or took away) by hand, after the late penalty."""

    __tablename__ = "adjustments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    student_id: Mapped[str] = mapped_column(ForeignKey("students.id"), index=True)
    slug: Mapped[str] = mapped_column(ForeignKey("assignments.slug"))
    points: Mapped[float] = mapped_column(Float)
    reason: Mapped[str] = mapped_column(Text)
    by: Mapped[str] = mapped_column(String(200))
    at: Mapped[datetime] = mapped_column(DateTime)


class Extension(Base):
    """A personal due date; the latest one granted replaces the course's due date."""

    __tablename__ = "extensions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    student_id: Mapped[str] = mapped_column(ForeignKey("students.id"), index=True)
    slug: Mapped[str] = mapped_column(ForeignKey("assignments.slug"))
    due: Mapped[datetime] = mapped_column(DateTime)
    reason: Mapped[str] = mapped_column(Text)
    by: Mapped[str] = mapped_column(String(200))
    at: Mapped[datetime] = mapped_column(DateTime)


class NotebookGrade(Base):
    """One graded cell of a student's seminar notebook, as nbgrader's gradebook holds it:
    autograded check cells (auto score) and written answers graded by hand in formgrader or
    with `adl notebook grade` (manual score). `adl notebook import` refreshes these rows."""

    __tablename__ = "notebook_grades"
    __table_args__ = (UniqueConstraint("student_id", "slug", "cell"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    student_id: Mapped[str] = mapped_column(ForeignKey("students.id"), index=True)
    slug: Mapped[str] = mapped_column(ForeignKey("assignments.slug"), index=True)
    cell: Mapped[str] = mapped_column(String(200))  # nbgrader's grade_id
    kind: Mapped[str] = mapped_column(String(16))  # autograded | manual
    max_score: Mapped[float] = mapped_column(Float)
    auto_score: Mapped[float | None] = mapped_column(Float, nullable=True)
    manual_score: Mapped[float | None] = mapped_column(Float, nullable=True)
    needs_manual_grade: Mapped[bool] = mapped_column(Boolean, default=False)
    comment: Mapped[str] = mapped_column(Text, default="")  # the grader's (a person's) comment
    notice: Mapped[str] = mapped_column(Text, default="")  # the cell was deleted, duplicated or edited
    imported_at: Mapped[datetime] = mapped_column(DateTime)

    @property
    def score(self) -> float | None:
        """What the cell earns: the manual score where a person gave one, else the auto score;
        None while it waits for a person."""
        if self.manual_score is not None:
            return self.manual_score
        if self.needs_manual_grade:
            return None
        return self.auto_score or 0.0
