"""Grade files for a spreadsheet and for the two LMSs most courses use.

- `csv`: one row per student: id, name, email, section, each assignment's final score, the
  course total, its maximum and the percentage.
- `canvas`: the Canvas gradebook import format: `Student, ID, SIS User ID, SIS Login ID,
  Section`, then one column per assignment, with a second row `Points Possible`. Students are
  matched by SIS User ID (the roster id; ID, Canvas's internal number, is left empty, which
  Canvas accepts). A column named `Title (canvas_id)` updates that Canvas assignment (set
  `canvas_id` in course.toml); without an id, Canvas creates an assignment of that name.
  Canvas computes its own totals, so none is exported.
- `moodle`: Moodle's CSV grade import: `ID number, Email address, Full name`, one column
  per assignment. Map "Email address" to the user's email on import and each column to its
  grade item; Moodle computes the course total.

A grade still pending (a submission not graded yet) is left empty, and the caller is told;
a missing submission is 0.
"""

from __future__ import annotations

import csv
import io

from gradebook.course import Course
from gradebook.scores import Sheet

FORMATS = ("csv", "canvas", "moodle")


def number(value: float | None) -> str:
    return "" if value is None else f"{value:.2f}"


def render(sheet: Sheet, course: Course, fmt: str) -> str:
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    slugs = [a.slug for a in sheet.assignments]
    if fmt == "csv":
        w.writerow(["student_id", "name", "email", "section", *slugs, "total", "max_total", "percent"])
        for st in sheet.students:
            got, out_of, _ = sheet.total(st.id)
            finals = [number(sheet.lines[(st.id, s)].final) for s in slugs]
            w.writerow([st.id, st.name, st.email, st.section, *finals, number(got), number(out_of),
                        number(100 * got / out_of if out_of else 0.0)])
    elif fmt == "canvas":
        titles = []
        for a in sheet.assignments:
            canvas_id = course.week(a.slug).canvas_id
            titles.append(f"{a.title} ({canvas_id})" if canvas_id else a.title)
        w.writerow(["Student", "ID", "SIS User ID", "SIS Login ID", "Section", *titles])
        w.writerow(["    Points Possible", "", "", "", "", *[number(sheet.points(a.slug)) for a in sheet.assignments]])
        for st in sheet.students:
            w.writerow([st.name, "", st.id, st.email, st.section,
                        *[number(sheet.lines[(st.id, s)].final) for s in slugs]])
    elif fmt == "moodle":
        w.writerow(["ID number", "Email address", "Full name", *[a.title for a in sheet.assignments]])
        for st in sheet.students:
            w.writerow([st.id, st.email, st.name, *[number(sheet.lines[(st.id, s)].final) for s in slugs]])
    else:
        raise ValueError(f"unknown format {fmt!r}: one of {', '.join(FORMATS)}")
    return out.getvalue()


def pending(sheet: Sheet) -> list[tuple[str, str]]:
    return sorted(k for k, line in sheet.lines.items() if line.status == "pending")
