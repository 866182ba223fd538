"""`adl collect SLUG SOURCE`: bring submissions into the store and the gradebook.

SOURCE is one of

- a folder of per-student zips, folders or `<module>.py` files (an LMS download): the
  submission time is the file's modification time (a folder's: its newest file's);
- a folder of cloned student repositories (each holds `.git`; GitHub Classroom names them
  `<assignment>-<username>`): the submission time is the commit time of HEAD, the content
  the checked-out working tree;
- nbgrader's exchange: the course folder, or its `inbound/` folder, holding
  `{student}+{assignment}+{timestamp}[+{random}]/` folders; the time is nbgrader's timestamp.

An entry is matched to the roster when exactly one student's id, email or email name (the
part before @) appears in its name as a whole word (`alice`, `attention-alice`,
`alice_attention.zip`, `s001.zip`). What matches nobody, or several students, is reported
and not collected. A zip with unsafe entries (absolute paths, `..`, links) is rejected with
the reason: the student must zip the work again. The checks are the grader's own
(`autograder.grading.stage`). Collecting the same content twice records it once; students
whose submissions are byte-identical are listed.
"""

from __future__ import annotations

import os
import re
import subprocess
import tempfile
import zipfile
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from sqlalchemy import select

from autograder import grading, manifest as manifest_mod
from gradebook.models import Assignment, Student, Submission
from gradebook.store import Store, StoreError, pack_folder

INBOUND = "inbound"


@dataclass
class Candidate:
    label: str  # the entry's name in SOURCE
    path: Path
    kind: str  # zip | folder | repo | nbgrader | file
    submitted_at: datetime  # naive UTC
    time_source: str
    student_hint: str | None = None  # nbgrader names the student exactly


@dataclass
class CollectReport:
    received: list[tuple[str, str]] = field(default_factory=list)  # (student, label)
    already: list[tuple[str, str]] = field(default_factory=list)
    unmatched: list[tuple[str, str]] = field(default_factory=list)  # (label, why)
    rejected: list[tuple[str, str]] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # other assignments (nbgrader)
    identical: list[list[str]] = field(default_factory=list)  # students whose submissions have the same bytes


def _utc(timestamp: float) -> datetime:
    return datetime.fromtimestamp(timestamp, timezone.utc).replace(tzinfo=None)


def parse_nbgrader_time(text: str) -> datetime:
    """nbgrader's "%Y-%m-%d %H:%M:%S.%f %Z" (e.g. `2026-10-14 21:59:00.123456 UTC`), or with a
    numeric offset (`+0200`), as naive UTC."""
    parts = text.strip().split(" ")
    stamp = datetime.fromisoformat(" ".join(parts[:2]))
    zone = parts[2] if len(parts) > 2 else "UTC"
    if zone.upper() in ("UTC", "GMT", "Z"):
        return stamp
    if re.fullmatch(r"[+-]\d{4}", zone):
        return datetime.fromisoformat(f"{parts[0]}T{parts[1]}{zone[:3]}:{zone[3:]}").astimezone(timezone.utc).replace(tzinfo=None)
    from zoneinfo import ZoneInfo

    return stamp.replace(tzinfo=ZoneInfo(zone)).astimezone(timezone.utc).replace(tzinfo=None)


def commit_time(repo: Path) -> datetime:
    """The committer time of HEAD. (`git log` runs no hooks; fsmonitor is switched off and the
    repository is trusted for this one command only.)"""
    out = subprocess.run(["git", "-c", f"safe.directory={repo.resolve()}", "-c", "core.fsmonitor=false",
                          "-C", str(repo), "log", "-1", "--format=%ct", "HEAD"],
                         capture_output=True, text=True, timeout=30, check=False)
    if out.returncode != 0 or not out.stdout.strip().isdigit():
        raise ValueError(f"git cannot read its last commit ({out.stderr.strip().splitlines()[-1:] or 'no output'})")
    return _utc(int(out.stdout.strip()))


def newest_mtime(folder: Path) -> float:
    times = [folder.stat().st_mtime]
    for dirpath, dirnames, filenames in os.walk(folder):
        dirnames[:] = [d for d in dirnames if d != ".git"]
        times += [os.lstat(os.path.join(dirpath, n)).st_mtime for n in filenames]
    return max(times)


def discover(source: Path, slug: str, module: str, assignment_id: str | None = None) -> tuple[list[Candidate], list[tuple[str, str]]]:
    """The entries of SOURCE as candidates, and (label, why) for those skipped outright."""
    source = Path(source)
    if not source.is_dir():
        raise FileNotFoundError(f"{source}: not a folder (collect reads a folder of submissions)")
    inbound = source / INBOUND if (source / INBOUND).is_dir() else source
    entries = sorted(p for p in inbound.iterdir() if not p.name.startswith("."))
    nbgrader = entries and all(p.is_dir() and p.name.count("+") >= 2 for p in entries)
    found, skipped = [], []
    for path in entries:
        if nbgrader:
            student, assignment, stamp = path.name.split("+")[:3]
            if assignment != (assignment_id or slug):
                skipped.append((path.name, f"assignment {assignment!r}, not {assignment_id or slug!r}"))
                continue
            stamp_file = path / "timestamp.txt"
            text = stamp_file.read_text() if stamp_file.is_file() else stamp
            try:
                when = parse_nbgrader_time(text)
            except (ValueError, KeyError) as exc:
                skipped.append((path.name, f"cannot read nbgrader's timestamp {text!r} ({exc})"))
                continue
            found.append(Candidate(path.name, path, "nbgrader", when, "nbgrader timestamp", student_hint=student))
        elif path.is_dir() and (path / ".git").exists():
            try:
                when = commit_time(path)
            except (ValueError, OSError, subprocess.TimeoutExpired) as exc:
                skipped.append((path.name, f"a git repository, but {exc}"))
                continue
            found.append(Candidate(path.name, path, "repo", when, "git commit time"))
        elif path.is_dir():
            found.append(Candidate(path.name, path, "folder", _utc(newest_mtime(path)), "newest file's mtime"))
        elif path.is_file() and zipfile.is_zipfile(path):
            found.append(Candidate(path.name, path, "zip", _utc(path.stat().st_mtime), "file mtime"))
        elif path.is_file() and path.suffix == ".py":
            found.append(Candidate(path.name, path, "file", _utc(path.stat().st_mtime), "file mtime"))
        else:
            skipped.append((path.name, f"not a zip, a folder or a .py file (submit {module}.py)"))
    return found, skipped


def match(label: str, students: list[Student]) -> tuple[Student | None, str]:
    """The one student whose id, email or email name is a whole word of `label`."""
    hits = []
    for s in students:
        keys = {s.id, s.email, s.email.split("@")[0]}
        if any(re.search(rf"(?<![A-Za-z0-9]){re.escape(k)}(?![A-Za-z0-9])", label, re.IGNORECASE) for k in keys if k):
            hits.append(s)
    if len(hits) == 1:
        return hits[0], ""
    if not hits:
        return None, "matches no student of the roster (by id, email or email name)"
    return None, "matches several students: " + ", ".join(sorted(s.id for s in hits))


def package(candidate: Candidate, module: str) -> bytes:
    """The bytes to store: a zip as it came (after the grader's own safety checks), a folder
    or repository packed deterministically, a lone `.py` file packed as `<module>.py`.
    Raises ValueError with the reason when the submission must be re-submitted."""
    if candidate.kind == "zip":
        with tempfile.TemporaryDirectory(prefix="adl-collect-") as tmp:
            try:
                notes = grading.stage(candidate.path, module, Path(tmp))
            except grading.SubmissionError as exc:
                raise ValueError(str(exc)) from None
        unsafe = [n for n in notes if "unsafe path" in n or "symbolic link" in n]
        if unsafe:
            raise ValueError("the zip holds unsafe entries (" + "; ".join(unsafe) + "); zip the files again")
        return candidate.path.read_bytes()
    if candidate.kind == "file":
        with tempfile.TemporaryDirectory(prefix="adl-collect-") as tmp:
            (Path(tmp) / f"{module}.py").write_bytes(candidate.path.read_bytes())
            return pack_folder(Path(tmp))
    return pack_folder(candidate.path)


def sync_assignment(session, solution: Path) -> Assignment:
    """The assignment's row, with title and points refreshed from its manifest."""
    man = manifest_mod.load(solution)
    row = session.get(Assignment, man.slug)
    if row is None:
        row = Assignment(slug=man.slug, title=man.title, points=man.points)
        session.add(row)
    else:
        row.title, row.points = man.title, man.points
    return row


def collect(gradebook, store: Store, solution: Path, source: Path, assignment_id: str | None = None,
            progress=None, at: datetime | None = None) -> CollectReport:
    """Import every submission in `source`; each is on disk (fsynced) before it is recorded,
    and each is recorded in its own transaction. `at` (naive UTC) replaces every entry's
    submission time: for downloads whose file times are the download's, not the submission's."""
    man = manifest_mod.load(solution)
    report = CollectReport()
    with gradebook.session() as s:
        sync_assignment(s, solution)
        students = list(s.scalars(select(Student)))
    if not students:
        raise ValueError("the roster is empty: run `adl roster import FILE.csv` first")
    by_id = {st.id: st for st in students}
    candidates, report.skipped = discover(source, man.slug, man.module, assignment_id)
    for c in candidates:
        if progress:
            progress(c.label)
        if at is not None:
            c.submitted_at, c.time_source = at, "given with --at"
        if c.student_hint is not None:
            student = by_id.get(c.student_hint)
            why = f"nbgrader student {c.student_hint!r} is not on the roster"
        else:
            student, why = match(c.label, students)
        if student is None:
            report.unmatched.append((c.label, why))
            continue
        try:
            data = package(c, man.module)
            digest = store.put(data)
        except (ValueError, StoreError, OSError) as exc:
            report.rejected.append((c.label, str(exc)))
            continue
        with gradebook.session() as s:
            exists = s.scalar(select(Submission).where(Submission.student_id == student.id, Submission.slug == man.slug,
                                                       Submission.content_hash == digest))
            if exists is not None:
                report.already.append((student.id, c.label))
                continue
            s.add(Submission(student_id=student.id, slug=man.slug, submitted_at=c.submitted_at,
                             collected_at=datetime.now(timezone.utc).replace(tzinfo=None),
                             source=str(c.path), source_kind=c.kind, time_source=c.time_source,
                             content_hash=digest, size=len(data)))
        report.received.append((student.id, c.label))
    report.identical = identical(gradebook, man.slug)
    return report


def identical(gradebook, slug: str) -> list[list[str]]:
    """Groups of students who submitted byte-identical work for `slug` (the store names files
    by content, so this costs one query). Worth a look; not proof of anything: a stub
    submitted unchanged is identical too."""
    groups: dict[str, set[str]] = {}
    with gradebook.session() as s:
        for student_id, digest in s.execute(select(Submission.student_id, Submission.content_hash)
                                            .where(Submission.slug == slug)):
            groups.setdefault(digest, set()).add(student_id)
    return sorted(sorted(g) for g in groups.values() if len(g) > 1)
