"""`adl grade SLUG --all`: grade every submission of an assignment, in parallel, exactly once.

Each attempt is a `grading_runs` row, inserted as `running` (with this host and process id)
before the grader starts. The grader runs in a thread per job (the work itself happens in the
grader's own pytest and worker processes); only the main thread writes to the database. When a
result comes back, one transaction marks the run `done` and `counted` and stores its tests.
A unique partial index lets at most one run per submission be counted.

Why that is exactly once, whatever happens:
- killed (even `kill -9`) before the commit: the run stays `running`, the submission has no
  counted run, and the next `adl grade --all` grades it again (and marks the dead process's
  rows `interrupted`);
- killed after the commit: the result is on disk (SQLite, synchronous=FULL) and the
  submission is skipped next time;
- two batches at once: whichever commits second hits the index, and its run is kept as
  `done`, not counted.
`--force` regrades everything: the new run replaces the counted one in the same transaction.
"""

from __future__ import annotations

import hashlib
import json
import os
import socket
import traceback
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from autograder import grading, manifest as manifest_mod
from gradebook.collect import sync_assignment
from gradebook.models import GradingRun, Submission, TestOutcome
from gradebook.store import Store, StoreError

HOST = socket.gethostname()[:200]


def _now() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)


def tree_hash(folder: Path, pattern: str = "*") -> str:
    """SHA-256 over the relative names and bytes of the files under `folder`."""
    h = hashlib.sha256()
    for path in sorted(p for p in Path(folder).rglob(pattern) if p.is_file() and "__pycache__" not in p.parts):
        h.update(path.relative_to(folder).as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
    return h.hexdigest()


def grader_version() -> str:
    """The package version and a hash of the grader's source (any change to the grader shows)."""
    try:
        version = metadata.version("adl-course")
    except metadata.PackageNotFoundError:
        version = "unknown"
    return f"{version}+{tree_hash(Path(grading.__file__).parent, '*.py')[:12]}"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def mark_interrupted(gradebook) -> int:
    """Runs left `running` by a process of this host that no longer exists become `interrupted`."""
    with gradebook.session() as s:
        stale = [r for r in s.scalars(select(GradingRun).where(GradingRun.status == "running", GradingRun.host == HOST))
                 if r.pid != os.getpid() and not _alive(r.pid)]
        for r in stale:
            r.status, r.finished_at = "interrupted", _now()
            r.error = "the grading process ended before it recorded a result (killed?); graded again later"
        return len(stale)


@dataclass
class BatchReport:
    graded: list[int] = field(default_factory=list)  # submission ids
    errors: list[tuple[int, str]] = field(default_factory=list)
    not_counted: list[int] = field(default_factory=list)
    skipped: int = 0
    interrupted_before: int = 0


def pending(gradebook, slug: str, force: bool, students: list[str] | None = None) -> tuple[list[int], int]:
    """Submission ids to grade now (of `students` only, if given), and how many are skipped
    as already graded."""
    with gradebook.session() as s:
        query = select(Submission.id).where(Submission.slug == slug).order_by(Submission.id)
        if students:
            query = query.where(Submission.student_id.in_(students))
        every = list(s.scalars(query))
        counted = set(s.scalars(select(GradingRun.submission_id).join(Submission)
                                .where(Submission.slug == slug, GradingRun.counted.is_(True))))
    todo = every if force else [i for i in every if i not in counted]
    return todo, len(every) - len(todo)


def _start(gradebook, submission_id: int, version: str, hidden_hash: str) -> tuple[int, str]:
    with gradebook.session() as s:
        run = GradingRun(submission_id=submission_id, status="running", counted=False, started_at=_now(), host=HOST,
                         pid=os.getpid(), grader_version=version, hidden_tests_hash=hidden_hash, notes="[]", error="")
        s.add(run)
        s.flush()
        digest = s.get(Submission, submission_id).content_hash
        return run.id, digest


def _grade(solution: Path, stored: Path, threads: int | None) -> grading.GradeResult | str:
    """The grader's result, or (a submission it cannot read at all) the reason as a string."""
    try:
        return grading.grade(solution, stored, threads=threads)
    except grading.SubmissionError as exc:
        return str(exc)


def _record(gradebook, run_id: int, outcome, max_points: float, force: bool) -> bool:
    """Store a finished run and count it; False if another run of the submission was counted first."""
    def fill(s, counted: bool) -> None:
        run = s.get(GradingRun, run_id)
        run.status, run.finished_at, run.counted = "done", _now(), counted
        if isinstance(outcome, str):  # unreadable: graded as zero, the reason is the student's feedback
            run.score, run.max_score, run.notes = 0.0, max_points, json.dumps([outcome])
            return
        run.seed, run.sandbox, run.score, run.max_score = outcome.seed, outcome.sandbox, outcome.score, outcome.max_score
        run.execution_time, run.notes = outcome.execution_time, json.dumps(outcome.notes)
        for t in outcome.tests:
            s.add(TestOutcome(run_id=run_id, name=t.name, part=t.part, kind=t.kind, status=t.status, score=t.score,
                              max_score=t.max_score, message=t.message, duration=t.duration))

    try:
        with gradebook.session() as s:
            if force:
                submission_id = s.get(GradingRun, run_id).submission_id
                s.execute(update(GradingRun).where(GradingRun.submission_id == submission_id,
                                                   GradingRun.id != run_id).values(counted=False))
            fill(s, True)
        return True
    except IntegrityError:
        with gradebook.session() as s:
            fill(s, False)
            s.get(GradingRun, run_id).error = "another grading run of this submission was counted first"
        return False


def _fail(gradebook, run_id: int, error: str) -> None:
    with gradebook.session() as s:
        run = s.get(GradingRun, run_id)
        run.status, run.finished_at, run.error = "error", _now(), error[-4000:]


def grade_all(gradebook, store: Store, solution: Path, jobs: int = 2, force: bool = False,
              on_start=None, on_done=None, students: list[str] | None = None) -> BatchReport:
    """Grade the submissions of the assignment at `solution` that have no counted result
    (all of them with `force`; only those of `students` if given), `jobs` at a time.
    `on_start(total)` and `on_done(id)` report progress."""
    man = manifest_mod.load(solution)
    with gradebook.session() as s:
        sync_assignment(s, solution)
    report = BatchReport(interrupted_before=mark_interrupted(gradebook))
    todo, report.skipped = pending(gradebook, man.slug, force, students)
    if on_start:
        on_start(len(todo))
    version = grader_version()
    hidden_hash = tree_hash(Path(solution) / "tests" / "hidden")
    threads = 1 if jobs > 1 else None  # several gradings at once: one math thread each (see run_pytest)
    queue = list(reversed(todo))
    running: dict[Future, tuple[int, int]] = {}
    with ThreadPoolExecutor(max_workers=max(1, jobs), thread_name_prefix="adl-grade") as pool:
        try:
            while queue or running:
                while queue and len(running) < jobs:
                    submission_id = queue.pop()
                    run_id, digest = _start(gradebook, submission_id, version, hidden_hash)
                    try:
                        stored = store.get(digest)
                    except StoreError as exc:
                        _fail(gradebook, run_id, str(exc))
                        report.errors.append((submission_id, str(exc)))
                        continue
                    running[pool.submit(_grade, Path(solution), stored, threads)] = (submission_id, run_id)
                if not running:
                    continue
                done, _ = wait(running, return_when=FIRST_COMPLETED)
                for future in done:
                    submission_id, run_id = running.pop(future)
                    try:
                        outcome = future.result()
                    except Exception as exc:  # the grader itself failed: not the student's fault, retried later
                        error = "".join(traceback.format_exception(exc))
                        _fail(gradebook, run_id, error)
                        report.errors.append((submission_id, f"{type(exc).__name__}: {exc}"))
                    else:
                        if _record(gradebook, run_id, outcome, man.points, force):
                            report.graded.append(submission_id)
                        else:
                            report.not_counted.append(submission_id)
                    if on_done:
                        on_done(submission_id)
        except BaseException:
            pool.shutdown(wait=False, cancel_futures=True)
            with gradebook.session() as s:
                for _, run_id in running.values():
                    run = s.get(GradingRun, run_id)
                    run.status, run.finished_at, run.error = "interrupted", _now(), "the batch was interrupted"
            raise
    return report
