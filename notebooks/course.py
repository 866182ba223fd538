"""An nbgrader course folder for the bank's weeks.

`adl notebook setup SLUG... --course-dir DIR --exchange DIR` prepares a folder in which
nbgrader's own commands run as usual (`nbgrader release_assignment`, `collect`, `autograde`,
`formgrader`, `generate_feedback`):

    DIR/nbgrader_config.py      written by adl (course id, exchange, the settings below)
    DIR/source/<slug>/          the instructor's notebook (solutions/<slug>/seminar.ipynb) and the
                                released files around it (stub module, task sheet, public tests,
                                otter checks), exactly as `assignments/<slug>/` holds them
    DIR/release/<slug>/         what nbgrader generates from source/; the notebook is the same as
                                the committed `assignments/<slug>/seminar.ipynb` (checked)
    DIR/gradebook.db            nbgrader's gradebook: the cells, then grades and manual scores

The settings adl writes, and why:

- `Autograde.exclude_overwriting`: the student's module stays the student's. nbgrader replaces
  every non-notebook file by the source's copy before it runs a notebook; without this the
  notebook would run against the stubs. (The module itself is graded by `adl grade`, in the
  sandbox, with hidden tests; the notebook only uses it.)
- `RestoreCells` (restore.py) before nbgrader's `OverwriteCells`: deleted, duplicated and edited
  cells are repaired and the student is told.
- The notebook runs in the `adl-sandbox` kernel (kernel.py): bubblewrap, no network, uid nobody,
  memory and CPU caps; ZeroMQ over Unix sockets (`KernelManager.transport = "ipc"`), since the
  sandbox shares no network with nbgrader.
- `HideHiddenTests` (feedback.py) first in `nbgrader generate_feedback`: stock nbgrader returns
  the hidden tests to students inside their feedback.
- A per-cell timeout of 300 s instead of nbgrader's 30 s: the seminars train small models.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

from notebooks import generate

NOTEBOOK = "seminar.ipynb"
CELL_TIMEOUT_S = 300

CONFIG = '''\
# Written by `adl notebook setup`; run it again rather than editing this file.
from notebooks.restore import RestoreCells
from nbgrader.preprocessors import ClearOutput, DeduplicateIds, OverwriteKernelspec, OverwriteCells, CheckCellMetadata
from nbgrader.preprocessors import GetGrades
from nbconvert.preprocessors import CSSHTMLHeaderPreprocessor
from notebooks.feedback import HideHiddenTests

c = get_config()
c.CourseDirectory.root = {root!r}
c.CourseDirectory.course_id = {course_id!r}
c.CourseDirectory.db_url = {db_url!r}
c.Exchange.root = {exchange!r}

# the student's module is graded by adl's sandbox; the notebook must run against it, not the stub
c.Autograde.exclude_overwriting = {exclude!r}

# deleted, duplicated and edited cells: repaired before nbgrader restores locked cells' sources
c.RestoreCells.release_root = {release_root!r}
c.Autograde.sanitize_preprocessors = [ClearOutput, RestoreCells, DeduplicateIds, OverwriteKernelspec,
                                      OverwriteCells, CheckCellMetadata]

# feedback for students: nbgrader's, without the hidden tests it put back into the check cells
c.GenerateFeedback.preprocessors = [HideHiddenTests, GetGrades, CSSHTMLHeaderPreprocessor]

# student code runs in {kernel_note}
c.Execute.kernel_name = {kernel!r}
{transport}c.Execute.timeout = {timeout}
'''


@dataclass
class Setup:
    course_dir: Path
    slugs: list[str]
    warnings: list[str]


def _kernel_settings(kernel: str) -> dict[str, str]:
    from notebooks import kernel as sandbox_kernel

    if kernel == sandbox_kernel.KERNEL_NAME:
        return {"kernel_note": "the grader's sandbox, reached over Unix sockets",
                "transport": 'c.KernelManager.transport = "ipc"\n'}
    return {"kernel_note": f"the kernel {kernel!r}, NOT sandboxed: it can read and write what nbgrader can",
            "transport": ""}


def write_config(course_dir: Path, exchange: Path, course_id: str, modules: dict[str, str], kernel: str) -> Path:
    course_dir = Path(course_dir).resolve()
    text = CONFIG.format(root=str(course_dir), course_id=course_id,
                         db_url=f"sqlite:///{course_dir / 'gradebook.db'}", exchange=str(Path(exchange).resolve()),
                         exclude={slug: [module] for slug, module in sorted(modules.items())},
                         release_root=str(course_dir / "release"), kernel=kernel, timeout=CELL_TIMEOUT_S,
                         **_kernel_settings(kernel))
    path = course_dir / "nbgrader_config.py"
    path.write_text(text)
    return path


def setup(root: Path, slugs: list[str], course_dir: Path, exchange: Path, course_id: str = generate.COURSE_ID,
          kernel: str | None = None) -> Setup:
    """Write the course folder for `slugs` and run nbgrader's generate_assignment for each."""
    from autograder import manifest as manifest_mod
    from notebooks import kernel as sandbox_kernel

    root, course_dir, exchange = Path(root), Path(course_dir).resolve(), Path(exchange).resolve()
    course_dir.mkdir(parents=True, exist_ok=True)
    exchange.mkdir(parents=True, exist_ok=True)
    exchange.chmod(0o777)  # nbgrader's exchange is shared by every student's account
    if kernel is None:
        sandbox_kernel.install()
        kernel = sandbox_kernel.KERNEL_NAME
    warnings: list[str] = []
    modules = {}
    for slug in slugs:
        solution, released = root / "solutions" / slug, root / "assignments" / slug
        if not (solution / NOTEBOOK).exists():
            raise FileNotFoundError(f"{slug}: no {NOTEBOOK} in {solution}")
        if not released.exists():
            raise FileNotFoundError(f"{slug}: no release in {released}; run `adl release {slug}` first")
        modules[slug] = manifest_mod.load(solution).module + ".py"
        source = course_dir / "source" / slug
        if source.exists():
            shutil.rmtree(source)
        shutil.copytree(released, source, ignore=shutil.ignore_patterns("__pycache__", ".ipynb_checkpoints"))
        shutil.copy2(solution / NOTEBOOK, source / NOTEBOOK)  # nbgrader's source: answers and hidden tests
    write_config(course_dir, exchange, course_id, modules, kernel)
    config = generate.nbgrader_config(course_dir, course_id=course_id, exchange=exchange)
    for slug in slugs:
        generate.run_generate(course_dir, slug, config)
        built = generate.normalise((course_dir / "release" / slug / NOTEBOOK).read_text())
        if built != (root / "assignments" / slug / NOTEBOOK).read_text():
            warnings.append(f"{slug}: nbgrader's release differs from assignments/{slug}/{NOTEBOOK}; "
                            f"run `adl release {slug}` and commit it")
    return Setup(course_dir, list(slugs), warnings)
