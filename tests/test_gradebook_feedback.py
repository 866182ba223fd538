"""Feedback and exports render whatever a student or a grader message holds as text, never as markup."""

from __future__ import annotations

import csv
import io
import json
from datetime import datetime

from autograder import manifest as manifest_mod
from gradebook import exports, feedback
from gradebook.course import Course
from gradebook.models import Assignment, GradingRun, Student, Submission
from gradebook.models import TestOutcome as Outcome  # (not a pytest class)
from gradebook.scores import Line, Sheet
from tests.conftest import TOY

EVIL = "<script>alert('x')</script> | **bold**"


def a_line() -> Line:
    when = datetime(2026, 10, 14, 12, 0)
    student = Student(id="s1", name='Eve "<b>" O\'Neil, Jr.', email="eve@uni.edu", section="A", added_at=when)
    sub = Submission(id=1, student_id="s1", slug="toy", submitted_at=when, collected_at=when, source="x",
                     source_kind="folder", time_source="t", content_hash="ab" * 32, size=1)
    run = GradingRun(submission_id=1, status="done", counted=True, started_at=when, finished_at=when, host="h", pid=1,
                     grader_version="v", hidden_tests_hash="x", seed=7, score=4.0, max_score=10.0, execution_time=1.0,
                     notes=json.dumps([f"note {EVIL}"]), error="")
    run.tests = [Outcome(name="test_add_small", part="Addition", kind="public", status="passed", score=4.0,
                             max_score=4.0, message="", duration=0.1),
                 Outcome(name="test_fact_values", part="Factorial", kind="hidden", status="failed", score=0.0,
                             max_score=6.0, message=f"ValueError: {EVIL}", duration=0.2)]
    return Line(student=student, slug="toy", points=10.0, status="graded", submission=sub, run=run, earned=4.0,
                due=datetime(2026, 10, 15), final=4.0)


def test_reports_escape_student_controlled_text():
    line, man = a_line(), manifest_mod.load(TOY)
    page = feedback.to_html(line, Course(name="c"), "Toy", man)
    md = feedback.markdown(line, Course(name="c"), "Toy", man)
    assert "<script>" not in page and "&lt;script&gt;" in page
    assert '"<b>"' not in page and "&lt;b&gt;" in page  # the student's name is text
    assert "<script>" not in md and "&lt;script&gt;" in md and "\\|" in md  # a | would break the table
    assert "see part 2 of the task sheet (Factorial)" in md and "4.00 / 10" in md and "on time" in md


def test_csv_exports_quote_names():
    line = a_line()
    sheet = Sheet([Assignment(slug="toy", title="Toy, the assignment", points=10.0)], [line.student],
                  {("s1", "toy"): line})
    for fmt in exports.FORMATS:
        rows = list(csv.reader(io.StringIO(exports.render(sheet, Course(name="c"), fmt))))
        assert line.student.name in rows[-1] and "4.00" in rows[-1]
        assert any("Toy, the assignment" in cell or cell == "toy" for cell in rows[0])
