"""Shared fixtures of the project's own tests."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from autograder import grading

# The toy assignment's own tests are run by the grader in the tests, never collected directly; the
# attack submissions (tests/attacks/) are graded by tests/test_attacks.py, never imported.
collect_ignore = ["fixtures", "attacks"]

ROOT = Path(__file__).resolve().parent.parent
TOY = Path(__file__).resolve().parent / "fixtures" / "toy"


@pytest.fixture
def course(tmp_path: Path) -> Path:
    """A throwaway course repository holding the toy assignment (solutions/ and assignments/)."""
    shutil.copytree(TOY, tmp_path / "solutions" / "toy")
    (tmp_path / "assignments").mkdir()
    return tmp_path


@pytest.fixture
def grade_toy(tmp_path: Path):
    """grade_toy(source) -> GradeResult for a toy submission whose toy.py is `source`."""
    counter = iter(range(10**6))

    def grade(source: str, seed: int | None = 1, **files: str) -> grading.GradeResult:
        folder = tmp_path / f"submission{next(counter)}"
        folder.mkdir()
        (folder / "toy.py").write_text(source)
        for name, text in files.items():
            (folder / name.replace("__", ".")).write_text(text)
        return grading.grade(TOY, folder, seed=seed)

    return grade


def scores(result: grading.GradeResult) -> dict[str, float]:
    """Points per test name."""
    return {t.name: t.score for t in result.tests}
