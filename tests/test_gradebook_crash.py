"""Crash safety of `adl grade --all`: SIGKILL the batch (its whole process group, as a power
cut would) while it grades, start it again, and every submission ends graded exactly once:
none lost, none counted twice, and what was counted before the kill is not graded again."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from autograder.cli import main
from tests.conftest import TOY

N = 6  # killed after 2 are counted: 4 left for the restart


def counts(db: Path) -> dict[str, int]:
    with sqlite3.connect(db, timeout=30) as con:
        rows = con.execute("SELECT status, counted, COUNT(*) FROM grading_runs GROUP BY status, counted").fetchall()
    out: dict[str, int] = {}
    for status, counted, n in rows:
        out[status] = out.get(status, 0) + n
        if counted:
            out["counted"] = out.get("counted", 0) + n
    return out


def test_sigkill_mid_batch_then_resume(course: Path, tmp_path: Path):
    roster = tmp_path / "roster.csv"
    roster.write_text("id,name,email,section\n" + "".join(f"s{i:02d},Student {i},s{i:02d}@uni.edu,A\n" for i in range(N)))
    inbox = tmp_path / "inbox"
    for i in range(N):
        (inbox / f"s{i:02d}").mkdir(parents=True)
        # a distinct comment per student: distinct content, so nothing is deduplicated
        (inbox / f"s{i:02d}" / "toy.py").write_text(f"# student {i}\n" + (TOY / "toy.py").read_text())
    assert main(["--root", str(course), "roster", "import", str(roster)]) == 0
    assert main(["--root", str(course), "collect", "toy", str(inbox)]) == 0
    db = course / "gradebook.db"

    log = open(tmp_path / "batch.log", "wb")
    batch = subprocess.Popen([sys.executable, "-m", "autograder", "--root", str(course), "grade", "toy", "--all",
                              "--jobs", "2"], stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    deadline = time.monotonic() + 180
    while counts(db).get("counted", 0) < 2:
        assert batch.poll() is None, (tmp_path / "batch.log").read_text()
        assert time.monotonic() < deadline, "the batch graded nothing in 180 s"
        time.sleep(0.02)
    os.killpg(batch.pid, signal.SIGKILL)
    batch.wait()
    log.close()
    assert batch.returncode == -signal.SIGKILL
    killed = counts(db)
    assert 2 <= killed["counted"] < N, f"the batch finished before it was killed ({killed}); raise N"
    in_flight = killed.get("running", 0)  # attempts the kill cut short

    assert main(["--root", str(course), "grade", "toy", "--all", "--jobs", "2"]) == 0
    after = counts(db)
    with sqlite3.connect(db) as con:
        per_submission = dict(con.execute(
            "SELECT s.id, (SELECT COUNT(*) FROM grading_runs r WHERE r.submission_id = s.id AND r.counted) FROM submissions s"))
        scores = [row[0] for row in con.execute("SELECT score FROM grading_runs WHERE counted")]
    assert len(per_submission) == N and set(per_submission.values()) == {1}  # exactly once each
    assert after["done"] == N  # what was counted before the kill was not graded again
    assert after.get("running", 0) == 0 and after.get("interrupted", 0) == in_flight
    assert scores == [10.0] * N  # the toy manifest's 4 + 6 points, all earned
