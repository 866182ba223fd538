"""An end-to-end term with `adl`: roster, collect (correct, partly wrong, broken, late,
resubmitted, unmatched, unsafe), grade --all with 2 jobs, adjust, extend, export in three
formats, feedback. Every exported number is computed here by hand from the toy manifest's
points (add: 4, fact: 6) and the late-policy formula, never by the gradebook's own code."""

from __future__ import annotations

import csv
import io
import math
import os
import sqlite3
import zipfile
from datetime import datetime, timedelta, timezone
from pathlib import Path

from autograder.cli import main
from tests.conftest import TOY

CORRECT = (TOY / "toy.py").read_text()
ADD_WRONG = CORRECT.replace("return a + b", "return a - b")  # loses part add (4 points)
FACT_WRONG = CORRECT.replace("range(2, n + 1)", "range(2, n)")  # loses part fact (6 points)
BROKEN = "def add(a, b:\n    return a + b\n"
DUE_UTC = datetime(2026, 10, 14, 21, 59, tzinfo=timezone.utc)  # course.toml says 23:59 in Zurich (CEST, UTC+2)
DAY = 86400

COURSE_TOML = """
[course]
name = "ADL test term"
timezone = "Europe/Zurich"

[late]
policy = "linear"
percent_per_day = 10

[[weeks]]
week = 1
slug = "toy"
due = 2026-10-14T23:59:00
"""

ROSTER = """id,name,email,section
s001,Ada Lovelace,ada@uni.edu,A
s002,Alan Turing,alan@uni.edu,B
s003,Barbara Liskov,barbara@uni.edu,A
s004,Claude Shannon,claude@uni.edu,B
s005,Donald Knuth,donald@uni.edu,A
s006,Grace Hopper,grace@uni.edu,B
s007,John Backus,john@uni.edu,A
s008,Edsger Dijkstra,edsger@uni.edu,B
"""


def stamp(path: Path, seconds_after_due: float) -> None:
    t = DUE_UTC.timestamp() + seconds_after_due
    for p in [path, *path.rglob("*")] if path.is_dir() else [path]:
        os.utime(p, (t, t))


def folder(inbox: Path, name: str, source: str, seconds_after_due: float) -> None:
    (inbox / name).mkdir()
    (inbox / name / "toy.py").write_text(source)
    stamp(inbox / name, seconds_after_due)


def archive(inbox: Path, name: str, members: dict[str, str], seconds_after_due: float) -> None:
    with zipfile.ZipFile(inbox / name, "w") as zf:
        for member, text in members.items():
            zf.writestr(member, text)
    stamp(inbox / name, seconds_after_due)


def adl(course: Path, *argv: str) -> int:
    return main(["--root", str(course), *argv])


def test_a_whole_term(course: Path, tmp_path: Path, capsys):
    (course / "course.toml").write_text(COURSE_TOML)
    (tmp_path / "roster.csv").write_text(ROSTER)
    assert adl(course, "roster", "import", str(tmp_path / "roster.csv")) == 0

    inbox = tmp_path / "inbox"
    inbox.mkdir()
    folder(inbox, "s001", CORRECT, -3600)  # on time; the latest of s001's two submissions
    archive(inbox, "s001_first_try.zip", {"toy.py": BROKEN}, -2 * DAY)  # earlier: must not count
    archive(inbox, "s002.zip", {"work/toy.py": ADD_WRONG}, -7200)  # partly wrong, inside a folder of the zip
    folder(inbox, "s003-toy", BROKEN, -60)  # does not compile
    folder(inbox, "claude", CORRECT, 2.5 * DAY)  # s004 by email name; 2.5 days late: 3 started days
    folder(inbox, "s005", CORRECT, 1.2 * DAY)  # late, but gets a 2-day extension below
    folder(inbox, "grace", FACT_WRONG, -10)  # s006; a TA adds 1.5 points below
    archive(inbox, "zed.zip", {"toy.py": CORRECT}, 0)  # nobody on the roster
    archive(inbox, "s008.zip", {"toy.py": CORRECT, "../escape.py": "x = 1"}, 0)  # unsafe: rejected
    # s007 submits nothing

    capsys.readouterr()
    assert adl(course, "collect", "toy", str(inbox)) == 1  # 1: something was unmatched or rejected
    out = capsys.readouterr().out
    assert "7 received" in out and "1 unmatched" in out and "1 rejected" in out
    assert "zed.zip" in out and "s008.zip" in out and "unsafe" in out
    assert "identical submissions (same SHA-256): s001, s004, s005" in out  # the three correct folders
    assert adl(course, "collect", "toy", str(inbox)) == 1  # collecting again adds nothing
    assert "0 received, 7 already collected" in capsys.readouterr().out

    store = course / "submission-store"
    blobs = list(store.rglob("*.zip"))
    assert len(blobs) == 5  # content-addressed: the three identical correct folders are stored once
    assert all(b.stat().st_mode & 0o222 == 0 for b in blobs)  # written once, read-only

    assert adl(course, "grade", "toy") == 2  # neither a submission nor --all
    assert "or give --all" in capsys.readouterr().out
    assert adl(course, "grade", "toy", "--all", "--jobs", "2") == 0
    assert "7 graded" in capsys.readouterr().out
    assert adl(course, "grade", "toy", "--all", "--jobs", "2") == 0
    assert "0 graded, 7 already graded" in capsys.readouterr().out

    assert adl(course, "gradebook", "adjust", "s006", "toy", "1.5", "--reason", "fact is right for n >= 3 after all",
               "--by", "ta-jane") == 0
    assert adl(course, "gradebook", "extend", "s005", "toy", "--days", "2", "--reason", "medical note") == 0
    assert adl(course, "gradebook", "adjust", "nobody", "toy", "1", "--reason", "x") == 2  # unknown student: clear error
    assert "no student 'nobody'" in capsys.readouterr().out
    assert adl(course, "gradebook", "show") == 0
    assert adl(course, "gradebook", "show", "toy") == 0
    shown = " ".join(capsys.readouterr().out.split())
    assert "6 graded, 0 pending, 2 without a submission;" in shown and "grading runs: 7 done" in shown

    # hand-computed finals: parts add = 4, fact = 6; linear 10 % per started day late
    expected = {
        "s001": 10.0,  # latest submission is correct and on time
        "s002": 6.0,  # add wrong: 10 - 4
        "s003": 0.0,  # does not compile
        "s004": 10.0 * (1 - 0.10 * math.ceil(2.5)),  # 3 started days late: -30 %
        "s005": 10.0,  # 1.2 days late, extension of 2 days: on time
        "s006": 4.0 + 1.5,  # fact wrong: 10 - 6, plus the TA's 1.5
        "s007": 0.0,  # no submission
        "s008": 0.0,  # rejected zip: no submission
    }
    csv_path, canvas_path, moodle_path = (tmp_path / f"grades-{f}.csv" for f in ("csv", "canvas", "moodle"))
    assert adl(course, "gradebook", "export", "--format", "csv", "--out", str(csv_path)) == 0
    assert adl(course, "gradebook", "export", "--format", "canvas", "--out", str(canvas_path)) == 0
    assert adl(course, "gradebook", "export", "--format", "moodle", "--out", str(moodle_path)) == 0

    rows = list(csv.DictReader(io.StringIO(csv_path.read_text())))
    assert [r["student_id"] for r in rows] == sorted(expected)
    for r in rows:
        assert abs(float(r["toy"]) - expected[r["student_id"]]) < 0.005, r
        assert abs(float(r["total"]) - expected[r["student_id"]]) < 0.005
        assert float(r["max_total"]) == 10.0
        assert abs(float(r["percent"]) - 10 * expected[r["student_id"]]) < 0.005

    canvas = list(csv.reader(io.StringIO(canvas_path.read_text())))
    assert canvas[0][:5] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section"]
    assert canvas[1][0].strip() == "Points Possible" and float(canvas[1][5]) == 10.0
    by_sis = {row[2]: float(row[5]) for row in canvas[2:]}
    assert by_sis.keys() == expected.keys()
    assert all(abs(by_sis[k] - v) < 0.005 for k, v in expected.items())

    moodle = list(csv.DictReader(io.StringIO(moodle_path.read_text())))
    assert {r["Email address"] for r in moodle} >= {"ada@uni.edu", "grace@uni.edu"}
    title = "Toy assignment for the grader's tests"
    assert all(abs(float(r[title]) - expected[r["ID number"]]) < 0.005 for r in moodle)

    out_dir = tmp_path / "feedback"
    assert adl(course, "feedback", "toy", "--out", str(out_dir)) == 0
    for sid in expected:
        md, page = (out_dir / f"{sid}.md").read_text(), (out_dir / f"{sid}.html").read_text()
        assert f"{expected[sid]:.2f} / 10" in md and f"{expected[sid]:.2f} / 10" in page
        assert "479001600" not in md + page  # the hidden test's expected value never reaches a student
    assert "−30%" in (out_dir / "s004.md").read_text() and "3 day(s)" in (out_dir / "s004.md").read_text()
    assert "medical note" in (out_dir / "s005.md").read_text() and "on time" in (out_dir / "s005.md").read_text()
    s006 = (out_dir / "s006.md").read_text()
    assert "ta-jane" in s006 and "+1.5" in s006 and "❌ failed" in s006 and "see part 2 of the task sheet" in s006
    assert "does not compile" in (out_dir / "s003.md").read_text()
    assert "No graded submission" in (out_dir / "s007.md").read_text()
    png = (out_dir / "distribution.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 10_000

    # a TA's regrade of two students: still exactly one counted result per submission, same finals
    assert adl(course, "grade", "toy", "--all", "--force", "--student", "s002", "--student", "s006") == 0
    assert "2 graded" in capsys.readouterr().out
    db = sqlite3.connect(course / "gradebook.db")
    counted = db.execute("SELECT submission_id, COUNT(*) FROM grading_runs WHERE counted GROUP BY submission_id").fetchall()
    assert len(counted) == 7 and all(n == 1 for _, n in counted)
    assert db.execute("SELECT COUNT(*) FROM grading_runs WHERE status = 'done'").fetchone()[0] == 7 + 2
    db.close()
    assert adl(course, "gradebook", "export", "--format", "csv", "--out", str(csv_path)) == 0
    again = {r["student_id"]: float(r["toy"]) for r in csv.DictReader(io.StringIO(csv_path.read_text()))}
    assert all(abs(again[k] - v) < 0.005 for k, v in expected.items())
