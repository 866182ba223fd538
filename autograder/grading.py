"""Grade one submission: stage it, run public and hidden tests against it, score the outcomes.

The tests run in a child pytest process (`autograder.pytest_plugin`, mode `grade`) started
with `--noconftest`, an empty ini file and its own rootdir, so nothing in the submission or
the assignment folder can configure it. Only the files the manifest names are copied out of
the submission: a submitted conftest.py, sitecustomize.py or numpy.py never reaches any
Python path.
"""

from __future__ import annotations

import ast
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from dataclasses import asdict, dataclass, field
from pathlib import Path

from autograder import manifest as manifest_mod
from autograder.sandbox import MODE_NOTE

MAX_UNZIPPED_BYTES = 50 * 2**20


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
    """Copy the student's `<module>.py` from a folder or zip into `into`; return notes."""
    notes: list[str] = []
    source = Path(source)
    if source.is_file() and zipfile.is_zipfile(source):
        unpacked = into.parent / "unzipped"
        safe_extract(source, unpacked)
        source = unpacked
    elif source.is_file() and source.name == f"{module}.py":
        source = source.parent
    elif not source.is_dir():
        raise SubmissionError(f"{source}: not a folder, a .zip or {module}.py")
    wanted = f"{module}.py"
    found = sorted(p for p in source.rglob(wanted) if p.is_file() and not p.is_symlink()
                   and "__MACOSX" not in p.parts)
    into.mkdir(parents=True, exist_ok=True)
    if not found:
        notes.append(f"the submission has no {wanted}; every test fails")
        return notes
    chosen = min(found, key=lambda p: len(p.relative_to(source).parts))
    if len(found) > 1:
        notes.append(f"several {wanted} files; graded {chosen.relative_to(source)}")
    shutil.copyfile(chosen, into / wanted)
    return notes


def safe_extract(archive: Path, into: Path) -> None:
    """Unzip refusing absolute paths, `..`, links and archives that unpack too large."""
    into.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(archive) as zf:
        members = zf.infolist()
        if sum(m.file_size for m in members) > MAX_UNZIPPED_BYTES:
            raise SubmissionError(f"{archive.name}: unpacks to more than {MAX_UNZIPPED_BYTES // 2**20} MB")
        for m in members:
            name = m.filename.replace("\\", "/")
            parts = [p for p in name.split("/") if p not in ("", ".")]
            if name.startswith("/") or ".." in parts or (parts and ":" in parts[0]):
                raise SubmissionError(f"{archive.name}: unsafe path {m.filename!r} in the zip")
            if (m.external_attr >> 16) & 0o170000 == 0o120000:
                raise SubmissionError(f"{archive.name}: {m.filename!r} is a symbolic link")
            target = into.joinpath(*parts) if parts else into
            if m.is_dir():
                target.mkdir(parents=True, exist_ok=True)
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            with zf.open(m) as src, open(target, "wb") as dst:
                shutil.copyfileobj(src, dst)


def forbidden_uses(path: Path, forbidden: tuple[str, ...]) -> list[str]:
    """Static scan: where `path` names a forbidden call, following import aliases
    (`import torch.nn.functional as F` then `F.scaled_dot_product_attention`). A dotted name
    counts when it starts in the forbidden name's package and ends with its last part, so
    re-exports (`torch.nn.modules.activation.MultiheadAttention`) count too. Calls built at run
    time (`getattr`) escape this scan; the worker's run-time trap catches them."""
    try:
        tree = ast.parse(path.read_text(errors="replace"))
    except (SyntaxError, ValueError, OSError):
        return []
    aliases: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for a in node.names:
                aliases[a.asname or a.name.split(".")[0]] = a.name if a.asname else a.name.split(".")[0]
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            for a in node.names:
                aliases[a.asname or a.name] = f"{node.module}.{a.name}"

    def dotted(node: ast.AST) -> str | None:
        if isinstance(node, ast.Name):
            return aliases.get(node.id)
        if isinstance(node, ast.Attribute):
            base = dotted(node.value)
            return f"{base}.{node.attr}" if base else None
        return None

    def banned(name: str) -> str | None:
        parts = name.split(".")
        for f in forbidden:
            fparts = f.split(".")
            if parts[0] == fparts[0] and parts[-1] == fparts[-1]:
                return f
        return None

    found = set()
    for node in ast.walk(tree):
        names = []
        if isinstance(node, (ast.Name, ast.Attribute)):
            names.append(dotted(node))
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names += [f"{node.module}.{a.name}" for a in node.names]
        for name in filter(None, names):
            hit = banned(name)
            if hit:
                found.add(f"line {node.lineno}: {hit}")
    return sorted(found)


# ---------------------------------------------------------------------------- running

def run_tests(assignment: Path, submission_dir: Path, record: Path, seed: int, timeout: float,
              mode: str = "grade", test_dirs: list[Path] | None = None, threads: int | None = None) -> bool:
    """Run pytest with the grading plugin; return False if the run was cut off by `timeout`.

    `threads` caps the math libraries' threads in the test process and the worker: when
    several submissions are graded at once, oversubscribed cores make torch far slower."""
    work = record.parent
    (work / "pytest.ini").write_text("[pytest]\n")
    test_dirs = test_dirs or [d for d in (assignment / "tests" / "public", assignment / "tests" / "hidden") if d.is_dir()]
    argv = [sys.executable, "-m", "pytest", "-p", "autograder.pytest_plugin", "--noconftest",
            "-c", str(work / "pytest.ini"), "--rootdir", str(work), "-p", "no:cacheprovider",
            "--import-mode=importlib", "-q", "--tb=no", "--no-header", "-rN",
            *(["--collect-only"] if mode == "collect" else []), *map(str, test_dirs)]
    env = {**os.environ, "ADL_MODE": mode, "ADL_ASSIGNMENT": str(assignment),
           "ADL_SUBMISSION": str(submission_dir), "ADL_RECORD": str(record), "ADL_SEED": str(seed),
           "PYTHONDONTWRITEBYTECODE": "1"}
    env.pop("PYTEST_ADDOPTS", None)
    if threads:
        env.update(OMP_NUM_THREADS=str(threads), MKL_NUM_THREADS=str(threads))
    try:
        subprocess.run(argv, cwd=work, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                       timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        return False
    return True


def read_record(record: Path) -> list[dict]:
    if not record.exists():
        return []
    return [json.loads(line) for line in record.read_text().splitlines() if line.strip()]


def collect(assignment: Path) -> list[dict]:
    """The test instances of an assignment (public and hidden), without running them."""
    with tempfile.TemporaryDirectory(prefix="adl-collect-") as tmp:
        record = Path(tmp) / "record.jsonl"
        run_tests(Path(assignment), Path(tmp), record, 0, 300, mode="collect")
        return [e for e in read_record(record) if e["event"] == "collected"]


def score(man: manifest_mod.Manifest, entries: list[dict], expected: list[dict] | None = None) -> list[TestResult]:
    """Points per test: a part's points split equally over its test functions, then over each
    function's parametrized cases. Skipped cases count neither way; expected tests that never
    reported (the run was cut off) fail as "not run"."""
    tests = [e for e in entries if e.get("event") == "test"]
    seen = {e["nodeid"] for e in tests}
    for e in expected or []:
        if e["nodeid"] not in seen:
            tests.append({**e, "outcome": "not run", "message": "not run: the submission's time budget ran out"})
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
            results.append(TestResult(
                name=name, part=part.title, kind=t["kind"], status=t["outcome"],
                score=share if passed else 0.0, max_score=share,
                message=t.get("message", ""), duration=round(t.get("duration", 0.0), 3)))
    for t in tests:
        if man.part_for(t["function"]) is None:
            results.append(TestResult(name=t["function"], part="(no part)", kind=t["kind"], status=t["outcome"],
                                      score=0.0, max_score=0.0, message="this test matches no part of the manifest"))
    return results


def grade(assignment: Path | str, source: Path | str, seed: int | None = None,
          threads: int | None = None) -> GradeResult:
    """Grade the submission at `source` (folder, zip or module file) against `assignment`."""
    assignment = Path(assignment).resolve()
    man = manifest_mod.load(assignment)
    seed = random.SystemRandom().randrange(2**31) if seed is None else seed
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="adl-grade-") as tmp:
        work = Path(tmp)
        staged = work / "submission"
        notes = stage(Path(source), man.module, staged)
        module_file = staged / f"{man.module}.py"
        for use in forbidden_uses(module_file, man.forbidden):
            notes.append(f"forbidden call in {module_file.name}, {use}: tests that reach it fail")
        record = work / "record.jsonl"
        finished = run_tests(assignment, staged, record, seed, man.submission_timeout_s, threads=threads)
        entries = read_record(record)
        expected = None if finished else collect(assignment)
        if not finished:
            notes.append(f"grading stopped after {man.submission_timeout_s:.0f} s (the submission's budget)")
        worker = next((e for e in entries if e.get("event") == "worker"), {})
        tests = score(man, entries, expected)
        if not tests:
            raise RuntimeError(f"grading {source} produced no test results; is pytest working?")
    sandbox_mode = worker.get("mode", "process")
    if worker.get("restarts"):
        notes.append(f"the worker was restarted {worker['restarts']} time(s) after a timeout or crash")
    return GradeResult(
        slug=man.slug, submission=str(source), seed=seed,
        sandbox=f"{sandbox_mode}: {MODE_NOTE.get(sandbox_mode, '')}",
        tests=tests, score=round(sum(t.score for t in tests), 6),
        max_score=round(sum(t.max_score for t in tests), 6),
        execution_time=round(time.monotonic() - started, 2), notes=notes,
        worker_output=worker.get("stderr_tail", ""))
