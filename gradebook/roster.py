"""Roster import: a CSV with the columns id, name, email, section (header row required,
any order, extra columns ignored). Every row is checked before anything is written: a file
with one bad row imports nothing, and the error names each bad row by its line number."""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from sqlalchemy import select

from gradebook.models import Student

COLUMNS = ("id", "name", "email", "section")
EMAIL = re.compile(r"^[^@\s,;]+@[^@\s,;]+\.[^@\s,;]+$")
STUDENT_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")  # no '+' or '/': nbgrader and file names use those


class RosterError(ValueError):
    pass


@dataclass
class ImportReport:
    added: list[str]
    updated: list[str]
    unchanged: list[str]


def read(path: Path) -> list[dict]:
    """The rows of the roster file, checked; RosterError lists every problem found."""
    try:
        text = Path(path).read_text(encoding="utf-8-sig")  # -sig: spreadsheets write a BOM
    except UnicodeDecodeError:
        raise RosterError(f"{path}: not UTF-8 text (save the spreadsheet as 'CSV UTF-8')") from None
    except OSError as exc:
        raise RosterError(f"{path}: {exc.strerror}") from None
    reader = csv.DictReader(text.splitlines())
    header = [h.strip().lower() for h in (reader.fieldnames or [])]
    missing = [c for c in COLUMNS if c not in header]
    if missing:
        raise RosterError(f"{path}: the header row needs the columns {', '.join(COLUMNS)} "
                          f"(missing: {', '.join(missing)}; found: {', '.join(header) or 'nothing'})")
    reader.fieldnames = header
    rows, problems = [], []
    ids: dict[str, int] = {}
    emails: dict[str, int] = {}
    for row in reader:
        line = reader.line_num
        if None in row:
            problems.append(f"line {line}: more fields than the header has (an unquoted comma?)")
            continue
        values = {c: (row.get(c) or "").strip() for c in COLUMNS}
        if not any(values.values()):
            continue
        why = []
        if not STUDENT_ID.match(values["id"]):
            why.append(f"id {values['id']!r} is empty or has characters other than letters, digits, . _ -")
        if not values["name"]:
            why.append("the name is empty")
        if not EMAIL.match(values["email"]):
            why.append(f"email {values['email']!r} is not an address")
        values["email"] = values["email"].lower()
        if values["id"] in ids:
            why.append(f"id {values['id']} is also on line {ids[values['id']]}")
        if values["email"] and values["email"] in emails:
            why.append(f"email {values['email']} is also on line {emails[values['email']]}")
        ids.setdefault(values["id"], line)
        emails.setdefault(values["email"], line)
        if why:
            problems.append(f"line {line}: " + "; ".join(why))
        else:
            rows.append(values)
    if problems:
        raise RosterError(f"{path}: {len(problems)} bad row(s); nothing was imported\n  " + "\n  ".join(problems))
    if not rows:
        raise RosterError(f"{path}: no students in the file")
    return rows


def import_roster(session, path: Path) -> ImportReport:
    """Add new students and update the name, email and section of known ones (by id).
    Students missing from the file are kept: their grades stay in the gradebook."""
    rows = read(path)
    report = ImportReport([], [], [])
    known = {s.id: s for s in session.scalars(select(Student))}
    by_email = {s.email: s.id for s in known.values()}
    clashes = [f"{r['email']} (line for {r['id']}) belongs to {by_email[r['email']]} already"
               for r in rows if by_email.get(r["email"], r["id"]) != r["id"]]
    if clashes:
        raise RosterError(f"{path}: emails already in the gradebook under another id; nothing was imported\n  "
                          + "\n  ".join(clashes))
    now = datetime.now(timezone.utc).replace(tzinfo=None)
    for r in rows:
        student = known.get(r["id"])
        if student is None:
            session.add(Student(id=r["id"], name=r["name"], email=r["email"], section=r["section"], added_at=now))
            report.added.append(r["id"])
        elif (student.name, student.email, student.section) != (r["name"], r["email"], r["section"]):
            student.name, student.email, student.section = r["name"], r["email"], r["section"]
            report.updated.append(r["id"])
        else:
            report.unchanged.append(r["id"])
    return report
