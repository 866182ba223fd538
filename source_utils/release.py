"""Generate the student release `assignments/<slug>/` from `solutions/<slug>/`.

What ships: the task sheet (README.md), the module with every solution region replaced by a
loud stub, the public tests, the seminar notebook (built by nbgrader's own generator, see
notebooks/generate.py) with the public otter checks of its exercises (`checks/`), the manifest
with the counts of public and hidden tests appended, and a conftest.py that gives the public
tests an in-process `submission` fixture. What never ships: hidden tests,
mutants, the reference code, anything else in the solution folder.

The output is a pure function of the solution folder (sorted, no timestamps, "\\n" line
endings), so `--check` can compare it byte for byte with what is committed.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from autograder import grading, manifest as manifest_mod
from notebooks import generate
from source_utils import markers

TEMPLATES = Path(__file__).parent / "templates"
NOTEBOOK = "seminar.ipynb"
CHECKS = "checks"  # otter-grader test files of the notebook's exercises (public cases only)


def _where(man: manifest_mod.Manifest):
    def where(qualname: str) -> str:
        part = man.part_of_function(qualname)
        if part is None:
            return "see README.md"
        return f"README.md, part {man.part_number(part)}: {part.title}"
    return where


def stub_module(man: manifest_mod.Manifest, text: str, keep=lambda region: False) -> str:
    """The released module: solution regions replaced by stubs (except those `keep` selects)."""
    filename = f"{man.module}.py"
    return markers.strip(text, markers.module_stub(filename, _where(man)), keep=keep, where=filename)


def release_files(solution: Path, counts: dict[str, int] | None = None) -> dict[str, bytes]:
    """The student release of one assignment, as {relative path: content}."""
    solution = Path(solution)
    man = manifest_mod.load(solution)
    if counts is None:
        counts = test_counts(solution)
    files: dict[str, bytes] = {}
    files["README.md"] = (solution / "README.md").read_bytes()
    module = f"{man.module}.py"
    files[module] = stub_module(man, (solution / module).read_text()).encode()
    files["conftest.py"] = (TEMPLATES / "conftest.py").read_bytes()
    manifest_text = (solution / manifest_mod.MANIFEST).read_text().rstrip("\n")
    files[manifest_mod.MANIFEST] = (
        manifest_text
        + "\n\n[release]\n# Written by `adl release`: how many tests grade this assignment.\n"
        + f"public_tests = {counts['public']}\nhidden_tests = {counts['hidden']}\n"
    ).encode()
    for test in sorted((solution / "tests" / "public").glob("*.py")):
        files[f"tests/{test.name}"] = test.read_bytes()
    if (solution / NOTEBOOK).exists():
        files[NOTEBOOK] = generate.student_notebook(solution / NOTEBOOK, solution.name).encode()
    for check in sorted((solution / CHECKS).glob("*.py")):  # the notebook's public otter checks
        files[f"{CHECKS}/{check.name}"] = check.read_bytes()
    return files


def test_counts(solution: Path) -> dict[str, int]:
    """Public and hidden test instances, by collecting them (parametrized cases count)."""
    collected = grading.collect(solution)
    return {kind: sum(1 for e in collected if e["kind"] == kind) for kind in ("public", "hidden")}


def write(solution: Path, target: Path) -> None:
    """Replace `target` by the release of `solution`."""
    files = release_files(solution)
    if target.exists():
        shutil.rmtree(target)
    for rel, content in files.items():
        path = target / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)


def differences(solution: Path, target: Path, counts: dict[str, int] | None = None) -> list[str]:
    """Files of the committed release `target` that differ from a fresh release ([] if in sync).

    With `counts` given (say, those the committed manifest records) the tests are not
    collected, which makes the check fast but blind to a changed number of tests."""
    files = release_files(solution, counts)
    problems = []
    for rel, content in files.items():
        path = target / rel
        if not path.exists():
            problems.append(f"{path}: missing")
        elif path.read_bytes() != content:
            problems.append(f"{path}: out of date")
    if target.exists():
        for path in sorted(target.rglob("*")):
            rel = path.relative_to(target).as_posix()
            if path.is_file() and rel not in files and "__pycache__" not in rel and ".ipynb_checkpoints" not in rel:
                problems.append(f"{path}: not part of the release")
    return problems
