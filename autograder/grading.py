"""Grade one submission: stage it, run public and hidden tests against it, score the outcomes.

The tests run in a child pytest process (`autograder.pytest_plugin`, mode `grade`) started
with `--noconftest`, an empty ini file and its own rootdir, so nothing in the submission or
the assignment folder can configure it. Only the files the manifest names are copied out of
the submission (read straight out of a zip: nothing else is unpacked): a submitted
conftest.py, sitecustomize.py or numpy.py never reaches any Python path.
"""

from __future__ import annotations

import json
import os
import random
import select
import socket
import subprocess
import sys
import tempfile
import time
import uuid
import zipfile
import zlib
from dataclasses import asdict, dataclass, field
from pathlib import Path

from autograder import forbidden, manifest as manifest_mod, sandbox
from autograder.speed import rules as speed_rules
from autograder.sandbox import MODE_NOTE

MAX_UNZIPPED_BYTES = 50 * 2**20  # a zip that would unpack to more is noted (nothing but the module is unpacked)
MAX_MODULE_BYTES = 10 * 2**20  # no hand-written module is this large
MAX_ZIP_MEMBERS = 10_000


class SubmissionError(Exception):
    """The submission cannot be read at all (the message says why)."""


@dataclass
class TestResult:
    name: str
    part: str
    kind: str  # public | hidden
    status: str  # passed | failed | skipped | not run
    score: float
    max_score: float
    message: str = ""
    duration: float = 0.0


@dataclass
class GradeResult:
    slug: str
    submission: str
    seed: int
    sandbox: str
    tests: list[TestResult]
    score: float
    max_score: float
    execution_time: float
    notes: list[str] = field(default_factory=list)
    worker_output: str = ""

    def to_json(self) -> dict:
        return asdict(self)

    def by_part(self) -> dict[str, tuple[float, float]]:
        totals: dict[str, list[float]] = {}
        for t in self.tests:
            entry = totals.setdefault(t.part, [0.0, 0.0])
            entry[0] += t.score
            entry[1] += t.max_score
        return {k: (v[0], v[1]) for k, v in totals.items()}


# ---------------------------------------------------------------------------- staging

def stage(source: Path, module: str, into: Path) -> list[str]:
    """Copy the student's `<module>.py` from a folder, a zip or the module file itself into
    `into`; return notes for the student. Nothing else is copied or unpacked, and nothing is
    written outside `into`. A submission that cannot be read at all raises SubmissionError;
    one that can be read but holds no usable module gets a note naming why (every test then
    fails), and is graded anyway."""
    source = Path(source)
    wanted = f"{module}.py"
    into.mkdir(parents=True, exist_ok=True)
    if source.is_file() and source.suffix == ".ipynb":
        raise SubmissionError(f"{source.name}: submit {wanted}, not a notebook (copy your functions into {wanted})")
    if source.is_file() and zipfile.is_zipfile(source):
        text, notes = _module_from_zip(source, wanted)
    elif source.is_file() and source.name == wanted:
        text, notes = _read_module(source, wanted), []
    elif source.is_dir():
        text, notes = _module_from_folder(source, wanted)
    else:
        raise SubmissionError(f"{source}: not a folder, a .zip or {wanted}")
    if isinstance(text, str):  # why there is no module
        notes.append(text)
        return notes
    (into / wanted).write_bytes(text)
    return notes


def _read_module(path: Path, wanted: str) -> bytes | str:
    """The module's bytes, or why they cannot be used."""
    size = path.stat().st_size
    if size > MAX_MODULE_BYTES:
        return f"{wanted} is {size / 2**20:.0f} MB, over the {MAX_MODULE_BYTES // 2**20} MB a module may have; every test fails"
    with open(path, "rb") as f:
        return f.read(MAX_MODULE_BYTES + 1)


def _missing(wanted: str, names: list[str]) -> str:
    notebooks = sorted(n for n in names if n.lower().endswith(".ipynb"))
    if notebooks:
        return f"submit {wanted}, not a notebook (found {', '.join(notebooks[:3])}); every test fails"
    return f"the submission has no {wanted}; every test fails"


def _module_from_folder(folder: Path, wanted: str) -> tuple[bytes | str, list[str]]:
    notes: list[str] = []
    found = sorted(p for p in folder.rglob(wanted) if "__MACOSX" not in p.parts)  # rglob follows no links
    links = [p for p in found if p.is_symlink()]
    files = [p for p in found if p.is_file() and not p.is_symlink()]
    for p in links:
        notes.append(f"{p.relative_to(folder)} is a symbolic link, not a file: it is not graded")
    if not files:
        if links:
            return f"there is no {wanted} file to grade (submit the file itself); every test fails", notes
        return _missing(wanted, [p.name for p in folder.rglob("*.ipynb")]), notes
    chosen = min(files, key=lambda p: len(p.relative_to(folder).parts))
    if len(files) > 1:
        notes.append(f"several {wanted} files; graded {chosen.relative_to(folder)}")
    return _read_module(chosen, wanted), notes


def _module_from_zip(archive: Path, wanted: str) -> tuple[bytes | str, list[str]]:
    """Read `wanted` out of a zip without unpacking anything else. Unsafe entries (absolute
    paths, `..`, links) are skipped with a note; an archive that would unpack to more than
    MAX_UNZIPPED_BYTES is noted (only the module is read, and at most MAX_MODULE_BYTES of it,
    whatever its header claims)."""
    notes: list[str] = []
    try:
        zf = zipfile.ZipFile(archive)
    except UnicodeDecodeError:
        raise SubmissionError(f"{archive.name}: the file names in this zip are not valid UTF-8; "
                              "zip the files again") from None
    except (zipfile.BadZipFile, ValueError, OSError, NotImplementedError) as exc:
        raise SubmissionError(f"{archive.name}: not a readable zip ({exc})") from None
    with zf:
        members = zf.infolist()
        if not [m for m in members if not m.is_dir()]:
            raise SubmissionError(f"{archive.name}: the zip is empty")
        if len(members) > MAX_ZIP_MEMBERS:
            raise SubmissionError(f"{archive.name}: {len(members)} files in the zip, more than {MAX_ZIP_MEMBERS}")
        total = sum(m.file_size for m in members)
        if total > MAX_UNZIPPED_BYTES:
            notes.append(f"{archive.name} would unpack to {total / 2**20:.0f} MB (a zip bomb?); nothing was "
                         f"unpacked, only {wanted} was read from it")
        candidates, names = [], []
        for m in members:
            name = m.filename.replace("\\", "/")
            parts = [p for p in name.split("/") if p not in ("", ".")]
            if m.is_dir() or not parts:
                continue
            if name.startswith("/") or ".." in parts or ":" in parts[0]:
                notes.append(f"skipped {m.filename!r} in the zip: an unsafe path (absolute or with ..)")
                continue
            if (m.external_attr >> 16) & 0o170000 == 0o120000:
                notes.append(f"skipped {m.filename!r} in the zip: a symbolic link")
                continue
            if "__MACOSX" in parts:
                continue
            names.append(parts[-1])
            if parts[-1] == wanted:
                candidates.append((len(parts), name, m))
        if not candidates:
            return _missing(wanted, names), notes
        candidates.sort(key=lambda c: (c[0], c[1]))
        depth, name, member = candidates[0]
        if len(candidates) > 1:
            notes.append(f"several {wanted} files; graded {name}")
        if member.file_size > MAX_MODULE_BYTES:
            return (f"{wanted} would unpack to {member.file_size / 2**20:.0f} MB, over the "
                    f"{MAX_MODULE_BYTES // 2**20} MB a module may have; every test fails"), notes
        try:
            with zf.open(member) as f:
                text = f.read(MAX_MODULE_BYTES + 1)
        except (zipfile.BadZipFile, RuntimeError, NotImplementedError, ValueError, OSError, EOFError, zlib.error) as exc:
            raise SubmissionError(f"{archive.name}: cannot read {name} from the zip ({exc})") from None
        if len(text) > MAX_MODULE_BYTES:
            return f"{wanted} unpacks to more than {MAX_MODULE_BYTES // 2**20} MB; every test fails", notes
        return text, notes


def static_notes(module_file: Path, man: manifest_mod.Manifest) -> list[str]:
    """What can be said of the module without running it: that it does not compile (and
    where), and the forbidden calls it names."""
    if not module_file.exists():
        return []
    try:
        forbidden.parse(module_file.read_bytes(), module_file.name)
    except SyntaxError as exc:
        where = f"line {exc.lineno}: " if exc.lineno else ""
        return [f"{module_file.name} does not compile ({where}{exc.msg}); every test fails"]
    except (ValueError, RecursionError, MemoryError) as exc:
        return [f"{module_file.name} cannot be parsed ({type(exc).__name__}: {str(exc)[:200]}); every test fails"]
    return []


def notes_say_uncompilable(notes: list[str]) -> bool:
    return any("does not compile" in n or "cannot be parsed" in n for n in notes)


def penalise_forbidden(man: manifest_mod.Manifest, tests: list[TestResult], uses: list[forbidden.Use]) -> list[str]:
    """Zero the tests of every part whose function contains a forbidden call; return notes.
    (Uses elsewhere, in a helper for instance, fail the tests that reach them, at run time.)"""
    notes = []
    for use in uses:
        part = man.part_of_function(use.function)
        if part is None:
            notes.append(f"forbidden call, {use}: the tests that reach it fail")
            continue
        notes.append(f"forbidden call, {use}: every test of part {part.title!r} scores zero")
        for t in tests:
            if t.part == part.title and t.status != "skipped":
                t.score = 0.0
                if t.status == "passed":
                    t.status = "failed"
                    t.message = f"{part.title} uses {use.name} ({use}), which this assignment forbids"
    return notes


# ---------------------------------------------------------------------------- running

@dataclass
class RunOutcome:
    """What one pytest run of the grading plugin reported."""

    entries: list[dict]  # the plugin's records, in order
    finished: bool  # False: cut off by the time budget
    returncode: int | None  # pytest's exit status (negative: killed by that signal)
    log: str = ""  # the end of pytest's own stderr, for diagnosing the grader itself


def run_pytest(assignment: Path, submission_dir: Path, work: Path, seed: int, timeout: float,
               mode: str = "grade", test_dirs: list[Path] | None = None, threads: int | None = None,
               keyword: str | None = None) -> RunOutcome:
    """Run pytest with the grading plugin in `work` and return what it reported.

    The plugin sends its records over a socket this process holds the other end of: no file
    that a worker with the grader's uid (process mode) could find and append forged lines to.
    Whatever the run leaves is removed here, even if pytest itself was killed: its temporary
    files (TMPDIR is inside `work`) and its workers' cgroups (named after this run), with every
    process still in them. A run over `timeout` gets SIGTERM (the plugin stops its worker and
    exits), then SIGKILL.

    `threads` caps the math libraries' threads in the test process and the worker: when
    several submissions are graded at once, oversubscribed cores make torch far slower.
    `keyword` selects tests as pytest's -k does (`adl validate` runs the cheap tests first)."""
    work = Path(work)
    (work / "tmp").mkdir(parents=True, exist_ok=True)
    (work / "pytest.ini").write_text("[pytest]\n")
    test_dirs = test_dirs or [d for d in (assignment / "tests" / "public", assignment / "tests" / "hidden") if d.is_dir()]
    # -P: nothing is imported from the working directory, whatever a worker writes there
    argv = [sys.executable, "-P", "-m", "pytest", "-p", "autograder.pytest_plugin", "--noconftest",
            "-c", str(work / "pytest.ini"), "--rootdir", str(work), "-p", "no:cacheprovider",
            "--import-mode=importlib", "-q", "--tb=no", "--no-header", "-rN",
            *(["--collect-only"] if mode == "collect" else []), *(["-k", keyword] if keyword else []),
            *map(str, test_dirs)]
    ours, theirs = socket.socketpair()
    ours.shutdown(socket.SHUT_WR)
    theirs.shutdown(socket.SHUT_RD)
    prefix = f"adl-{uuid.uuid4().hex[:8]}"
    env = {**os.environ, "ADL_MODE": mode, "ADL_ASSIGNMENT": str(assignment),
           "ADL_SUBMISSION": str(submission_dir), "ADL_RECORD_FD": str(theirs.fileno()), "ADL_SEED": str(seed),
           "ADL_CGROUP_PREFIX": prefix, "TMPDIR": str(work / "tmp"), "PYTHONDONTWRITEBYTECODE": "1"}
    env.pop("PYTEST_ADDOPTS", None)
    env.pop("ADL_RECORD", None)
    if threads:
        env.update(OMP_NUM_THREADS=str(threads), MKL_NUM_THREADS=str(threads))
    log_path = work / "pytest.log"
    proc = None
    try:
        with open(log_path, "wb") as log:
            proc = subprocess.Popen(argv, cwd=work, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                    stderr=log, pass_fds=(theirs.fileno(),))
        theirs.close()
        data, finished = _read_records(ours, proc, timeout)
    finally:
        ours.close()
        theirs.close()
        if proc is not None and proc.poll() is None:  # interrupted: let the plugin stop its worker
            proc.terminate()
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        sandbox.Cgroup.remove_all(prefix)
    entries = []
    for line in data.decode(errors="replace").splitlines():
        try:
            entry = json.loads(line)
        except ValueError:
            continue  # a line cut short when pytest was killed
        if isinstance(entry, dict):
            entries.append(entry)
    try:
        log_tail = log_path.read_bytes()[-3000:].decode(errors="replace")
    except OSError:
        log_tail = ""
    return RunOutcome(entries, finished, proc.returncode, log_tail)


def _read_records(channel: socket.socket, proc: subprocess.Popen, timeout: float) -> tuple[bytes, bool]:
    """Read the records until pytest closes its end, or until `timeout` (then stop pytest)."""
    deadline = time.monotonic() + timeout
    chunks, finished = [], True
    while True:
        remaining = deadline - time.monotonic()
        ready = select.select([channel], [], [], max(remaining, 0))[0] if remaining > 0 else []
        if not ready:
            finished = False
            break
        chunk = channel.recv(1 << 16)
        if not chunk:
            break
        chunks.append(chunk)
    if finished:
        try:
            proc.wait(timeout=max(deadline - time.monotonic(), 10))
        except subprocess.TimeoutExpired:
            finished = False
    if not finished:
        proc.terminate()  # the plugin stops the worker and exits
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        while select.select([channel], [], [], 1)[0]:  # what it wrote before it ended
            chunk = channel.recv(1 << 16)
            if not chunk:
                break
            chunks.append(chunk)
    return b"".join(chunks), finished


def read_record(record: Path) -> list[dict]:
    if not record.exists():
        return []
    return [json.loads(line) for line in record.read_text().splitlines() if line.strip()]


def collect(assignment: Path) -> list[dict]:
    """The test instances of an assignment (public and hidden), without running them."""
    with tempfile.TemporaryDirectory(prefix="adl-collect-") as tmp:
        outcome = run_pytest(Path(assignment), Path(tmp), Path(tmp), 0, 300, mode="collect")
        return [e for e in outcome.entries if e.get("event") == "collected"]


BUDGET_RAN_OUT = "not run: the submission's time budget ran out"
RUN_ENDED = "not run: the grading run ended before this test reported (was the grader's process killed?)"


def score(man: manifest_mod.Manifest, entries: list[dict], expected: list[dict] | None = None,
          missing: str = BUDGET_RAN_OUT) -> list[TestResult]:
    """Points per test: a part's points split equally over its test functions, then over each
    function's parametrized cases. Skipped cases count neither way. Each test counts once: one
    that reported twice fails. Given `expected` (the collected tests), exactly those count, and
    any that never reported (the run was cut off or killed) fails as "not run" (`missing`)."""
    reported: dict[str, dict] = {}
    for e in entries:
        if e.get("event") != "test":
            continue
        if e["nodeid"] in reported:
            reported[e["nodeid"]] = {**reported[e["nodeid"]], "outcome": "failed",
                                     "message": "this test reported more than one result, so it counts as failed"}
        else:
            reported[e["nodeid"]] = e
    if expected:
        tests = [reported.get(e["nodeid"]) or {**e, "outcome": "not run", "message": missing} for e in expected]
    else:
        tests = list(reported.values())
    results: list[TestResult] = []
    for part in man.parts:
        mine = [t for t in tests if man.part_for(t["function"]) is part]
        counted = [t for t in mine if t["outcome"] != "skipped"]
        functions = sorted({t["function"] for t in counted})
        for t in mine:
            if t["outcome"] == "skipped":
                share = 0.0
            else:
                cases = sum(1 for c in counted if c["function"] == t["function"])
                share = part.points / len(functions) / cases
            passed = t["outcome"] == "passed"
            name = t["function"] + (f"[{t['params']}]" if t.get("params") else "")
            credit = t.get("credit", 1.0)  # speed tests with bands: a fraction of the points
            credit = min(1.0, max(0.0, float(credit))) if isinstance(credit, (int, float)) else 0.0
            results.append(TestResult(
                name=name, part=part.title, kind=t["kind"], status=t["outcome"],
                score=share * credit if passed else 0.0, max_score=share,
                message=t.get("message", ""), duration=round(t.get("duration", 0.0), 3)))
    for t in tests:
        if man.part_for(t["function"]) is None:
            results.append(TestResult(name=t["function"], part="(no part)", kind=t["kind"], status=t["outcome"],
                                      score=0.0, max_score=0.0, message="this test matches no part of the manifest"))
    return results


def grade(assignment: Path | str, source: Path | str, seed: int | None = None,
          threads: int | None = None, keyword: str | None = None) -> GradeResult:
    """Grade the submission at `source` (folder, zip or module file) against `assignment`
    (only the tests that the pytest -k expression `keyword` selects, if given)."""
    assignment = Path(assignment).resolve()
    man = manifest_mod.load(assignment)
    seed = random.SystemRandom().randrange(2**31) if seed is None else seed
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="adl-grade-") as tmp:
        work = Path(tmp)
        staged = work / "submission"
        notes = stage(Path(source), man.module, staged)
        module_file = staged / f"{man.module}.py"
        notes += static_notes(module_file, man)
        outcome = run_pytest(assignment, staged, work, seed, man.submission_timeout_s, threads=threads,
                             keyword=keyword)
        entries = outcome.entries
        expected = [e for e in entries if e.get("event") == "collected"]
        if not expected and not outcome.finished:
            expected = collect(assignment)  # cut off before it had even collected the tests
        worker = next((e for e in entries if e.get("event") == "worker"), {})
        missing = BUDGET_RAN_OUT
        if not outcome.finished:
            notes.append(f"grading stopped after {man.submission_timeout_s:.0f} s (the submission's budget)")
        elif not worker or outcome.returncode not in (0, 1):
            missing = RUN_ENDED
            notes.append(f"the grading run ended abnormally (pytest's exit status {outcome.returncode}); "
                         "tests that had not reported fail as not run")
        tests = score(man, entries, expected or None, missing)
        if module_file.exists() and not notes_say_uncompilable(notes):
            notes += penalise_forbidden(man, tests, forbidden.scan(module_file, man.forbidden))
        if not tests:
            raise RuntimeError(f"grading {source} produced no test results; is pytest working?\n{outcome.log}")
        notes += speed_rules.rescale_without_gpu(man, tests)
    sandbox_mode = worker.get("mode") or _mode_in_force()
    if worker.get("restarts"):
        notes.append(f"the worker was restarted {worker['restarts']} time(s) after a timeout or crash")
    return GradeResult(
        slug=man.slug, submission=printable(str(source)), seed=seed,
        sandbox=f"{sandbox_mode}: {MODE_NOTE.get(sandbox_mode, '')}",
        tests=tests, score=round(sum(t.score for t in tests), 6),
        max_score=round(sum(t.max_score for t in tests), 6),
        execution_time=round(time.monotonic() - started, 2), notes=[printable(n) for n in notes],
        worker_output=worker.get("stderr_tail", ""))


def _mode_in_force() -> str:
    try:
        return sandbox.mode()
    except RuntimeError:
        return "process"


def printable(text: str) -> str:
    """`text` with undecodable bytes of file names (surrogate escapes) shown as U+FFFD, so a
    name that is not UTF-8 can be printed and written to results.json."""
    return text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
