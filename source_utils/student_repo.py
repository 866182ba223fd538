"""The repository students clone (`adl release --student-repo DIR`).

It holds the released assignments, the `autograder` package (for `adl test` and the
in-process `submission` fixture; it contains no tests and no answers), the packaging, a
README and a GitHub Actions workflow that runs the public tests on every push. Nothing from
`solutions/` goes in: no reference code, no hidden tests, no mutants.
"""

from __future__ import annotations

import shutil
from pathlib import Path

TEMPLATES = Path(__file__).parent / "templates"
SKIP = {"__pycache__", ".ipynb_checkpoints", ".pytest_cache"}


class ExportError(Exception):
    pass


def export(root: Path, slugs: list[str], target: Path) -> list[str]:
    """Write the student repository into `target` (new or empty); return the files written."""
    root, target = Path(root), Path(target)
    if target.exists() and any(p.name != ".git" for p in target.iterdir()):
        raise ExportError(f"{target} is not empty; export into a new folder")
    written: list[str] = []

    def put(rel: str, content: bytes) -> None:
        path = target / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
        written.append(rel)

    for slug in slugs:
        released = root / "assignments" / slug
        if not released.is_dir():
            raise ExportError(f"assignments/{slug} does not exist; run `adl release {slug}` first")
        for path in sorted(released.rglob("*")):
            if path.is_file() and not SKIP & set(path.parts):
                put(f"assignments/{slug}/{path.relative_to(released).as_posix()}", path.read_bytes())
    for path in sorted((root / "autograder").rglob("*")):
        if path.is_file() and not SKIP & set(path.parts):
            put(path.relative_to(root).as_posix(), path.read_bytes())
    put("pyproject.toml", (root / "pyproject.toml").read_bytes())
    put("README.md", (TEMPLATES / "student-README.md").read_bytes())
    put(".github/workflows/public-tests.yml", (TEMPLATES / "github" / "public-tests.yml").read_bytes())
    put(".gitignore", b".venv/\n__pycache__/\n*.egg-info/\n.pytest_cache/\n.ipynb_checkpoints/\n")
    return written


def instructor_workflow() -> str:
    """The workflow for the instructor's private repository (see README, GitHub Actions)."""
    return (TEMPLATES / "github" / "grade-submissions.yml").read_text()
