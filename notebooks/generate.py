"""The student's seminar notebook, built by nbgrader's own generator.

`adl release` hands the instructor's notebook (`solutions/<slug>/seminar.ipynb`, in nbgrader's
source format) to nbgrader's `generate_assignment`, run in a throwaway course folder, so the
student version is exactly what nbgrader itself would release: solution regions replaced by
`# YOUR CODE HERE` / `raise NotImplementedError()` (answers by "YOUR ANSWER HERE"), hidden-test
blocks removed, outputs cleared, grade and read-only cells locked and checksummed. What nbgrader
writes is then normalised (cell ids dropped, keys sorted, one indent) so the committed release
is a pure function of the source and `adl release --check` can compare bytes.

Cell kinds of the source (nbgrader metadata `nbgrader: {...}`):

    solution code cell     solution: true,  grade: false   -> stubbed; the student writes code
    autograded check cell  grade: true, solution: false, locked: true, points -> runs public
                           otter checks; its `### BEGIN HIDDEN TESTS` block is dropped here and
                           put back by nbgrader at grading time
    written answer         markdown, grade: true, solution: true, points -> graded by hand
    read-only cell         locked: true, grade: false, solution: false -> restored if edited
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import tempfile
from pathlib import Path

COURSE_ID = "adl"


class GenerateError(RuntimeError):
    pass


@contextlib.contextmanager
def _venv_on_path():
    # nbgrader finds the version of its database schema by running the `alembic` program, which
    # lives next to this interpreter; a venv that was never activated does not have it on PATH.
    old = os.environ.get("PATH", "")
    os.environ["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), old])
    try:
        yield
    finally:
        os.environ["PATH"] = old


def nbgrader_config(course_root: Path, db_url: str | None = None, course_id: str = COURSE_ID,
                    exchange: Path | None = None):
    from traitlets.config import Config

    config = Config()
    # nbgrader checks its exchange even to generate; a throwaway one keeps it from the system's
    config.Exchange.root = str(exchange or Path(course_root) / "exchange")
    config.CourseDirectory.root = str(course_root)
    config.CourseDirectory.course_id = course_id
    config.CourseDirectory.db_url = db_url or f"sqlite:///{Path(course_root) / 'gradebook.db'}"
    return config


def run_generate(course_root: Path, slug: str, config=None) -> None:
    """`nbgrader generate_assignment SLUG --force` in `course_root`, in this process."""
    from nbgrader.apps import NbGraderAPI

    with _venv_on_path():
        api = NbGraderAPI(config=config or nbgrader_config(course_root))
        result = api.generate_assignment(slug, force=True)
    if not result["success"]:
        raise GenerateError(f"nbgrader generate_assignment {slug} failed:\n{result.get('log', '')}\n"
                            f"{result.get('error', '')}")


def normalise(text: str) -> str:
    nb = json.loads(text)
    for cell in nb.get("cells", []):
        cell.pop("id", None)
        cell.get("metadata", {}).pop("execution", None)
        if isinstance(cell.get("source"), str):
            cell["source"] = cell["source"].splitlines(keepends=True)
    nb.setdefault("metadata", {}).pop("widgets", None)
    nb["nbformat_minor"] = min(nb.get("nbformat_minor", 4), 4)  # 4.5 requires the cell ids dropped above
    return json.dumps(nb, indent=1, sort_keys=True, ensure_ascii=False) + "\n"


_EMPTY_DB: bytes | None = None


def _empty_gradebook() -> bytes:
    """An empty nbgrader database. Creating one costs ~3 s (nbgrader runs `alembic` in a
    subprocess to stamp it), so a release of nine notebooks makes it once and copies it."""
    global _EMPTY_DB
    if _EMPTY_DB is None:
        from nbgrader.api import Gradebook

        with tempfile.TemporaryDirectory(prefix="adl-gradebook-") as tmp, _venv_on_path():
            path = Path(tmp) / "gradebook.db"
            with Gradebook(f"sqlite:///{path}"):
                pass
            _EMPTY_DB = path.read_bytes()
    return _EMPTY_DB


def student_notebook(source: Path, slug: str, name: str = "seminar.ipynb") -> str:
    """The student version of the source notebook `source`, as nbgrader generates it."""
    with tempfile.TemporaryDirectory(prefix="adl-generate-") as tmp:
        course = Path(tmp)
        (course / "gradebook.db").write_bytes(_empty_gradebook())
        (course / "source" / slug).mkdir(parents=True)
        (course / "source" / slug / name).write_bytes(Path(source).read_bytes())
        run_generate(course, slug)
        released = course / "release" / slug / name
        if not released.exists():
            raise GenerateError(f"nbgrader generate_assignment wrote no {name} for {slug}")
        return normalise(released.read_text())
