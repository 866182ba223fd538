"""Roster import, the write-once store and `collect` from each kind of source (no grading here)."""

from __future__ import annotations

import os
import subprocess
from datetime import datetime

import pytest
from sqlalchemy import select

from gradebook import collect, db, roster
from gradebook.models import Student, Submission
from gradebook.store import Store, StoreError, pack_folder
from tests.conftest import TOY

ROSTER = "id,name,email,section\ns01,Ada,ada@uni.edu,A\ns02,Alan,alan@uni.edu,B\ns03,Grace,grace@uni.edu,A\n"


@pytest.fixture
def gb(course, tmp_path):
    book = db.open_gradebook(course)
    (tmp_path / "roster.csv").write_text(ROSTER)
    with book.session() as s:
        roster.import_roster(s, tmp_path / "roster.csv")
    yield book
    book.close()


def submissions(book) -> dict[str, Submission]:
    with book.session() as s:
        return {sub.student_id: sub for sub in s.scalars(select(Submission))}


def test_a_roster_with_bad_rows_imports_nothing_and_names_each_row(tmp_path, course):
    book = db.open_gradebook(course)
    bad = tmp_path / "bad.csv"
    bad.write_text("id,name,email,section\ns01,Ada,ada@uni.edu,A\ns02,,alan-at-uni,B\ns01,Eve,eve@uni.edu,A\n"
                   "s 4,Bob,bob@uni.edu,A\n")
    with pytest.raises(roster.RosterError) as err, book.session() as s:
        roster.import_roster(s, bad)
    message = str(err.value)
    assert "line 3" in message and "name is empty" in message and "not an address" in message
    assert "line 4: id s01 is also on line 2" in message and "line 5" in message and "nothing was imported" in message
    (tmp_path / "cols.csv").write_text("student,name,mail\nx,y,z\n")
    with pytest.raises(roster.RosterError, match="missing: id, email, section"), book.session() as s:
        roster.import_roster(s, tmp_path / "cols.csv")
    with book.session() as s:
        assert s.scalars(select(Student)).all() == []
    # a good file, imported twice, then with a change: added, unchanged, updated
    (tmp_path / "ok.csv").write_text("\ufeffID,Name,Email,Section,notes\ns01,Ada,ADA@uni.edu,A,x\n")
    with book.session() as s:
        assert roster.import_roster(s, tmp_path / "ok.csv").added == ["s01"]
    with book.session() as s:
        assert roster.import_roster(s, tmp_path / "ok.csv").unchanged == ["s01"]
    (tmp_path / "ok.csv").write_text("id,name,email,section\ns01,Ada L.,ada@uni.edu,B\n")
    with book.session() as s:
        assert roster.import_roster(s, tmp_path / "ok.csv").updated == ["s01"]


def test_the_store_is_write_once_and_checks_its_hashes(tmp_path):
    store = Store(tmp_path / "store")
    digest = store.put(b"submission bytes")
    assert store.put(b"submission bytes") == digest  # same content, same file
    path = store.get(digest)
    assert path.read_bytes() == b"submission bytes" and path.stat().st_mode & 0o222 == 0
    assert not list((tmp_path / "store").rglob(".incoming-*"))
    os.chmod(path, 0o644)
    path.write_bytes(b"tampered")
    with pytest.raises(StoreError, match="modified or corrupted"):
        store.get(digest)
    # packing a folder is deterministic: the same files give the same bytes, whatever the times
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "toy.py").write_text("x = 1\n")
    first = pack_folder(tmp_path / "a")
    os.utime(tmp_path / "a" / "toy.py", (0, 0))
    assert pack_folder(tmp_path / "a") == first


def git(repo, *argv, when: str):
    env = {**os.environ, "GIT_AUTHOR_DATE": when, "GIT_COMMITTER_DATE": when, "GIT_AUTHOR_NAME": "s",
           "GIT_AUTHOR_EMAIL": "s@x", "GIT_COMMITTER_NAME": "s", "GIT_COMMITTER_EMAIL": "s@x"}
    subprocess.run(["git", "-C", str(repo), *argv], check=True, capture_output=True, env=env)


def test_cloned_repositories_use_the_commit_time(gb, course, tmp_path):
    repos = tmp_path / "repos"
    for name, when in [("toy-ada", "2026-10-14T20:00:00+00:00"), ("toy-alan", "2026-10-16T08:30:00+02:00")]:
        repo = repos / name
        repo.mkdir(parents=True)
        (repo / "toy.py").write_text((TOY / "toy.py").read_text() + f"# {name}\n")
        git(repo, "init", "-q", when=when)
        git(repo, "add", "toy.py", when=when)
        git(repo, "commit", "-q", "-m", "done", when=when)
    report = collect.collect(gb, Store(tmp_path / "store"), course / "solutions" / "toy", repos)
    assert sorted(report.received) == [("s01", "toy-ada"), ("s02", "toy-alan")]
    subs = submissions(gb)
    assert subs["s01"].submitted_at == datetime(2026, 10, 14, 20, 0) and subs["s01"].source_kind == "repo"
    assert subs["s02"].submitted_at == datetime(2026, 10, 16, 6, 30)  # converted to UTC
    assert subs["s01"].time_source == "git commit time"


def test_nbgrader_exchange_inbound(gb, course, tmp_path):
    inbound = tmp_path / "exchange" / "adl" / "inbound"
    entries = {
        "s01+toy+2026-10-14 21:15:02.123456 UTC": "2026-10-14 21:15:02.123456 UTC",
        "s02+toy+2026-10-15 09:00:00.000000 UTC+Zm9vYmFy": None,  # newer nbgrader adds a random suffix
        "s03+other+2026-10-15 09:00:00.000000 UTC": None,  # another assignment: skipped
        "zoe+toy+2026-10-15 09:00:00.000000 UTC": None,  # not on the roster
    }
    for name, stamp in entries.items():
        (inbound / name).mkdir(parents=True)
        (inbound / name / "toy.py").write_text("def add(a, b):\n    return a + b\n")
        if stamp:
            (inbound / name / "timestamp.txt").write_text(stamp)
    report = collect.collect(gb, Store(tmp_path / "store"), course / "solutions" / "toy", inbound.parent)
    assert sorted(s for s, _ in report.received) == ["s01", "s02"]
    assert [label for label, _ in report.skipped] == ["s03+other+2026-10-15 09:00:00.000000 UTC"]
    assert report.unmatched[0][0].startswith("zoe+") and "not on the roster" in report.unmatched[0][1]
    subs = submissions(gb)
    assert subs["s01"].submitted_at == datetime(2026, 10, 14, 21, 15, 2, 123456)
    assert subs["s02"].submitted_at == datetime(2026, 10, 15, 9, 0)
    assert collect.parse_nbgrader_time("2026-10-15 11:00:00.000000 +0200") == datetime(2026, 10, 15, 9, 0)


def test_matching_is_by_whole_words_and_refuses_ambiguity(gb, course, tmp_path):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    for name in ["ada_toy.py", "toy-s02.py", "s01-and-s03.py", "adam.py", "grace@uni.edu.py"]:
        (inbox / name).write_text("def add(a, b):\n    return a + b\n" + f"# {name}\n")
    (inbox / "notes.txt").write_text("not a submission")
    report = collect.collect(gb, Store(tmp_path / "store"), course / "solutions" / "toy", inbox)
    assert sorted(report.received) == [("s01", "ada_toy.py"), ("s02", "toy-s02.py"), ("s03", "grace@uni.edu.py")]
    why = dict(report.unmatched)
    assert "several students: s01, s03" in why["s01-and-s03.py"] and "no student" in why["adam.py"]
    assert report.skipped == [("notes.txt", "not a zip, a folder or a .py file (submit toy.py)")]


def test_unreadable_and_unsafe_zips_are_rejected_with_the_reason(gb, course, tmp_path):
    import zipfile

    inbox = tmp_path / "inbox"
    inbox.mkdir()
    with zipfile.ZipFile(inbox / "s01.zip", "w") as zf:
        zf.writestr("toy.py", "x = 1\n")
        zf.writestr("../../etc/cron.d/evil", "* * * * * root rm -rf /\n")
    with zipfile.ZipFile(inbox / "s02.zip", "w") as zf:
        zf.writestr("sub/", "")
    report = collect.collect(gb, Store(tmp_path / "store"), course / "solutions" / "toy", inbox)
    why = dict(report.rejected)
    assert "unsafe" in why["s01.zip"] and "zip the files again" in why["s01.zip"]
    assert "empty" in why["s02.zip"]
    assert report.received == [] and submissions(gb) == {}
    assert not list((tmp_path / "store").rglob("*.zip"))


def test_at_replaces_download_times(course, tmp_path):
    from autograder.cli import main

    (tmp_path / "roster.csv").write_text(ROSTER)
    (course / "course.toml").write_text('[course]\ntimezone = "America/New_York"\n')
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "s01.py").write_text("x = 1\n")
    assert main(["--root", str(course), "roster", "import", str(tmp_path / "roster.csv")]) == 0
    assert main(["--root", str(course), "collect", "toy", str(inbox), "--at", "2026-10-14T23:59"]) == 0
    book = db.open_gradebook(course)
    sub = submissions(book)["s01"]
    assert sub.submitted_at == datetime(2026, 10, 15, 3, 59) and sub.time_source == "given with --at"  # EDT: UTC-4
